package demo

// product is a demo product with its how-to guide.
type product struct {
	sku, title, guide string
	price             int64
	replenishDays     int
	returnable        bool
}

var catalog = []product{
	{"KETTLE-GN", "Gooseneck pour-over kettle", "# Getting started\n\n1. Rinse the kettle once before first use.\n2. Fill to the **MAX** line at most.\n3. Hold the handle, not the lid, while pouring.\n\n| Brew | Temperature |\n|---|---|\n| Light roast | 96 °C |\n| Dark roast | 90 °C |\n", 6900, 0, true},
	{"GRINDER-BURR", "Conical burr grinder", "# Dialing in your grind\n\nStart at setting **15** for pour-over and go finer if it tastes sour, coarser if bitter.\n\nClean the burrs monthly with the brush in the box.\n", 12900, 0, true},
	{"DRIPPER-V60", "Ceramic cone dripper", "# Your first cup\n\n- 15 g coffee, 250 g water\n- Bloom with 40 g for 30 seconds\n- Pour slowly in circles; finish by 3:00\n", 2900, 0, true},
	{"FILTERS-100", "Paper filters, 100 pack", "# Using filters\n\nFold along the seam and rinse with hot water to remove any paper taste.\n", 700, 30, false},
	{"BEANS-HOUSE", "House blend beans, 1 kg", "# Keeping beans fresh\n\nStore in the resealable bag, away from light. Grind just before brewing.\n", 2400, 21, false},
	{"SCALE-01", "Brew scale with timer", "# Weighing and timing\n\nPress **TARE** with the dripper on top, then start the timer at your first pour.\n", 3900, 0, true},
	{"PRESS-8", "French press, 8 cup", "# Four minutes to a great cup\n\n1. 60 g coarse coffee to 1 litre of water.\n2. Stir, wait 4 minutes, press slowly.\n", 3400, 0, true},
	{"COLDBREW-JAR", "Cold brew jar", "# Cold brew overnight\n\nFill the mesh with 100 g coarse coffee, add cold water, refrigerate 14-18 hours.\n", 2900, 0, true},
	{"MUG-STONE", "Stoneware mug", "# Care\n\nDishwasher safe. Not for the microwave: the glaze has metal.\n", 1800, 0, true},
	{"DESCALER", "Kettle descaler, 3 doses", "# Descaling\n\nDissolve one dose in 500 ml of water, boil, leave 20 minutes, rinse twice.\n", 1200, 90, false},
	{"TUMBLER-TRAVEL", "Travel tumbler", "# Leak-proof lid\n\nTwist the lid until it clicks. Hand wash the seal.\n", 2600, 0, true},
	{"FROTHER", "Handheld milk frother", "# Silky foam\n\nHold the whisk just below the surface of warm milk for 20 seconds.\n", 1900, 0, true},
}

func priceOf(sku string) (string, int64) {
	for _, p := range catalog {
		if p.sku == sku {
			return p.title, p.price
		}
	}
	return sku, 0
}
