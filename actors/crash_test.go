package actors_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kash/actors"
	"kash/engine"
)

// crashAt returns a hook that crashes the engine the n-th time it reaches
// point, and a function that reports whether it did.
func crashAt(point actors.FaultPoint, n int) (actors.FaultHook, func() bool) {
	var mu sync.Mutex
	seen, crashed := 0, false
	hook := func(p actors.FaultPoint) bool {
		mu.Lock()
		defer mu.Unlock()
		if p != point || crashed {
			return false
		}
		seen++
		crashed = seen == n
		return crashed
	}
	return hook, func() bool { mu.Lock(); defer mu.Unlock(); return crashed }
}

// saga is one card's life: issuance, then a withdrawal. Every command is
// repeated with the same ids after a crash, as a client retries with the
// same Idempotency-Key.
type saga struct {
	card, funding, withdrawal string
}

func (s saga) issue(w *world) error {
	_, _, err := w.eng.IssueCard(context.Background(), actors.IssueCard{CardID: s.card, FundingID: s.funding,
		UserID: "u1", Quote: quote(800), Phone: moovPhone, Operator: engine.OperatorMoov})
	if errors.Is(err, engine.ErrExists) {
		return nil
	}
	return err
}

func (s saga) withdraw(w *world) error {
	_, err := w.eng.Withdraw(context.Background(), actors.Withdraw{WithdrawalID: s.withdrawal, CardID: s.card,
		UserID: "u1", Quote: quote(300), Phone: moovPhone, Operator: engine.OperatorMoov})
	if errors.Is(err, engine.ErrExists) {
		return nil
	}
	return err
}

// run drives the saga until it completes or the engine crashes.
func (s saga) run(w *world) {
	if s.issue(w) != nil {
		return
	}
	for w.fundingStatus(s.funding) != "succeeded" {
		if w.eng.Crashed() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.withdraw(w) != nil {
		return
	}
	for !w.eng.Crashed() && w.withdrawalStatus(s.withdrawal) != "succeeded" {
		time.Sleep(10 * time.Millisecond)
	}
}

// Crash at every step boundary of the funding and withdrawal sagas: after a
// restart, every saga finishes exactly once, no provider call is repeated
// under a new reference, the ledger balances, and the providers' books
// equal the engine's.
func TestCrashAtEveryStepBoundary(t *testing.T) {
	points := []actors.FaultPoint{actors.FaultBeforeCommit, actors.FaultAfterCommit, actors.FaultBeforeCall, actors.FaultAfterCall}
	for _, point := range points {
		for n, reached := 1, true; reached; n++ {
			reached = false
			ok := t.Run(fmt.Sprintf("%s-%d", point, n), func(t *testing.T) {
				w := newWorld(t, 1000)
				hook, didCrash := crashAt(point, n)
				w.start(hook)
				s := saga{card: w.id("card"), funding: w.id("fnd"), withdrawal: w.id("wdr")}
				s.run(w)
				if !didCrash() {
					return // the saga completed before reaching this boundary again: every one was covered
				}
				reached = true
				w.start(nil) // the process comes back
				w.eventually("issuance accepted", 10*time.Second, func() bool { return s.issue(w) == nil })
				w.eventually("issuance final", 20*time.Second, func() bool { return w.fundingStatus(s.funding) == "succeeded" })
				w.eventually("withdrawal accepted", 10*time.Second, func() bool { return s.withdraw(w) == nil })
				w.eventually("withdrawal final", 20*time.Second, func() bool { return w.withdrawalStatus(s.withdrawal) == "succeeded" })
				w.eventually("no open saga", 10*time.Second, func() bool { return w.openSagas() == 0 })
				if _, balance, held := w.cardRow(s.card); balance != 500 || held != 0 {
					t.Fatalf("card balance %d held %d, want 500 and 0", balance, held)
				}
				checkReferences(t, w, s)
				w.checkLedger()
			})
			if !ok {
				break
			}
		}
	}
}

// checkReferences asserts that every provider call used the operation's
// own deterministic reference, and that each moved money once.
func checkReferences(t *testing.T, w *world, s saga) {
	t.Helper()
	want := map[string]string{
		"collect":  s.funding + ".collect",
		"create":   s.funding + ".issue",
		"withdraw": s.withdrawal + ".debit",
		"payout":   s.withdrawal + ".payout",
	}
	calls := map[string]int{}
	for k, v := range w.momo.Books().CallsByRef {
		calls[k] += v
	}
	for k, v := range w.issuer.Books().CallsByRef {
		calls[k] += v
	}
	for key := range calls {
		op, ref, _ := strings.Cut(key, ":")
		if r, ok := want[op]; ok && ref != r {
			t.Errorf("%s call under reference %q, want only %q", op, ref, r)
		}
	}
	mb := w.momo.Books()
	if len(mb.Succeeded) != 2 {
		t.Errorf("momo provider applied %d payments, want 2 (one collection, one payout): %v", len(mb.Succeeded), mb.Succeeded)
	}
}
