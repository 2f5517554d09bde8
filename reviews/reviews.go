// Package reviews collects verified reviews of what shoppers bought: it
// asks for them some days after delivery (one request per product per
// customer, one reminder) through the email journey, takes them through a
// form that one-click stars in the email open (opening records nothing;
// submitting does), lets staff moderate them (reject only for a fixed list
// of reasons, never for the rating: FTC 16 CFR 465), and publishes them to
// the storefront through a public read API and an embeddable widget.
package reviews

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// Review statuses.
const (
	StatusPending   = "pending"   // waits for a staff check
	StatusPublished = "published" // shown on the storefront
	StatusRejected  = "rejected"  // not shown, for one of RejectReasons
)

// RejectReasons are the only grounds to refuse a review, with their labels.
// Sentiment is not one of them.
var RejectReasons = []Reason{
	{"spam", "Spam or advertising"},
	{"abuse", "Abusive, hateful or threatening"},
	{"off_topic", "Not about the product"},
	{"personal_data", "Contains personal data"},
}

// Reason is a ground for rejecting a review.
type Reason struct{ Code, Label string }

// ReasonLabel is the label of a reject reason code, or the code itself.
func ReasonLabel(code string) string {
	for _, r := range RejectReasons {
		if r.Code == code {
			return r.Label
		}
	}
	return code
}

func validReason(code string) bool {
	for _, r := range RejectReasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// Section is the settings section of reviews.
const Section = "reviews"

// Settings are the review rules of the store.
type Settings struct {
	// RequestEnabled asks for reviews RequestAfterDays after delivery.
	RequestEnabled   bool `json:"request_enabled"`
	RequestAfterDays int  `json:"request_after_days"`
	// ReminderEnabled sends one reminder ReminderAfterDays after the
	// request when a product is still not reviewed; a shopper who clicked
	// the request but did not review gets it EngagedReminderHours after the
	// click instead, if that is sooner (0: no such trigger).
	ReminderEnabled      bool `json:"reminder_enabled"`
	ReminderAfterDays    int  `json:"reminder_after_days"`
	EngagedReminderHours int  `json:"engaged_reminder_hours"`
	// AutoPublishMinRating publishes reviews of at least this many stars at
	// once; others wait for a staff check (0: every review waits).
	AutoPublishMinRating int `json:"auto_publish_min_rating"`
	// PublishUnmoderatedAfterDays publishes a review nobody checked after
	// this many days, so that waiting never becomes suppression (0: never).
	PublishUnmoderatedAfterDays int `json:"publish_unmoderated_after_days"`
	// StorefrontOrigins may read the public API from a browser (CORS) and
	// frame the widget: "https://shop.example.com", or "*" for any.
	StorefrontOrigins []string `json:"storefront_origins"`
	// Incentive, when set, is told to every reviewer alike ("Every review
	// gets 10% off your next order"); it never depends on the rating.
	Incentive string `json:"incentive"`
}

// DefaultSettings are the review rules of a new store.
func DefaultSettings() Settings {
	return Settings{RequestEnabled: true, RequestAfterDays: 14, ReminderEnabled: true, ReminderAfterDays: 5,
		EngagedReminderHours: 48, AutoPublishMinRating: 4, PublishUnmoderatedAfterDays: 7, StorefrontOrigins: []string{}}
}

// LoadSettings reads the review settings, with defaults for what was never saved.
func LoadSettings(ctx context.Context, q sqlx.QueryerContext) (Settings, error) {
	s := DefaultSettings()
	err := settings.LoadSection(ctx, q, Section, &s)
	return s, err
}

// Validate normalizes the origins and returns a fault.Fields error naming
// each bad field.
func (s *Settings) Validate() error {
	var f fault.Fields
	if s.RequestAfterDays < 0 || s.RequestAfterDays > 365 {
		f.Add("request_after_days", "must be between 0 and 365")
	}
	if s.ReminderAfterDays < 1 || s.ReminderAfterDays > 90 {
		f.Add("reminder_after_days", "must be between 1 and 90")
	}
	if s.EngagedReminderHours < 0 || s.EngagedReminderHours > 24*30 {
		f.Add("engaged_reminder_hours", "must be between 0 and 720")
	}
	if s.AutoPublishMinRating < 0 || s.AutoPublishMinRating > 5 {
		f.Add("auto_publish_min_rating", "must be between 0 (never) and 5")
	}
	if s.PublishUnmoderatedAfterDays < 0 || s.PublishUnmoderatedAfterDays > 90 {
		f.Add("publish_unmoderated_after_days", "must be between 0 (never) and 90")
	}
	if len(s.Incentive) > 300 {
		f.Add("incentive", "must be at most 300 characters")
	}
	origins := []string{}
	for _, o := range s.StorefrontOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
				f.Add("storefront_origins", "must be origins such as https://shop.example.com, one per line")
				break
			}
			o = u.Scheme + "://" + strings.ToLower(u.Host)
		}
		origins = append(origins, o)
	}
	s.StorefrontOrigins = origins
	return f.Err()
}

// Review is one review of an order line.
type Review struct {
	ID           int64      `db:"id" json:"id"`
	OrderItemID  int64      `db:"order_item_id" json:"-"`
	OrderID      int64      `db:"order_id" json:"-"`
	CustomerID   int64      `db:"customer_id" json:"-"`
	SKU          string     `db:"sku" json:"-"`
	Rating       int        `db:"rating" json:"rating"`
	Title        string     `db:"title" json:"title"`
	Body         string     `db:"body" json:"body"`
	AuthorName   string     `db:"author_name" json:"author"`
	Status       string     `db:"status" json:"-"`
	RejectReason *string    `db:"reject_reason" json:"-"`
	ReplyBody    string     `db:"reply_body" json:"-"`
	ReplyAt      *time.Time `db:"reply_at" json:"-"`
	PublishedAt  *time.Time `db:"published_at" json:"published_at"`
	CreatedAt    time.Time  `db:"created_at" json:"-"`
	UpdatedAt    time.Time  `db:"updated_at" json:"-"`
}

// Editable reports whether its author may still change it: until it is
// published.
func (r Review) Editable() bool { return r.Status != StatusPublished }

// Stars is the rating as five stars, filled first: "★★★★☆".
func (r Review) Stars() string { return Stars(r.Rating) }

// Stars draws a rating of n out of five.
func Stars(n int) string {
	n = max(0, min(5, n))
	return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
}

// RejectLabel is the label of its reject reason, or "".
func (r Review) RejectLabel() string {
	if r.RejectReason == nil {
		return ""
	}
	return ReasonLabel(*r.RejectReason)
}

// authorName is how a reviewer is shown: first name and the initial of the
// last ("Jane D."), or "Verified buyer" when the name is unknown.
func authorName(full string) string {
	f := strings.Fields(full)
	switch len(f) {
	case 0:
		return "Verified buyer"
	case 1:
		return f[0]
	}
	last := []rune(f[len(f)-1])
	return f[0] + " " + strings.ToUpper(string(last[0])) + "."
}
