package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/actors"
	"kash/actors/inproc"
	"kash/engine"
	"kash/persistence"
)

func init() {
	Register(Registration{Name: "settle", ComparedTo: "baseline",
		Summary: "the engine's core without HTTP: paid fundings through float reservation, issuer funding, card credit, ledger and earnings",
		New:     func(o Options) Scenario { return NewSettle(o) }})
}

// settleClosedRate is how many fundings per second a closed-loop settle
// run is sized for (Options.WorkFor).
const settleClosedRate = 12_000

// Settle is the engine's core with in-process instant providers: fundings
// seeded as paid are resumed through the engine, one treasury and many
// cards, and each completes when the engine reports it succeeded.
type Settle struct {
	opts    Options
	world   *settleWorld
	pool    *pgxpool.Pool
	journal *persistence.Journal
	meter   JournalMeter
	issuer  *inproc.Issuer
	eng     *actors.Engine
	obs     *settleObserver
	window  time.Time
	facts   []Fact
}

// NewSettle returns the settle scenario.
func NewSettle(o Options) *Settle {
	o.defaults()
	return &Settle{opts: o}
}

// Setup implements Scenario: cards and the float first, then the engine
// (whose recovery then finds no open saga), then the paid fundings, then
// every card actor is activated so that the window measures settling, not
// loading.
func (s *Settle) Setup(ctx context.Context, env Env) error {
	world, err := newSettleWorld(s.opts, s.opts.WorkFor(settleClosedRate))
	if err != nil {
		return err
	}
	s.world = world
	log := env.Log
	if s.pool, err = persistence.Open(ctx, env.DB.URL); err != nil {
		return err
	}
	s.issuer = inproc.NewIssuer(world.float)
	s.journal = persistence.NewJournal(s.pool, persistence.JournalConfig{Observer: &s.meter,
		MaxBatch: s.opts.JournalBatch, Workers: s.opts.JournalWorkers})
	s.obs = newSettleObserver(world.fundings)
	steps := []struct {
		what string
		do   func() error
	}{
		{fmt.Sprintf("%d cards seeded and registered at the issuer, %d past reservations", world.cards, world.history()),
			func() error {
				return errors.Join(world.seedCards(ctx, s.pool), world.seedHistory(ctx, s.pool), world.register(s.issuer))
			}},
		{"float deposited through the journal", func() error {
			return s.journal.Commit(ctx, engine.Change{Stream: "bench-float", Entries: []engine.Entry{world.floatEntry()}})
		}},
		{"engine started", func() error { return s.start(ctx) }},
		{fmt.Sprintf("%d paid fundings seeded", world.fundings), func() error { return world.seedFundings(ctx, s.pool) }},
		{fmt.Sprintf("%d card actors activated", world.cards), func() error { return s.activate(ctx) }},
	}
	for _, st := range steps {
		if err := step(log, "settle", st.what, st.do); err != nil {
			return err
		}
	}
	s.facts = worldFacts(world, s.pool)
	return nil
}

func worldFacts(w *settleWorld, pool *pgxpool.Pool) []Fact {
	return []Fact{
		fact("world", "%d cards of %d users, %d paid fundings seeded (%.2f to %.2f USD each)", w.cards, w.users, w.fundings,
			float64(minFundingCents)/100, float64(maxFundingCents)/100),
		fact("issuer float", "%.2f USD: exactly the seeded fundings' total", float64(w.float)/100),
		fact("treasury history", "%d settled reservations of past fundings", w.history()),
		fact("database pool", "%d connections", pool.Config().MaxConns),
	}
}

func (s *Settle) start(ctx context.Context) (err error) {
	s.eng, err = startInprocEngine(ctx, actors.Config{}, s.pool, s.journal, s.issuer, s.obs)
	return err
}

