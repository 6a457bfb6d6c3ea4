package actors_test

import (
	"context"
	"testing"
	"time"

	"kash/engine"
)

// With no float, fundings queue; the treasury's policy sweeps the collected
// mobile money to the issuer, and when the issuer reports the USD the queue
// drains in order.
func TestLowFloatSweepsCollectionsAndDrainsTheQueue(t *testing.T) {
	w := newWorld(t, 0)
	w.cfg.SweepEvery, w.cfg.SweepReserve = 50*time.Millisecond, 1
	w.start(nil)
	var fundings []string
	for range 3 {
		_, f := w.issue("u1", 500, engine.OperatorMoov, moovPhone)
		fundings = append(fundings, f.ID)
		w.eventually("queued", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "queued_for_float" })
	}
	// Play the issuer: every sweep whose XOF left is converted at the cost
	// rate and reported as float credited.
	credited := map[string]bool{}
	w.eventually("every funding served from swept float", 30*time.Second, func() bool {
		rows, err := w.pool.Query(context.Background(), `SELECT id, amount_minor FROM sweeps WHERE status = 'deposit_pending'`)
		if err != nil {
			t.Fatal(err)
		}
		type sweep struct {
			id  string
			xof int64
		}
		var due []sweep
		for rows.Next() {
			var s sweep
			if err := rows.Scan(&s.id, &s.xof); err != nil {
				t.Fatal(err)
			}
			if !credited[s.id] {
				due = append(due, s)
			}
		}
		rows.Close()
		for _, s := range due {
			usd := s.xof * 100 / 600
			w.issuer.AddFloat(usd)
			if err := w.eng.FloatCredited(context.Background(), s.id, engine.NewMoney(usd, engine.USD)); err != nil {
				t.Fatal(err)
			}
			credited[s.id] = true
		}
		for _, id := range fundings {
			if w.fundingStatus(id) != "succeeded" {
				return false
			}
		}
		return true
	})
	var open int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM sweeps WHERE status <> 'completed'`).Scan(&open); err != nil || open != 0 || len(credited) == 0 {
		t.Fatalf("%d sweeps not completed (%v); %d credited", open, err, len(credited))
	}
	w.checkLedger()
}
