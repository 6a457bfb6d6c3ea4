package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kash/actors"
	"kash/actors/inproc"
	"kash/engine"
)

const moovPhone = "+22961000001"

// 1,000 concurrent issuances against float for exactly 600: 600 succeed at
// once, 400 wait in FIFO order, and top-ups drain them in that order.
func TestFloatGrantsAndQueuesFIFO(t *testing.T) {
	w := newWorld(t, 600*5)
	const n = 1000
	fundings := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, f := w.issue(fmt.Sprintf("u%d", i), 500, engine.OperatorMoov, fmt.Sprintf("+2296100%04d", i+1))
			fundings[i] = f.ID
		}()
	}
	wg.Wait()
	count := func(status string) int {
		var c int
		if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM fundings WHERE status = $1`, status).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	w.eventually("600 succeeded and 400 queued", 60*time.Second, func() bool {
		ok := count("succeeded") == 600 && count("queued_for_float") == 400
		if !ok {
			t.Logf("statuses: %v", w.statusCounts())
		}
		return ok
	})
	// The queue's order is the order in which the treasury received the
	// requests (seq); top-ups must grant exactly the oldest.
	queued := func() []string {
		rows, err := w.pool.Query(context.Background(), `SELECT funding_id FROM float_reservations
			WHERE status = 'queued' ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	order := queued()
	if len(order) != 400 {
		t.Fatalf("%d queued reservations, want 400", len(order))
	}
	for round := range 4 {
		w.topUp(100 * 5)
		want := order[round*100 : (round+1)*100]
		w.eventually(fmt.Sprintf("round %d drained", round), 60*time.Second, func() bool {
			return count("succeeded") == 600+(round+1)*100
		})
		for _, id := range want {
			if s := w.fundingStatus(id); s != "succeeded" {
				t.Fatalf("round %d: funding %s (queue position %d) is %s: the queue was not drained in order", round, id, round*100, s)
			}
		}
		if rest := queued(); len(rest) != 400-(round+1)*100 {
			t.Fatalf("round %d: %d still queued", round, len(rest))
		}
	}
	w.checkLedger()
}

