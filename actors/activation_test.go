package actors_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kash/actors"
	"kash/engine"
)

// countingObserver counts card activations and passivations.
type countingObserver struct {
	actors.NopObserver
	activated, passivated atomic.Int64
}

func (o *countingObserver) Activated(string)  { o.activated.Add(1) }
func (o *countingObserver) Passivated(string) { o.passivated.Add(1) }

// Cards passivate and come back while messages keep arriving: no message is
// lost, none is processed twice, and the balances are exact.
func TestPassivationUnderLoadLosesNothing(t *testing.T) {
	w := newWorld(t, 10_000)
	const cards = 40
	ids := make([]string, cards)
	for i := range ids {
		c, f := w.issue("u1", 2000, engine.OperatorMoov, moovPhone)
		ids[i] = c.ID
		w.eventually("funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })
	}
	obs := &countingObserver{}
	w.cfg.IdleAfter = 5 * time.Millisecond
	w.startWith(nil, obs)

	// 10 withdrawals of 1.00 per card, sent in bursts, so that cards
	// passivate between bursts and messages arrive while they do.
	var wg sync.WaitGroup
	var failures atomic.Int64
	for round := range 10 {
		for _, card := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := w.eng.Withdraw(context.Background(), actors.Withdraw{WithdrawalID: w.id("wdr"), CardID: card,
					UserID: "u1", Quote: quote(100), Phone: moovPhone, Operator: engine.OperatorMoov})
				if err != nil {
					failures.Add(1)
					t.Errorf("round %d, card %s: %v", round, card, err)
				}
			}()
		}
		// Alternate: after odd rounds, let the sagas settle and the cards
		// passivate; after even ones, send the next burst at once, racing
		// the passivations in progress.
		if round%2 == 1 {
			w.eventually("sagas settle", 30*time.Second, func() bool { return w.openSagas() == 0 })
			time.Sleep(30 * time.Millisecond)
		}
	}
	wg.Wait()
	w.eventually("every withdrawal final", 60*time.Second, func() bool { return w.openSagas() == 0 })
	for _, id := range ids {
		if _, balance, held := w.cardRow(id); balance != 1000 || held != 0 {
			t.Errorf("card %s: balance %d held %d, want 1000 and 0", id, balance, held)
		}
	}
	if obs.passivated.Load() == 0 || obs.activated.Load() <= cards {
		t.Fatalf("activations %d, passivations %d: the test did not exercise passivation", obs.activated.Load(), obs.passivated.Load())
	}
	t.Logf("%d activations, %d passivations", obs.activated.Load(), obs.passivated.Load())
	w.checkLedger()
}

// A second activation of a card (here: a second engine on the same
// database) writes first; the first activation's stale write is refused,
// and it answers again from durable state on the next command.
func TestSecondActivationIsFenced(t *testing.T) {
	w := newWorld(t, 1000)
	card, f := w.issue("u1", 1000, engine.OperatorMoov, moovPhone)
	w.eventually("funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })
	first := w.eng // its card actor is live and holds the card's version

	other, err := actors.Start(context.Background(), w.cfg, w.deps(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	withdraw := func(e *actors.Engine) error {
		_, err := e.Withdraw(context.Background(), actors.Withdraw{WithdrawalID: w.id("wdr"), CardID: card.ID, UserID: "u1",
			Quote: quote(300), Phone: moovPhone, Operator: engine.OperatorMoov})
		return err
	}
	if err := withdraw(other); err != nil {
		t.Fatalf("second activation: %v", err)
	}
	w.eventually("the second activation's withdrawal final", 20*time.Second, func() bool { return w.openSagas() == 0 })
	if err := withdraw(first); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("stale activation's write: got %v, want ErrFenced", err)
	}
	if _, balance, held := w.cardRow(card.ID); balance != 700 || held != 0 || w.openSagas() != 0 {
		t.Fatalf("balance %d held %d open %d: the fenced write leaked", balance, held, w.openSagas())
	}
}
