package dashboard

import (
	"bytes"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/staff"
)

// Handlers serve the dashboard page and its CSV exports.
type Handlers struct {
	svc *Service
	now func() time.Time
}

// NewHandlers returns the dashboard's handlers; now is the clock (nil means
// time.Now) that picks the default period.
func NewHandlers(svc *Service, now func() time.Time) *Handlers {
	if now == nil {
		now = time.Now
	}
	return &Handlers{svc: svc, now: now}
}

// Routes mounts, on the "/admin" group, GET /dashboard/<table>.csv for
// every staff member. The page itself is Page, which cmd makes the admin's
// start page (GET /admin) through (*staff.Shell).SetDashboard.
func (h *Handlers) Routes(admin fiber.Router) {
	admin.Get("/dashboard/:file", staff.Require(staff.RoleSupport), h.csv)
}

func (h *Handlers) report(c *fiber.Ctx) (Report, error) {
	st, _ := c.Locals("store").(settings.Store)
	p, err := ParsePeriod(c.Query("from"), c.Query("to"), h.now(), st.Location())
	if err != nil {
		return Report{}, err
	}
	return h.svc.Report(c.UserContext(), p)
}

// Page renders the dashboard for ?from=&to= (default: the last 30 days).
func (h *Handlers) Page(c *fiber.Ctx) error {
	r, err := h.report(c)
	if fault.KindOf(err) == fault.Invalid {
		c.Status(fiber.StatusUnprocessableEntity)
		return c.Render("admin/dashboard", fiber.Map{"problem": err.Error(), "from": c.Query("from"), "to": c.Query("to")})
	}
	if err != nil {
		return err
	}
	return c.Render("admin/dashboard", fiber.Map{
		"report": r, "charts": r.Charts(), "tables": r.Tables(),
		"from": r.Period.From.Format("2006-01-02"), "to": r.Period.To.Format("2006-01-02"),
		"prevFrom": r.Prev.From.Format("2006-01-02"), "prevTo": r.Prev.To.Format("2006-01-02"),
		"query": "?from=" + r.Period.From.Format("2006-01-02") + "&to=" + r.Period.To.Format("2006-01-02"),
	})
}

func (h *Handlers) csv(c *fiber.Ctx) error {
	name, ok := strings.CutSuffix(c.Params("file"), ".csv")
	if !ok {
		return fault.Errorf(fault.NotFound, "There is no such export.")
	}
	r, err := h.report(c)
	if err != nil {
		return err
	}
	t, ok := r.Table(name)
	if !ok {
		return fault.Errorf(fault.NotFound, "There is no such export.")
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, t); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+"-"+r.Period.From.Format("20060102")+"-"+r.Period.To.Format("20060102")+`.csv"`)
	return c.Send(b.Bytes())
}
