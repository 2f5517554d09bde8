package journey_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/journey"
)

func TestSignedLinks(t *testing.T) {
	old := config.SigningKey{ID: "old", Secret: []byte("an old secret that is long enough to use!")}
	signer := journey.NewLinks(testKeys, base)
	rotated := journey.NewLinks([]config.SigningKey{{ID: "k2", Secret: []byte("a brand new secret, also long enough......")}, testKeys[0]}, base)
	stranger := journey.NewLinks([]config.SigningKey{old}, base)

	token := func(u string) string {
		t.Helper()
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(p.Path, "/")
		tok, _ := url.PathUnescape(parts[len(parts)-1])
		return tok
	}
	prefs := token(signer.PreferencesURL(42))

	t.Run("a preferences token names its customer", func(t *testing.T) {
		if id, ok := signer.Customer(prefs); !ok || id != 42 {
			t.Fatalf("Customer = %d, %v", id, ok)
		}
	})
	t.Run("the unsubscribe links carry the same token", func(t *testing.T) {
		for _, u := range []string{signer.UnsubscribeURL(42, 7), signer.OneClickURL(42, 7)} {
			if token(u) != prefs || !strings.HasSuffix(u, "?m=7") {
				t.Errorf("%s", u)
			}
		}
	})
	t.Run("after a key rotation old links still work", func(t *testing.T) {
		if id, ok := rotated.Customer(prefs); !ok || id != 42 {
			t.Fatalf("Customer = %d, %v", id, ok)
		}
	})
	for name, tok := range map[string]string{
		"another customer's id":  strings.Replace(prefs, "42.", "43.", 1),
		"a changed signature":    prefs[:len(prefs)-2] + "AA",
		"no signature":           "42",
		"an unknown key":         token(stranger.PreferencesURL(42)),
		"an empty kid":           "42..abc",
		"a click signature":      "42." + strings.SplitN(mustQuery(t, signer.ClickURL(42, "https://x.test"), "s"), ".", 2)[0] + ".x",
		"a negative customer id": strings.Replace(prefs, "42.", "-42.", 1),
	} {
		t.Run("a token with "+name+" is refused", func(t *testing.T) {
			if id, ok := signer.Customer(tok); ok {
				t.Fatalf("Customer(%q) = %d", tok, id)
			}
		})
	}
	t.Run("a click signature binds the message and the URL", func(t *testing.T) {
		u := signer.ClickURL(7, "https://fernfield.example/kettle")
		sig := mustQuery(t, u, "s")
		if !signer.VerifyClick(7, mustQuery(t, u, "u"), sig) {
			t.Fatal("own click link refused")
		}
		if signer.VerifyClick(8, "https://fernfield.example/kettle", sig) || signer.VerifyClick(7, "https://evil.example/", sig) {
			t.Fatal("a click signature passed for another message or URL")
		}
	})
	t.Run("an open signature is not a click signature", func(t *testing.T) {
		p := signer.PixelURL(7)
		sig := p[strings.LastIndex(p, "/")+1:]
		if !signer.VerifyOpen(7, sig) || signer.VerifyOpen(8, sig) || signer.VerifyClick(7, "", strings.TrimSuffix(sig, ".gif")) {
			t.Fatal("open signature misbehaves")
		}
	})
}

func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
