//go:build soak

package main

import (
	"testing"
	"time"
)

// TestSoakLoad200Shoppers is the long load run of make soak: 200 shoppers
// browsing and signing in for 60 s against one instance. It asserts no
// 5xx, a p99 under a generous 2 s, and no leaked goroutines or database
// connections once the app is idle again.
func TestSoakLoad200Shoppers(t *testing.T) {
	l := startLiveWith(t, map[string]string{"AFTERCARE_TRUSTED_PROXIES": "127.0.0.1"})
	shoppers := seedShoppers(t, l, 200)
	baseline := idleGoroutines(l)
	st := runLoad(t, l, shoppers, 60*time.Second)
	checkLoad(t, st)
	if p99 := st.Quantile(0.99); p99 > 2*time.Second {
		t.Errorf("p99 %s, want under 2 s", p99)
	}
	checkNoLeaks(t, l, baseline)
}
