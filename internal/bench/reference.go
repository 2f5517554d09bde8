package bench

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the reference reads PostgreSQL like the product does
)

// FortuneSchema creates and fills the reference's table: the 12 fortunes of
// TechEmpower's "Fortunes" test, one of them with markup to escape.
const FortuneSchema = `
CREATE TABLE IF NOT EXISTS bench_fortune (id integer PRIMARY KEY, message text NOT NULL);
INSERT INTO bench_fortune (id, message) VALUES
 (1, 'fortune: No such file or directory'),
 (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
 (3, 'After enough decimal places, nobody gives a damn.'),
 (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
 (5, 'A computer program does what you tell it to do, not what you want it to do.'),
 (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
 (7, 'Any program that runs right is obsolete.'),
 (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
 (9, 'Feature: A bug with seniority.'),
 (10, 'Computers make very fast, very accurate mistakes.'),
 (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
 (12, 'フレームワークのベンチマーク')
ON CONFLICT (id) DO NOTHING;`

// Fortune is one row of bench_fortune.
type Fortune struct {
	ID      int    `db:"id"`
	Message string `db:"message"`
}

var fortunesPage = template.Must(template.New("fortunes").Parse(`<!DOCTYPE html>
<html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.Message}}</td></tr>
{{end}}</table></body></html>`))

// Reference is the ceiling the portal is measured against: a bare Fiber app
// configured like Aftercare's (prefork off, same timeouts) with the
// TechEmpower "plaintext" and "fortunes" handlers.
func Reference(db *sqlx.DB) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName: "bench-reference", Immutable: true, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second, ReadBufferSize: 16 * 1024,
		DisableStartupMessage: true,
	})
	app.Get("/plaintext", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlain)
		return c.SendString("Hello, World!")
	})
	app.Get("/fortunes", func(c *fiber.Ctx) error {
		var rows []Fortune
		if err := db.SelectContext(c.UserContext(), &rows, `SELECT id, message FROM bench_fortune`); err != nil {
			return err
		}
		rows = append(rows, Fortune{Message: "Additional fortune added at request time."})
		sort.Slice(rows, func(i, j int) bool { return rows[i].Message < rows[j].Message })
		var buf bytes.Buffer
		if err := fortunesPage.Execute(&buf, rows); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Send(buf.Bytes())
	})
	return app
}

// ServeReference opens the database at dbURL with maxConns connections (as
// many as Aftercare's pool) and serves the reference on addr until ctx ends.
func ServeReference(ctx context.Context, addr, dbURL string, maxConns int) error {
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	app := Reference(db)
	go func() {
		<-ctx.Done()
		app.Shutdown() //nolint:errcheck // exiting anyway
	}()
	return app.Listener(ln)
}
