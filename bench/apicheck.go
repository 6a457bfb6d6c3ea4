package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"kash/bench/apiclient"
	"kash/engine"
)

// startingWallet is what every simulated wallet holds before it is first
// touched (XOF); a phone ending in 0000 holds nothing.
const startingWallet = 1_000_000

// verdict is what the checks of an HTTP world found.
type verdict struct {
	checks   []Check
	statuses map[string]int64
	notes    []string
}

func (v *verdict) add(name string, ok bool, format string, args ...any) {
	v.checks = append(v.checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// verify waits (up to patience) until nothing is in flight, then runs the
// correctness checks of BENCH.md against the engine's database, its ops
// API, the simulator's books and the harness's tally. expectSuccess says
// that no fault was injected, so every accepted saga must have succeeded.
// An error means a check could not run at all.
func (w *apiWorld) verify(ctx context.Context, patience time.Duration, expectSuccess bool) (verdict, error) {
	var notes []string
	for attempt := 1; ; attempt++ {
		before, _ := w.sweepMark(ctx)
		v, err := w.verifyOnce(ctx, patience, expectSuccess)
		v.notes = append(notes, v.notes...)
		if err != nil || allOK(v.checks) || attempt == verifyAttempts {
			return v, err
		}
		// kashd's sweep policy may start a sweep at any time, also between
		// the settle and the checks: a snapshot that straddles it is not a
		// finding. Checks that fail with no sweep moving are.
		if after, err := w.sweepMark(ctx); err != nil || after == before {
			return v, nil
		}
		notes = append(notes, fmt.Sprintf("a sweep started or ended during check %d (kashd's sweep policy): settled again and checked again", attempt))
	}
}

// verifyAttempts bounds how often verify checks again because a sweep moved.
const verifyAttempts = 3

// sweepMark changes whenever a sweep starts or ends.
func (w *apiWorld) sweepMark(ctx context.Context) ([2]int64, error) {
	var m [2]int64
	if w.pool == nil {
		return m, nil
	}
	err := w.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status IN ('completed','failed')) FROM sweeps`).Scan(&m[0], &m[1])
	if err != nil {
		return m, fmt.Errorf("read sweeps: %w", err)
	}
	return m, nil
}

func (w *apiWorld) verifyOnce(ctx context.Context, patience time.Duration, expectSuccess bool) (verdict, error) {
	var v verdict
	fmt.Fprintf(w.log, "%s: waiting for every saga to be final and the books to settle (at most %s)\n", w.cfg.scenario, patience)
	took, settled := w.settle(ctx, patience)
	if !settled {
		v.notes = append(v.notes, fmt.Sprintf("the system had not settled after %s; the checks ran anyway", patience))
	} else {
		v.notes = append(v.notes, fmt.Sprintf("settled %.1fs after the last operation (every saga final, books reconciled)", took.Seconds()))
	}
	if err := w.apiChecks(&v); err != nil {
		return v, err
	}
	if w.pool == nil {
		v.notes = append(v.notes, "pointed at a running kashd: checks against its database were skipped")
		return v, nil
	}
	for _, f := range []func(context.Context, *verdict) error{w.sagasFinal, w.statuses, w.cardsAgainstSimulator,
		w.accountsAgainstSimulator, w.cardConservation, w.walletConservation, w.nothingLostOrDuplicated} {
		if err := f(ctx, &v); err != nil {
			return v, err
		}
	}
	if expectSuccess {
		if err := w.everySagaSucceeded(ctx, &v); err != nil {
			return v, err
		}
	}
	if !allOK(v.checks) && w.kashd != nil {
		v.notes = append(v.notes, "kashd's log is kept in "+w.kashd.LogPath())
	}
	return v, nil
}

// settle waits until every saga is final, the simulator has nothing
// scheduled, and the engine's ledger check and reconciliation pass: the
// state in which the books must agree exactly.
func (w *apiWorld) settle(ctx context.Context, patience time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < patience && ctx.Err() == nil {
		if w.quiet(ctx) {
			return time.Since(start), true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start), false
}

func (w *apiWorld) quiet(ctx context.Context) bool {
	if w.sim != nil && w.sim.Settling() > 0 {
		return false
	}
	if w.pool != nil {
		open, err := w.openSagas(ctx)
		if err != nil || open > 0 {
			return false
		}
	}
	lc, err1 := w.client.LedgerCheck()
	rc, err2 := w.client.Reconcile()
	return err1 == nil && err2 == nil && lc.OK && rc.OK
}

func (w *apiWorld) openSagas(ctx context.Context) (int64, error) {
	var n int64
	err := w.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM fundings WHERE status NOT IN ('succeeded','failed','refunded'))
		+ (SELECT count(*) FROM withdrawals WHERE status NOT IN ('succeeded','failed'))
		+ (SELECT count(*) FROM sweeps WHERE status NOT IN ('completed','failed'))`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count open sagas: %w", err)
	}
	return n, nil
}

