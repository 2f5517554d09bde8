package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/aftercare/aftercare/internal/config"
)

// forge signs arbitrary claims the way an attacker (or a careless peer) might.
func forge(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge: %v", err)
	}
	return s
}

func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{"sub": "1", "pur": "login", "jti": uuid.NewString(),
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
}

func TestIssueStoresTheJTIAndAHashedCodeOnly(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "ann@example.com")
	link, err := f.links.Issue(context.Background(), f.db, id, "order:7", EmailLinkTTL)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if !strings.HasPrefix(link.URL, testBaseURL+"/m/") {
		t.Fatalf("URL = %q", link.URL)
	}
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(link.Code) {
		t.Fatalf("code = %q, want 6 digits", link.Code)
	}
	if d := time.Until(link.ExpiresAt) - EmailLinkTTL; d > time.Second || d < -2*time.Second {
		t.Fatalf("expires at %s, want about 30 days from now", link.ExpiresAt)
	}
	token := strings.TrimPrefix(link.URL, testBaseURL+"/m/")
	claims, err := f.links.Verify(token)
	if err != nil {
		t.Fatalf("verify own token: %v", err)
	}
	if claims.CustomerID != id || claims.Purpose != "order:7" {
		t.Fatalf("claims = %+v", claims)
	}
	var row struct {
		CustomerID int64  `db:"customer_id"`
		Purpose    string `db:"purpose"`
		KID        string `db:"kid"`
		CodeHash   []byte `db:"code_hash"`
	}
	if err := f.db.Get(&row, `SELECT customer_id, purpose, kid, code_hash FROM login_tokens WHERE jti = $1`, claims.JTI); err != nil {
		t.Fatalf("stored row: %v", err)
	}
	if row.CustomerID != id || row.Purpose != "order:7" || row.KID != testKeys[0].ID {
		t.Fatalf("row = %+v; want signed by the first key %q", row, testKeys[0].ID)
	}
	plain := sha256.Sum256([]byte(link.Code))
	if len(row.CodeHash) != 32 || string(row.CodeHash) == string(plain[:]) || strings.Contains(string(row.CodeHash), link.Code) {
		t.Fatalf("code is not stored as a keyed hash: %x", row.CodeHash)
	}
	if n := f.count(t, `SELECT count(*) FROM login_tokens t WHERE strpos(t::text, $1) > 0`, token); n != 0 {
		t.Fatalf("the token itself is stored")
	}
}

func TestVerifyRefusesTokensNotSignedByUs(t *testing.T) {
	links := NewLinks(nil, testKeys, testBaseURL)
	signer := testKeys[0]
	good := forge(t, jwt.SigningMethodHS256, signer.ID, signer.Secret, goodClaims())
	parts := strings.Split(good, ".")
	otherPayload := strings.Split(forge(t, jwt.SigningMethodHS256, signer.ID, signer.Secret,
		jwt.MapClaims{"sub": "2", "pur": "order:9", "jti": uuid.NewString(), "exp": time.Now().Add(time.Hour).Unix()}), ".")[1]
	flipped := []byte(parts[2])
	flipped[3] ^= 0x01
	cases := []struct{ name, token string }{
		{"a payload swapped under a valid signature", parts[0] + "." + otherPayload + "." + parts[2]},
		{"a signature with one changed character", parts[0] + "." + parts[1] + "." + string(flipped)},
		{"a token with no signature", parts[0] + "." + parts[1] + "."},
		{"alg none", forge(t, jwt.SigningMethodNone, signer.ID, jwt.UnsafeAllowNoneSignatureType, goodClaims())},
		{"HS512 with our own key", forge(t, jwt.SigningMethodHS512, signer.ID, signer.Secret, goodClaims())},
		{"an unknown kid", forge(t, jwt.SigningMethodHS256, "2019-01", signer.Secret, goodClaims())},
		{"no kid", forge(t, jwt.SigningMethodHS256, "", signer.Secret, goodClaims())},
		{"a known kid with another secret", forge(t, jwt.SigningMethodHS256, signer.ID, []byte(strings.Repeat("x", 32)), goodClaims())},
		{"no expiry", forge(t, jwt.SigningMethodHS256, signer.ID, signer.Secret, jwt.MapClaims{"sub": "1", "pur": "login", "jti": uuid.NewString()})},
		{"a subject that is not a customer id", forge(t, jwt.SigningMethodHS256, signer.ID, signer.Secret, jwt.MapClaims{"sub": "admin", "pur": "login", "jti": uuid.NewString(), "exp": time.Now().Add(time.Hour).Unix()})},
		{"a jti that is not a uuid", forge(t, jwt.SigningMethodHS256, signer.ID, signer.Secret, jwt.MapClaims{"sub": "1", "pur": "login", "jti": "x", "exp": time.Now().Add(time.Hour).Unix()})},
		{"garbage", "not-a-token"},
		{"nothing", ""},
		{"a huge token", strings.Repeat("a", 5000) + "." + parts[1] + "." + parts[2]},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := links.Verify(tc.token); !errors.Is(err, ErrLinkInvalid) {
				t.Fatalf("Verify = %v, want ErrLinkInvalid", err)
			}
		})
	}
	t.Run("accepts the well-formed token the cases were cut from", func(t *testing.T) {
		if _, err := links.Verify(good); err != nil {
			t.Fatalf("Verify(good) = %v", err)
		}
	})
}

