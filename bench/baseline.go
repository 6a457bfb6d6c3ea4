package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/actors/inproc"
	"kash/engine"
	"kash/persistence"
)

func init() {
	Register(Registration{Name: "baseline",
		Summary: "the settle work done conventionally: a Postgres transaction per step, SELECT ... FOR UPDATE on the float row and the card row",
		New:     func(o Options) Scenario { return NewBaseline(o) }})
}

// baselineClosedRate is how many fundings per second a closed-loop
// baseline run is sized for (Options.WorkFor).
const baselineClosedRate = 4_000

// Baseline does the settle work the way a competent engineer would without
// actors: each funding is two Postgres transactions around the issuer call,
// serialised on the float row and the card row by SELECT ... FOR UPDATE.
// It runs on the same schema (fundings, cards, float_reservations,
// ledger_entries, earnings, and the same outbox notification as the
// engine), the same pool size (persistence.Open) and the same in-process
// issuer; the float lives in a row of its own table, bench_float.
//
// The obvious tuning is in: pgx's statement cache (every statement is
// prepared once per connection), each transaction takes the float row's
// lock as late as it can (it is held until commit, fsync included), and
// the load's workers are the worker pool.
type Baseline struct {
	opts   Options
	world  *settleWorld
	pool   *pgxpool.Pool
	issuer *inproc.Issuer
	facts  []Fact

	mu       sync.Mutex
	reserveR *Recorder
	issuerR  *Recorder
	creditR  *Recorder
}

// NewBaseline returns the baseline scenario.
func NewBaseline(o Options) *Baseline {
	o.defaults()
	return &Baseline{opts: o}
}

const sqlBaselineFloat = `CREATE TABLE bench_float (
	id              int PRIMARY KEY,
	available_minor bigint NOT NULL CHECK (available_minor >= 0),
	reserved_minor  bigint NOT NULL CHECK (reserved_minor >= 0 AND reserved_minor <= available_minor),
	next_seq        bigint NOT NULL
)`

// Setup implements Scenario.
func (b *Baseline) Setup(ctx context.Context, env Env) error {
	world, err := newSettleWorld(b.opts, b.opts.WorkFor(baselineClosedRate))
	if err != nil {
		return err
	}
	b.world = world
	if b.pool, err = persistence.Open(ctx, env.DB.URL); err != nil {
		return err
	}
	b.issuer = inproc.NewIssuer(world.float)
	steps := []struct {
		what string
		do   func() error
	}{
		{fmt.Sprintf("%d cards seeded and registered at the issuer, %d past reservations", world.cards, world.history()),
			func() error {
				return errors.Join(world.seedCards(ctx, b.pool), world.seedHistory(ctx, b.pool), world.register(b.issuer))
			}},
		{"float row and ledger deposit created", func() error { return b.seedFloat(ctx) }},
		{fmt.Sprintf("%d paid fundings seeded", world.fundings), func() error { return world.seedFundings(ctx, b.pool) }},
	}
	for _, st := range steps {
		if err := step(env.Log, "baseline", st.what, st.do); err != nil {
			return err
		}
	}
	b.facts = worldFacts(world, b.pool)
	return nil
}

func (b *Baseline) seedFloat(ctx context.Context) error {
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlBaselineFloat); err != nil {
			return fmt.Errorf("create bench_float: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bench_float VALUES (1, $1, 0, $2)`, b.world.float, b.world.history()+1); err != nil {
			return fmt.Errorf("insert float row: %w", err)
		}
		_, err := tx.Exec(ctx, sqlBaselineEntry, entryRow(b.world.floatEntry())...)
		return err
	})
}

// Capacity implements Scenario.
func (b *Baseline) Capacity() int { return b.world.fundings }

// Pool implements Scenario.
func (b *Baseline) Pool() *pgxpool.Pool { return b.pool }

// Measure implements Scenario.
func (b *Baseline) Measure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.reserveR, b.issuerR, b.creditR = NewRecorder(now), NewRecorder(now), NewRecorder(now)
}

func (b *Baseline) recorders() (reserve, issuer, credit *Recorder) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserveR, b.issuerR, b.creditR
}

// baselineFunding is what the first transaction learns of a funding.
type baselineFunding struct {
	id, cardID, userID                    string
	card, momo, fees, earnings, issuerSeq int64
}

