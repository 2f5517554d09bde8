package rewards

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/referral/program"
)

// Two instances (two pools, two services) sweep the same payable rewards at
// once: each reward is paid exactly once, with one promotion code request
// and one recorded grant.
func TestTwoWorkersAtOnceNeverGrantTwice(t *testing.T) {
	url := pgtest.URL(t)
	w := newWorld(t)
	pools := make([]*sqlx.DB, 2)
	for i := range pools {
		d, err := sqlx.Open("postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		d.SetMaxOpenConns(4)
		t.Cleanup(func() { d.Close() })
		pools[i] = d
	}
	w.db = pools[0]
	w.svc = w.service(pools[0], nil)
	const n = 12
	ids := make([]int64, n)
	for i := range ids {
		r, _ := w.hold(program.Defaults())
		ids[i] = r.ID
	}
	w.clock.add(25 * 24 * time.Hour)

	workers := []*Service{w.service(pools[0], nil), w.service(pools[1], nil)}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = workers[i%2].Sweep(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if r := w.reward(id); r.Status != Granted {
			t.Errorf("reward %d: %s", id, r.Status)
		}
	}
	var grants int
	if err := w.db.Get(&grants, `SELECT count(*) FROM reward_events WHERE to_status = 'granted'`); err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, c := range w.rec.posts("/v1/promotion_codes") {
		keys[c.Key]++
	}
	if grants != n || len(keys) != n {
		t.Fatalf("%d grants recorded and %d promotion code keys for %d rewards", grants, len(keys), n)
	}
	for k, c := range keys {
		if c != 1 {
			t.Errorf("promotion code %s requested %d times", k, c)
		}
	}
}