// apiChecks are those any client with the ops token can run: the ledger
// check, reconciliation, and the simulator's own conservation.
func (w *apiWorld) apiChecks(v *verdict) error {
	lc, err := w.client.LedgerCheck()
	if err != nil {
		return fmt.Errorf("ledger check: %w", err)
	}
	v.add("ledger check (GET /v1/admin/ledger/check)", lc.OK, "%d entries, %d imbalances%s", lc.Entries, len(lc.Imbalances),
		rawExamples(lc.Imbalances))
	rc, err := w.client.Reconcile()
	if err != nil {
		return fmt.Errorf("reconciliation: %w", err)
	}
	v.add("reconciliation with the providers (GET /v1/admin/reconciliation)", rc.OK, "%d differences%s",
		len(rc.Differences), rawExamples(rc.Differences))
	books, err := w.client.Books()
	if err != nil {
		return fmt.Errorf("simulator books: %w", err)
	}
	v.add("simulator's books balance (GET /sim/books: wallets + collections + settled = initial; float + cards + spent = float in)",
		books.OK, "%s", books.Error)
	return nil
}

func rawExamples(raws []json.RawMessage) string {
	var ex []string
	for _, r := range raws {
		ex = appendExample(ex, string(r))
	}
	return exampleText(ex)
}

