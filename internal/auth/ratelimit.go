package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// MaxRateWindow is the longest window Allow accepts; Sweep forgets counters
// older than this, so a longer window would silently restart.
const MaxRateWindow = 24 * time.Hour

// RateLimiter counts attempts in fixed windows in PostgreSQL, so every
// instance behind a load balancer shares one count.
type RateLimiter struct {
	db *sqlx.DB
}

// NewRateLimiter returns a limiter over the rate_limits table.
func NewRateLimiter(db *sqlx.DB) *RateLimiter {
	return &RateLimiter{db: db}
}

// Allow counts one attempt for key and reports whether it is within limit
// attempts per window. When it is not, retryAfter says how long until the
// window ends. The count and the window reset are one upsert, so concurrent
// attempts on any instance are all counted.
func (r *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	if key == "" || limit < 1 || window <= 0 || window > MaxRateWindow {
		return false, 0, fmt.Errorf("auth: rate limit %q: bad limit %d per %s", key, limit, window)
	}
	var row struct {
		Hits        int       `db:"hits"`
		WindowStart time.Time `db:"window_start"`
		Now         time.Time `db:"now"`
	}
	// In SET, rate_limits.* is the old row in both assignments, so the
	// window and the count reset together.
	err = r.db.GetContext(ctx, &row, `INSERT INTO rate_limits AS rl (key, window_start, hits)
		VALUES ($1, now(), 1)
		ON CONFLICT (key) DO UPDATE SET
		    hits = CASE WHEN rl.window_start <= now() - make_interval(secs => $2) THEN 1 ELSE rl.hits + 1 END,
		    window_start = CASE WHEN rl.window_start <= now() - make_interval(secs => $2) THEN now() ELSE rl.window_start END
		RETURNING hits, window_start, now() AS now`, key, window.Seconds())
	if err != nil {
		return false, 0, fmt.Errorf("auth: rate limit %q: %w", key, err)
	}
	if row.Hits <= limit {
		return true, 0, nil
	}
	retryAfter = row.WindowStart.Add(window).Sub(row.Now)
	if retryAfter < time.Second {
		retryAfter = time.Second
	}
	return false, retryAfter, nil
}

// Sweep deletes counters whose window started more than MaxRateWindow ago
// and reports how many went.
func (r *RateLimiter) Sweep(ctx context.Context) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => $1)`, MaxRateWindow.Seconds())
	if err != nil {
		return 0, fmt.Errorf("auth: sweep rate limits: %w", err)
	}
	return res.RowsAffected()
}
