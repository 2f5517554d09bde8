//go:build soak

package main

import (
	"testing"
	"time"
)

// TestFaultSoakStripeHangsPastTheTimeout is the Stripe fault of issue 9 at
// full length: a hang lasts past the client's 30 s timeout (see
// internal/payments), and the failed reward is left to the worker's own
// retry a minute later.
func TestFaultSoakStripeHangsPastTheTimeout(t *testing.T) { faultStripe(t, 45*time.Second, true) }
