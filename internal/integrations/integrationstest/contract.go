package integrationstest

import (
	"net/http"
	"strings"
	"testing"
)

// Signer returns the headers of a delivery of body signed with secret:
// the signature and whatever names the event (topic, delivery id).
type Signer func(body []byte, secret string) map[string]string

// Delivery is one provider delivery for the inbox contract.
type Delivery struct {
	Provider string
	Secret   string
	Body     []byte
	Sign     Signer
	// Malformed is a body the provider cannot have sent, signed correctly.
	Malformed []byte
}

// Contract checks what every provider's inbox must do, on a fresh Env: no
// secret set or a wrong, missing or mismatched signature is refused with
// 401 and stores nothing; a malformed body is refused with 400 and stores
// nothing; a valid one is accepted (200) and stored with one processing
// job; its redelivery is answered 200 and stored once.
func Contract(t *testing.T, env *Env, d Delivery) {
	t.Helper()
	nothingStored := func(t *testing.T) {
		t.Helper()
		if n, jobs := env.Stored(t); n != 0 || jobs != 0 {
			t.Fatalf("%d events and %d jobs stored; want none", n, jobs)
		}
	}
	refused := func(t *testing.T, r Response, status int) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
		}
		if !strings.HasPrefix(r.ContentType, "application/problem+json") {
			t.Fatalf("content type %q, want a problem document", r.ContentType)
		}
		nothingStored(t)
	}
	t.Run("a delivery before any secret is set is refused with 401", func(t *testing.T) {
		refused(t, env.Post(t, d.Provider, d.Body, d.Sign(d.Body, d.Secret)), http.StatusUnauthorized)
	})
	env.SetSecret(t, d.Provider, d.Secret)
	t.Run("a wrong signature is refused with 401 and stores nothing", func(t *testing.T) {
		refused(t, env.Post(t, d.Provider, d.Body, d.Sign(d.Body, d.Secret+"-wrong")), http.StatusUnauthorized)
	})
	t.Run("a missing signature is refused with 401", func(t *testing.T) {
		h := d.Sign(d.Body, d.Secret)
		for k := range h {
			if strings.Contains(strings.ToLower(k), "sig") || strings.Contains(strings.ToLower(k), "hmac") {
				delete(h, k)
			}
		}
		refused(t, env.Post(t, d.Provider, d.Body, h), http.StatusUnauthorized)
	})
	t.Run("a body changed after signing is refused with 401", func(t *testing.T) {
		changed := append([]byte(nil), d.Body...)
		changed = append(changed, ' ')
		refused(t, env.Post(t, d.Provider, changed, d.Sign(d.Body, d.Secret)), http.StatusUnauthorized)
	})
	t.Run("a malformed body is refused with 400 and stores nothing", func(t *testing.T) {
		refused(t, env.Post(t, d.Provider, d.Malformed, d.Sign(d.Malformed, d.Secret)), http.StatusBadRequest)
	})
	t.Run("a valid signature is accepted and stored with one job", func(t *testing.T) {
		r := env.Post(t, d.Provider, d.Body, d.Sign(d.Body, d.Secret))
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"accepted"`) {
			t.Fatalf("status %d %s, want 200 accepted", r.Status, r.Body)
		}
		if n, jobs := env.Stored(t); n != 1 || jobs != 1 {
			t.Fatalf("%d events and %d jobs stored; want one of each", n, jobs)
		}
		var body []byte
		if err := env.DB.Get(&body, `SELECT body FROM webhook_events`); err != nil || string(body) != string(d.Body) {
			t.Fatalf("stored body differs from the raw bytes received (err %v)", err)
		}
	})
	t.Run("a redelivery is answered 200 and not stored or queued again", func(t *testing.T) {
		r := env.Post(t, d.Provider, d.Body, d.Sign(d.Body, d.Secret))
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"duplicate"`) {
			t.Fatalf("status %d %s, want 200 duplicate", r.Status, r.Body)
		}
		if n, jobs := env.Stored(t); n != 1 || jobs != 1 {
			t.Fatalf("%d events and %d jobs stored; want still one of each", n, jobs)
		}
	})
}
