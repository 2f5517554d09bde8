package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/aftercare/aftercare/internal/pagecache"
)

// renderedPage is an order page as bytes, kept under the page's key
// (internal/pagecache) for as long as the clock lets it stand: the parts
// that belong to one request (the CSRF token, the CSP nonce, the request
// id) and the sections that cannot be kept are holes filled in at write
// time.
type renderedPage struct {
	segs []segment
	// until is the first instant at which the page would render
	// differently (the store's next midnight, a return window closing, a
	// section's data expiring); zero: never.
	until time.Time
}

// segment is literal bytes, or a hole.
type segment struct {
	lit  []byte
	hole hole
	// panel is the index in Handlers.panels of a live section (holePanel).
	panel int
}

type hole uint8

const (
	holeNone hole = iota
	holeCSRF
	holeNonce
	holeRequestID
	holePanel
)

// pageMarker starts every placeholder. It is random per process so that no
// shopper-supplied text (an address, a review) can be taken for one, and it
// is letters and digits only, so every escaping context of html/template
// leaves it as it is.
var pageMarker = func() string {
	b := make([]byte, 10)
	rand.Read(b) //nolint:errcheck // never fails
	return "acph" + hex.EncodeToString(b)
}()

// Placeholders: the marker and one letter, a panel's also its index and a
// closing "x" (so that panel 1 is not the start of panel 12).
var (
	csrfHole      = pageMarker + "c"
	nonceHole     = pageMarker + "n"
	requestIDHole = pageMarker + "r"
)

func panelHole(i int) string { return pageMarker + "p" + strconv.Itoa(i) + "x" }

// renderPage renders the order page with placeholders for what belongs to
// the request and live sections, and cuts it into segments. The response's
// body is left holding the rendering with placeholders; writePage replaces
// it.
func (h *Handlers) renderPage(c *fiber.Ctx, ctx context.Context, order OrderView, pc PanelContext, now time.Time) (*renderedPage, error) {
	// The portal's own part speaks of "today" in the store's zone (arriving
	// tomorrow, delivered yesterday, the year of dates): it holds until the
	// store's next midnight.
	y, m, d := now.In(pc.Location).Date()
	until := time.Date(y, m, d+1, 0, 0, 0, 0, pc.Location)
	pc.CSRF = csrfHole
	panels := make([]template.HTML, 0, len(h.panels))
	live := map[string]int{}
	for i, p := range h.panels {
		pctx, span := pagecache.Track(ctx)
		html, err := p.OrderPanel(pctx, pc)
		if err != nil {
			return nil, err
		}
		if !span.Stable() {
			// Rendered again for every view: its placeholder stands in.
			ph := panelHole(i)
			live[ph] = i
			panels = append(panels, template.HTML(ph)) //nolint:gosec // a constant of letters and digits
			continue
		}
		until = pagecache.Earlier(until, span.Until())
		if html != "" {
			panels = append(panels, html)
		}
	}
	err := c.Render("portal/order", fiber.Map{"order": order, "panels": panels,
		"csrf": csrfHole, "cspNonce": nonceHole, "requestID": requestIDHole})
	if err != nil {
		return nil, err
	}
	page, err := cutPage(c.Response().Body(), live)
	if err != nil {
		return nil, err
	}
	page.until = until
	return page, nil
}

// cutPage splits a rendering at its placeholders. The literal segments
// share one allocation of the page's size: kept pages are most of the
// cache's memory.
func cutPage(body []byte, live map[string]int) (*renderedPage, error) {
	p := &renderedPage{}
	marker := []byte(pageMarker)
	lits := make([]byte, 0, len(body))
	lit := func(b []byte) {
		start := len(lits)
		lits = append(lits, b...)
		p.segs = append(p.segs, segment{lit: lits[start:len(lits):len(lits)]})
	}
	for {
		i := bytes.Index(body, marker)
		if i < 0 {
			break
		}
		if i > 0 {
			lit(body[:i])
		}
		rest := body[i:]
		switch {
		case bytes.HasPrefix(rest, []byte(csrfHole)):
			p.segs = append(p.segs, segment{hole: holeCSRF})
			body = rest[len(csrfHole):]
		case bytes.HasPrefix(rest, []byte(nonceHole)):
			p.segs = append(p.segs, segment{hole: holeNonce})
			body = rest[len(nonceHole):]
		case bytes.HasPrefix(rest, []byte(requestIDHole)):
			p.segs = append(p.segs, segment{hole: holeRequestID})
			body = rest[len(requestIDHole):]
		default:
			end := bytes.IndexByte(rest, 'x')
			idx, ok := -1, false
			if end > 0 {
				idx, ok = live[string(rest[:end+1])]
			}
			if !ok {
				// A placeholder escaped or cut by a template: filling it in
				// would write something else than a fresh rendering.
				return nil, fmt.Errorf("portal: order page: a placeholder was changed by the template near %q", rest[:min(len(rest), len(pageMarker)+8)])
			}
			p.segs = append(p.segs, segment{hole: holePanel, panel: idx})
			body = rest[end+1:]
		}
	}
	if len(body) > 0 {
		lit(body)
	}
	p.segs = slices.Clip(p.segs)
	return p, nil
}

// writePage writes page as the response's body, with this request's
// values in its holes and its live sections rendered now.
func (h *Handlers) writePage(c *fiber.Ctx, ctx context.Context, page *renderedPage, pc PanelContext) error {
	csrf, _ := c.Locals("csrf").(string)
	nonce, _ := c.Locals("cspNonce").(string)
	requestID, _ := c.Locals("requestID").(string)
	// Written into the response's own (pooled) buffer: no copy of the page
	// is allocated per view.
	resp := c.Response()
	resp.ResetBody()
	for _, s := range page.segs {
		switch s.hole {
		case holeNone:
			resp.AppendBody(s.lit)
		case holeCSRF:
			appendEscapedBody(resp, csrf)
		case holeNonce:
			appendEscapedBody(resp, nonce)
		case holeRequestID:
			appendEscapedBody(resp, requestID)
		case holePanel:
			html, err := h.panels[s.panel].OrderPanel(ctx, pc)
			if err != nil {
				return err
			}
			resp.AppendBodyString(string(html))
		}
	}
	resp.Header.SetContentType(fiber.MIMETextHTMLCharsetUTF8)
	return nil
}

// appendEscapedBody appends v to the body as appendEscaped writes it.
func appendEscapedBody(resp *fasthttp.Response, v string) {
	if !strings.ContainsAny(v, escapedBytes) {
		resp.AppendBodyString(v)
		return
	}
	resp.AppendBody(appendEscaped(nil, v))
}

// escapedBytes are the bytes appendEscaped replaces.
const escapedBytes = "+&<>\"'\x00"

// appendEscaped appends v as html/template writes it in text and in a
// quoted attribute. The values filled in (base64 tokens, hex ids) hold
// letters, digits and "+/-_="; of these html/template changes "+" alone.
func appendEscaped(buf []byte, v string) []byte {
	for {
		i := strings.IndexAny(v, escapedBytes)
		if i < 0 {
			return append(buf, v...)
		}
		buf = append(buf, v[:i]...)
		switch v[i] {
		case '+':
			buf = append(buf, "&#43;"...)
		case '&':
			buf = append(buf, "&amp;"...)
		case '<':
			buf = append(buf, "&lt;"...)
		case '>':
			buf = append(buf, "&gt;"...)
		case '"':
			buf = append(buf, "&#34;"...)
		case '\'':
			buf = append(buf, "&#39;"...)
		case 0:
			buf = append(buf, "\uFFFD"...)
		}
		v = v[i+1:]
	}
}
