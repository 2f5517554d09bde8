package referral

import (
	"context"
	"testing"
)

// The background refresh reads many codes in one statement, each with its
// referrer's name (a subquery per code since the join hashed every
// customer): every code asked for comes back, with its own referrer's first
// name and switch, and a code that does not exist comes back unknown.
func TestLandingCodesAreReadWithTheirReferrersNames(t *testing.T) {
	w := newWorld(t, false)
	// Customers without a code first, so that no code's id is its
	// customer's: a name read by the wrong id would show.
	w.exec(`INSERT INTO customers (email, name) VALUES ('nocode1@example.com', 'Wrong One'), ('nocode2@example.com', 'Wrong Two')`)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	joe := w.referrer("joe@example.com", "Joe Bloggs", order{})
	if jane.ID == jane.CustomerID || joe.ID == joe.CustomerID {
		t.Fatalf("codes %d and %d have their customers' ids", jane.ID, joe.ID)
	}
	w.exec(`UPDATE referral_codes SET disabled_at = now() WHERE id = $1`, joe.ID)
	w.exec(`UPDATE customers SET name = 'Janet Doe' WHERE id = $1`, jane.CustomerID)

	got, err := loadLandingCodes(context.Background(), w.db, []string{jane.Code, joe.Code, "NOBODY-2222"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d codes back for 3: %+v", len(got), got)
	}
	if j := got[jane.Code]; !j.known || j.code.ID != jane.ID || j.first != "Janet" || j.code.DisabledAt != nil {
		t.Errorf("jane's code: %+v", j)
	}
	if j := got[joe.Code]; !j.known || j.code.ID != joe.ID || j.first != "Joe" || j.code.DisabledAt == nil {
		t.Errorf("joe's code: %+v", j)
	}
	if n := got["NOBODY-2222"]; n.known {
		t.Errorf("an unknown code came back known: %+v", n)
	}
}
