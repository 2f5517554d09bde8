package audit

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestRecordStoresTheEntryWithItsDetailAsJSON(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	detail := map[string]any{"reason": "damaged", "items": []int{1, 2}}
	if err := Record(ctx, d, Staff(7), "return.approved", "return:12", detail); err != nil {
		t.Fatal(err)
	}
	var row struct {
		Actor, Action, Subject string
		Reason                 string
		Items                  int
	}
	err := d.Get(&row, `SELECT actor, action, subject, detail->>'reason' AS reason, jsonb_array_length(detail->'items') AS items FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	if row.Actor != "staff:7" || row.Action != "return.approved" || row.Subject != "return:12" || row.Reason != "damaged" || row.Items != 2 {
		t.Fatalf("stored %+v", row)
	}
	t.Run("a nil detail is stored as an empty object", func(t *testing.T) {
		if err := Record(ctx, d, System, "sweep.done", "", nil); err != nil {
			t.Fatal(err)
		}
		p, err := List(ctx, d, Filter{Action: "sweep.done"})
		if err != nil || len(p.Entries) != 1 || string(p.Entries[0].Detail) != "{}" || p.Entries[0].DetailText() != "" {
			t.Fatalf("entries %+v, err %v", p.Entries, err)
		}
	})
}

func TestRecordRefusesMalformedInput(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, actor, action string
		detail              any
	}{
		{"an empty actor", "", "staff.created", nil},
		{"an actor with spaces", "staff: 3", "staff.created", nil},
		{"an unknown bare actor", "somebody", "staff.created", nil},
		{"an empty action", Staff(1), "", nil},
		{"an action with capitals", Staff(1), "Staff.Created", nil},
		{"a detail that cannot be JSON", Staff(1), "staff.created", map[string]any{"f": func() {}}},
		{"a huge detail", Staff(1), "staff.created", strings.Repeat("x", maxDetailBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Record(ctx, d, tc.actor, tc.action, "staff:1", tc.detail); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM audit_log`); err != nil || n != 0 {
		t.Fatalf("%d entries written (err %v)", n, err)
	}
}

func TestRecordRollsBackWithTheAction(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	err := db.InTx(ctx, d, func(tx *sqlx.Tx) error {
		if err := Record(ctx, tx, Shopper(4), "return.requested", "return:1", nil); err != nil {
			return err
		}
		return fmt.Errorf("the action failed")
	})
	if err == nil {
		t.Fatal("no error from the failed transaction")
	}
	p, err := List(ctx, d, Filter{})
	if err != nil || len(p.Entries) != 0 {
		t.Fatalf("entries %+v after rollback (err %v)", p.Entries, err)
	}
}

func TestListFiltersAndPagesNewestFirst(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	for i := 1; i <= 7; i++ {
		actor := Staff(1)
		if i%2 == 0 {
			actor = Staff(2)
		}
		action := "return.approved"
		if i > 5 {
			action = "returnal.odd"
		}
		if err := Record(ctx, d, actor, action, fmt.Sprintf("return:%d", i), map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	subjects := func(p Page) string {
		var s []string
		for _, e := range p.Entries {
			s = append(s, e.Subject)
		}
		return strings.Join(s, ",")
	}
	t.Run("pages follow one another without overlap", func(t *testing.T) {
		first, err := List(ctx, d, Filter{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got := subjects(first); got != "return:7,return:6,return:5" || first.Older == 0 {
			t.Fatalf("first page %s, older %d", got, first.Older)
		}
		second, _ := List(ctx, d, Filter{Limit: 3, Before: first.Older})
		third, _ := List(ctx, d, Filter{Limit: 3, Before: second.Older})
		if got := subjects(second) + "|" + subjects(third); got != "return:4,return:3,return:2|return:1" || third.Older != 0 {
			t.Fatalf("later pages %s, last older %d", got, third.Older)
		}
	})
	t.Run("by actor", func(t *testing.T) {
		p, _ := List(ctx, d, Filter{Actor: "staff:2"})
		if got := subjects(p); got != "return:6,return:4,return:2" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("by action prefix, which stops at the dot", func(t *testing.T) {
		p, _ := List(ctx, d, Filter{Action: "return"})
		if got := subjects(p); got != "return:5,return:4,return:3,return:2,return:1" {
			t.Fatalf("got %s", got)
		}
		p, _ = List(ctx, d, Filter{Action: "return.approved", Actor: "staff:1", Subject: "return:3"})
		if got := subjects(p); got != "return:3" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("actions are listed once each", func(t *testing.T) {
		a, err := Actions(ctx, d)
		if err != nil || strings.Join(a, ",") != "return.approved,returnal.odd" {
			t.Fatalf("actions %v (err %v)", a, err)
		}
	})
}