func TestVerifyAcceptsAnOlderKeyOfTheRing(t *testing.T) {
	old := NewLinks(nil, testKeys[1:], testBaseURL)
	c := goodClaims()
	token := forge(t, jwt.SigningMethodHS256, testKeys[1].ID, testKeys[1].Secret, c)
	if _, err := old.Verify(token); err != nil {
		t.Fatalf("old ring: %v", err)
	}
	rotated := NewLinks(nil, testKeys, testBaseURL)
	if _, err := rotated.Verify(token); err != nil {
		t.Fatalf("token of the second key no longer verifies after rotation: %v", err)
	}
	retired := NewLinks(nil, testKeys[:1], testBaseURL)
	if _, err := retired.Verify(token); !errors.Is(err, ErrLinkInvalid) {
		t.Fatalf("token of a retired key: %v, want ErrLinkInvalid", err)
	}
}

func TestExpiredTokenIsReportedWithItsCustomer(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "eve@example.com")
	f.links.now = func() time.Time { return time.Now().Add(-time.Hour) }
	token, _ := f.issue(t, id, "login", SignInTTL)
	f.links.now = time.Now
	claims, err := f.links.Verify(token)
	if !errors.Is(err, ErrLinkUsed) || claims.CustomerID != id {
		t.Fatalf("Verify = %+v, %v; want the claims and ErrLinkUsed", claims, err)
	}
	if _, err := f.links.Spend(context.Background(), f.db, token); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("Spend of an expired token = %v, want ErrLinkUsed", err)
	}
}

func TestSpendSpendsATokenExactlyOnce(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "bob@example.com")
	token, _ := f.issue(t, id, "order:3", EmailLinkTTL)
	ctx := context.Background()

	if _, err := f.links.Check(ctx, token); err != nil {
		t.Fatalf("Check before spending: %v", err)
	}
	if _, err := f.links.Check(ctx, token); err != nil {
		t.Fatalf("a second Check spent the token: %v", err)
	}
	var wins, used atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.links.Spend(ctx, f.db, token)
			switch {
			case err == nil && c.CustomerID == id && c.Purpose == "order:3":
				wins.Add(1)
			case errors.Is(err, ErrLinkUsed):
				used.Add(1)
			default:
				t.Errorf("Spend = %+v, %v", c, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || used.Load() != 7 {
		t.Fatalf("%d spends won and %d were refused; want exactly 1 and 7", wins.Load(), used.Load())
	}
	if _, err := f.links.Check(ctx, token); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("Check after spending = %v, want ErrLinkUsed", err)
	}
}

func TestIssueNeedsAKeyAndSaneArguments(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "kim@example.com")
	ctx := context.Background()
	if _, err := NewLinks(f.db, nil, testBaseURL).Issue(ctx, f.db, id, "login", SignInTTL); err == nil {
		t.Fatal("issued without a signing key")
	}
	for _, bad := range []struct {
		id      int64
		purpose string
		ttl     time.Duration
	}{{0, "login", SignInTTL}, {id, "", SignInTTL}, {id, "login", 0}} {
		if _, err := f.links.Issue(ctx, f.db, bad.id, bad.purpose, bad.ttl); err == nil {
			t.Fatalf("issued for %+v", bad)
		}
	}
}

