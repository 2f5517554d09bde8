package returns

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/fault"
)

// TestEveryTransitionLegalAndIllegal checks all 10 × 10 × 3 moves against
// the lifecycle written out here by hand, independently of the table in
// status.go.
func TestEveryTransitionLegalAndIllegal(t *testing.T) {
	legal := map[string]bool{
		"requested>approved:staff":                  true,
		"requested>approved:system":                 true,
		"requested>rejected:staff":                  true,
		"requested>cancelled:shopper":               true,
		"approved>in_transit:staff":                 true,
		"approved>received:staff":                   true,
		"approved>cancelled:shopper":                true,
		"in_transit>received:staff":                 true,
		"in_transit>cancelled:shopper":              true,
		"received>refunded:staff":                   true,
		"received>credited:staff":                   true,
		"received>exchanged:staff":                  true,
		"received>resolution_failed:staff":          true,
		"resolution_failed>refunded:staff":          true,
		"resolution_failed>credited:staff":          true,
		"resolution_failed>exchanged:staff":         true,
		"resolution_failed>resolution_failed:staff": true,
	}
	seen := 0
	for _, from := range Statuses() {
		for _, to := range Statuses() {
			for _, by := range []Party{Shopper, Staff, System} {
				key := fmt.Sprintf("%s>%s:%s", from, to, by)
				t.Run(key, func(t *testing.T) {
					err := CheckMove(from, to, by)
					if legal[key] {
						seen++
						if err != nil {
							t.Fatalf("a legal move was refused: %v", err)
						}
						return
					}
					if err == nil {
						t.Fatal("an illegal move was allowed")
					}
					de, ok := fault.As(err)
					if !ok || de.Kind != fault.Conflict || de.Message == "" || strings.Contains(de.Message, "_") {
						t.Fatalf("refusal is not a readable conflict: %#v", err)
					}
				})
			}
		}
	}
	if seen != len(legal) {
		t.Fatalf("%d of the %d legal moves were checked", seen, len(legal))
	}
}

func TestIllegalMovesSayWhyInPlainWords(t *testing.T) {
	tests := []struct {
		from, to Status
		by       Party
		want     string
	}{
		{Received, Cancelled, Shopper, "A return that is received cannot be cancelled."},
		{Refunded, Refunded, Staff, "This return is already refunded; it cannot be refunded."},
		{Requested, Received, Staff, "A return that is waiting for review cannot be received."},
		{Requested, Approved, Shopper, "A return cannot be approved by the shopper."},
		{Approved, Cancelled, Staff, "A return cannot be cancelled by the staff."},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if err := CheckMove(tt.from, tt.to, tt.by); err == nil || err.Error() != tt.want {
				t.Fatalf("got %v", err)
			}
		})
	}
}