// sagasFinal: no funding, withdrawal, sweep or payment is left in flight.
func (w *apiWorld) sagasFinal(ctx context.Context, v *verdict) error {
	var fundings, withdrawals, sweeps, payments, reservations int64
	err := w.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM fundings WHERE status NOT IN ('succeeded','failed','refunded')),
		(SELECT count(*) FROM withdrawals WHERE status NOT IN ('succeeded','failed')),
		(SELECT count(*) FROM sweeps WHERE status NOT IN ('completed','failed')),
		(SELECT count(*) FROM payments WHERE status = 'pending'),
		(SELECT count(*) FROM float_reservations WHERE status IN ('queued','granted'))`).
		Scan(&fundings, &withdrawals, &sweeps, &payments, &reservations)
	if err != nil {
		return fmt.Errorf("saga check: %w", err)
	}
	v.add("every saga is final (fundings, withdrawals, sweeps, provider payments, float reservations)",
		fundings+withdrawals+sweeps+payments+reservations == 0,
		"open: %d fundings, %d withdrawals, %d sweeps, %d payments, %d reservations", fundings, withdrawals, sweeps, payments, reservations)
	return nil
}

// statuses counts final statuses by kind, for the report.
func (w *apiWorld) statuses(ctx context.Context, v *verdict) error {
	rows, err := w.pool.Query(ctx, `SELECT kind || ': ' || status, count(*) FROM fundings GROUP BY 1
		UNION ALL SELECT 'withdrawal: ' || status, count(*) FROM withdrawals GROUP BY 1
		UNION ALL SELECT 'sweep: ' || status, count(*) FROM sweeps GROUP BY 1`)
	if err != nil {
		return fmt.Errorf("final statuses: %w", err)
	}
	defer rows.Close()
	v.statuses = map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return fmt.Errorf("final statuses: %w", err)
		}
		v.statuses[s] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("final statuses: %w", err)
	}
	snap := w.tally.snapshot()
	v.statuses["spend at the simulator: approved"] = int64(snap.spends)
	v.statuses["spend at the simulator: declined"] = int64(snap.declined)
	return nil
}

func minorOf(m apiclient.Money, cur engine.Currency) (int64, error) {
	if m.Amount == "" {
		return 0, nil
	}
	v, err := engine.ParseAmount(m.Amount, cur)
	if err != nil {
		return 0, fmt.Errorf("simulator amount %q: %w", m.Amount, err)
	}
	return v.Minor, nil
}

// cardsAgainstSimulator: every issued card's balance in the engine equals
// the issuer's own (GET /sim/state), and the issuer knows no other card.
func (w *apiWorld) cardsAgainstSimulator(ctx context.Context, v *verdict) error {
	st, err := w.client.State()
	if err != nil {
		return fmt.Errorf("simulator state: %w", err)
	}
	theirs := map[string]int64{}
	for _, c := range st.Issuer.Cards {
		if theirs[c.Card], err = minorOf(c.Balance, engine.USD); err != nil {
			return err
		}
	}
	rows, err := w.pool.Query(ctx, `SELECT id, balance_minor FROM cards WHERE issuer_card_id IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("card check: %w", err)
	}
	ours, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		ID      string
		Balance int64
	}])
	if err != nil {
		return fmt.Errorf("card check: %w", err)
	}
	var differ int
	var ex []string
	for _, c := range ours {
		if b, ok := theirs[c.ID]; !ok || b != c.Balance {
			differ++
			ex = appendExample(ex, fmt.Sprintf("%s: engine %d, issuer %d (known %v)", c.ID, c.Balance, b, ok))
		}
	}
	v.add("every card's balance equals the issuer's (engine database vs GET /sim/state)",
		differ == 0 && len(ours) == len(theirs), "%d cards in the engine, %d at the issuer, %d differ%s",
		len(ours), len(theirs), differ, exampleText(ex))
	return nil
}

// accountsAgainstSimulator: the ledger's issuer float and each momo
// account's collections equal the providers' balances.
func (w *apiWorld) accountsAgainstSimulator(ctx context.Context, v *verdict) error {
	st, err := w.client.State()
	if err != nil {
		return fmt.Errorf("simulator state: %w", err)
	}
	ledger := func(account string) (int64, error) {
		var total int64
		err := w.pool.QueryRow(ctx, `SELECT coalesce(sum(amount_minor), 0)::bigint FROM ledger_postings WHERE account = $1`,
			account).Scan(&total)
		if err != nil {
			return 0, fmt.Errorf("ledger balance of %s: %w", account, err)
		}
		return total, nil
	}
	float, err := ledger(engine.IssuerFloatAccount().String())
	if err != nil {
		return err
	}
	simFloat, err := minorOf(st.Issuer.Float, engine.USD)
	if err != nil {
		return err
	}
	v.add("issuer float: ledger equals the issuer's", float == simFloat, "ledger %s, issuer %s USD", usdText(float), usdText(simFloat))
	var parts []string
	ok := true
	for _, p := range st.Momo.Providers {
		ours, err := ledger("momo:" + p.Provider)
		if err != nil {
			return err
		}
		theirs, err := minorOf(p.Balance, engine.XOF)
		if err != nil {
			return err
		}
		ok = ok && ours == theirs
		parts = append(parts, fmt.Sprintf("%s: ledger %d, provider %d XOF", p.Provider, ours, theirs))
	}
	v.add("collections: the ledger's momo accounts equal the providers'", ok, "%s", strings.Join(parts, "; "))
	return nil
}