// FuzzVerify: whatever the input, Verify never panics, and it accepts only
// the exact tokens we signed.
func FuzzVerify(f *testing.F) {
	key := config.SigningKey{ID: "fuzz", Secret: []byte(strings.Repeat("k", 32))}
	links := NewLinks(nil, []config.SigningKey{key}, testBaseURL)
	// Deterministic, because each fuzz worker process builds it again.
	good, err := links.sign(key, tokenClaims{Purpose: "login", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "42", ID: "5f0c8a52-8f5e-4c1e-9a43-0b6f2d7e9c11", ExpiresAt: jwt.NewNumericDate(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)),
	}})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(good + "=")
	f.Add(strings.ToUpper(good))
	f.Add("eyJhbGciOiJub25lIiwia2lkIjoiZnV6eiJ9.eyJzdWIiOiI0MiJ9.")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := links.Verify(s)
		if err == nil && s != good {
			t.Fatalf("accepted %q as %+v", s, c)
		}
		if err != nil && !errors.Is(err, ErrLinkInvalid) && !errors.Is(err, ErrLinkUsed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// TestIssueManyIssuesLinksThatEachWorkOnce: links issued together (one
// insert, as an email batch issues them) are each their own: each one's
// link and code sign its own customer in for its own purpose, once.
func TestIssueManyIssuesLinksThatEachWorkOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ann, bob := f.customer(t, "ann@example.com"), f.customer(t, "bob@example.com")
	reqs := []LinkRequest{{ann, "order:1", EmailLinkTTL}, {bob, "order:2", EmailLinkTTL}, {ann, "login", SignInTTL}}
	links, err := f.links.IssueMany(ctx, f.db, reqs)
	if err != nil || len(links) != 3 {
		t.Fatalf("issue many: %d links, %v", len(links), err)
	}
	if n := f.count(t, `SELECT count(DISTINCT jti) FROM login_tokens`); n != 3 {
		t.Fatalf("%d distinct tokens stored, want 3", n)
	}
	for i, l := range links[:2] {
		c, err := f.links.Spend(ctx, f.db, strings.TrimPrefix(l.URL, testBaseURL+"/m/"))
		if err != nil || c.CustomerID != reqs[i].CustomerID || c.Purpose != reqs[i].Purpose {
			t.Fatalf("link %d spent as %+v, %v; want customer %d, %s", i, c, err, reqs[i].CustomerID, reqs[i].Purpose)
		}
		if d := time.Until(c.ExpiresAt) - reqs[i].TTL; d > time.Second || d < -2*time.Second {
			t.Errorf("link %d expires at %s, want %s from now", i, c.ExpiresAt, reqs[i].TTL)
		}
		if _, err := f.links.Spend(ctx, f.db, strings.TrimPrefix(l.URL, testBaseURL+"/m/")); !errors.Is(err, ErrLinkUsed) {
			t.Errorf("link %d spent twice: %v", i, err)
		}
	}
	// The third link's code works by itself, for ann's sign-in.
	c, err := f.links.SpendCode(ctx, f.db, "ann@example.com", links[2].Code)
	if err != nil || c.CustomerID != ann || c.Purpose != "login" {
		t.Fatalf("code of link 2 = %+v, %v", c, err)
	}
	if _, err := f.links.IssueMany(ctx, f.db, []LinkRequest{{ann, "login", SignInTTL}, {0, "login", SignInTTL}}); err == nil {
		t.Error("a request without a customer was issued")
	}
}

// TestLoginTokensFollowTheirCustomers checks what the dropped foreign key
// did (migration 00019) and the time-ordered jtis: links for a customer who
// no longer exists fail the whole call and store nothing, deleting
// customers deletes their tokens and only theirs, and a batch's jtis sort
// in the order they were issued, so they append to the primary key.
func TestLoginTokensFollowTheirCustomers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ann, bob, gus := f.customer(t, "ann@example.com"), f.customer(t, "bob@example.com"), f.customer(t, "gus@example.com")
	if _, err := f.db.Exec(`DELETE FROM customers WHERE id = $1`, gus); err != nil {
		t.Fatal(err)
	}
	tx := f.db.MustBegin()
	if _, err := f.links.IssueMany(ctx, tx, []LinkRequest{{ann, "login", SignInTTL}, {gus, "login", SignInTTL}}); err == nil {
		t.Fatal("a link for a deleted customer was issued")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM login_tokens`); n != 0 {
		t.Fatalf("%d tokens stored by the failed call", n)
	}

	var reqs []LinkRequest
	for i := 0; i < 50; i++ {
		reqs = append(reqs, LinkRequest{[]int64{ann, bob}[i%2], "login", SignInTTL})
	}
	links, err := f.links.IssueMany(ctx, f.db, reqs)
	if err != nil {
		t.Fatal(err)
	}
	var issued, stored []string
	for _, l := range links {
		c, err := f.links.Verify(strings.TrimPrefix(l.URL, testBaseURL+"/m/"))
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, c.JTI)
	}
	if err := f.db.Select(&stored, `SELECT jti FROM login_tokens ORDER BY jti`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(issued, stored) {
		t.Fatalf("jtis in the order issued:\n%v\nsorted by PostgreSQL:\n%v", issued, stored)
	}
	if _, err := f.db.Exec(`DELETE FROM customers WHERE id = $1`, bob); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM login_tokens WHERE customer_id = $1`, bob); n != 0 {
		t.Fatalf("%d tokens of a deleted customer left", n)
	}
	if n := f.count(t, `SELECT count(*) FROM login_tokens WHERE customer_id = $1`, ann); n != 25 {
		t.Fatalf("ann has %d tokens, want 25", n)
	}
}
