package commerce

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

func withAttribution(o OrderInput) OrderInput {
	o.ShippingAddress = &AddressInput{
		Name: " Ada Lovelace ", Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: " gb ",
	}
	o.PaymentFingerprint = " Xt5EWLLDS7FJjR1c "
	o.Attribution = &AttributionInput{ReferralCode: " ADA-7K2Q ", DeviceID: "d-9f86"}
	return o
}

func TestOrderAddressAndAttribution(t *testing.T) {
	t.Run("they are stored normalized and read back", func(t *testing.T) {
		svc, _ := newService(t)
		o, _, err := svc.UpsertOrder(ctxT(t), withAttribution(anOrder("1001")))
		if err != nil {
			t.Fatal(err)
		}
		want := Address{Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "GB"}
		got, err := svc.Order(ctxT(t), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []Order{o, got} {
			if x.ShippingAddress == nil || *x.ShippingAddress != want || x.PaymentFingerprint != "Xt5EWLLDS7FJjR1c" ||
				x.ReferralCode != "ADA-7K2Q" || x.DeviceID != "d-9f86" || x.CancelledAt != nil || x.RefundedMinor != 0 {
				t.Errorf("order = address %+v, fingerprint %q, code %q, device %q", x.ShippingAddress, x.PaymentFingerprint, x.ReferralCode, x.DeviceID)
			}
		}
	})

	t.Run("they are part of the content: a change updates the order, a retry does not", func(t *testing.T) {
		svc, _ := newService(t)
		first, _, err := svc.UpsertOrder(ctxT(t), withAttribution(anOrder("1001")))
		if err != nil {
			t.Fatal(err)
		}
		if _, out, err := svc.UpsertOrder(ctxT(t), withAttribution(anOrder("1001"))); err != nil || out != Unchanged {
			t.Errorf("retry = %v, %v; want unchanged", out, err)
		}
		edits := []struct {
			name string
			edit func(*OrderInput)
		}{
			{"another street", func(o *OrderInput) { o.ShippingAddress.Line1 = "13 St James's Square" }},
			{"another card", func(o *OrderInput) { o.PaymentFingerprint = "other" }},
			{"another referral code", func(o *OrderInput) { o.Attribution.ReferralCode = "BOB-1" }},
			{"another device", func(o *OrderInput) { o.Attribution.DeviceID = "d-2" }},
			{"no address", func(o *OrderInput) { o.ShippingAddress = nil }},
		}
		hash := first.ContentHash
		for _, e := range edits {
			in := withAttribution(anOrder("1001"))
			e.edit(&in)
			o, out, err := svc.UpsertOrder(ctxT(t), in)
			if err != nil || out != Updated || bytes.Equal(o.ContentHash, hash) {
				t.Errorf("%s = %v, %v; want updated with a new hash", e.name, out, err)
			}
			hash = o.ContentHash
		}
		o, _ := svc.Order(ctxT(t), first.ID)
		if o.ShippingAddress != nil || o.DeviceID != "d-9f86" {
			t.Errorf("after the last edit: address %+v, device %q; want none and d-9f86", o.ShippingAddress, o.DeviceID)
		}
	})

	t.Run("an order without them hashes as before they existed", func(t *testing.T) {
		d, err := anOrder("1001").validate(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d)
		for _, key := range []string{"shipping_address", "payment_fingerprint", "referral_code", "device_id"} {
			if strings.Contains(string(b), key) {
				t.Errorf("canonical form %s holds %q; stored hashes would all change", b, key)
			}
		}
		blank := anOrder("1001")
		blank.ShippingAddress, blank.Attribution = &AddressInput{Country: " "}, &AttributionInput{}
		if db, err := blank.validate(time.Now()); err != nil || !bytes.Equal(db.hash(), d.hash()) {
			t.Errorf("blank address and attribution = %v; want the hash of an order without them", err)
		}
	})

	t.Run("bad values are named by their path", func(t *testing.T) {
		svc, db := newService(t)
		cases := []struct {
			edit  func(*OrderInput)
			field string
		}{
			{func(o *OrderInput) { o.ShippingAddress.Country = "UK" }, "shipping_address.country"},
			{func(o *OrderInput) { o.ShippingAddress.Country = "GBR" }, "shipping_address.country"},
			{func(o *OrderInput) { o.ShippingAddress.Line1 = "" }, "shipping_address.line1"},
			{func(o *OrderInput) { o.ShippingAddress.PostalCode = strings.Repeat("1", 33) }, "shipping_address.postal_code"},
			{func(o *OrderInput) { o.ShippingAddress.City = "Lon\x00don" }, "shipping_address.city"},
			{func(o *OrderInput) { o.PaymentFingerprint = strings.Repeat("f", 256) }, "payment_fingerprint"},
			{func(o *OrderInput) { o.Attribution.ReferralCode = strings.Repeat("R", 65) }, "attribution.referral_code"},
			{func(o *OrderInput) { o.Attribution.DeviceID = "a\nb" }, "attribution.device_id"},
		}
		for _, c := range cases {
			in := withAttribution(anOrder("1001"))
			c.edit(&in)
			_, _, err := svc.UpsertOrder(ctxT(t), in)
			if fault.KindOf(err) != fault.Invalid || !slices.Contains(fieldsOf(err), c.field) {
				t.Errorf("err = %v; want %s named", err, c.field)
			}
		}
		if n := count(t, db, "orders"); n != 0 {
			t.Errorf("orders = %d; want none", n)
		}
	})
}

func TestAddressNormalized(t *testing.T) {
	cases := []struct {
		name string
		a, b Address
		same bool
	}{
		{"case, punctuation, spacing and the name do not matter",
			Address{Name: "Ada", Line1: "12 St. James's  Square", City: "London", PostalCode: "SW1Y 4JH", Country: "GB"},
			Address{Name: "Bob", Line1: "12 st james s square", City: " LONDON", PostalCode: "sw1y4jh", Country: "gb"}, true},
		{"another house number is another place",
			Address{Line1: "12 Main St", City: "Springfield", Country: "US"},
			Address{Line1: "13 Main St", City: "Springfield", Country: "US"}, false},
		{"another flat is another place",
			Address{Line1: "1 Rue de Rivoli", Line2: "Apt 4", City: "Paris", Country: "FR"},
			Address{Line1: "1 Rue de Rivoli", Line2: "Apt 5", City: "Paris", Country: "FR"}, false},
		{"letters outside ASCII are kept and lower-cased",
			Address{Line1: "Königstraße 1", City: "München", Country: "DE"},
			Address{Line1: "KÖNIGSTRAẞE 1", City: "münchen", Country: "DE"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if same := c.a.Normalized() == c.b.Normalized(); same != c.same {
				t.Errorf("%q vs %q: same = %v; want %v", c.a.Normalized(), c.b.Normalized(), same, c.same)
			}
		})
	}
	if got := (Address{Line1: "12 St. James's Square", Line2: "—", City: "London", PostalCode: "SW1Y 4JH", Country: "GB"}).Normalized(); got != "12 st james s square london sw1y4jh gb" {
		t.Errorf("Normalized = %q", got)
	}
	if got := (Address{Name: "Ada"}).Normalized(); got != "" {
		t.Errorf("an address with only a name = %q; want empty", got)
	}
}

func TestValidCountry(t *testing.T) {
	for code, want := range map[string]bool{
		"GB": true, "US": true, "DE": true, "AD": true, "ZW": true, "XK": true,
		"UK": false, "EU": false, "gb": false, "G": false, "GBR": false, "": false, "DA": false, "FA": false,
	} {
		if got := ValidCountry(code); got != want {
			t.Errorf("ValidCountry(%q) = %v; want %v", code, got, want)
		}
	}
}

func TestOrdersRecordMarketingConsentOnlyWhenSent(t *testing.T) {
	svc, d := newService(t)
	ctx := ctxT(t)
	consent := func() bool {
		var c bool
		if err := d.GetContext(ctx, &c, `SELECT marketing_consent FROM customers WHERE email = 'ada@example.com'`); err != nil {
			t.Fatal(err)
		}
		return c
	}
	yes, no := true, false
	in := anOrder("mc-1")
	if _, _, err := svc.UpsertOrder(ctx, in); err != nil || consent() {
		t.Fatalf("an order without the field gave consent (%v)", err)
	}
	in = anOrder("mc-2")
	in.Customer.MarketingConsent = &yes
	if _, _, err := svc.UpsertOrder(ctx, in); err != nil || !consent() {
		t.Fatalf("consent not recorded (%v)", err)
	}
	in = anOrder("mc-3")
	if _, _, err := svc.UpsertOrder(ctx, in); err != nil || !consent() {
		t.Fatalf("an order without the field took consent away (%v)", err)
	}
	in = anOrder("mc-4")
	in.Customer.MarketingConsent = &no
	if _, _, err := svc.UpsertOrder(ctx, in); err != nil || consent() {
		t.Fatalf("withdrawn consent not recorded (%v)", err)
	}
}