// cardConservation: each card holds what its succeeded fundings brought,
// less its succeeded withdrawals and its spends; and the spends the engine
// recorded are exactly those the issuer approved to the harness.
func (w *apiWorld) cardConservation(ctx context.Context, v *verdict) error {
	rows, err := w.pool.Query(ctx, `WITH f AS (SELECT card_id, sum(card_amount_minor) s FROM fundings WHERE status = 'succeeded' GROUP BY 1),
		wd AS (SELECT card_id, sum(card_amount_minor) s FROM withdrawals WHERE status = 'succeeded' GROUP BY 1),
		sp AS (SELECT card_id, sum(amount_minor) s FROM card_events WHERE kind = 'spend' GROUP BY 1)
		SELECT c.id, c.balance_minor, coalesce(f.s, 0)::bigint, coalesce(wd.s, 0)::bigint, coalesce(sp.s, 0)::bigint
		FROM cards c LEFT JOIN f ON f.card_id = c.id LEFT JOIN wd ON wd.card_id = c.id LEFT JOIN sp ON sp.card_id = c.id`)
	if err != nil {
		return fmt.Errorf("conservation check: %w", err)
	}
	type cardBooks struct {
		ID                      string
		Balance, In, Out, Spent int64
	}
	cards, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cardBooks])
	if err != nil {
		return fmt.Errorf("conservation check: %w", err)
	}
	snap := w.tally.snapshot()
	var off, spendsOff int
	var totalIn, totalOut, totalSpent int64
	var ex, spendEx []string
	for _, c := range cards {
		totalIn, totalOut, totalSpent = totalIn+c.In, totalOut+c.Out, totalSpent+c.Spent
		if c.Balance != c.In-c.Out-c.Spent {
			off++
			ex = appendExample(ex, fmt.Sprintf("%s: balance %d, fundings %d − withdrawals %d − spends %d", c.ID, c.Balance, c.In, c.Out, c.Spent))
		}
		if c.Spent != snap.spent[c.ID] {
			spendsOff++
			spendEx = appendExample(spendEx, fmt.Sprintf("%s: engine %d, approved %d", c.ID, c.Spent, snap.spent[c.ID]))
		}
	}
	v.add("conservation: card balance = succeeded fundings − succeeded withdrawals − spends, on every card", off == 0,
		"%d cards, %d off; in total %s in, %s withdrawn, %s spent (USD)%s", len(cards), off, usdText(totalIn), usdText(totalOut),
		usdText(totalSpent), exampleText(ex))
	v.add("spends: the engine recorded exactly the spends the issuer approved, once each", spendsOff == 0 || snap.abandoned > 0,
		"%d approved to the harness, %d cards differ%s", snap.spends, spendsOff, exampleText(spendEx))
	return nil
}

// walletConservation: each wallet at the simulator holds its starting
// balance, less the collections the engine took from it, plus the refunds
// and payouts the engine sent to it (wallet debits = collections, credits =
// refunds + payouts).
func (w *apiWorld) walletConservation(ctx context.Context, v *verdict) error {
	st, err := w.client.State()
	if err != nil {
		return fmt.Errorf("simulator state: %w", err)
	}
	rows, err := w.pool.Query(ctx, `SELECT phone, sum(CASE kind WHEN 'collection' THEN -amount_minor ELSE amount_minor END)::bigint
		FROM payments WHERE status = 'succeeded' AND kind IN ('collection', 'payout', 'refund') GROUP BY phone`)
	if err != nil {
		return fmt.Errorf("wallet check: %w", err)
	}
	moved := map[string]int64{}
	var phone string
	var delta int64
	_, err = pgx.ForEachRow(rows, []any{&phone, &delta}, func() error {
		moved[phone] = delta
		return nil
	})
	if err != nil {
		return fmt.Errorf("wallet check: %w", err)
	}
	var off int
	var ex []string
	seen := map[string]bool{}
	for _, wl := range st.Momo.Wallets {
		seen[wl.Phone] = true
		bal, err := minorOf(wl.Balance, engine.XOF)
		if err != nil {
			return err
		}
		if want := walletStart(wl.Phone) + moved[wl.Phone]; bal != want {
			off++
			ex = appendExample(ex, fmt.Sprintf("%s: wallet %d, expected %d", wl.Phone, bal, want))
		}
	}
	for p, d := range moved {
		if !seen[p] && d != 0 {
			off++
			ex = appendExample(ex, fmt.Sprintf("%s: the engine moved %d XOF, the simulator never saw the wallet", p, d))
		}
	}
	v.add("conservation: every wallet = start − collections + refunds + payouts (engine's payments vs the simulator's wallets)",
		off == 0, "%d wallets, %d off%s", len(st.Momo.Wallets), off, exampleText(ex))
	return nil
}

