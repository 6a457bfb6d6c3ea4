package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"kash/actors/inproc"
	"kash/engine"
)

// settleWorld is the work of the settle and baseline scenarios: active
// cards known to the issuer, and fundings already paid, spread over the
// cards round-robin so that consecutive fundings hit different cards.
// Funding i belongs to card i mod cards; ids are zero-padded so that "the
// first n fundings" is a range of ids.
type settleWorld struct {
	cards, users, fundings int
	seed                   int64
	at                     time.Time
	quotes                 map[int64]engine.Quote // by card amount (USD cents)
	float                  int64                  // sum of every funding's card amount
}

// Card amounts are spread from 5.00 to 50.00 USD: the minimum funding up to
// a typical top-up.
const (
	minFundingCents = 500
	maxFundingCents = 5000
	benchProvider   = "momo"
	benchOperator   = engine.OperatorMoov
)

func newSettleWorld(o Options, fundings int) (*settleWorld, error) {
	w := &settleWorld{cards: o.Cards, users: o.Users, fundings: fundings, seed: o.Seed,
		at: time.Now().UTC().Truncate(time.Second), quotes: map[int64]engine.Quote{}}
	rates := engine.DefaultRates()
	for i := range fundings {
		cents := w.amount(i)
		if _, ok := w.quotes[cents]; !ok {
			q, err := engine.QuoteFromCard(engine.OpFunding, rates, engine.NewMoney(cents, engine.USD), w.at, time.Hour)
			if err != nil {
				return nil, fmt.Errorf("quote %d cents: %w", cents, err)
			}
			w.quotes[cents] = q
		}
		w.float += cents
	}
	return w, nil
}

func (w *settleWorld) cardID(c int) string       { return fmt.Sprintf("bc_%08d", c) }
func (w *settleWorld) issuerCardID(c int) string { return fmt.Sprintf("bic_%08d", c) }
func (w *settleWorld) userID(c int) string       { return fmt.Sprintf("bu_%08d", c%w.users) }
func (w *settleWorld) phone(c int) string        { return fmt.Sprintf("+22961%06d", c%w.users) }
func (w *settleWorld) fundingID(i int) string    { return fmt.Sprintf("bf_%08d", i) }
func (w *settleWorld) cardOf(i int) int          { return i % w.cards }

