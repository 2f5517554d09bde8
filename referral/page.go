package referral

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
)

// maxCachedPages bounds the rendered landings kept (about 2 KB each).
const maxCachedPages = 2000

// The landing's page is rendered once for what it shows and kept, with two
// holes for what each response has of its own: the CSRF token of the form
// and the nonce of the inline style and script. Executing the layout and
// the page took about a quarter of the server's time per hit (html/template
// calls its escapers by reflection); filling two holes takes next to none.
//
// Only the plain landing is kept (a GET, no claim shown, no problem, nobody
// signed in); the key holds everything else the page and its layout show:
// the store's settings, the code, the referrer's name, the program and
// whether Stripe is set up. A template that starts showing another local
// (besides store, csrf, cspNonce and customerID) must add it to pageKey.

// pageKey is what a kept landing was rendered from.
type pageKey struct {
	store    settings.Store
	hasStore bool
	codeID   int64
	code     string
	name     string
	program  program.Settings
	stripe   bool
}

// landingPage is a rendered landing cut at its holes: parts[0] hole[0]
// parts[1] ... parts[n].
type landingPage struct {
	parts [][]byte
	holes []int // holeCSRF or holeNonce
}

const (
	holeCSRF = iota
	holeNonce
)

// holeMarks are rendered in place of the CSRF token and the nonce: random
// per process, letters and digits only, so every escaper leaves them as
// they are and no page text can contain them.
var holeMarks = func() [2]string {
	b := make([]byte, 12)
	rand.Read(b) //nolint:errcheck // never fails
	r := hex.EncodeToString(b)
	return [2]string{"csrfhole" + r, "noncehole" + r}
}()

// cutPage cuts a landing rendered with holeMarks at them. It returns nil
// when a mark is anywhere but inside a double-quoted attribute: the only
// context whose escaping fill reproduces.
func cutPage(body []byte) *landingPage {
	p := &landingPage{}
	rest := body
	for {
		at, which := -1, 0
		for h, mark := range holeMarks {
			if i := bytes.Index(rest, []byte(mark)); i >= 0 && (at < 0 || i < at) {
				at, which = i, h
			}
		}
		if at < 0 {
			p.parts = append(p.parts, bytes.Clone(rest))
			return p
		}
		end := at + len(holeMarks[which])
		if at < 2 || string(rest[at-2:at]) != `="` || end >= len(rest) || rest[end] != '"' {
			return nil
		}
		p.parts = append(p.parts, bytes.Clone(rest[:at]))
		p.holes = append(p.holes, which)
		rest = rest[end:]
	}
}

// write sends the page with this response's token and nonce.
func (p *landingPage) write(c *fiber.Ctx, status int, csrf, nonce string) {
	vals := [2]string{attrEscape(csrf), attrEscape(nonce)}
	resp := c.Response()
	c.Status(status)
	resp.Header.SetContentType(fiber.MIMETextHTMLCharsetUTF8)
	resp.ResetBody()
	for i, part := range p.parts {
		resp.AppendBody(part)
		if i < len(p.holes) {
			resp.AppendBodyString(vals[p.holes[i]])
		}
	}
}

// attrTemplate escapes a value as html/template does inside a
// double-quoted attribute.
var attrTemplate = template.Must(template.New("attr").Parse(`<p a="{{.}}">`))

// attrEscape is s as html/template writes it in a double-quoted attribute.
// Tokens and nonces are base64: letters, digits, - _ / pass as they are and
// + is &#43; (html/template's attribute escaper); anything else goes
// through html/template itself. About one nonce in three has a +: running
// the template for it cost a twentieth of a hit.
func attrEscape(s string) string {
	plus := 0
	for i := 0; i < len(s); i++ {
		switch attrClass[s[i]] {
		case attrPlain:
		case attrPlus:
			plus++
		default:
			return attrEscapeTemplate(s)
		}
	}
	if plus == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+plus*(len(escapedPlus)-1))
	for i := 0; i < len(s); i++ {
		if s[i] == '+' {
			out = append(out, escapedPlus...)
		} else {
			out = append(out, s[i])
		}
	}
	return string(out)
}

const (
	attrOther = iota // html/template is asked
	attrPlain        // written as it is
	attrPlus         // written as escapedPlus
)

// attrClass sorts the bytes of a token or nonce for attrEscape.
var attrClass = func() (t [256]uint8) {
	for b := range t {
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '/' {
			t[b] = attrPlain
		}
	}
	t['+'] = attrPlus
	return t
}()

// escapedPlus is + as html/template writes it in an attribute.
const escapedPlus = "&#43;"

func attrEscapeTemplate(s string) string {
	var b strings.Builder
	if err := attrTemplate.Execute(&b, s); err != nil {
		return template.HTMLEscapeString(s)
	}
	return strings.TrimSuffix(strings.TrimPrefix(b.String(), `<p a="`), `">`)
}

// keptPages holds the rendered landings: per code, the one rendered last
// and the key it was rendered from. The key holds everything the page shows,
// so a kept page is used only for a request with the same key and needs no
// expiry: when the store, the referrer's name or the program change, the
// page is rendered again and replaces the old one. Looking a page up by its
// code id and comparing the key costs less than hashing the whole key.
type keptPages struct {
	mu    sync.Mutex
	pages map[int64]keptPage
}

type keptPage struct {
	key  pageKey
	page *landingPage
}

func newKeptPages() *keptPages {
	return &keptPages{pages: map[int64]keptPage{}}
}

// peek returns the page kept for key.
func (k *keptPages) peek(key pageKey) (*landingPage, bool) {
	k.mu.Lock()
	kp, ok := k.pages[key.codeID]
	k.mu.Unlock()
	if !ok || kp.key != key {
		return nil, false
	}
	return kp.page, true
}

// put keeps page for key, in place of the code's earlier one; past
// maxCachedPages codes, arbitrary ones (Go's map order) go first.
func (k *keptPages) put(key pageKey, page *landingPage) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.pages[key.codeID]; !ok && len(k.pages) >= maxCachedPages {
		for id := range k.pages {
			if len(k.pages) < maxCachedPages*3/4 {
				break
			}
			delete(k.pages, id)
		}
	}
	k.pages[key.codeID] = keptPage{key: key, page: page}
}