// Op implements Scenario: reserve, call the issuer, credit.
func (b *Baseline) Op(ctx context.Context, i int) error {
	reserveR, issuerR, creditR := b.recorders()
	t0 := time.Now()
	f, err := b.reserve(ctx, b.world.fundingID(i))
	if err != nil {
		return err
	}
	t1 := time.Now()
	reserveR.Record(t0, t1, nil)
	res, err := b.issuer.FundCard(ctx, engine.CardOperation{Ref: f.id + ".issue",
		IssuerCardID: b.world.issuerCardID(b.world.cardOf(i)), Amount: engine.NewMoney(f.card, engine.USD)})
	switch {
	case err != nil:
		return opErr("issuer_unknown", err)
	case res.Outcome != engine.OutcomeSucceeded:
		return opErr("issuer_failed", errors.New(res.Reason))
	}
	t2 := time.Now()
	issuerR.Record(t1, t2, nil)
	if err := b.credit(ctx, f); err != nil {
		return err
	}
	creditR.Record(t2, time.Now(), nil)
	return nil
}

// reserve is transaction 1: the funding moves to funding_card (the intent,
// durable before the issuer is called) and float is reserved for it under
// the float row's lock.
func (b *Baseline) reserve(ctx context.Context, id string) (baselineFunding, error) {
	f := baselineFunding{id: id}
	now := time.Now()
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE fundings SET status = 'funding_card', version = version + 1, updated_at = $2
			WHERE id = $1 AND status = 'paid'
			RETURNING card_id, user_id, card_amount_minor, momo_amount_minor, fees_minor, earnings_minor`, id, now).
			Scan(&f.cardID, &f.userID, &f.card, &f.momo, &f.fees, &f.earnings)
		if errors.Is(err, pgx.ErrNoRows) {
			return opErr("not_paid", fmt.Errorf("funding %s is not paid", id))
		}
		if err != nil {
			return opErr("db", fmt.Errorf("mark funding %s: %w", id, err))
		}
		var available int64
		if err := tx.QueryRow(ctx, `SELECT available_minor - reserved_minor, next_seq FROM bench_float WHERE id = 1 FOR UPDATE`).
			Scan(&available, &f.issuerSeq); err != nil {
			return opErr("db", fmt.Errorf("lock float: %w", err))
		}
		if available < f.card {
			return opErr("insufficient_float", fmt.Errorf("%d available, %d wanted", available, f.card))
		}
		if _, err := tx.Exec(ctx, `UPDATE bench_float SET reserved_minor = reserved_minor + $1, next_seq = next_seq + 1
			WHERE id = 1`, f.card); err != nil {
			return opErr("db", fmt.Errorf("reserve float: %w", err))
		}
		_, err = tx.Exec(ctx, `INSERT INTO float_reservations (funding_id, card_id, seq, amount_minor, status,
			requested_at, deadline, decided_at, version) VALUES ($1, $2, $3, $4, 'granted', $5, $6, $5, 1)`,
			id, f.cardID, f.issuerSeq, f.card, now, now.Add(30*time.Minute))
		if err != nil {
			return opErr("db", fmt.Errorf("insert reservation: %w", err))
		}
		return nil
	})
	return f, classifyDB(err)
}

const sqlBaselineEntry = `INSERT INTO ledger_entries (ref, kind, accounts, currencies, amounts) VALUES ($1, $2, $3, $4, $5)`

// credit is transaction 2: under the card row's lock the card is credited,
// the funding succeeds with its ledger entry, earnings and notification,
// and last, under the float row's lock, the reservation is committed.
func (b *Baseline) credit(ctx context.Context, f baselineFunding) error {
	q := engine.Quote{Operation: engine.OpFunding, CardAmount: engine.NewMoney(f.card, engine.USD),
		MomoAmount: engine.NewMoney(f.momo, engine.XOF), Fees: engine.NewMoney(f.fees, engine.XOF),
		Earnings: engine.NewMoney(f.earnings, engine.XOF)}
	entry, err := engine.CardCreditEntry(f.id, f.cardID, q)
	if err != nil {
		return opErr("ledger", err)
	}
	now := time.Now()
	err = pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		var balance int64
		if err := tx.QueryRow(ctx, `SELECT balance_minor FROM cards WHERE id = $1 FOR UPDATE`, f.cardID).Scan(&balance); err != nil {
			return opErr("db", fmt.Errorf("lock card %s: %w", f.cardID, err))
		}
		if _, err := tx.Exec(ctx, `UPDATE cards SET balance_minor = $2, version = version + 1, updated_at = $3 WHERE id = $1`,
			f.cardID, balance+f.card, now); err != nil {
			return opErr("db", fmt.Errorf("credit card %s: %w", f.cardID, err))
		}
		tag, err := tx.Exec(ctx, `UPDATE fundings SET status = 'succeeded', version = version + 1, updated_at = $2
			WHERE id = $1 AND status = 'funding_card'`, f.id, now)
		if err == nil && tag.RowsAffected() != 1 {
			return opErr("not_funding_card", fmt.Errorf("funding %s left funding_card meanwhile", f.id))
		}
		if err != nil {
			return opErr("db", fmt.Errorf("funding %s succeeded: %w", f.id, err))
		}
		if _, err := tx.Exec(ctx, sqlBaselineEntry, entryRow(entry)...); err != nil {
			return opErr("db", fmt.Errorf("ledger entry: %w", err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO earnings (entry_ref, operation, owner_id, amount_minor, created_at)
			VALUES ($1, $2, $3, $4, $5)`, entry.Ref, string(engine.OpFunding), f.id, f.earnings, now); err != nil {
			return opErr("db", fmt.Errorf("earnings: %w", err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (channel, dedupe_key, recipient, title, body) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (dedupe_key) DO NOTHING`, "push", "funding:"+f.id+":succeeded", f.userID, "Card funded",
			"Your card was funded with "+engine.NewMoney(f.card, engine.USD).String()+" USD."); err != nil {
			return opErr("db", fmt.Errorf("outbox: %w", err))
		}
		if _, err := tx.Exec(ctx, `UPDATE float_reservations SET status = 'committed', decided_at = $2, version = version + 1
			WHERE funding_id = $1 AND status = 'granted'`, f.id, now); err != nil {
			return opErr("db", fmt.Errorf("commit reservation: %w", err))
		}
		// The UPDATE takes the float row's lock (as FOR UPDATE would) with
		// no read first: nothing here decides on the float's value.
		if _, err := tx.Exec(ctx, `UPDATE bench_float SET reserved_minor = reserved_minor - $1,
			available_minor = available_minor - $1 WHERE id = 1`, f.card); err != nil {
			return opErr("db", fmt.Errorf("commit float: %w", err))
		}
		return nil
	})
	return classifyDB(err)
}

// classifyDB gives a failure outside the statements (begin, commit,
// connection) a code.
func classifyDB(err error) error {
	var oe *OpError
	if err == nil || errors.As(err, &oe) {
		return err
	}
	return opErr("db", err)
}

// Finish implements Scenario.
func (b *Baseline) Finish(ctx context.Context, run *Run) (Outcome, error) {
	reserveR, issuerR, creditR := b.recorders()
	out := Outcome{Facts: b.facts, Stages: map[string]LatencySummary{
		"tx 1: funding_card + float reserved (FOR UPDATE)":   reserveR.Summary(),
		"issuer call (in process)":                           issuerR.Summary(),
		"tx 2: card credited (FOR UPDATE) + float committed": creditR.Summary(),
	}}
	checks, statuses, err := b.world.verify(ctx, b.pool, b.issuer, run)
	if err != nil {
		return out, err
	}
	var available, reserved int64
	if err := b.pool.QueryRow(ctx, `SELECT available_minor, reserved_minor FROM bench_float WHERE id = 1`).
		Scan(&available, &reserved); err != nil {
		return out, fmt.Errorf("read float row: %w", err)
	}
	ledger, err := (&checker{pool: b.pool}).ledgerBalance(ctx, engine.IssuerFloatAccount())
	if err != nil {
		return out, err
	}
	out.Checks = append(checks, Check{Name: "float row: nothing reserved, available equals the ledger's",
		OK: reserved == 0 && available == ledger, Detail: fmt.Sprintf("available %d, reserved %d, ledger %d", available, reserved, ledger)})
	out.Statuses = statuses
	return out, nil
}

// Close implements Scenario.
func (b *Baseline) Close() {
	if b.pool != nil {
		b.pool.Close()
	}
}
