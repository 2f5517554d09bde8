package journey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"github.com/aftercare/aftercare/internal/config"
)

// Links signs the journey's links with the configured signing keys (the
// first signs, all verify, as for magic links): the preferences and
// unsubscribe links that work without signing in, the open pixel and the
// click redirect. Signatures are HMAC-SHA-256, cut to 128 bits, over a
// purpose and the ids, so one kind of link never passes for another.
type Links struct {
	keys []config.SigningKey
	base string
}

// NewLinks returns the signer; baseURL is the public origin without a
// trailing slash.
func NewLinks(keys []config.SigningKey, baseURL string) *Links {
	return &Links{keys: keys, base: strings.TrimRight(baseURL, "/")}
}

// sign returns "<kid>.<signature>" of purpose and parts, or "" when no key
// is configured (then no link verifies either).
func (l *Links) sign(purpose string, parts ...string) string {
	if len(l.keys) == 0 {
		return ""
	}
	k := l.keys[0]
	return k.ID + "." + mac(k.Secret, purpose, parts)
}

func (l *Links) verify(sig, purpose string, parts ...string) bool {
	// The signature is base64url, without dots; a kid may have some.
	i := strings.LastIndexByte(sig, '.')
	if i < 0 || i == len(sig)-1 {
		return false
	}
	kid, s := sig[:i], sig[i+1:]
	for _, k := range l.keys {
		if k.ID == kid && kid != "" && hmac.Equal([]byte(s), []byte(mac(k.Secret, purpose, parts))) {
			return true
		}
	}
	return false
}

func mac(secret []byte, purpose string, parts []string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("aftercare-journey\x00" + purpose))
	for _, p := range parts {
		m.Write([]byte("\x00" + p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// customerToken is "<customer id>.<kid>.<signature>", the credential of
// the preferences and unsubscribe pages: it never expires, as an
// unsubscribe link must keep working.
func (l *Links) customerToken(customerID int64) string {
	id := strconv.FormatInt(customerID, 10)
	return id + "." + l.sign("preferences", id)
}

// Customer returns the customer a preferences or unsubscribe token names,
// or false for a token we did not sign.
func (l *Links) Customer(token string) (int64, bool) {
	id, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || !l.verify(sig, "preferences", id) {
		return 0, false
	}
	return n, true
}

// PreferencesURL is the page where customerID chooses which email they get.
func (l *Links) PreferencesURL(customerID int64) string {
	return l.base + "/email/preferences/" + url.PathEscape(l.customerToken(customerID))
}

// UnsubscribeURL is the page that asks customerID to confirm unsubscribing
// from marketing email; messageID (0 for none) is the email it came from.
func (l *Links) UnsubscribeURL(customerID, messageID int64) string {
	return l.base + "/email/unsubscribe/" + url.PathEscape(l.customerToken(customerID)) + fromMessage(messageID)
}

// OneClickURL is the RFC 8058 List-Unsubscribe address: a POST to it
// unsubscribes without cookies or a form; a GET shows the confirm page.
func (l *Links) OneClickURL(customerID, messageID int64) string {
	return l.base + "/api/email/unsubscribe/" + url.PathEscape(l.customerToken(customerID)) + fromMessage(messageID)
}

func fromMessage(id int64) string {
	if id == 0 {
		return ""
	}
	return "?m=" + strconv.FormatInt(id, 10)
}

// PixelURL is the 1×1 image that records an open of message id.
func (l *Links) PixelURL(messageID int64) string {
	id := strconv.FormatInt(messageID, 10)
	return l.base + "/t/o/" + id + "/" + url.PathEscape(l.sign("open", id)) + ".gif"
}

// VerifyOpen reports whether sig is ours for the open pixel of messageID.
func (l *Links) VerifyOpen(messageID int64, sig string) bool {
	return l.verify(strings.TrimSuffix(sig, ".gif"), "open", strconv.FormatInt(messageID, 10))
}

// ClickURL is the redirect through which a click on target in message id
// is recorded. Only a URL signed here for this message redirects.
func (l *Links) ClickURL(messageID int64, target string) string {
	id := strconv.FormatInt(messageID, 10)
	return l.base + "/t/c/" + id + "?u=" + url.QueryEscape(target) + "&s=" + url.QueryEscape(l.sign("click", id, target))
}

// VerifyClick reports whether sig is ours for target in messageID.
func (l *Links) VerifyClick(messageID int64, target, sig string) bool {
	return l.verify(sig, "click", strconv.FormatInt(messageID, 10), target)
}

// Own reports whether u is one of the journey's own links (tracking,
// preferences, unsubscribe), which are never wrapped for tracking.
func (l *Links) Own(u string) bool {
	for _, p := range []string{"/t/", "/email/", "/api/email/"} {
		if strings.HasPrefix(u, l.base+p) {
			return true
		}
	}
	return false
}
