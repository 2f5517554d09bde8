package demo

// Word lists for the large generated store: enough first and last names that
// emails (first.last.N@domain) look like people, a few countries with their
// cities, and the catalog beyond the small demo's twelve products.

var firstNames = []string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
	"Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley",
	"Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda",
	"George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Jason", "Rebecca", "Ryan", "Laura",
	"Jacob", "Sharon", "Gary", "Cynthia", "Nicholas", "Kathleen", "Eric", "Amy", "Jonathan", "Angela",
	"Lukas", "Sofia", "Mateo", "Lucia", "Noah", "Emma", "Liam", "Olivia", "Hugo", "Chloe",
	"Aiko", "Hiroshi", "Priya", "Arjun", "Wei", "Mei", "Omar", "Fatima", "Kwame", "Amara",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Muller", "Schmidt", "Schneider", "Fischer", "Dubois", "Moreau", "Rossi", "Bianchi", "Tanaka", "Sato",
	"Patel", "Sharma", "Chen", "Wang", "Kim", "Park", "Okafor", "Mensah", "OBrien", "Murphy",
}

var mailDomains = []string{"example.com", "example.net", "example.org", "mail.example.com", "post.example.net"}

// place is where a customer lives: the country decides the order currency's
// odds, the city goes on the shipping address and the tracking events.
type place struct{ country, city, region, currency string }

// usPlaces is how many of places are in the US (listed first).
const usPlaces = 12

var places = []place{
	{"US", "Brooklyn", "NY", "USD"}, {"US", "Austin", "TX", "USD"}, {"US", "Portland", "OR", "USD"},
	{"US", "Chicago", "IL", "USD"}, {"US", "Denver", "CO", "USD"}, {"US", "Seattle", "WA", "USD"},
	{"US", "Atlanta", "GA", "USD"}, {"US", "Boston", "MA", "USD"}, {"US", "Los Angeles", "CA", "USD"},
	{"US", "Miami", "FL", "USD"}, {"US", "Minneapolis", "MN", "USD"}, {"US", "Phoenix", "AZ", "USD"},
	{"CA", "Toronto", "ON", "CAD"}, {"CA", "Vancouver", "BC", "CAD"},
	{"GB", "London", "", "GBP"}, {"GB", "Manchester", "", "GBP"},
	{"DE", "Berlin", "", "EUR"}, {"FR", "Paris", "", "EUR"}, {"NL", "Amsterdam", "", "EUR"},
}

// extraProducts fill the large catalog to 40 products; they have no guide.
var extraProducts = []product{
	{"BEANS-ETHIOPIA", "Ethiopia Yirgacheffe beans, 250 g", "", 1600, 21, false},
	{"BEANS-COLOMBIA", "Colombia Huila beans, 250 g", "", 1500, 21, false},
	{"BEANS-DECAF", "Swiss water decaf, 250 g", "", 1500, 21, false},
	{"BEANS-ESPRESSO", "Espresso blend, 1 kg", "", 2800, 21, false},
	{"BEANS-KENYA", "Kenya AA beans, 250 g", "", 1900, 21, false},
	{"BEANS-SAMPLER", "Single origin sampler, 4 x 100 g", "", 2600, 30, false},
	{"FILTERS-WAVE", "Wave filters, 100 pack", "", 900, 30, false},
	{"FILTERS-CHEMEX", "Bonded filters, 100 pack", "", 1100, 30, false},
	{"CHEMEX-6", "Glass pour-over brewer, 6 cup", "", 4900, 0, true},
	{"AEROPRESS", "Travel press brewer", "", 3900, 0, true},
	{"MOKA-3", "Stovetop moka pot, 3 cup", "", 3200, 0, true},
	{"MOKA-6", "Stovetop moka pot, 6 cup", "", 3900, 0, true},
	{"CARAFE-GLASS", "Glass server, 600 ml", "", 2400, 0, true},
	{"MUG-ENAMEL", "Enamel camp mug", "", 1600, 0, true},
	{"CUP-CORTADO", "Cortado glasses, set of 2", "", 2200, 0, true},
	{"CUP-ESPRESSO", "Espresso cups, set of 4", "", 3400, 0, true},
	{"CANISTER", "Vacuum bean canister", "", 2900, 0, true},
	{"TAMPER", "Stainless tamper, 58 mm", "", 3500, 0, true},
	{"KNOCKBOX", "Knock box", "", 2700, 0, true},
	{"PITCHER-MILK", "Milk pitcher, 350 ml", "", 1700, 0, true},
	{"THERMOMETER", "Clip-on thermometer", "", 1400, 0, true},
	{"BRUSH-GRINDER", "Grinder cleaning brush", "", 800, 0, true},
	{"CLEANER-TABS", "Espresso cleaning tablets", "", 1300, 60, false},
	{"SYRUP-VANILLA", "Vanilla syrup, 750 ml", "", 1100, 30, false},
	{"TEA-SENCHA", "Sencha green tea, 100 g", "", 1400, 30, false},
	{"GIFT-BOX", "Coffee lover's gift box", "", 5900, 0, true},
	{"APRON", "Canvas barista apron", "", 3600, 0, true},
	{"DRIPPER-FLAT", "Flat-bottom dripper", "", 3300, 0, true},
}