// startInprocEngine starts the engine on pool with in-process providers:
// one momo account for both operators, and issuer.
func startInprocEngine(ctx context.Context, cfg actors.Config, pool *pgxpool.Pool, journal *persistence.Journal,
	issuer *inproc.Issuer, obs actors.Observer) (*actors.Engine, error) {
	eng, err := actors.Start(ctx, cfg, actors.Deps{
		Journal:  journal,
		Store:    persistence.NewStateStore(pool),
		Momo:     map[string]engine.MomoProvider{benchProvider: inproc.NewMomo(benchProvider)},
		Issuer:   issuer,
		Router:   actors.StaticRouter{engine.OperatorMTN: benchProvider, engine.OperatorMoov: benchProvider},
		Observer: obs,
	})
	if err != nil {
		return nil, fmt.Errorf("start engine: %w", err)
	}
	return eng, nil
}

// activate loads every card actor, by resuming a funding it does not have.
//
// LoadCard selects a card's payments by card_id, which no index covers
// (migrations/002_money.sql): each activation scans the whole payments
// table, 0.4 s per card with 150,000 payments. An index made for the
// warm-up alone, and dropped before the window, keeps setup short; the
// settle path writes no payment, so the window is the same without it.
func (s *Settle) activate(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `CREATE INDEX bench_warmup_payments_card ON payments (card_id)`); err != nil {
		return fmt.Errorf("warm-up index: %w", err)
	}
	err := s.activateAll(ctx)
	if _, derr := s.pool.Exec(ctx, `DROP INDEX bench_warmup_payments_card`); derr != nil {
		err = errors.Join(err, fmt.Errorf("drop warm-up index: %w", derr))
	}
	return err
}

