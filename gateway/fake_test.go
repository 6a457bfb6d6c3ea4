package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

// fakeEngine is an in-memory stand-in for the actor engine, for handler
// tests only: it keeps the rules the gateway relies on (ownership, card
// status, balance, idempotency by id) and makes its state durable through
// the real journal, so that the gateway's reads see it in Postgres. The
// end-to-end tests run the real engine instead (newTestServer takes either).
type fakeEngine struct {
	t       *testing.T
	journal *persistence.Journal

	mu          sync.Mutex
	cards       map[string]engine.CardRecord
	fundings    map[string]engine.FundingRecord
	withdrawals map[string]engine.WithdrawalRecord
	sweeps      map[string]engine.SweepRecord
	payments    []paymentCall
	events      []CardEvent
	floats      []engine.Money
	issued      int // IssueCard calls that created a card

	// gate, when set, holds every command until it is closed; a command
	// whose deadline passes first still completes once the gate opens, as
	// the real engine's commands do.
	gate chan struct{}
	// next, when set, is returned by the next command instead of running it.
	next error
	// panicNext makes the next command panic.
	panicNext bool
	// atGate counts commands waiting at the gate.
	atGate atomic.Int32
}

type paymentCall struct {
	cardID, ref string
	result      engine.Result
}

func newFakeEngine(t *testing.T, pool *pgxpool.Pool) *fakeEngine {
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	t.Cleanup(j.Close)
	return &fakeEngine{t: t, journal: j, cards: map[string]engine.CardRecord{},
		fundings: map[string]engine.FundingRecord{}, withdrawals: map[string]engine.WithdrawalRecord{},
		sweeps: map[string]engine.SweepRecord{}}
}

// newFakeServer is the usual handler-test setup: a database, the fake
// engine on it, and the API.
func newFakeServer(t *testing.T, opts ...any) (*env, *fakeEngine) {
	t.Helper()
	pool := pgtest.NewPool(t)
	f := newFakeEngine(t, pool)
	return newTestServerOn(t, pool, f, opts...), f
}

func (f *fakeEngine) Ready() bool { return true }

func (f *fakeEngine) setGate(g chan struct{}) {
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
}

func (f *fakeEngine) failNext(err error) {
	f.mu.Lock()
	f.next = err
	f.mu.Unlock()
}

