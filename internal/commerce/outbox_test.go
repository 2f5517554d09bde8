package commerce

import (
	"testing"

	"github.com/jmoiron/sqlx"
)

// refuseCommit makes every transaction that inserted into table fail at
// COMMIT, after the service has queued its email: if the email were written
// outside the transaction, it would survive.
func refuseCommit(t *testing.T, db *sqlx.DB, table string) {
	t.Helper()
	_, err := db.Exec(`
		CREATE OR REPLACE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
		CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON ` + table + `
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmailsCommitWithTheirCause(t *testing.T) {
	t.Run("an order that does not commit queues no confirmation", func(t *testing.T) {
		svc, db := newService(t)
		refuseCommit(t, db, "orders")
		if _, _, err := svc.UpsertOrder(ctxT(t), anOrder("1")); err == nil {
			t.Fatal("UpsertOrder succeeded; want the commit refused")
		}
		for _, table := range []string{"orders", "messages", "river_job"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%s has %d rows; want none", table, n)
			}
		}
	})

	t.Run("a shipment that does not commit queues no shipped email", func(t *testing.T) {
		svc, db := newService(t)
		o := placedOrder(t, svc)
		refuseCommit(t, db, "shipments")
		if _, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1"}); err == nil {
			t.Fatal("AddShipment succeeded; want the commit refused")
		}
		if n, jobs := len(messages(t, db)), deliveryJobs(t, db); n != 1 || jobs != 1 {
			t.Errorf("messages = %d, jobs = %d; want only the confirmation", n, jobs)
		}
	})

	t.Run("an event that does not commit queues no delivery email", func(t *testing.T) {
		svc, db := newService(t)
		sh, t0 := shipped(t, svc)
		refuseCommit(t, db, "tracking_events")
		if _, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(Delivered, t0, "d")); err == nil {
			t.Fatal("AddTrackingEvent succeeded; want the commit refused")
		}
		got, err := svc.Shipment(ctxT(t), sh.ID)
		if err != nil || got.Status != LabelCreated || got.DeliveredAt != nil {
			t.Errorf("shipment = %+v, %v; want it unchanged", got, err)
		}
		if n, jobs := len(messages(t, db)), deliveryJobs(t, db); n != 2 || jobs != 2 {
			t.Errorf("messages = %d, jobs = %d; want confirmation and shipped only", n, jobs)
		}
	})
}
