package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/aftercare/aftercare/internal/auth"
)

// tamper rewrites the payload of a genuine token and keeps its signature.
func tamper(t *testing.T, token string, change func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	change(claims)
	b, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// signed makes a token with method, key and kid of the caller's choosing.
func signed(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecurityJWTTamperedMagicLinksAreRefused(t *testing.T) {
	l := startLive(t)
	l.placeDemoOrder(t, "jane@example.com", "#8001")
	if _, err := l.DB.Exec(`INSERT INTO customers (email, name) VALUES ('sam@example.com', 'Sam')`); err != nil {
		t.Fatal(err)
	}
	jane, sam := l.customerID(t, "jane@example.com"), l.customerID(t, "sam@example.com")
	key := l.Config.SigningKeys[0]
	now := time.Now()
	claims := func(sub int64, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": strconv.FormatInt(sub, 10), "pur": "login", "jti": uuid.NewString(), "iat": now.Unix(), "exp": exp.Unix()}
	}
	genuine := l.magicToken(t, "jane@example.com", "login")
	head, _, _ := strings.Cut(genuine, ".")
	noneHead := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + key.ID + `"}`))
	noneBody, _ := json.Marshal(claims(sam, now.Add(time.Hour)))
	spent := l.magicToken(t, "sam@example.com", "login")
	spender := l.agent(t)
	spender.get("/m/" + spent)
	if p := spender.post("/m", url.Values{"token": {spent}}); p.status != http.StatusSeeOther {
		t.Fatalf("spending a genuine link: %d", p.status)
	}

	// The genuine token's own claims (its jti is live in the table), signed
	// again with our secret under a kid we do not have.
	var gc jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(genuine, &gc); err != nil {
		t.Fatal(err)
	}
	const invalid, used = http.StatusBadRequest, http.StatusGone
	cases := map[string]struct {
		token string
		want  int
	}{
		"alg none":                 {noneHead + "." + base64.RawURLEncoding.EncodeToString(noneBody) + ".", invalid},
		"alg none, no dot":         {noneHead + "." + base64.RawURLEncoding.EncodeToString(noneBody), invalid},
		"wrong key":                {signed(t, jwt.SigningMethodHS256, []byte("not our secret, but long enough to look real"), key.ID, claims(sam, now.Add(time.Hour))), invalid},
		"unknown kid":              {signed(t, jwt.SigningMethodHS256, key.Secret, "k-unknown", claims(sam, now.Add(time.Hour))), invalid},
		"unknown kid, genuine jti": {signed(t, jwt.SigningMethodHS256, key.Secret, "k-unknown", gc), invalid},
		"no kid, genuine jti":      {signed(t, jwt.SigningMethodHS256, key.Secret, "", gc), invalid},
		"HS512, our key":           {signed(t, jwt.SigningMethodHS512, key.Secret, key.ID, gc), invalid},
		"sub changed":              {tamper(t, genuine, func(c map[string]any) { c["sub"] = strconv.FormatInt(sam, 10) }), invalid},
		"purpose changed":          {tamper(t, genuine, func(c map[string]any) { c["pur"] = "order:2" }), invalid},
		"exp pushed out":           {tamper(t, genuine, func(c map[string]any) { c["exp"] = now.Add(1000 * time.Hour).Unix() }), invalid},
		"kid header edited":        {base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k-unknown","typ":"JWT"}`)) + genuine[len(head):], invalid},
		"signature cut":            {genuine[:strings.LastIndex(genuine, ".")+1], invalid},
		"padding added":            {genuine + "=", invalid},
		"oversized":                {genuine + strings.Repeat("A", 5000), invalid},
		"expired, our key":         {signed(t, jwt.SigningMethodHS256, key.Secret, key.ID, claims(jane, now.Add(-time.Minute))), used},
		"not in our table":         {signed(t, jwt.SigningMethodHS256, key.Secret, key.ID, claims(jane, now.Add(time.Hour))), used},
		"already spent":            {spent, used},
	}
	for name, tc := range cases {
		token := tc.token
		v := l.agent(t)
		open := v.get("/m/" + url.PathEscape(token))
		spend := v.post("/m", url.Values{"token": {token}})
		for what, p := range map[string]secPage{"open": open, "spend": spend} {
			ok := (tc.want == invalid && p.status == invalid && strings.Contains(p.body, "This link is not valid")) ||
				(tc.want == used && p.status == used && strings.Contains(p.body, "This link has been used or has expired"))
			if !ok {
				t.Errorf("%s (%s): status %d, want %d with its page", name, what, p.status, tc.want)
			}
			if c := p.header.Values("Set-Cookie"); strings.Contains(strings.Join(c, ";"), auth.SessionCookie+"=") {
				t.Errorf("%s (%s): a session cookie was set: %v", name, what, c)
			}
			if strings.Contains(p.body, `action="/m"`) {
				t.Errorf("%s (%s): the page offers to continue", name, what)
			}
		}
		if p := v.get("/orders"); p.status != http.StatusSeeOther && p.status != http.StatusFound {
			t.Errorf("%s: /orders after the attempt: %d, want a redirect to sign in", name, p.status)
		}
	}
	var sessions int
	if err := l.DB.Get(&sessions, `SELECT count(*) FROM sessions`); err != nil || sessions != 1 {
		t.Fatalf("sessions: %d (%v), want only the one of the genuine link", sessions, err)
	}
	// The genuine token, untouched, still works: the refusals are about the changes.
	v := l.agent(t)
	v.get("/m/" + genuine)
	if p := v.post("/m", url.Values{"token": {genuine}}); p.status != http.StatusSeeOther {
		t.Fatalf("the genuine link: %d", p.status)
	}
}
