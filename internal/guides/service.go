package guides

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pagecache"
)

// Limits of what staff and the API may store.
const (
	MaxGuideChars = 100_000 // as the product API allows
	MaxPairings   = 12
)

// Service reads guides for shoppers and saves them for staff.
type Service struct {
	db  *sqlx.DB
	now func() time.Time
	// forOrder keeps ForOrder's answers per order page version
	// (internal/pagecache).
	forOrder *pagecache.Cache[[]Guide]
}

// NewService returns the guides over db; now is the clock of recorded views.
func NewService(db *sqlx.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now, forOrder: pagecache.New[[]Guide](pagecache.SectionSize)}
}

// ForOrder returns the guides of what is on order orderID of customerID, in
// line order; none when the order is not theirs. Within an order page the
// answer is cached under the page's version and is read-only.
func (s *Service) ForOrder(ctx context.Context, customerID, orderID int64) ([]Guide, error) {
	return s.forOrder.Load(ctx, orderID, func() ([]Guide, error) { return forOrder(ctx, s.db, customerID, orderID) })
}

// ForShipment returns the guides of the products in shipment shipmentID,
// read through q; the delivered email carries them.
func ForShipment(ctx context.Context, q sqlx.QueryerContext, shipmentID int64) ([]Guide, error) {
	return forShipment(ctx, q, shipmentID)
}

// Read returns the guide of sku for customerID and records the view. It
// returns ErrNotFound unless the customer bought the product and it has a guide.
func (s *Service) Read(ctx context.Context, customerID int64, sku string) (Guide, error) {
	g, err := bought(ctx, s.db, customerID, sku)
	if err != nil {
		return g, err
	}
	return g, recordView(ctx, s.db, g.ProductID, customerID, s.now())
}

// List returns up to 200 products for the staff's guide list, matching
// search in SKU or title when it is not empty.
func (s *Service) List(ctx context.Context, search string) ([]Entry, error) {
	return listEntries(ctx, s.db, strings.TrimSpace(search), 200, s.now().AddDate(0, 0, -30))
}

// Product returns the product with SKU sku for editing, or fault.NotFound.
func (s *Service) Product(ctx context.Context, sku string) (Product, error) {
	return productBySKU(ctx, s.db, sku, false)
}

// Edit is what staff change about a product here.
type Edit struct {
	Markdown string
	VideoURL string
	// Pairings is the "goes well with" list: SKUs separated by commas,
	// spaces or new lines.
	Pairings string
}

// normalize validates e and returns its parts, or a fault.Fields error
// naming the form's fields (guide_md, guide_video_url, pairings).
func (e Edit) normalize(sku string) (md, video string, pairings []string, err error) {
	var f fault.Fields
	md = strings.ReplaceAll(e.Markdown, "\r\n", "\n")
	if len([]rune(md)) > MaxGuideChars {
		f.Add("guide_md", "must be at most 100,000 characters")
	}
	if strings.ContainsRune(md, 0) {
		f.Add("guide_md", "must not contain NUL characters")
	}
	video = strings.TrimSpace(e.VideoURL)
	if video != "" {
		if u, perr := url.Parse(video); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Add("guide_video_url", "must be an http or https address")
		}
	}
	pairings, perr := ParsePairings(sku, e.Pairings)
	if perr != "" {
		f.Add("pairings", perr)
	}
	return md, video, pairings, f.Err()
}

// ParsePairings splits a "goes well with" list into distinct SKUs, in order.
// It returns a problem (for a form field) when a SKU is too long, names the
// product itself, or the list is longer than MaxPairings.
func ParsePairings(sku, list string) ([]string, string) {
	out := []string{}
	seen := map[string]bool{}
	for _, p := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		switch {
		case len(p) > 100:
			return nil, "has a SKU longer than 100 characters"
		case p == sku:
			return nil, "must not name the product itself"
		case seen[p]:
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	if len(out) > MaxPairings {
		return nil, "must list at most 12 products"
	}
	return out, ""
}

// Save stores e as the guide, video and pairings of product sku, recording
// who did it (actor) in the audit log. It returns fault.NotFound for an
// unknown SKU and a fault.Fields error for bad input.
func (s *Service) Save(ctx context.Context, sku string, e Edit, actor string) error {
	md, video, pairings, err := e.normalize(sku)
	if err != nil {
		return err
	}
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		p, err := productBySKU(ctx, tx, sku, true)
		if err != nil {
			return err
		}
		if err := saveGuide(ctx, tx, p.ProductID, md, video); err != nil {
			return err
		}
		if err := savePairings(ctx, tx, p.ProductID, pairings); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "guide.saved", "product:"+sku,
			map[string]any{"chars": len([]rune(md)), "video": video != "", "pairings": pairings})
	})
}

// SetPairings replaces the "goes well with" list of product sku (the API's
// way in). It returns fault.NotFound for an unknown SKU and a fault.Fields
// error for a bad list.
func (s *Service) SetPairings(ctx context.Context, sku string, skus []string, actor string) ([]string, error) {
	pairings, problem := ParsePairings(sku, strings.Join(skus, ","))
	if problem != "" {
		return nil, fault.Field("skus", problem)
	}
	return pairings, db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		p, err := productBySKU(ctx, tx, sku, true)
		if err != nil {
			return err
		}
		if err := savePairings(ctx, tx, p.ProductID, pairings); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "product.pairings_set", "product:"+sku, map[string]any{"pairings": pairings})
	})
}