// fundingIndex is the inverse of fundingID.
func fundingIndex(id string) (int, bool) {
	if len(id) != 11 || id[:3] != "bf_" {
		return 0, false
	}
	n := 0
	for _, c := range id[3:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// amount is funding i's card amount in USD cents, fixed by the seed.
func (w *settleWorld) amount(i int) int64 {
	return minFundingCents + int64(splitmix(uint64(w.seed)*0x9e3779b97f4a7c15+uint64(i))%(maxFundingCents-minFundingCents+1))
}

// splitmix is SplitMix64's finaliser: a cheap, well-mixed hash.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (w *settleWorld) quote(i int) engine.Quote { return w.quotes[w.amount(i)] }

// register gives the issuer every card, empty.
func (w *settleWorld) register(issuer *inproc.Issuer) error {
	for c := range w.cards {
		if err := issuer.Register(w.cardID(c), w.issuerCardID(c), 0); err != nil {
			return err
		}
	}
	return nil
}

// seedCards inserts every card, active and empty, as issuance left it.
func (w *settleWorld) seedCards(ctx context.Context, pool *pgxpool.Pool) error {
	cols := []string{"id", "user_id", "nickname", "status", "issuer_card_id", "last4", "expiry_month", "expiry_year",
		"balance_minor", "held_minor", "version", "created_at", "updated_at"}
	return copyRows(ctx, pool, "cards", cols, w.cards, func(c int) []any {
		return []any{w.cardID(c), w.userID(c), "bench", "active", w.issuerCardID(c), fmt.Sprintf("%04d", c%10000),
			int32(12), int32(2030), int64(0), int64(0), int64(1), w.at, w.at}
	})
}

// seedFundings inserts every funding as the engine leaves it once its
// collection succeeded: status paid, its collection payment succeeded with
// its history, and the collection's ledger entry booked.
func (w *settleWorld) seedFundings(ctx context.Context, pool *pgxpool.Pool) error {
	deadline := w.at.Add(30 * time.Minute)
	fundingCols := []string{"id", "card_id", "user_id", "kind", "status", "card_amount_minor", "momo_amount_minor",
		"fees_minor", "earnings_minor", "rate", "cost_rate", "phone", "operator", "provider", "quote_id",
		"payment_deadline", "version", "created_at", "updated_at"}
	err := copyRows(ctx, pool, "fundings", fundingCols, w.fundings, func(i int) []any {
		c, q := w.cardOf(i), w.quote(i)
		return []any{w.fundingID(i), w.cardID(c), w.userID(c), string(engine.OpFunding), "paid", q.CardAmount.Minor,
			q.MomoAmount.Minor, q.Fees.Minor, q.Earnings.Minor, numeric(q.Rate), numeric(q.CostRate), w.phone(c),
			string(benchOperator), benchProvider, "q_" + w.fundingID(i), deadline, int64(1), w.at, w.at}
	})
	if err != nil {
		return err
	}
	paymentCols := []string{"ref", "kind", "owner_kind", "owner_id", "card_id", "provider", "operator", "phone",
		"amount_minor", "currency", "status", "provider_ref", "attempts", "version", "created_at", "updated_at"}
	err = copyRows(ctx, pool, "payments", paymentCols, w.fundings, func(i int) []any {
		c, ref := w.cardOf(i), w.fundingID(i)+".collect"
		return []any{ref, engine.PaymentCollection, "funding", w.fundingID(i), w.cardID(c), benchProvider,
			string(benchOperator), w.phone(c), w.quote(i).MomoAmount.Minor, string(engine.XOF), engine.PaymentSucceeded,
			"momo-" + ref, int32(1), int64(2), w.at, w.at}
	})
	if err != nil {
		return err
	}
	err = copyRows(ctx, pool, "payment_status_history", []string{"ref", "status", "at"}, w.fundings, func(i int) []any {
		return []any{w.fundingID(i) + ".collect", engine.PaymentSucceeded, w.at}
	})
	if err != nil {
		return err
	}
	entries := make([]engine.Entry, w.fundings)
	for i := range entries {
		e, err := engine.CollectionEntry(w.fundingID(i), benchProvider, w.quote(i).MomoAmount)
		if err != nil {
			return fmt.Errorf("collection entry of %s: %w", w.fundingID(i), err)
		}
		entries[i] = e
	}
	if err := copyEntries(ctx, pool, entries); err != nil {
		return err
	}
	// Fresh statistics, so that no plan is chosen for the empty tables
	// (the card activations that follow in settle's setup query them).
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// history is how many settled float reservations the world starts with:
// a running treasury has a long history, and without one the planner sees
// an empty table and caches sequential scans for the reservation updates.
func (w *settleWorld) history() int { return w.fundings }

// seedHistory inserts the treasury's past: committed reservations of
// earlier fundings (ids bh_…), numbered before every new one. It must run
// before the engine starts: the treasury numbers new reservations after
// the highest seq it loads.
func (w *settleWorld) seedHistory(ctx context.Context, pool *pgxpool.Pool) error {
	cols := []string{"funding_id", "card_id", "seq", "amount_minor", "status", "requested_at", "deadline",
		"decided_at", "version"}
	past := w.at.Add(-24 * time.Hour)
	return copyRows(ctx, pool, "float_reservations", cols, w.history(), func(i int) []any {
		return []any{fmt.Sprintf("bh_%08d", i), w.cardID(w.cardOf(i)), int64(i + 1), w.amount(i), "committed",
			past, past.Add(30 * time.Minute), past, int64(2)}
	})
}

// floatEntry books the issuer float the world needs: exactly the sum of
// every funding, so that a double reservation would starve a funding.
func (w *settleWorld) floatEntry() engine.Entry {
	e, err := engine.FloatDepositEntry("bench-seed", engine.NewMoney(w.float, engine.USD))
	if err != nil {
		// Only a non-positive amount fails, and a world has fundings.
		panic(fmt.Errorf("bench: float entry: %w", err))
	}
	return e
}

// copyEntries writes ledger entries in the journal's row shape: one row per
// entry, its postings as parallel arrays.
func copyEntries(ctx context.Context, pool *pgxpool.Pool, entries []engine.Entry) error {
	cols := []string{"ref", "kind", "accounts", "currencies", "amounts"}
	return copyRows(ctx, pool, "ledger_entries", cols, len(entries), func(i int) []any {
		return entryRow(entries[i])
	})
}

func entryRow(e engine.Entry) []any {
	accounts := make([]string, len(e.Postings))
	currencies := make([]string, len(e.Postings))
	amounts := make([]int64, len(e.Postings))
	for k, p := range e.Postings {
		accounts[k], currencies[k], amounts[k] = p.Account.String(), string(p.Amount.Currency), p.Amount.Minor
	}
	return []any{e.Ref, e.Kind, accounts, currencies, amounts}
}

// copyRows COPYs n rows made by row into table.
func copyRows(ctx context.Context, pool *pgxpool.Pool, table string, cols []string, n int, row func(int) []any) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	})
	copied, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	if copied != int64(n) {
		return fmt.Errorf("copy into %s: %d rows copied, want %d", table, copied, n)
	}
	return nil
}

func numeric(d decimal.Decimal) pgtype.Numeric {
	return pgtype.Numeric{Int: d.Coefficient(), Exp: d.Exponent(), Valid: true}
}

// step logs one setup step and how long it took.
func step(log io.Writer, scenario, what string, f func() error) error {
	took, err := timed(f)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(log, "%s: %s (%.1fs)\n", scenario, what, took.Seconds())
	return nil
}
