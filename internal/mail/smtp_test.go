package mail_test

import (
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/mail"
)

func TestNewSMTPSenderChecksItsConfiguration(t *testing.T) {
	tests := []struct {
		name, url, from, want string
	}{
		{"STARTTLS submission with credentials", "smtp://user:pass@mail.example.com:587", "shop@example.com", ""},
		{"implicit TLS on the default port", "smtps://user:pass@mail.example.com", "Shop <shop@example.com>", ""},
		{"a chosen mechanism and timeout", "smtp://u:p@mail.example.com?auth=login&tls=mandatory&timeout=5s", "shop@example.com", ""},
		{"another scheme", "http://mail.example.com", "shop@example.com", "scheme"},
		{"no host", "smtp://", "shop@example.com", "smtp://user:pass@host:587"},
		{"a bad port", "smtp://mail.example.com:99999", "shop@example.com", "port"},
		{"an unknown TLS policy", "smtp://mail.example.com?tls=sometimes", "shop@example.com", "tls must be"},
		{"an unknown mechanism", "smtp://u:p@mail.example.com?auth=magic", "shop@example.com", "unknown auth"},
		{"a bad timeout", "smtp://mail.example.com?timeout=soon", "shop@example.com", "timeout"},
		{"a bad sender", "smtp://mail.example.com", "shop at example", "sender address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.NewSMTPSender(tt.url, tt.from)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
