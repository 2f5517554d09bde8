//go:build soak

package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// checkRewardsGrantedOnce asserts on the database: one referral reward per
// converted referral, each granted, with one move to granted in its
// history and nothing after it.
func checkRewardsGrantedOnce(t *testing.T, db *sqlx.DB, pairs int) {
	t.Helper()
	var c struct {
		Converted int `db:"converted"`
		Rewards   int `db:"rewards"`
		Distinct  int `db:"distinct_refs"`
		Granted   int `db:"granted"`
		Other     int `db:"other"`
	}
	err := db.Get(&c, `SELECT
		(SELECT count(*) FROM referrals WHERE status = 'converted') AS converted,
		(SELECT count(*) FROM rewards WHERE kind = 'referral') AS rewards,
		(SELECT count(DISTINCT referral_id) FROM rewards WHERE kind = 'referral') AS distinct_refs,
		(SELECT count(*) FROM rewards WHERE kind = 'referral' AND status = 'granted') AS granted,
		(SELECT count(*) FROM rewards WHERE kind <> 'referral') AS other`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Converted != pairs || c.Rewards != pairs || c.Distinct != pairs || c.Granted != pairs || c.Other != 0 {
		t.Errorf("converted %d, rewards %d (for %d referrals), granted %d, other rewards %d; want %d each and no others",
			c.Converted, c.Rewards, c.Distinct, c.Granted, c.Other, pairs)
	}
	var bad []string
	err = db.Select(&bad, `SELECT reward_id || ': ' || string_agg(from_status || '>' || to_status, ' ' ORDER BY id) FROM reward_events
		GROUP BY reward_id
		HAVING count(*) FILTER (WHERE to_status = 'granted') <> 1
			OR max(id) <> max(id) FILTER (WHERE to_status = 'granted')
			OR min(id) <> min(id) FILTER (WHERE from_status = '' AND to_status = 'held')`)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("reward history not held > ... > granted once: %s", b)
	}
}

// checkStripeKeys asserts on what reached the Stripe proxies: every write
// has an Idempotency-Key, every Stripe object of ours (a reward's code, a
// friend's code, a referrer's Stripe customer, named by the metadata in the
// request) was always asked for under one key, and was answered with
// success exactly once. Retries must have happened, on both kinds of
// fault, and both instances must have granted.
func checkStripeKeys(t *testing.T, calls []soakStripeCall, pairs int) {
	t.Helper()
	keys := map[string]map[string]bool{} // object -> keys used
	wins := map[string]int{}             // object -> successful answers
	tries := map[string]int{}            // object -> requests
	grantedBy := map[int]int{}
	var reads, lost, refused int
	for _, c := range calls {
		if c.Method != http.MethodPost {
			reads++
			continue
		}
		if c.Key == "" {
			t.Errorf("%s %s without an Idempotency-Key", c.Method, c.Path)
		}
		if c.Status == http.StatusInternalServerError {
			if c.Forwarded {
				lost++
			} else {
				refused++
			}
		}
		obj := ""
		switch {
		case c.Path == "/v1/promotion_codes" && c.Form.Get("metadata[aftercare_reward_id]") != "":
			obj = "reward " + c.Form.Get("metadata[aftercare_reward_id]")
		case c.Path == "/v1/promotion_codes":
			obj = "friend code of referral " + c.Form.Get("metadata[aftercare_referral_id]")
		case c.Path == "/v1/customers":
			obj = "Stripe customer of " + c.Form.Get("metadata[aftercare_customer_id]")
		default:
			continue // coupons: one per offer shape, made by whichever instance comes first
		}
		if keys[obj] == nil {
			keys[obj] = map[string]bool{}
		}
		keys[obj][c.Key] = true
		tries[obj]++
		if c.Status/100 == 2 {
			wins[obj]++
			if strings.HasPrefix(obj, "reward ") {
				grantedBy[c.Instance]++
			}
		}
	}
	var retried int
	for obj, ks := range keys {
		if len(ks) != 1 {
			t.Errorf("%s was asked for under %d Idempotency-Keys: %v", obj, len(ks), ks)
		}
		if wins[obj] != 1 {
			t.Errorf("%s was created successfully %d times", obj, wins[obj])
		}
		if tries[obj] > 1 {
			retried++
		}
	}
	if grantedBy[0]+grantedBy[1] != pairs {
		t.Errorf("%d reward codes created in Stripe, want %d", grantedBy[0]+grantedBy[1], pairs)
	}
	t.Logf("Stripe: %d requests (%d reads); %d writes failed before Stripe, %d after Stripe wrote; %d objects retried; reward codes by instance: %v",
		len(calls), reads, refused, lost, retried, grantedBy)
	if lost == 0 || refused == 0 || retried == 0 {
		t.Errorf("the flaky instance caused no retries (%d lost, %d refused, %d retried): the test proves nothing", lost, refused, retried)
	}
	if grantedBy[0] == 0 || grantedBy[1] == 0 {
		t.Errorf("one instance granted everything: %v", grantedBy)
	}
}