func (s *Settle) activateAll(ctx context.Context) error {
	var next atomic.Int64
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := int(next.Add(1) - 1); c < s.world.cards; c = int(next.Add(1) - 1) {
				if err := s.eng.ResumeFunding(ctx, s.world.cardID(c), "warm-up"); err != nil {
					errs <- fmt.Errorf("activate card %d: %w", c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Capacity implements Scenario.
func (s *Settle) Capacity() int { return s.world.fundings }

// Pool implements Scenario.
func (s *Settle) Pool() *pgxpool.Pool { return s.pool }

// Measure implements Scenario.
func (s *Settle) Measure() {
	s.meter.Reset()
	s.obs.reset()
	s.window = time.Now()
}

// Op implements Scenario: resume funding i and wait until the engine
// reports it final.
func (s *Settle) Op(ctx context.Context, i int) error {
	p := &inflight{started: time.Now(), done: make(chan struct{})}
	s.obs.slots[i].Store(p)
	if err := s.eng.ResumeFunding(ctx, s.world.cardID(s.world.cardOf(i)), s.world.fundingID(i)); err != nil {
		if s.obs.slots[i].CompareAndSwap(p, nil) {
			return opErr("resume", err)
		}
		// It finished anyway (the command's answer was late): fall through.
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		s.obs.slots[i].CompareAndSwap(p, nil)
		return ctx.Err()
	}
}

// Finish implements Scenario: the treasury must hold nothing back, then
// the engine stops and the world is checked.
func (s *Settle) Finish(ctx context.Context, run *Run) (Outcome, error) {
	window := time.Since(s.window)
	journal := s.meter.Window(window)
	out := Outcome{Facts: s.facts, Journal: &journal, Stages: s.obs.stages()}
	view, err := s.eng.Treasury(ctx)
	if err != nil {
		return out, fmt.Errorf("treasury view: %w", err)
	}
	out.Facts = append(out.Facts, fact("peak treasury queue", "%d fundings waiting for float", s.obs.peakQueue.Load()))
	s.eng.Stop()
	s.eng = nil
	s.journal.Close()
	checks, statuses, err := s.world.verify(ctx, s.pool, s.issuer, run)
	if err != nil {
		return out, err
	}
	ledgerFloat, err := (&checker{pool: s.pool}).ledgerBalance(ctx, engine.IssuerFloatAccount())
	if err != nil {
		return out, err
	}
	checks = append(checks,
		Check{Name: "treasury: nothing reserved or queued at the end", OK: view.Reserved == 0 && view.QueueCount == 0,
			Detail: fmt.Sprintf("reserved %d, queued %d", view.Reserved, view.QueueCount)},
		Check{Name: "treasury: available float equals the ledger's", OK: view.Available == ledgerFloat,
			Detail: fmt.Sprintf("treasury %d, ledger %d", view.Available, ledgerFloat)},
		Check{Name: "no unexpected transition", OK: s.obs.unexpected.Load() == 0,
			Detail: fmt.Sprintf("%d transitions of fundings not in flight", s.obs.unexpected.Load())})
	out.Checks, out.Statuses = checks, statuses
	return out, nil
}

// Close implements Scenario.
func (s *Settle) Close() {
	if s.eng != nil {
		s.eng.Stop()
	}
	if s.journal != nil {
		s.journal.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
}

// inflight is one funding the harness waits for.
type inflight struct {
	started  time.Time
	reserved atomic.Int64 // unix nanos of its funding_card commit
	done     chan struct{}
	err      error
}

// settleObserver is the engine's Observer during a settle run: it
// completes the operation a funding belongs to when the funding reaches a
// final status, and times the steps in between.
type settleObserver struct {
	actors.NopObserver
	slots      []atomic.Pointer[inflight]
	unexpected atomic.Int64
	peakQueue  atomic.Int64

	mu      sync.Mutex
	reserve *Recorder // operation start → funding_card committed
	credit  *Recorder // funding_card committed → succeeded committed
}

func newSettleObserver(fundings int) *settleObserver {
	o := &settleObserver{slots: make([]atomic.Pointer[inflight], fundings)}
	o.reset()
	return o
}

func (o *settleObserver) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	o.reserve, o.credit = NewRecorder(now), NewRecorder(now)
	o.unexpected.Store(0)
	o.peakQueue.Store(0)
}

func (o *settleObserver) recorders() (reserve, credit *Recorder) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reserve, o.credit
}

func (o *settleObserver) stages() map[string]LatencySummary {
	reserve, credit := o.recorders()
	return map[string]LatencySummary{
		"stage 1: resume → float reserved, funding_card committed":    reserve.Summary(),
		"stage 2: issuer funded → card credited, succeeded committed": credit.Summary(),
	}
}

// FundingTransition implements actors.Observer.
func (o *settleObserver) FundingTransition(id, from, to string) {
	i, ok := fundingIndex(id)
	if !ok || i >= len(o.slots) {
		return
	}
	now := time.Now()
	switch to {
	case "funding_card":
		if p := o.slots[i].Load(); p != nil {
			p.reserved.Store(now.UnixNano())
			reserve, _ := o.recorders()
			reserve.Record(p.started, now, nil)
		}
	case "succeeded":
		o.finish(i, now, nil)
	case "failed", "refunding", "refunded":
		o.finish(i, now, opErr("status_"+to, fmt.Errorf("funding %s went %s → %s", id, from, to)))
	}
}

func (o *settleObserver) finish(i int, now time.Time, err error) {
	p := o.slots[i].Swap(nil)
	if p == nil {
		o.unexpected.Add(1)
		return
	}
	if at := p.reserved.Load(); at > 0 && err == nil {
		_, credit := o.recorders()
		credit.Record(time.Unix(0, at), now, nil)
	}
	p.err = err
	close(p.done)
}

// Treasury implements actors.Observer: it keeps the peak queue length.
func (o *settleObserver) Treasury(v actors.TreasuryView) {
	for {
		peak := o.peakQueue.Load()
		if int64(v.QueueCount) <= peak || o.peakQueue.CompareAndSwap(peak, int64(v.QueueCount)) {
			return
		}
	}
}
