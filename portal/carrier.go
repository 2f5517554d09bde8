package portal

import (
	"net/url"
	"strings"
)

// knownCarrier is a carrier whose public tracking page we can link to.
type knownCarrier struct {
	name string // as shoppers know it
	// trackURL is the tracking page with {n} where the escaped number goes.
	trackURL string
}

// carriers is keyed by carrierKey of the names stores send.
var carriers = map[string]knownCarrier{
	"ups":           {"UPS", "https://www.ups.com/track?tracknum={n}"},
	"usps":          {"USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}"},
	"fedex":         {"FedEx", "https://www.fedex.com/fedextrack/?trknbr={n}"},
	"dhl":           {"DHL", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={n}"},
	"dhlexpress":    {"DHL Express", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={n}"},
	"royalmail":     {"Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{n}"},
	"dpd":           {"DPD", "https://tracking.dpd.de/status/en_US/parcel/{n}"},
	"canadapost":    {"Canada Post", "https://www.canadapost-postescanada.ca/track-reperez/en#/search?searchFor={n}"},
	"australiapost": {"Australia Post", "https://auspost.com.au/mypost/track/details/{n}"},
	"auspost":       {"Australia Post", "https://auspost.com.au/mypost/track/details/{n}"},
}

// carrierKey folds the ways stores spell a carrier ("Royal Mail",
// "royal_mail", "ROYAL-MAIL") into one key.
func carrierKey(carrier string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(carrier) {
		switch r {
		case ' ', '_', '-', '.', '\t':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CarrierName is the carrier's name as shoppers know it ("fedex" -> "FedEx"),
// or the name as the store sent it when the carrier is not a known one.
func CarrierName(carrier string) string {
	if c, ok := carriers[carrierKey(carrier)]; ok {
		return c.name
	}
	return strings.TrimSpace(carrier)
}

// TrackingLink is the page where the shopper can follow a parcel: the
// store's own tracking URL when it sent an http(s) one, else the known
// carrier's tracking page for the number, else "" (no link).
func TrackingLink(carrier, number, trackingURL string) string {
	if u, err := url.Parse(strings.TrimSpace(trackingURL)); err == nil && u.Host != "" &&
		(u.Scheme == "https" || u.Scheme == "http") {
		return u.String()
	}
	c, ok := carriers[carrierKey(carrier)]
	number = strings.TrimSpace(number)
	if !ok || number == "" {
		return ""
	}
	// QueryEscape leaves only unreserved characters; with "+" spelled %20 the
	// result is safe in a path, a query or a fragment alike.
	escaped := strings.ReplaceAll(url.QueryEscape(number), "+", "%20")
	return strings.Replace(c.trackURL, "{n}", escaped, 1)
}
