package referral

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/referral/rewards"
)

func TestCodesReadAsTheFirstNameAndAnUnambiguousSuffix(t *testing.T) {
	for name, want := range map[string]string{
		"Jane Doe": "JANE", "josé garcía": "JOSE", "Zoë": "ZOE", "Anne-Marie Lee": "ANNEMARIE", "": "FRIEND",
		"李小龙": "FRIEND", "Maximiliana Sophia": "MAXIMILIAN",
	} {
		if got := prefixOf(name); got != want {
			t.Errorf("prefixOf(%q) = %q, want %q", name, got, want)
		}
	}
	for _, bad := range "01ILO" {
		if strings.ContainsRune(rewards.CodeAlphabet, bad) {
			t.Errorf("the alphabet has the look-alike %q", bad)
		}
	}
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	if !regexp.MustCompile(`^JANE-[2-9A-HJKMNP-Z]{4}$`).MatchString(jane.Code) {
		t.Fatalf("code %q", jane.Code)
	}
	// Found in any case and with stray spaces.
	c, err := codeByValue(context.Background(), w.db, " "+strings.ToLower(jane.Code)+" ")
	if err != nil || c.ID != jane.ID {
		t.Fatalf("lookup: %+v %v", c, err)
	}
}

// Many customers with one first name get codes at once from a random part
// with few values, so clashes are certain: each ends with its own code.
// And one customer asked for at once from many places gets exactly one.
func TestCodesAreUniqueWhenMadeConcurrently(t *testing.T) {
	w := newWorld(t, false)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	w.svc.suffix = func(n int) string {
		mu.Lock()
		defer mu.Unlock()
		// 60 values for 40 customers while the suffix is 4 long.
		if n == 4 {
			return fmt.Sprintf("%c%c22", rewards.CodeAlphabet[rng.IntN(6)], rewards.CodeAlphabet[rng.IntN(10)])
		}
		return rewards.RandomChars(n)
	}
	const n = 40
	ids := make([]int64, n)
	for i := range ids {
		if err := w.db.Get(&ids[i], `INSERT INTO customers (email, name) VALUES ($1, 'Jane') RETURNING id`, fmt.Sprintf("jane%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for _, id := range ids {
		for range 3 { // each customer from three places at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
					_, err := w.svc.EnsureCode(context.Background(), tx, id)
					return err
				})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := w.count(`SELECT count(DISTINCT code) FROM referral_codes`); got != n {
		t.Fatalf("%d distinct codes for %d customers", got, n)
	}
	if got := w.count(`SELECT count(*) FROM referral_codes`); got != n {
		t.Fatalf("%d codes for %d customers", got, n)
	}
}
