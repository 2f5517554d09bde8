package integrations

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// Settings are one integration's settings, stored in the section
// "integrations.<provider>".
type Settings struct {
	// Secret signs the provider's webhooks: the app's API secret for
	// Shopify, the endpoint's whsec_… for Stripe, the webhook secret for
	// WooCommerce, EasyPost and AfterShip.
	Secret      string    `json:"secret"`
	SecretSetAt time.Time `json:"secret_set_at"`
	SecretSetBy string    `json:"secret_set_by"`
}

// Masked is the secret as pages show it: its last four characters, or ""
// when none is set.
func (s Settings) Masked() string {
	if s.Secret == "" {
		return ""
	}
	r := []rune(s.Secret)
	if len(r) <= 8 {
		return strings.Repeat("•", 8)
	}
	return strings.Repeat("•", 8) + string(r[len(r)-4:])
}

func section(provider string) string { return "integrations." + provider }

// LoadSettings reads provider's settings; a provider never set up has none.
func LoadSettings(ctx context.Context, q sqlx.QueryerContext, provider string) (Settings, error) {
	var s Settings
	err := settings.LoadSection(ctx, q, section(provider), &s)
	return s, err
}

// LoadSecret returns provider's signing secret, "" when none is set.
func LoadSecret(ctx context.Context, q sqlx.QueryerContext, provider string) (string, error) {
	s, err := LoadSettings(ctx, q, provider)
	return s.Secret, err
}

// SaveSecret sets provider's signing secret, by actor ("staff:3"). The
// secret is trimmed; it must be 1 to 500 printable characters without
// spaces (the other system chooses its length), else a fault.Field error
// names "secret".
func SaveSecret(ctx context.Context, q sqlx.ExtContext, provider, secret, actor string) error {
	secret = strings.TrimSpace(secret)
	switch {
	case secret == "":
		return fault.Field("secret", "is required; copy it whole from the other system")
	case len(secret) > 500:
		return fault.Field("secret", "must be at most 500 characters")
	case strings.IndexFunc(secret, func(r rune) bool { return r == ' ' || !unicode.IsPrint(r) }) >= 0:
		return fault.Field("secret", "must not contain spaces or control characters")
	}
	s, err := LoadSettings(ctx, q, provider)
	if err != nil {
		return err
	}
	s.Secret, s.SecretSetAt, s.SecretSetBy = secret, time.Now().UTC(), actor
	return settings.SaveSection(ctx, q, section(provider), s, actor)
}

// NewSecret returns a random secret for systems where Aftercare chooses it
// (WooCommerce, EasyPost): 32 random bytes, base64url.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// CheckoutSettings are the abandoned-checkout reminder's settings, stored
// in the section "integrations.checkouts".
type CheckoutSettings struct {
	// Enabled turns the reminder email on.
	Enabled bool `json:"enabled"`
	// DelayHours is how long after the shopper's last activity in the
	// checkout the reminder goes out.
	DelayHours int `json:"delay_hours"`
}

// CheckoutSection is where CheckoutSettings are stored.
const CheckoutSection = "integrations.checkouts"

// DefaultCheckoutSettings: on, four hours after the shopper left.
var DefaultCheckoutSettings = CheckoutSettings{Enabled: true, DelayHours: 4}

// Delay is DelayHours as a duration.
func (s CheckoutSettings) Delay() time.Duration { return time.Duration(s.DelayHours) * time.Hour }

// LoadCheckoutSettings reads the reminder's settings with their defaults.
func LoadCheckoutSettings(ctx context.Context, q sqlx.QueryerContext) (CheckoutSettings, error) {
	s := DefaultCheckoutSettings
	err := settings.LoadSection(ctx, q, CheckoutSection, &s)
	return s, err
}

// SaveCheckoutSettings validates and stores the reminder's settings; the
// delay must be 1 to 168 hours, else a fault.Field error names
// "delay_hours".
func SaveCheckoutSettings(ctx context.Context, q sqlx.ExecerContext, s CheckoutSettings, actor string) error {
	if s.DelayHours < 1 || s.DelayHours > 168 {
		return fault.Field("delay_hours", "must be between 1 and 168 hours")
	}
	return settings.SaveSection(ctx, q, CheckoutSection, s, actor)
}
