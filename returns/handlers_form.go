package returns

import (
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// formLine is one order line on the return form, with what was entered.
type formLine struct {
	LineEligibility
	Qty      int
	Reason   string
	Comment  string
	Exchange string
	Guide    template.HTML
}

// Field names the line's inputs as errors name them.
func (l formLine) Field(name string) string { return itemField(l.OrderItemID, name) }

// Choices are the quantities the shopper may pick.
func (l formLine) Choices() []int {
	out := make([]int, 0, l.Available+1)
	for i := 0; i <= l.Available; i++ {
		out = append(out, i)
	}
	return out
}

// TryFirst returns the chosen lines whose reason is "not working / don't
// know how to use it" and whose product has a guide: the form shows those
// guides before the shopper confirms.
func TryFirst(a Assessment, in RequestInput) []LineEligibility {
	var out []LineEligibility
	for _, it := range in.Items {
		if it.Quantity <= 0 || it.Reason != ReasonNotWorking {
			continue
		}
		if l, ok := a.Line(it.OrderItemID); ok && strings.TrimSpace(l.GuideMD) != "" {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handlers) newReturn(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	id, err := orderID(c)
	if err != nil {
		return err
	}
	return h.renderForm(c, fiber.StatusOK, who, id, RequestInput{IdempotencyKey: newKey()}, nil, false)
}

func (h *Handlers) createReturn(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	id, err := orderID(c)
	if err != nil {
		return err
	}
	in, err := parseRequest(c, id)
	if problems := problemsOf(err); problems != nil {
		return h.renderForm(c, fiber.StatusUnprocessableEntity, who, id, in, problems, false)
	} else if err != nil {
		return err
	}
	if c.FormValue("guide_seen") != "1" {
		a, _, err := h.svc.Eligibility(c.UserContext(), who, id)
		if err != nil {
			return err
		}
		if len(TryFirst(a, in)) > 0 {
			return h.renderForm(c, fiber.StatusOK, who, id, in, nil, true)
		}
	}
	r, _, err := h.svc.Request(c.UserContext(), who, in)
	if problems := problemsOf(err); problems != nil {
		return h.renderForm(c, fiber.StatusUnprocessableEntity, who, id, in, problems, false)
	} else if err != nil {
		return err
	}
	return c.Redirect("/returns/"+r.RMA+"?new=1", fiber.StatusSeeOther)
}

// renderForm shows the form for the order with what in holds; tryFirst adds
// the product guides of "not working" lines above the confirm button.
func (h *Handlers) renderForm(c *fiber.Ctx, status int, who, orderID int64, in RequestInput, problems map[string]string, tryFirst bool) error {
	ctx := c.UserContext()
	a, p, err := h.svc.Eligibility(ctx, who, orderID)
	if err != nil {
		return err
	}
	prods, err := h.svc.Products(ctx)
	if err != nil {
		return err
	}
	entered := map[int64]RequestItem{}
	photos := false
	for _, it := range in.Items {
		entered[it.OrderItemID] = it
		photos = photos || len(it.Photos) > 0
	}
	var lines, guides []formLine
	for _, l := range a.Lines {
		fl := formLine{LineEligibility: l, Exchange: l.SKU}
		if it, ok := entered[l.OrderItemID]; ok {
			fl.Qty, fl.Reason, fl.Comment = it.Quantity, it.Reason, it.Comment
			if it.ExchangeSKU != "" {
				fl.Exchange = it.ExchangeSKU
			}
		}
		lines = append(lines, fl)
	}
	if tryFirst {
		for _, l := range TryFirst(a, in) {
			guides = append(guides, formLine{LineEligibility: l, Guide: RenderGuide(l.GuideMD)})
		}
	}
	// Problems with no input of their own on the page (a forged line, the
	// whole list) are listed at the top.
	var general []string
	shown := map[string]bool{}
	for _, l := range lines {
		if l.Available > 0 {
			for _, name := range []string{"quantity", "reason", "comment", "photos", "exchange_sku"} {
				shown[l.Field(name)] = true
			}
		}
	}
	for field, msg := range problems {
		switch {
		case field == "resolution":
			general = append(general, "What you would like "+msg)
		case field == "items" || field == "photos":
			general = append(general, title(field)+" "+msg)
		case !shown[field]:
			general = append(general, "An item "+msg)
		}
	}
	sort.Strings(general)
	resolution := string(in.Resolution)
	if resolution == "" && len(p.Resolutions()) > 0 {
		resolution = string(p.Resolutions()[0])
	}
	private(c)
	return c.Status(status).Render("returns/new", fiber.Map{
		"order": a.Order, "lines": lines, "any": a.Any(), "days": a.Days, "policy": p, "reasons": p.EnabledReasons(),
		"resolutions": p.Resolutions(), "products": prods, "key": in.IdempotencyKey, "resolution": resolution,
		"problems": problems, "general": general, "guides": guides, "photosAgain": tryFirst && photos, "maxPhotos": MaxPhotos,
		"maxPhotoMB": MaxPhotoBytes >> 20, "maxUploadMB": max(1, c.App().Config().BodyLimit>>20),
	})
}

// parseRequest reads the form: key, resolution, and for each order line id
// N the fields qty_N, reason_N, comment_N, exchange_N and files photos_N.
// A field that is not a number, or too many files, is a fault.Fields error;
// ids are checked against the order by the service.
func parseRequest(c *fiber.Ctx, orderID int64) (RequestInput, error) {
	in := RequestInput{OrderID: orderID, IdempotencyKey: c.FormValue("key"), Resolution: Resolution(c.FormValue("resolution"))}
	values := map[string][]string{}
	var files map[string][]*multipart.FileHeader
	if form, err := c.MultipartForm(); err == nil {
		values, files = form.Value, form.File
	} else {
		c.Request().PostArgs().VisitAll(func(k, v []byte) {
			values[string(k)] = append(values[string(k)], string(v))
		})
	}
	first := func(k string) string {
		if v := values[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var f fault.Fields
	nfiles := 0
	for k := range values {
		idText, ok := strings.CutPrefix(k, "qty_")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(idText, 10, 64)
		qty, qerr := strconv.Atoi(strings.TrimSpace(first(k)))
		if err != nil || id <= 0 {
			f.Add("items", "name an item that is not part of this order")
			continue
		}
		if qerr != nil {
			f.Add(itemField(id, "quantity"), "must be a number")
			continue
		}
		it := RequestItem{OrderItemID: id, Quantity: qty, Reason: first("reason_" + idText),
			Comment: first("comment_" + idText), ExchangeSKU: first("exchange_" + idText)}
		for _, fh := range files["photos_"+idText] {
			if fh.Size == 0 && fh.Filename == "" {
				continue // an empty file input
			}
			if nfiles++; nfiles > MaxPhotos {
				break
			}
			data, err := readUpload(fh)
			if err != nil {
				return in, err
			}
			it.Photos = append(it.Photos, Upload{Data: data})
		}
		in.Items = append(in.Items, it)
	}
	if nfiles > MaxPhotos {
		f.Add("photos", fmt.Sprintf("must be at most %d in one return", MaxPhotos))
	}
	return in, f.Err()
}

// readUpload reads at most one byte more than a photo may have, so an
// oversize file is refused without reading all of it.
func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	file, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("returns: open upload: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxPhotoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("returns: read upload: %w", err)
	}
	return data, nil
}

func (h *Handlers) withdrawPage(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	id, err := orderID(c)
	if err != nil {
		return err
	}
	a, p, err := h.svc.Eligibility(c.UserContext(), who, id)
	if err != nil {
		return err
	}
	if !p.EUMode {
		return fault.Errorf(fault.NotFound, "This store does not offer withdrawal from a purchase.")
	}
	private(c)
	return c.Render("returns/withdraw", fiber.Map{"order": a.Order, "lines": a.Lines, "any": a.Any(), "days": a.Days, "key": newKey(), "policy": p})
}

// withdraw returns every unit that may still be returned, as an EU
// withdrawal (no reason, refunded).
func (h *Handlers) withdraw(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	id, err := orderID(c)
	if err != nil {
		return err
	}
	a, _, err := h.svc.Eligibility(c.UserContext(), who, id)
	if err != nil {
		return err
	}
	in := RequestInput{OrderID: id, IdempotencyKey: c.FormValue("key"), Withdrawal: true, Resolution: Refund}
	for _, l := range a.Lines {
		if l.Available > 0 {
			in.Items = append(in.Items, RequestItem{OrderItemID: l.OrderItemID, Quantity: l.Available})
		}
	}
	r, _, err := h.svc.Request(c.UserContext(), who, in)
	if err != nil {
		return err
	}
	return c.Redirect("/returns/"+r.RMA+"?new=1", fiber.StatusSeeOther)
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
