package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/bench"
	"github.com/aftercare/aftercare/internal/config"
)

// shopper is a signed-in customer: the cookies a browser would send, and the
// orders it may open.
type shopper struct {
	cookie string
	orders []int64
}

// signIn picks n customers who have orders and signs each in for real: a
// magic link issued by auth.Links (as the sign-in email would carry) spent
// by POST /m, keeping the session cookie the server sets.
func signIn(ctx context.Context, db *sqlx.DB, base, keys string, n int) ([]shopper, error) {
	ring, err := config.ParseSigningKeys(keys)
	if err != nil {
		return nil, err
	}
	links := auth.NewLinks(db, ring, base)
	var rows []struct {
		Customer int64         `db:"customer_id"`
		Orders   pq.Int64Array `db:"orders"`
	}
	err = db.SelectContext(ctx, &rows, `
		SELECT customer_id, array_agg(id ORDER BY id) AS orders FROM orders
		WHERE customer_id IN (SELECT DISTINCT customer_id FROM orders ORDER BY customer_id LIMIT $1)
		GROUP BY customer_id`, n)
	if err != nil {
		return nil, fmt.Errorf("pick customers: %w", err)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var out []shopper
	for _, r := range rows {
		link, err := links.Issue(ctx, db, r.Customer, "login", time.Hour)
		if err != nil {
			return nil, err
		}
		token := link.URL[strings.LastIndex(link.URL, "/")+1:]
		csrf := csrfToken()
		form := url.Values{"token": {token}, "_csrf": {csrf}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/m", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "aftercare_csrf="+csrf)
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
		resp.Body.Close()
		var session string
		for _, c := range resp.Cookies() {
			if c.Name == auth.SessionCookie && c.Value != "" {
				session = c.Value
			}
		}
		if resp.StatusCode >= 400 || session == "" {
			return nil, fmt.Errorf("sign in customer %d: status %d, no session cookie", r.Customer, resp.StatusCode)
		}
		out = append(out, shopper{cookie: auth.SessionCookie + "=" + session + "; aftercare_csrf=" + csrf, orders: r.Orders})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no customer with orders to sign in")
	}
	return out, nil
}

// orderPageLoad has each connection walk the order pages of its own
// shoppers: connection c takes shoppers c, c+conns, c+2*conns, ...
func orderPageLoad(base string, shoppers []shopper, o options) bench.Load {
	type visit struct {
		url    string
		header http.Header
	}
	walks := make([][]visit, o.conns)
	for i, s := range shoppers {
		c := i % o.conns
		h := http.Header{"Cookie": {s.cookie}}
		for _, id := range s.orders {
			walks[c] = append(walks[c], visit{fmt.Sprintf("%s/orders/%d", base, id), h})
		}
	}
	return bench.Load{Name: "order_page", Conns: o.conns, Warmup: o.warmup, Duration: o.duration,
		Next: func(c, i int) bench.Request {
			w := walks[c%len(walks)]
			if len(w) == 0 {
				w = walks[0]
			}
			v := w[i%len(w)]
			return bench.Request{Method: http.MethodGet, URL: v.url, Header: v.header}
		},
		OK: func(s int) bool { return s == http.StatusOK },
	}
}

// csrfToken is a double-submit token of the length the server accepts.
func csrfToken() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// referralLoad requests /r/{code} over n seeded codes, as visitors with no
// cookies would; redirects are not followed.
func referralLoad(ctx context.Context, db *sqlx.DB, base string, n int, o options) (bench.Load, error) {
	var codes []string
	if err := db.SelectContext(ctx, &codes, `SELECT code FROM referral_codes WHERE disabled_at IS NULL ORDER BY id LIMIT $1`, n); err != nil {
		return bench.Load{}, fmt.Errorf("referral codes: %w", err)
	}
	if len(codes) == 0 {
		return bench.Load{}, fmt.Errorf("the data set has no referral codes")
	}
	return bench.Load{Name: "referral", Conns: o.conns, Warmup: o.warmup, Duration: o.duration,
		Next: func(c, i int) bench.Request {
			return bench.Request{Method: http.MethodGet, URL: base + "/r/" + codes[(c*7919+i)%len(codes)]}
		}}, nil
}

// orderPageColdLoad requests every order of every shopper exactly once, on a
// server that has not shown any of them yet: each page is read from the
// database, none from the page caches. Run with RunFixed over coldPages.
func orderPageColdLoad(base string, shoppers []shopper, o options) (bench.Load, int) {
	type visit struct {
		url    string
		header http.Header
	}
	var all []visit
	for _, s := range shoppers {
		h := http.Header{"Cookie": {s.cookie}}
		for _, id := range s.orders {
			all = append(all, visit{fmt.Sprintf("%s/orders/%d", base, id), h})
		}
	}
	return bench.Load{Name: "order_page_cold", Conns: o.conns,
		Next: func(_, i int) bench.Request {
			v := all[i%len(all)]
			return bench.Request{Method: http.MethodGet, URL: v.url, Header: v.header}
		},
		OK: func(s int) bool { return s == http.StatusOK },
	}, len(all)
}
