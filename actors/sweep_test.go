package actors_test

import (
	"context"
	"testing"
	"time"

	"kash/actors/inproc"
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

// The issuer's credit for a sweep can arrive before the provider's status
// query says the payout went through: the credit completes the sweep,
// booking the payout with the deposit, and the same credit delivered again
// later counts once.
func TestSweepCreditedBeforeItsPayoutIsConfirmedCountsOnce(t *testing.T) {
	w := newWorld(t, 1000)
	w.issue("u1", 500, engine.OperatorMoov, moovPhone)
	w.eventually("collections", 20*time.Second, func() bool { return w.momo.Books().Collected > 0 })
	// The settlement goes through at the provider but its answer is lost,
	// and the engine will not ask again for an hour.
	w.cfg.IssuerRetry = time.Hour
	w.start(nil)
	w.momo.SetScript(func(op, _ string) inproc.Fault {
		if op == "settle" {
			return inproc.Timeout
		}
		return inproc.Normal
	})
	ctx := context.Background()
	xof := w.momo.Books().Collected
	s, err := w.eng.StartSweep(ctx, "swp_early", "momo", engine.NewMoney(xof, engine.XOF))
	if err != nil {
		t.Fatal(err)
	}
	w.eventually("the settlement at the provider", 10*time.Second, func() bool { return w.momo.Books().Collected == 0 })
	before, err := w.eng.Treasury(ctx)
	if err != nil {
		t.Fatal(err)
	}
	usd := xof * 100 / 600
	w.issuer.AddFloat(usd)
	for range 2 {
		if err := w.eng.FloatCredited(ctx, s.ID, engine.NewMoney(usd, engine.USD)); err != nil {
			t.Fatal(err)
		}
	}
	after, err := w.eng.Treasury(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Available - before.Available; got != usd {
		t.Errorf("float grew by %d cents, want %d (once)", got, usd)
	}
	var status string
	if err := w.pool.QueryRow(ctx, `SELECT status FROM sweeps WHERE id = $1`, s.ID).Scan(&status); err != nil || status != "completed" {
		t.Fatalf("sweep status %q (%v), want completed", status, err)
	}
	w.checkLedger()
}