func walletStart(phone string) int64 {
	if strings.HasSuffix(phone, "0000") {
		return 0
	}
	return startingWallet
}

// nothingLostOrDuplicated: the fundings and withdrawals in the engine are
// exactly those the API acknowledged to the harness, each Idempotency-Key
// gave one id, and each was seen final by the client that made it.
func (w *apiWorld) nothingLostOrDuplicated(ctx context.Context, v *verdict) error {
	snap := w.tally.snapshot()
	for _, k := range []struct{ kind, table string }{{kindFunding, "fundings"}, {kindWithdrawal, "withdrawals"}} {
		rows, err := w.pool.Query(ctx, "SELECT id FROM "+k.table)
		if err != nil {
			return fmt.Errorf("list %s: %w", k.table, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list %s: %w", k.table, err)
		}
		acked := snap.ids[k.kind]
		inDB := make(map[string]bool, len(ids))
		var unknown, missing, unseen int
		var ex []string
		for _, id := range ids {
			inDB[id] = true
			if !acked[id] {
				unknown++
				ex = appendExample(ex, "unacknowledged "+id)
			}
		}
		for id := range acked {
			if !inDB[id] {
				missing++
				ex = appendExample(ex, "lost "+id)
			}
			if snap.finals[k.kind+"/"+id] == 0 {
				unseen++
			}
		}
		// An operation abandoned before its answer may exist unacknowledged.
		ok := missing == 0 && snap.keyConflicts == 0 && (unknown == 0 || unknown <= snap.abandoned)
		v.add(fmt.Sprintf("nothing lost or duplicated: the engine's %s are exactly those acknowledged (202) to the harness", k.table), ok,
			"%d in the engine, %d acknowledged, %d lost, %d unacknowledged, %d keys answered with two ids, %d abandoned operations%s",
			len(ids), len(acked), missing, unknown, snap.keyConflicts, snap.abandoned, exampleText(ex))
		v.add(fmt.Sprintf("every acknowledged %s was seen final by its client, unless its wait failed (an error of the run)", k.kind),
			unseen <= snap.abandoned+snap.unfollowed, "%d not seen final; %d waits failed, %d operations abandoned",
			unseen, snap.unfollowed, snap.abandoned)
	}
	return nil
}

// everySagaSucceeded: without faults, nothing the API accepted may fail.
func (w *apiWorld) everySagaSucceeded(ctx context.Context, v *verdict) error {
	var failedF, failedW int64
	err := w.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM fundings WHERE status <> 'succeeded'),
		(SELECT count(*) FROM withdrawals WHERE status <> 'succeeded')`).Scan(&failedF, &failedW)
	if err != nil {
		return fmt.Errorf("success check: %w", err)
	}
	v.add("without faults, every accepted funding and withdrawal succeeded", failedF+failedW == 0,
		"%d fundings and %d withdrawals did not succeed", failedF, failedW)
	return nil
}
