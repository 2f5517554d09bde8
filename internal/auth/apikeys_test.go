package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

func TestAPIKeyGuardsTheAPI(t *testing.T) {
	d := pgtest.DB(t)
	keys := NewAPIKeys(d)
	ctx := context.Background()
	good, err := keys.Create(ctx, "Shopify sync")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ak_live_[0-9A-Za-z]{32}$`).MatchString(good) {
		t.Fatalf("key %q is not ak_live_ and 32 base62 characters", good)
	}
	revoked, _ := keys.Create(ctx, "old laptop")
	list, _ := keys.List(ctx)
	for _, k := range list {
		if k.Name == "old laptop" {
			if err := keys.Revoke(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}

	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	// server.New needs an engine: a nil *web.Engine becomes a non-nil fiber.Views.
	app := server.New(server.Options{DB: d, Logger: quiet, Views: engine})
	api := app.Group("/api/v1", keys.Require)
	api.Get("/ping", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"key": c.Locals("apiKeyID")}) })
	api.Post("/ping", func(c *fiber.Ctx) error { return c.SendString("posted") })

	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"no Authorization header", "", 401},
		{"a Basic scheme", "Basic " + good, 401},
		{"a wrong key", "Bearer ak_live_" + strings.Repeat("A", 32), 401},
		{"a key cut short", "Bearer " + good[:20], 401},
		{"a revoked key", "Bearer " + revoked, 401},
		{"a good key", "Bearer " + good, 200},
		{"a good key with a lower-case scheme", "bearer " + good, 200},
	} {
		t.Run(tc.name+" gives "+http.StatusText(tc.status), func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/ping", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 401 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Fatalf("Content-Type = %q, want problem+json", ct)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate challenge")
			}
			var p server.Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Status != 401 || p.Detail == "" {
				t.Fatalf("problem = %+v, %v", p, err)
			}
		})
	}

	t.Run("a POST with a good key needs no CSRF token", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/ping", nil)
		req.Header.Set("Authorization", "Bearer "+good)
		resp, err := app.Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST = %v, %v", resp.StatusCode, err)
		}
	})
	t.Run("use is recorded", func(t *testing.T) {
		var n int
		if err := d.Get(&n, `SELECT count(*) FROM api_keys WHERE name = 'Shopify sync' AND last_used_at IS NOT NULL`); err != nil || n != 1 {
			t.Fatalf("last_used_at not set: %d, %v", n, err)
		}
	})
}

func TestAPIKeysStoreOnlyAHash(t *testing.T) {
	d := pgtest.DB(t)
	keys := NewAPIKeys(d)
	key, err := keys.Create(context.Background(), "warehouse")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	// Every column of every row, as text, must not contain the key or its secret part.
	if err := d.Get(&n, `SELECT count(*) FROM api_keys k WHERE strpos(k::text, $1) > 0 OR strpos(k::text, $2) > 0`,
		key, key[len(apiKeyPrefix):]); err != nil || n != 0 {
		t.Fatalf("plaintext key found in api_keys (%d rows, %v)", n, err)
	}
	list, err := keys.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Prefix != key[:shownPrefixLen] || list[0].Name != "warehouse" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestAPIKeyCreateAndRevokeRefuseBadInput(t *testing.T) {
	keys := NewAPIKeys(pgtest.DB(t))
	ctx := context.Background()
	if _, err := keys.Create(ctx, "  "); !fault.Is(err, fault.Invalid) {
		t.Fatalf("Create with a blank name = %v, want Invalid", err)
	}
	if err := keys.Revoke(ctx, 999); !fault.Is(err, fault.NotFound) {
		t.Fatalf("Revoke of an unknown id = %v, want NotFound", err)
	}
}
