//go:build soak

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/aftercare/aftercare/internal/payments"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/stripemock"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

// TestSoakReferralRewardsGrantedOnceByTwoInstances converts 200 referrals
// through two instances on one database and lets both instances' workers
// grant the rewards against one stripe-mock. The second instance's Stripe
// fails part of the time (before and after Stripe did the write), so grants
// and friend codes are retried. Every reward must be granted exactly once,
// also when sweeps race the workers for the same rewards,
// every Stripe object must be asked for under one Idempotency-Key however
// often it is retried, and each must be answered successfully once.
func TestSoakReferralRewardsGrantedOnceByTwoInstances(t *testing.T) {
	pairs := 200
	if n, err := strconv.Atoi(os.Getenv("SOAK_REFERRAL_PAIRS")); err == nil && n > 0 {
		pairs = n // fewer for a quick mutation check
	}
	mock, err := stripemock.Start(context.Background())
	if err != nil {
		t.Fatalf("stripe-mock: %v", err)
	}
	t.Cleanup(mock.Stop)
	log := &soakStripeLog{tries: map[string]int{}}
	proxies := make([]string, 2)
	insts, key := startInstances(t, 2, pgtest.URL(t), mailtest.NewServer(t), func(i int) map[string]string {
		proxies[i] = log.proxy(t, mock.URL(), i, i == 1)
		return map[string]string{"AFTERCARE_STRIPE_SECRET_KEY": "sk_test_123", "AFTERCARE_STRIPE_API_BASE": proxies[i],
			"AFTERCARE_TRUSTED_PROXIES": "127.0.0.1"} // each friend claims from an address of their own
	})
	db := insts[0].DB
	ctx := context.Background()
	// Holds end at delivery: the returns window is stored as 0 days (the
	// staff form asks for at least 1; the rewards read the stored value).
	if err := settings.SaveSection(ctx, db, "returns", map[string]any{"window_days": 0}, "soak"); err != nil {
		t.Fatal(err)
	}
	p := program.Defaults()
	p.AskAfterDelivery, p.AskAfterReview = false, false
	if err := program.Save(ctx, db, p, "soak"); err != nil {
		t.Fatal(err)
	}

	placed := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	order := func(inst soakInstance, ext, email string, codes []string) error {
		id, err := soakWant(inst.base, key, "POST", "/api/v1/orders", map[string]any{
			"external_id": ext, "placed_at": placed, "currency": "USD", "discount_codes": codes,
			"customer": map[string]any{"email": email, "name": "Pat " + ext},
			"items":    []map[string]any{{"sku": "MUG", "title": "Mug", "quantity": 2, "unit_price": 1200}},
			"subtotal": 2400, "total": 2400,
		}, http.StatusCreated)
		if err != nil || codes == nil {
			return err
		}
		ship, err := soakWant(inst.base, key, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", id), map[string]any{"carrier": "UPS", "tracking_number": "1ZSOAK" + ext}, http.StatusCreated)
		if err != nil {
			return err
		}
		_, err = soakWant(inst.base, key, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", ship), map[string]any{
			"status": "delivered", "detail": "Delivered", "occurred_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "provider_event_id": "d-" + ext,
		}, http.StatusCreated)
		return err
	}
	var claimRetries int
	var mu sync.Mutex
	soakParallel(t, pairs, func(i int) error {
		inst := insts[i%2]
		email := fmt.Sprintf("referrer%d@example.com", i)
		if err := order(inst, fmt.Sprintf("ref-%d", i), email, nil); err != nil {
			return err
		}
		var code string
		if err := soakWaitRow(db, &code, `SELECT c.code FROM referral_codes c JOIN customers u ON u.id = c.customer_id WHERE u.email = $1`, email); err != nil {
			return err
		}
		friend := fmt.Sprintf("friend%d@example.net", i)
		retries, err := soakClaim(insts[(i+1)%2].base+"/r/"+code, friend, fmt.Sprintf("10.9.%d.%d", i/250, i%250+1))
		mu.Lock()
		claimRetries += retries
		mu.Unlock()
		if err != nil {
			return err
		}
		var promo string
		if err := db.Get(&promo, `SELECT promotion_code FROM referrals WHERE friend_email = $1`, friend); err != nil {
			return fmt.Errorf("friend %d's code: %w", i, err)
		}
		return order(inst, fmt.Sprintf("friend-%d", i), friend, []string{promo})
	})

	// Besides the instances' jobs, a sweep per instance runs back to back
	// (in production every few minutes), so sweeps race the jobs for the
	// same rewards: the row lock and the state check must keep them apart.
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	var sweeps sync.WaitGroup
	for i := range proxies {
		sw := rewards.NewService(rewards.Options{DB: db, Gateway: rewards.NewStripeGateway(payments.NewClient("sk_test_123", proxies[i]))})
		sweeps.Add(1)
		go func() {
			defer sweeps.Done()
			for sweepCtx.Err() == nil {
				sw.Sweep(sweepCtx) //nolint:errcheck // failures are recorded on the rewards
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	// Grants that failed wait a minute for their retry: give them several.
	deadline := time.Now().Add(8 * time.Minute)
	for {
		var granted, failed int
		db.Get(&granted, `SELECT count(*) FROM rewards WHERE status = 'granted'`)                         //nolint:errcheck // polled
		db.Get(&failed, `SELECT count(DISTINCT reward_id) FROM reward_events WHERE to_status = 'failed'`) //nolint:errcheck // polled
		if granted >= pairs || time.Now().After(deadline) {
			t.Logf("%d rewards granted; %d had a failed attempt; %d friend claims retried", granted, failed, claimRetries)
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(2 * time.Second) // a second grant would show up late
	stopSweeps()
	sweeps.Wait()
	checkRewardsGrantedOnce(t, db, pairs)
	checkStripeKeys(t, log.snapshot(), pairs)
}

// soakParallel calls f for 0..n-1, eight at a time, and fails the test on the first
// errors.
func soakParallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errs <- fmt.Errorf("pair %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// soakWaitRow polls query into dest until it finds a row (reactions to an order
// may run after the API answered).
func soakWaitRow(db interface {
	Get(dest any, query string, args ...any) error
}, dest any, query string, args ...any) error {
	var err error
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if err = db.Get(dest, query, args...); err == nil {
			return nil
		}
	}
	return err
}

// soakClaim is a friend on a share link asking for the offer from ip, as the
// landing page's form does, retrying while the answer is 503 (Stripe
// failed; the page says to try again). It returns how many retries it took.
func soakClaim(link, email, ip string) (int, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get, _ := http.NewRequest("GET", link, nil)
	get.Header.Set("X-Forwarded-For", ip)
	resp, err := client.Do(get)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	u, _ := url.Parse(link)
	csrf := ""
	for _, c := range jar.Cookies(u) {
		if c.Name == "aftercare_csrf" {
			csrf = c.Value
		}
	}
	for try := 0; try < 6; try++ {
		form := url.Values{"email": {email}, "_csrf": {csrf}}
		post, _ := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.Header.Set("X-Forwarded-For", ip)
		resp, err := client.Do(post)
		if err != nil {
			return try, err
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return try, nil
		case http.StatusServiceUnavailable:
			time.Sleep(300 * time.Millisecond)
			continue
		}
		return try, fmt.Errorf("claim %s: status %d", link, resp.StatusCode)
	}
	return 6, fmt.Errorf("claim %s: still 503", link)
}
