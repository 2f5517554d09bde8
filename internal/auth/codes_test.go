package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// wrongCode returns a valid-looking code that is not code.
func wrongCode(code string, i int) string {
	for n := i; ; n++ {
		if c := fmt.Sprintf("%06d", n); c != code {
			return c
		}
	}
}

func TestSpendCodeSignsInOnceWithTheRightCode(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "cy@example.com")
	token, code := f.issue(t, id, "login", SignInTTL)
	ctx := context.Background()

	c, err := f.links.SpendCode(ctx, f.db, "cy@example.com", code[:3]+" "+code[3:])
	if err != nil || c.CustomerID != id || c.Purpose != "login" {
		t.Fatalf("SpendCode = %+v, %v", c, err)
	}
	if _, err := f.links.SpendCode(ctx, f.db, "cy@example.com", code); !errors.Is(err, ErrCodeRejected) {
		t.Fatalf("second use of the code = %v, want ErrCodeRejected", err)
	}
	if _, err := f.links.Spend(ctx, f.db, token); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("link after its code was used = %v, want ErrLinkUsed", err)
	}
}

func TestSpendCodeRefusesTheCodeOnceItsLinkIsSpent(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "di@example.com")
	token, code := f.issue(t, id, "login", SignInTTL)
	ctx := context.Background()
	if _, err := f.links.Spend(ctx, f.db, token); err != nil {
		t.Fatalf("spend link: %v", err)
	}
	if _, err := f.links.SpendCode(ctx, f.db, "di@example.com", code); !errors.Is(err, ErrCodeRejected) {
		t.Fatalf("code after its link was used = %v, want ErrCodeRejected", err)
	}
}

func TestSpendCodeLocksAfterFiveWrongTries(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "ed@example.com")
	token, code := f.issue(t, id, "login", SignInTTL)
	ctx := context.Background()
	for i := range MaxCodeTries {
		if _, err := f.links.SpendCode(ctx, f.db, "ed@example.com", wrongCode(code, i)); !errors.Is(err, ErrCodeRejected) {
			t.Fatalf("wrong try %d = %v", i+1, err)
		}
	}
	if _, err := f.links.SpendCode(ctx, f.db, "ed@example.com", code); !errors.Is(err, ErrCodeRejected) {
		t.Fatalf("right code after %d wrong tries = %v, want ErrCodeRejected", MaxCodeTries, err)
	}
	if n := f.count(t, `SELECT code_tries FROM login_tokens WHERE customer_id = $1`, id); n != MaxCodeTries {
		t.Fatalf("code_tries = %d, want %d", n, MaxCodeTries)
	}
	if _, err := f.links.Spend(ctx, f.db, token); err != nil {
		t.Fatalf("the link itself should still work after the code locked: %v", err)
	}
}

func TestSpendCodeCountsParallelGuesses(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "fay@example.com")
	_, code := f.issue(t, id, "login", SignInTTL)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.links.SpendCode(ctx, f.db, "fay@example.com", wrongCode(code, i)) //nolint:errcheck // all wrong
		}()
	}
	wg.Wait()
	if n := f.count(t, `SELECT code_tries FROM login_tokens WHERE customer_id = $1`, id); n != MaxCodeTries {
		t.Fatalf("code_tries = %d after 12 parallel guesses, want it stopped at %d", n, MaxCodeTries)
	}
	if _, err := f.links.SpendCode(ctx, f.db, "fay@example.com", code); !errors.Is(err, ErrCodeRejected) {
		t.Fatalf("right code after parallel guesses = %v, want ErrCodeRejected", err)
	}
}

func TestSpendCodeRefusesOtherAddressesAndMalformedCodes(t *testing.T) {
	f := newFixture(t)
	a := f.customer(t, "gil@example.com")
	f.customer(t, "hal@example.com")
	_, code := f.issue(t, a, "login", SignInTTL)
	ctx := context.Background()
	for _, tc := range []struct{ name, email, code string }{
		{"another customer's address", "hal@example.com", code},
		{"an unknown address", "nobody@example.com", code},
		{"five digits", "gil@example.com", code[:5]},
		{"letters", "gil@example.com", "abcdef"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := f.links.SpendCode(ctx, f.db, tc.email, tc.code); !errors.Is(err, ErrCodeRejected) {
				t.Fatalf("SpendCode = %v, want ErrCodeRejected", err)
			}
		})
	}
	if _, err := f.links.SpendCode(ctx, f.db, "gil@example.com", code); err != nil {
		t.Fatalf("the owner's code stopped working: %v", err)
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{"123456": "123456", " 123 456 ": "123456", "123-456": "123456",
		"12345": "", "1234567": "", "12345x": "", "١٢٣٤٥٦": ""} {
		got, ok := NormalizeCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