// run applies one command: through the gate, under the engine's lock, and
// durably; the caller gets the result or its deadline, whichever is first.
func (f *fakeEngine) run(ctx context.Context, apply func() (engine.Change, error)) error {
	f.mu.Lock()
	gate, next, boom := f.gate, f.next, f.panicNext
	f.next, f.panicNext = nil, false
	f.mu.Unlock()
	if boom {
		panic("fake engine: boom with secret internals")
	}
	if next != nil {
		return next
	}
	done := make(chan error, 1)
	go func() {
		if gate != nil {
			f.atGate.Add(1)
			<-gate
			f.atGate.Add(-1)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		c, err := apply()
		if err == nil && !c.Empty() {
			err = f.journal.Commit(context.Background(), c)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeEngine) owned(userID, cardID string) (engine.CardRecord, error) {
	c, ok := f.cards[cardID]
	if !ok || c.UserID != userID {
		return c, engine.ErrNotFound
	}
	return c, nil
}

func bump(c engine.CardRecord, status string) engine.CardRecord {
	c.Status, c.Version, c.UpdatedAt = status, c.Version+1, time.Now().UTC()
	return c
}

func newFundingRecord(id, cardID, userID, kind string, q engine.Quote, phone string, op engine.Operator) engine.FundingRecord {
	now := time.Now().UTC()
	return engine.FundingRecord{ID: id, CardID: cardID, UserID: userID, Kind: kind, Status: "awaiting_payment",
		CardAmount: q.CardAmount.Minor, MomoAmount: q.MomoAmount.Minor, Fees: q.Fees.Minor, Earnings: q.Earnings.Minor,
		Rate: q.Rate, CostRate: q.CostRate, Phone: phone, Operator: op, Provider: "qosic", QuoteID: q.ID,
		PaymentDeadline: now.Add(30 * time.Minute), Version: 1, CreatedAt: now, UpdatedAt: now}
}

func collection(f engine.FundingRecord) engine.PaymentRecord {
	return engine.PaymentRecord{Ref: "pay-" + f.ID, Kind: engine.PaymentCollection, OwnerKind: "funding", OwnerID: f.ID,
		CardID: f.CardID, Provider: f.Provider, Operator: f.Operator, Phone: f.Phone, Amount: f.MomoAmount,
		Currency: engine.XOF, Status: engine.PaymentPending, Version: 1, CreatedAt: f.CreatedAt, UpdatedAt: f.CreatedAt}
}

func (f *fakeEngine) IssueCard(ctx context.Context, cmd IssueCard) (card engine.CardRecord, fr engine.FundingRecord, err error) {
	err = f.run(ctx, func() (engine.Change, error) {
		if c, ok := f.cards[cmd.CardID]; ok {
			if existing, ok := f.fundings[cmd.FundingID]; ok && c.UserID == cmd.UserID {
				card, fr = c, existing
				return engine.Change{}, nil
			}
			return engine.Change{}, engine.ErrExists
		}
		now := time.Now().UTC()
		card = engine.CardRecord{ID: cmd.CardID, UserID: cmd.UserID, Nickname: cmd.Nickname, Status: "pending",
			Version: 1, CreatedAt: now, UpdatedAt: now}
		fr = newFundingRecord(cmd.FundingID, cmd.CardID, cmd.UserID, "issuance", cmd.Quote, cmd.Phone, cmd.Operator)
		f.cards[card.ID], f.fundings[fr.ID] = card, fr
		f.issued++
		return engine.Change{Cards: []engine.CardRecord{card}, Fundings: []engine.FundingRecord{fr},
			Payments: []engine.PaymentRecord{collection(fr)}}, nil
	})
	return card, fr, err
}

func (f *fakeEngine) FundCard(ctx context.Context, cmd FundCard) (fr engine.FundingRecord, err error) {
	err = f.run(ctx, func() (engine.Change, error) {
		c, err := f.owned(cmd.UserID, cmd.CardID)
		if err != nil {
			return engine.Change{}, err
		}
		if existing, ok := f.fundings[cmd.FundingID]; ok {
			fr = existing
			return engine.Change{}, nil
		}
		if c.Status != "active" && c.Status != "frozen" {
			return engine.Change{}, engine.ErrCardNotActive
		}
		fr = newFundingRecord(cmd.FundingID, cmd.CardID, cmd.UserID, "funding", cmd.Quote, cmd.Phone, cmd.Operator)
		f.fundings[fr.ID] = fr
		return engine.Change{Fundings: []engine.FundingRecord{fr}, Payments: []engine.PaymentRecord{collection(fr)}}, nil
	})
	return fr, err
}

func (f *fakeEngine) Withdraw(ctx context.Context, cmd Withdraw) (w engine.WithdrawalRecord, err error) {
	err = f.run(ctx, func() (engine.Change, error) {
		c, err := f.owned(cmd.UserID, cmd.CardID)
		if err != nil {
			return engine.Change{}, err
		}
		if existing, ok := f.withdrawals[cmd.WithdrawalID]; ok {
			w = existing
			return engine.Change{}, nil
		}
		if c.Status != "active" && c.Status != "frozen" {
			return engine.Change{}, engine.ErrCardNotActive
		}
		if cmd.Quote.CardAmount.Minor > c.Available() {
			return engine.Change{}, fmt.Errorf("withdraw %s: %w", cmd.Quote.CardAmount, engine.ErrInsufficientBalance)
		}
		now := time.Now().UTC()
		c = bump(c, c.Status)
		c.Held += cmd.Quote.CardAmount.Minor
		w = engine.WithdrawalRecord{ID: cmd.WithdrawalID, CardID: c.ID, UserID: c.UserID, Status: "pending",
			CardAmount: cmd.Quote.CardAmount.Minor, MomoAmount: cmd.Quote.MomoAmount.Minor, Earnings: cmd.Quote.Earnings.Minor,
			Rate: cmd.Quote.Rate, CostRate: cmd.Quote.CostRate, Phone: cmd.Phone, Operator: cmd.Operator,
			Provider: "qosic", Purpose: "withdrawal", Version: 1, CreatedAt: now, UpdatedAt: now}
		f.cards[c.ID], f.withdrawals[w.ID] = c, w
		return engine.Change{Cards: []engine.CardRecord{c}, Withdrawals: []engine.WithdrawalRecord{w}}, nil
	})
	return w, err
}

func (f *fakeEngine) setStatus(ctx context.Context, userID, cardID string, from map[string]string) (card engine.CardRecord, err error) {
	err = f.run(ctx, func() (engine.Change, error) {
		c, err := f.owned(userID, cardID)
		if err != nil {
			return engine.Change{}, err
		}
		to, ok := from[c.Status]
		if !ok {
			return engine.Change{}, engine.ErrCardNotActive
		}
		if to == c.Status {
			card = c
			return engine.Change{}, nil
		}
		card = bump(c, to)
		f.cards[card.ID] = card
		return engine.Change{Cards: []engine.CardRecord{card}}, nil
	})
	return card, err
}

func (f *fakeEngine) Freeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error) {
	return f.setStatus(ctx, userID, cardID, map[string]string{"active": "frozen", "frozen": "frozen"})
}

func (f *fakeEngine) Unfreeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error) {
	return f.setStatus(ctx, userID, cardID, map[string]string{"frozen": "active", "active": "active"})
}

func (f *fakeEngine) Terminate(ctx context.Context, cmd Terminate) (engine.CardRecord, error) {
	if cmd.Quote.CardAmount.IsPositive() {
		f.mu.Lock()
		c := f.cards[cmd.CardID]
		f.mu.Unlock()
		if cmd.Quote.CardAmount.Minor != c.Balance {
			return engine.CardRecord{}, fmt.Errorf("terminate quote %s for a balance of %d", cmd.Quote.CardAmount, c.Balance)
		}
	}
	return f.setStatus(ctx, cmd.UserID, cmd.CardID, map[string]string{"active": "terminating", "frozen": "terminating",
		"terminating": "terminating", "terminated": "terminated"})
}

func (f *fakeEngine) SensitiveCard(ctx context.Context, userID, cardID string) (sc engine.SensitiveCard, err error) {
	err = f.run(ctx, func() (engine.Change, error) {
		c, err := f.owned(userID, cardID)
		if err != nil {
			return engine.Change{}, err
		}
		if c.Status != "active" && c.Status != "frozen" {
			return engine.Change{}, engine.ErrCardNotActive
		}
		sc = engine.SensitiveCard{PAN: "4187451234567894", CVV: "123", ExpiryMonth: c.ExpiryMonth, ExpiryYear: c.ExpiryYear}
		return engine.Change{}, nil
	})
	return sc, err
}

func (f *fakeEngine) StartSweep(ctx context.Context, sweepID, provider string, amount engine.Money) (sw engine.SweepRecord, err error) {
	err = f.run(ctx, func() (engine.Change, error) {
		if provider != "qosic" {
			return engine.Change{}, engine.ErrNotFound
		}
		if existing, ok := f.sweeps[sweepID]; ok {
			sw = existing
			return engine.Change{}, nil
		}
		now := time.Now().UTC()
		sw = engine.SweepRecord{ID: sweepID, Provider: provider, Amount: amount.Minor, Status: "requested",
			Reason: "manual", Version: 1, CreatedAt: now, UpdatedAt: now}
		f.sweeps[sweepID] = sw
		return engine.Change{Sweeps: []engine.SweepRecord{sw}}, nil
	})
	return sw, err
}

func (f *fakeEngine) PaymentUpdate(ctx context.Context, cardID, ref string, result engine.Result) error {
	return f.run(ctx, func() (engine.Change, error) {
		f.payments = append(f.payments, paymentCall{cardID: cardID, ref: ref, result: result})
		return engine.Change{}, nil
	})
}

func (f *fakeEngine) CardEvent(ctx context.Context, ev CardEvent) error {
	return f.run(ctx, func() (engine.Change, error) {
		if _, ok := f.cards[ev.CardID]; !ok {
			return engine.Change{}, engine.ErrNotFound
		}
		f.events = append(f.events, ev)
		return engine.Change{}, nil
	})
}

func (f *fakeEngine) FloatCredited(ctx context.Context, eventID string, amount engine.Money) error {
	return f.run(ctx, func() (engine.Change, error) {
		f.floats = append(f.floats, amount)
		return engine.Change{}, nil
	})
}

// settle finishes a funding as the sagas would: succeeded puts the card
// amount on the card (activating an issued card) with balanced ledger
// entries and earnings; failed just fails it.
func (f *fakeEngine) settle(fundingID, status string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	fr, ok := f.fundings[fundingID]
	if !ok {
		f.t.Fatalf("settle: no funding %s", fundingID)
	}
	now := time.Now().UTC()
	fr.Status, fr.Version, fr.UpdatedAt = status, fr.Version+1, now
	change := engine.Change{Fundings: []engine.FundingRecord{fr}}
	if status == "succeeded" {
		c := bump(f.cards[fr.CardID], "active")
		c.Balance += fr.CardAmount
		if c.Last4 == "" {
			c.IssuerCardID, c.Last4, c.ExpiryMonth, c.ExpiryYear = "iss-"+c.ID, "7894", 1, 2030
		}
		f.cards[c.ID] = c
		change.Cards = []engine.CardRecord{c}
		q := engine.Quote{Operation: engine.Operation(fr.Kind), CardAmount: engine.NewMoney(fr.CardAmount, engine.USD),
			MomoAmount: engine.NewMoney(fr.MomoAmount, engine.XOF), Fees: engine.NewMoney(fr.Fees, engine.XOF),
			Earnings: engine.NewMoney(fr.Earnings, engine.XOF), Rate: fr.Rate, CostRate: fr.CostRate}
		deposit, err1 := engine.FloatDepositEntry("dep-"+fr.ID, q.CardAmount)
		coll, err2 := engine.CollectionEntry(fr.ID, fr.Provider, q.MomoAmount)
		credit, err3 := engine.CardCreditEntry(fr.ID, c.ID, q)
		if err := errors.Join(err1, err2, err3); err != nil {
			f.t.Fatalf("settle entries: %v", err)
		}
		change.Entries = []engine.Entry{deposit, coll, credit}
		change.Earnings = []engine.Earning{{EntryRef: credit.Ref, Operation: fr.Kind, OwnerID: fr.ID,
			Amount: fr.Earnings, CreatedAt: now}}
	}
	f.fundings[fr.ID] = fr
	if err := f.journal.Commit(context.Background(), change); err != nil {
		f.t.Fatalf("settle: %v", err)
	}
}

// card returns the fake's view of a card.
func (f *fakeEngine) card(id string) engine.CardRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cards[id]
}

// waitAtGate waits until n commands wait at the gate.
func (f *fakeEngine) waitAtGate(n int32) {
	f.t.Helper()
	for start := time.Now(); f.atGate.Load() < n; time.Sleep(2 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			f.t.Fatalf("%d commands at the gate, want %d", f.atGate.Load(), n)
		}
	}
}

var _ Commands = (*fakeEngine)(nil)
