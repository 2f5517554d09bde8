package integrations

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
)

// Deps are what providers apply events with.
type Deps struct {
	Commerce  *commerce.Service
	Checkouts *Checkouts
	Resources *Resources
	Log       *slog.Logger
}

// NewDeps bundles the providers' dependencies over db.
func NewDeps(db *sqlx.DB, svc *commerce.Service, checkouts *Checkouts, log *slog.Logger) Deps {
	if log == nil {
		log = slog.Default()
	}
	return Deps{Commerce: svc, Checkouts: checkouts, Resources: NewResources(db), Log: log}
}

// TrackingUpdate is what a carrier integration learned about one parcel:
// its scans in our vocabulary, and the statuses it could not map.
type TrackingUpdate struct {
	Carrier        string
	TrackingNumber string
	Events         []commerce.TrackingEventInput
	// Unmapped are the carrier statuses that were left out because they
	// have no meaning in our vocabulary (see each provider's mapping).
	Unmapped []string
}

// ApplyTracking adds the update's events to the shipment with its carrier
// and tracking number (trying the carrier's known spellings, see
// CarrierNames). Events are idempotent by their provider event id, so a
// tracker that resends its whole history adds only what is new. A parcel
// not recorded (yet) is a fault.NotFound error, which the inbox retries:
// the store's shipment may still be on its way.
func (d Deps) ApplyTracking(ctx context.Context, u TrackingUpdate) (string, error) {
	number := strings.TrimSpace(u.TrackingNumber)
	if number == "" {
		return "", Permanent(fault.Field("tracking_number", "is missing from the tracking update"))
	}
	var sh commerce.Shipment
	found := false
	for _, carrier := range CarrierNames(u.Carrier) {
		s, err := d.Commerce.ShipmentByTracking(ctx, carrier, number)
		if fault.KindOf(err) == fault.NotFound {
			continue
		}
		if err != nil {
			return "", err
		}
		sh, found = s, true
		break
	}
	if !found {
		return "", fault.Errorf(fault.NotFound, "No shipment %s with tracking number %s is recorded (yet).", CarrierSlug(u.Carrier), number)
	}
	added := 0
	for _, ev := range u.Events {
		_, _, out, err := d.Commerce.AddTrackingEvent(ctx, sh.ID, ev)
		if err != nil {
			return "", fmt.Errorf("shipment %d, event %s at %s: %w", sh.ID, ev.Status, ev.OccurredAt, err)
		}
		if out == commerce.Created {
			added++
		}
	}
	outcome := fmt.Sprintf("shipment %d: %d of %d events new", sh.ID, added, len(u.Events))
	if len(u.Unmapped) > 0 {
		d.Log.Warn("tracking statuses not mapped", "carrier", u.Carrier, "tracking_number", number, "statuses", u.Unmapped)
		outcome += fmt.Sprintf("; left out %d not understood (%s)", len(u.Unmapped), strings.Join(dedupe(u.Unmapped), ", "))
	}
	return outcome, nil
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
