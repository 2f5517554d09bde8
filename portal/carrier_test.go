package portal

import "testing"

func TestTrackingLinkPointsAtTheCarrier(t *testing.T) {
	tests := []struct {
		name, carrier, number, url, want string
	}{
		{"the store's own tracking URL wins", "UPS", "1Z999", "https://shop.example/track/1Z999", "https://shop.example/track/1Z999"},
		{"UPS", "UPS", "1Z999AA10123456784", "", "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
		{"carrier names match whatever their case", "uPs ", "1Z9", "", "https://www.ups.com/track?tracknum=1Z9"},
		{"USPS", "usps", "9400100000000000000000", "", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000"},
		{"FedEx", "FedEx", "123456789012", "", "https://www.fedex.com/fedextrack/?trknbr=123456789012"},
		{"DHL", "DHL", "1234567890", "", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890"},
		{"Royal Mail with spaces in the number", "Royal Mail", "AB 123 456 GB", "", "https://www.royalmail.com/track-your-item#/tracking-results/AB%20123%20456%20GB"},
		{"Royal Mail spelt with an underscore", "royal_mail", "AB123456789GB", "", "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"},
		{"DPD", "DPD", "01234567890123", "", "https://tracking.dpd.de/status/en_US/parcel/01234567890123"},
		{"Canada Post", "CANADA POST", "1234567890123456", "", "https://www.canadapost-postescanada.ca/track-reperez/en#/search?searchFor=1234567890123456"},
		{"Australia Post", "Australia Post", "33ABC123", "", "https://auspost.com.au/mypost/track/details/33ABC123"},
		{"the number is escaped", "DHL", "12&x=<y>/z", "", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=12%26x%3D%3Cy%3E%2Fz"},
		{"a script URL from the store is ignored", "UPS", "1Z9", "javascript:alert(1)", "https://www.ups.com/track?tracknum=1Z9"},
		{"an unknown carrier has no link", "Bob's Couriers", "B-1", "", ""},
		{"an unknown carrier with a store URL links there", "Bob's Couriers", "B-1", "http://bob.example/t?n=B-1", "http://bob.example/t?n=B-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TrackingLink(tc.carrier, tc.number, tc.url); got != tc.want {
				t.Errorf("TrackingLink(%q, %q, %q)\n got %q\nwant %q", tc.carrier, tc.number, tc.url, got, tc.want)
			}
		})
	}
}

func TestCarrierNameIsTheOneShoppersKnow(t *testing.T) {
	for in, want := range map[string]string{
		"fedex": "FedEx", "royal-mail": "Royal Mail", "USPS": "USPS", "auspost": "Australia Post",
		" Bob's Couriers ": "Bob's Couriers",
	} {
		if got := CarrierName(in); got != want {
			t.Errorf("CarrierName(%q) = %q, want %q", in, got, want)
		}
	}
}
