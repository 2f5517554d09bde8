// Package audit records who did what to which subject, in the audit_log
// table, and reads it back for the admin's audit page and for the history
// shown on a feature's own pages. Record takes the caller's transaction, so
// an action and its audit entry commit or roll back together.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// System is the actor of work nobody in particular asked for: jobs, sweeps
// and the command line.
const System = "system"

// Staff returns the actor of a staff member: "staff:<id>".
func Staff(id int64) string { return "staff:" + strconv.FormatInt(id, 10) }

// Shopper returns the actor of a customer acting in the portal: "shopper:<id>".
func Shopper(customerID int64) string { return "shopper:" + strconv.FormatInt(customerID, 10) }

// actorPattern admits "system" and "<kind>:<id>" (staff:3, shopper:42); the
// kind is a lower-case word so the audit page can filter and link by it.
var actorPattern = regexp.MustCompile(`^(system|[a-z][a-z_]{0,30}:[A-Za-z0-9_.@-]{1,100})$`)

// actionPattern admits dotted lower-case names such as "return.approved".
var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`)

// maxDetailBytes bounds one entry's detail; an audit entry is a note, not a
// copy of the data.
const maxDetailBytes = 16 << 10

// Record writes one audit entry through q (pass the transaction of the
// action). actor is System, Staff(id) or Shopper(id); action a dotted name
// ("staff.created", "return.approved"); subject what was acted on
// ("staff:7", "return:12", "" for none); detail anything that marshals to
// JSON (nil stores {}). It returns an error for a malformed actor or action,
// a detail that does not marshal or is larger than 16 KiB, or a failed write.
func Record(ctx context.Context, q sqlx.ExecerContext, actor, action, subject string, detail any) error {
	if !actorPattern.MatchString(actor) {
		return fmt.Errorf("audit: bad actor %q", actor)
	}
	if len(action) > 100 || !actionPattern.MatchString(action) {
		return fmt.Errorf("audit: bad action %q", action)
	}
	if len(subject) > 200 {
		return fmt.Errorf("audit: subject of %d bytes", len(subject))
	}
	raw := []byte("{}")
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit: %s detail: %w", action, err)
		}
		if string(b) != "null" {
			raw = b
		}
	}
	if len(raw) > maxDetailBytes {
		return fmt.Errorf("audit: %s detail of %d bytes", action, len(raw))
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4)`,
		actor, action, subject, string(raw))
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", action, err)
	}
	return nil
}