// 100 concurrent withdrawals of 1.00 on a card holding 10.00: exactly 10
// are accepted, all of them succeed, and the balance never goes negative.
func TestConcurrentWithdrawalsNeverOverdraw(t *testing.T) {
	w := newWorld(t, 1000)
	card, f := w.issue("u1", 1000, engine.OperatorMoov, moovPhone)
	w.eventually("card funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })

	var wg sync.WaitGroup
	var mu sync.Mutex
	var accepted []string
	var refused int
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wd, err := w.eng.Withdraw(context.Background(), actors.Withdraw{WithdrawalID: w.id("wdr"), CardID: card.ID,
				UserID: "u1", Quote: quote(100), Phone: moovPhone, Operator: engine.OperatorMoov})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted = append(accepted, wd.ID)
			case errors.Is(err, engine.ErrInsufficientBalance):
				refused++
			default:
				t.Errorf("withdraw: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(accepted) != 10 || refused != 90 {
		t.Fatalf("accepted %d, refused %d; want 10 and 90", len(accepted), refused)
	}
	for _, id := range accepted {
		w.eventually("withdrawal "+id, 20*time.Second, func() bool { return w.withdrawalStatus(id) == "succeeded" })
	}
	if _, balance, held := w.cardRow(card.ID); balance != 0 || held != 0 {
		t.Fatalf("balance %d held %d, want 0 and 0", balance, held)
	}
	w.checkLedger()
}

// Defect 1 and 2: the same funding command twice, and overlapping status
// reports of one payment, fund the card once.
func TestDefect2_DoubleFundingFromOverlappingPolls(t *testing.T) {
	w := newWorld(t, 100)
	w.momo.SetScript(func(op, ref string) inproc.Fault { return pendingCollect(op) })
	card, f := w.issue("u1", 500, engine.OperatorMTN, "+22997000001")
	w.approve(f.ID + ".collect")
	// Many overlapping confirmations of the same payment, as a webhook,
	// polls and retries would deliver them.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.eng.PaymentUpdate(context.Background(), card.ID, f.ID+".collect",
				engine.Result{Outcome: engine.OutcomeSucceeded, Ref: f.ID + ".collect"})
		}()
	}
	wg.Wait()
	w.eventually("funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })
	time.Sleep(300 * time.Millisecond)
	if _, balance, _ := w.cardRow(card.ID); balance != 500 {
		t.Fatalf("balance %d, want 500: funded more than once", balance)
	}
	var history int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_status_history WHERE ref = $1`, f.ID+".collect").Scan(&history); err != nil {
		t.Fatal(err)
	}
	if history != 2 { // pending, then succeeded: a repeated status is not a change (defect 13)
		t.Fatalf("%d status history rows, want 2", history)
	}
	w.checkLedger()
}

func pendingCollect(op string) inproc.Fault {
	if op == "collect" {
		return inproc.Pending
	}
	return inproc.Normal
}

// Defect 5: a payment confirmed long after its funding expired is seen,
// held in suspense and refunded, never lost.
func TestDefect5_LatePaymentGoesToSuspenseAndIsRefunded(t *testing.T) {
	w := newWorld(t, 100)
	w.cfg.PaymentWindow = 200 * time.Millisecond
	w.start(nil)
	w.momo.SetScript(func(op, ref string) inproc.Fault { return pendingCollect(op) })
	_, f := w.issue("u1", 500, engine.OperatorMTN, "+22997000002")
	w.eventually("expired", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "failed" })
	w.approve(f.ID + ".collect")
	w.eventually("refunded from suspense", 30*time.Second, func() bool {
		var status string
		err := w.pool.QueryRow(context.Background(), `SELECT status FROM suspense_items WHERE owner_id = $1`, f.ID).Scan(&status)
		return err == nil && status == "refunded"
	})
	books := w.momo.Books()
	if books.Wallets["+22997000002"] != inproc.DefaultWallet {
		t.Fatalf("wallet %d, want %d: the late payment was not refunded", books.Wallets["+22997000002"], inproc.DefaultWallet)
	}
	w.checkLedger()
}

// Defect 9 and 10: a payout that fails for good credits the card back, and a
// failed refund is retried (under a new reference, the failed one being
// final) until it succeeds.
func TestDefect9_FailedPayoutCreditsTheCardBack(t *testing.T) {
	w := newWorld(t, 100)
	card, _ := w.failedPayout(nil)
	if _, balance, held := w.cardRow(card.ID); balance != 1000 || held != 0 {
		t.Fatalf("balance %d held %d, want 1000 and 0: money stranded", balance, held)
	}
	w.checkLedger()
}

func TestDefect10_FailedRefundIsRetried(t *testing.T) {
	w := newWorld(t, 0) // no float: the funding waits, then is refunded
	w.cfg.FloatWait = 100 * time.Millisecond
	w.start(nil)
	var refunds sync.Map
	w.momo.SetScript(func(op, ref string) inproc.Fault {
		if op == "payout" {
			n, _ := refunds.LoadOrStore(ref, 0)
			refunds.Store(ref, n.(int)+1)
			if ref[len(ref)-1] == '1' { // the first attempt fails
				return inproc.Fail
			}
		}
		return inproc.Normal
	})
	_, f := w.issue("u1", 500, engine.OperatorMoov, moovPhone)
	w.eventually("refunded", 40*time.Second, func() bool { return w.fundingStatus(f.ID) == "refunded" })
	books := w.momo.Books()
	if books.Wallets[moovPhone] != inproc.DefaultWallet {
		t.Fatalf("wallet %d after refund, want %d", books.Wallets[moovPhone], inproc.DefaultWallet)
	}
	var refs []string
	refunds.Range(func(k, _ any) bool { refs = append(refs, k.(string)); return true })
	sort.Strings(refs)
	if len(refs) != 2 || refs[0] != f.ID+".refund.1" || refs[1] != f.ID+".refund.2" {
		t.Fatalf("refund references %v, want attempts 1 and 2", refs)
	}
	w.checkLedger()
}

// Defect 4: a retried payment keeps its reference; after an unknown outcome
// the engine asks for the status of the same reference.
func TestDefect4_RetryKeepsThePaymentReference(t *testing.T) {
	w := newWorld(t, 100)
	var first sync.Once
	w.issuer.SetScript(func(op, ref string) inproc.Fault {
		f := inproc.Normal
		if op == "create" {
			first.Do(func() { f = inproc.Timeout }) // applied, answer lost
		}
		return f
	})
	card, f := w.issue("u1", 500, engine.OperatorMoov, moovPhone)
	w.eventually("funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })
	books := w.issuer.Books()
	for key := range books.CallsByRef {
		if key[:7] == "create:" && key != "create:"+f.ID+".issue" {
			t.Fatalf("issuer saw a create under a new reference %q", key)
		}
	}
	if books.Cards[card.ID] != 500 {
		t.Fatalf("issuer holds %d on the card, want 500 (created once)", books.Cards[card.ID])
	}
	w.checkLedger()
}

// Defect 13: a repeated status is not a change: no second history row, no
// second notification.
func TestDefect13_RepeatedStatusIsNotAChange(t *testing.T) {
	w := newWorld(t, 100)
	card, f := w.issue("u1", 500, engine.OperatorMoov, moovPhone)
	w.eventually("funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })
	for range 5 {
		_ = w.eng.PaymentUpdate(context.Background(), card.ID, f.ID+".collect",
			engine.Result{Outcome: engine.OutcomeSucceeded, Ref: f.ID + ".collect"})
	}
	time.Sleep(300 * time.Millisecond)
	var history, pushes int
	ctx := context.Background()
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM payment_status_history WHERE ref = $1`, f.ID+".collect").Scan(&history); err != nil {
		t.Fatal(err)
	}
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE dedupe_key LIKE $1`, "funding:"+f.ID+"%").Scan(&pushes); err != nil {
		t.Fatal(err)
	}
	if history != 2 || pushes != 1 {
		t.Fatalf("history %d (want 2), notifications %d (want 1)", history, pushes)
	}
}

// Defect 3: an error between steps never leaves a funding stuck: a crash
// right after any commit is resumed at the next start.
func TestDefect3_NoFundingStuckAfterAnError(t *testing.T) {
	w := newWorld(t, 100)
	var n int
	w.start(func(p actors.FaultPoint) bool {
		if p == actors.FaultAfterCommit {
			n++
			return n == 2
		}
		return false
	})
	_, f, _ := w.eng.IssueCard(context.Background(), actors.IssueCard{CardID: w.id("card"), FundingID: w.id("fnd"),
		UserID: "u1", Quote: quote(500), Phone: moovPhone, Operator: engine.OperatorMoov})
	w.eventually("crash", 10*time.Second, w.eng.Crashed)
	w.start(nil)
	w.eventually("funded after restart", 20*time.Second, func() bool { return f.ID != "" && w.fundingStatus(f.ID) == "succeeded" })
	w.checkLedger()
}

// A credit-back the issuer refuses is tried again, each attempt under a
// reference of its own (the issuer keeps a refusal under its reference),
// until the money is back on the card; after a few refusals the withdrawal
// goes to manual review, and the attempts go on (defect 9: nothing
// stranded).
func TestDefect9_RefusedCreditBackIsRetried(t *testing.T) {
	w := newWorld(t, 100)
	var refusals atomic.Int64
	card, wd := w.failedPayout(func(op, ref string) inproc.Fault {
		if op == "fund" && strings.Contains(ref, ".creditback") && refusals.Add(1) <= 4 {
			return inproc.Fail
		}
		return inproc.Normal
	})
	if got := refusals.Load(); got != 5 {
		t.Errorf("%d credit-back calls, want 4 refused and 1 accepted", got)
	}
	var review bool
	if err := w.pool.QueryRow(context.Background(), `SELECT manual_review FROM withdrawals WHERE id = $1`, wd.ID).Scan(&review); err != nil || !review {
		t.Errorf("manual review %v (%v), want true after repeated refusals", review, err)
	}
	if _, balance, held := w.cardRow(card.ID); balance != 1000 || held != 0 {
		t.Fatalf("balance %d held %d, want 1000 and 0: money stranded", balance, held)
	}
	w.checkLedger()
}

// failedPayout funds a card with 10.00, then withdraws 4.00 with every
// payout failing for good, the issuer scripted by issuer, and waits for the
// withdrawal to fail.
func (w *world) failedPayout(issuer inproc.Script) (engine.CardRecord, engine.WithdrawalRecord) {
	w.t.Helper()
	card, f := w.issue("u1", 1000, engine.OperatorMoov, moovPhone)
	w.eventually("funded", 20*time.Second, func() bool { return w.fundingStatus(f.ID) == "succeeded" })
	w.momo.SetScript(func(op, ref string) inproc.Fault {
		if op == "payout" {
			return inproc.Fail
		}
		return inproc.Normal
	})
	w.issuer.SetScript(issuer)
	wd, err := w.eng.Withdraw(context.Background(), actors.Withdraw{WithdrawalID: w.id("wdr"), CardID: card.ID, UserID: "u1",
		Quote: quote(400), Phone: moovPhone, Operator: engine.OperatorMoov})
	if err != nil {
		w.t.Fatal(err)
	}
	w.eventually("withdrawal failed", 20*time.Second, func() bool { return w.withdrawalStatus(wd.ID) == "failed" })
	return card, wd
}
