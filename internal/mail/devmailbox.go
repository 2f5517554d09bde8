package mail

import (
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// Mailbox shows the outbox in the browser, for development: with no SMTP
// configured, delivery keeps every message here. It must be mounted only in
// dev, since it shows everyone's mail and working sign-in links.
type Mailbox struct {
	db *sqlx.DB
}

// DevMailbox returns the dev mailbox over db.
func DevMailbox(db *sqlx.DB) *Mailbox { return &Mailbox{db: db} }

// Routes mounts GET /dev/mail (the newest messages), GET /dev/mail/:id (one
// message: its HTML part in a sandboxed frame, its text part and its links)
// and GET /dev/mail/:id/html (the HTML part alone).
func (b *Mailbox) Routes(r fiber.Router) {
	r.Get("/dev/mail", b.list)
	r.Get("/dev/mail/:id<int>", b.show)
	r.Get("/dev/mail/:id<int>/html", b.html)
}

// mailboxSize is how many messages the list shows; dev has few.
const mailboxSize = 200

func (b *Mailbox) list(c *fiber.Ctx) error {
	msgs, err := listMessages(c.UserContext(), b.db, mailboxSize)
	if err != nil {
		return err
	}
	return c.Render("dev/mail", fiber.Map{"messages": msgs})
}

// urlPattern finds links in a text part; trailing punctuation is not part
// of them.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]]`)

func (b *Mailbox) show(c *fiber.Ctx) error {
	m, err := b.message(c)
	if err != nil {
		return err
	}
	return c.Render("dev/mail_message", fiber.Map{"message": m, "links": dedupe(urlPattern.FindAllString(m.Text, -1))})
}

// htmlPolicy lets the stored email use its inline styles and remote images,
// and nothing else: no scripts, no forms, no plugins.
const htmlPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; font-src https: data:; " +
	"base-uri 'self'; form-action 'none'; frame-ancestors 'self'; " +
	"sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"

func (b *Mailbox) html(c *fiber.Ctx) error {
	m, err := b.message(c)
	if err != nil {
		return err
	}
	h := &c.Response().Header
	h.Set("Content-Security-Policy", htmlPolicy)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "no-store")
	c.Type("html", "utf-8")
	return c.SendString(topTarget(m.HTML))
}

func (b *Mailbox) message(c *fiber.Ctx) (Message, error) {
	id, err := c.ParamsInt("id")
	if err != nil || id <= 0 {
		return Message{}, fault.Errorf(fault.NotFound, "There is no such message.")
	}
	return getMessage(c.UserContext(), b.db, int64(id), false)
}

// topTarget makes the email's links open in the whole window: the app's
// pages refuse to be framed, so a magic link must leave the frame.
func topTarget(html string) string {
	const base = `<base target="_top">`
	if i := strings.Index(strings.ToLower(html), "<head>"); i >= 0 {
		return html[:i+len("<head>")] + base + html[i+len("<head>"):]
	}
	return base + html
}

func dedupe(items []string) []string {
	seen := map[string]bool{}
	out := items[:0]
	for _, s := range items {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
