package actors_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"kash/actors"
	"kash/actors/inproc"
	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

// world is one engine on a fresh database with in-process providers whose
// books outlive engine restarts, as real providers outlive a crash.
type world struct {
	t       *testing.T
	pool    *pgxpool.Pool
	store   *persistence.StateStore
	journal *persistence.Journal
	momo    *inproc.Momo
	issuer  *inproc.Issuer
	cfg     actors.Config
	eng     *actors.Engine
	ids     atomic.Int64
}

func newWorld(t *testing.T, floatUSD int64) *world {
	t.Helper()
	pool := pgtest.NewPool(t)
	w := &world{t: t, pool: pool, store: persistence.NewStateStore(pool),
		momo: inproc.NewMomo("momo"), issuer: inproc.NewIssuer(0),
		cfg: actors.Config{IssuerRetry: 50 * time.Millisecond, PollEvery: 50 * time.Millisecond,
			TickEvery: 50 * time.Millisecond, CommandTimeout: 20 * time.Second}}
	w.journal = persistence.NewJournal(pool, persistence.JournalConfig{})
	t.Cleanup(func() {
		if w.eng != nil {
			w.eng.Stop()
		}
		w.journal.Close()
	})
	w.start(nil)
	if floatUSD > 0 {
		w.topUp(floatUSD)
	}
	return w
}

// start (re)starts the engine, as a process start after a crash would.
func (w *world) start(hook actors.FaultHook) { w.startWith(hook, nil) }

func (w *world) deps(hook actors.FaultHook, obs actors.Observer) actors.Deps {
	return actors.Deps{
		Journal: w.journal, Store: w.store, Outbox: w.store,
		Momo:     map[string]engine.MomoProvider{"momo": w.momo},
		Issuer:   w.issuer,
		Router:   actors.StaticRouter{engine.OperatorMTN: "momo", engine.OperatorMoov: "momo"},
		Fault:    hook,
		Observer: obs,
	}
}

func (w *world) startWith(hook actors.FaultHook, obs actors.Observer) {
	w.t.Helper()
	if w.eng != nil {
		w.eng.Stop()
	}
	eng, err := actors.Start(context.Background(), w.cfg, w.deps(hook, obs))
	if err != nil {
		w.t.Fatalf("start engine: %v", err)
	}
	w.eng = eng
}

func (w *world) id(prefix string) string { return fmt.Sprintf("%s_%d", prefix, w.ids.Add(1)) }

// topUp adds float at the issuer and tells the engine, as the issuer's
// webhook would.
func (w *world) topUp(usd int64) {
	w.t.Helper()
	w.issuer.AddFloat(usd * 100)
	if err := w.eng.FloatCredited(context.Background(), w.id("evt"), engine.NewMoney(usd*100, engine.USD)); err != nil {
		w.t.Fatalf("float credit: %v", err)
	}
}

// quote prices cardCents of card money at a flat 656 XOF per USD.
func quote(cardCents int64) engine.Quote {
	momo := (cardCents*656 + 99) / 100
	cost := cardCents * 600 / 100
	return engine.Quote{CardAmount: engine.NewMoney(cardCents, engine.USD), MomoAmount: engine.NewMoney(momo, engine.XOF),
		Fees: engine.NewMoney(0, engine.XOF), Earnings: engine.NewMoney(momo-cost, engine.XOF),
		Rate: decimal.NewFromInt(656), CostRate: decimal.NewFromInt(600)}
}

func (w *world) issue(user string, cents int64, op engine.Operator, phone string) (engine.CardRecord, engine.FundingRecord) {
	w.t.Helper()
	c, f, err := w.eng.IssueCard(context.Background(), actors.IssueCard{CardID: w.id("card"), FundingID: w.id("fnd"),
		UserID: user, Quote: quote(cents), Phone: phone, Operator: op})
	if err != nil {
		w.t.Fatalf("issue card: %v", err)
	}
	return c, f
}

func (w *world) fundingStatus(id string) string {
	var s string
	if err := w.pool.QueryRow(context.Background(), `SELECT status FROM fundings WHERE id = $1`, id).Scan(&s); err != nil {
		w.t.Fatalf("funding %s: %v", id, err)
	}
	return s
}

func (w *world) withdrawalStatus(id string) string {
	var s string
	if err := w.pool.QueryRow(context.Background(), `SELECT status FROM withdrawals WHERE id = $1`, id).Scan(&s); err != nil {
		w.t.Fatalf("withdrawal %s: %v", id, err)
	}
	return s
}

func (w *world) cardRow(id string) (status string, balance, held int64) {
	if err := w.pool.QueryRow(context.Background(), `SELECT status, balance_minor, held_minor FROM cards WHERE id = $1`, id).
		Scan(&status, &balance, &held); err != nil {
		w.t.Fatalf("card %s: %v", id, err)
	}
	return status, balance, held
}

// eventually polls cond until it holds or the wait runs out.
func (w *world) eventually(what string, wait time.Duration, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openSagas counts fundings and withdrawals that are not final.
func (w *world) openSagas() int {
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM fundings WHERE status NOT IN ('succeeded','failed','refunded')) +
		(SELECT count(*) FROM withdrawals WHERE status NOT IN ('succeeded','failed'))`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// checkLedger asserts that every entry balances per currency, that every
// card's balance equals its ledger account, and that the providers' own
// books equal the engine's.
func (w *world) checkLedger() {
	w.t.Helper()
	ctx := context.Background()
	var unbalanced int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT entry_ref FROM ledger_postings
		GROUP BY entry_ref, currency HAVING sum(amount_minor) <> 0) x`).Scan(&unbalanced); err != nil {
		w.t.Fatal(err)
	}
	if unbalanced != 0 {
		w.t.Errorf("%d ledger entries do not balance", unbalanced)
	}
	rows, err := w.pool.Query(ctx, `SELECT c.id, c.balance_minor, coalesce(sum(p.amount_minor), 0)::bigint
		FROM cards c LEFT JOIN ledger_postings p ON p.account = 'card:' || c.id GROUP BY c.id, c.balance_minor`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	books := w.issuer.Books()
	for rows.Next() {
		var id string
		var bal, ledger int64
		if err := rows.Scan(&id, &bal, &ledger); err != nil {
			w.t.Fatal(err)
		}
		if bal != ledger {
			w.t.Errorf("card %s: balance %d, ledger %d", id, bal, ledger)
		}
		if issued, ok := books.Cards[id]; ok && issued != bal {
			w.t.Errorf("card %s: engine balance %d, issuer's books %d", id, bal, issued)
		}
	}
	var collected int64
	if err := w.pool.QueryRow(ctx, `SELECT coalesce(sum(amount_minor),0)::bigint FROM ledger_postings
		WHERE account = 'momo:momo'`).Scan(&collected); err != nil {
		w.t.Fatal(err)
	}
	if mb := w.momo.Books(); mb.Collected != collected {
		w.t.Errorf("momo collections: engine ledger %d, provider's books %d", collected, mb.Collected)
	}
}

// approve approves a pending momo payment once the provider has it, as the
// payer would on the phone.
func (w *world) approve(ref string) {
	w.t.Helper()
	w.eventually("payment "+ref+" at the provider", 10*time.Second, func() bool { return w.momo.Approve(ref) == nil })
}

func (w *world) statusCounts() map[string]int {
	rows, err := w.pool.Query(context.Background(), `SELECT status, count(*) FROM fundings GROUP BY status`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			w.t.Fatal(err)
		}
		out[s] = n
	}
	return out
}
