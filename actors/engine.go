package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// Config tunes the engine. Zero values take the defaults.
type Config struct {
	Shards         int           // card shards (default 32)
	IdleAfter      time.Duration // a card actor passivates after this long idle (default 2 min)
	CallTimeout    time.Duration // deadline of one provider call (default 10 s)
	CommandTimeout time.Duration // how long a command waits for its change to commit (default 10 s)
	PaymentWindow  time.Duration // how long a payer has to approve a collection (default 30 min)
	FloatWait      time.Duration // how long a funding may wait for float (default 30 min)
	IssuerRetry    time.Duration // pause before resolving an unknown issuer outcome (default 2 s)
	RefundAttempts int           // refund attempts before manual review (default 5)
	ProviderLimit  int           // calls in flight per provider account (default 256)
	PollEvery      time.Duration // how often due payments are looked up (default 1 s)
	TickEvery      time.Duration // treasury housekeeping period (default 1 s)
	OutboxEvery    time.Duration // outbox dispatch period (default 500 ms)
	// Sweep policy, checked every SweepEvery (default 30 s): a provider
	// account whose collections reach SweepThreshold (XOF minor, default
	// 5,000,000), or any account with collections when the available float
	// is under FloatLowWater (USD minor, default 1,000.00), is swept down to
	// SweepReserve (XOF minor, default 500,000), kept for refunds and
	// payouts. A threshold below zero turns automatic sweeps off.
	SweepEvery     time.Duration
	SweepThreshold int64
	FloatLowWater  int64
	SweepReserve   int64
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Shards <= 0 {
		c.Shards = 32
	}
	set(&c.IdleAfter, 2*time.Minute)
	set(&c.CallTimeout, 10*time.Second)
	set(&c.CommandTimeout, 10*time.Second)
	set(&c.PaymentWindow, 30*time.Minute)
	set(&c.FloatWait, 30*time.Minute)
	set(&c.IssuerRetry, 2*time.Second)
	set(&c.PollEvery, time.Second)
	set(&c.TickEvery, time.Second)
	set(&c.OutboxEvery, 500*time.Millisecond)
	set(&c.SweepEvery, 30*time.Second)
	if c.SweepThreshold == 0 {
		c.SweepThreshold = 5_000_000
	}
	if c.FloatLowWater == 0 {
		c.FloatLowWater = 100_000
	}
	if c.SweepReserve == 0 {
		c.SweepReserve = 500_000
	}
	if c.RefundAttempts <= 0 {
		c.RefundAttempts = 5
	}
	if c.ProviderLimit <= 0 {
		c.ProviderLimit = 256
	}
}

// Deps are the ports the engine drives.
type Deps struct {
	Journal   engine.Journal
	Store     engine.StateStore
	Outbox    engine.OutboxStore             // optional: no dispatcher without it
	Notifiers map[string]engine.Notifier     // by outbox channel: sms, push, ops
	Momo      map[string]engine.MomoProvider // provider accounts by name
	Issuer    engine.CardIssuer
	Router    Router
	Clock     engine.Clock // optional: wall clock
	Observer  Observer     // optional
	Fault     FaultHook    // optional: tests crash the engine at step boundaries
	Logger    *slog.Logger // optional: the actor library's logger; quiet by default
}

// Engine is the running actor system: it accepts commands and events, and
// runs the sagas. Create it with Start.
type Engine struct {
	d      *deps
	cancel context.CancelFunc
	ready  atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
	outbox engine.OutboxStore
	notify map[string]engine.Notifier
}

type wallClock struct{}

// Now is truncated to microseconds, the precision Postgres keeps, so that
// a record reads back exactly as it was answered.
func (wallClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Start builds the actor system, activates the treasury, and resumes every
// non-final saga. Ready reports true once that recovery is done.
func Start(ctx context.Context, cfg Config, ports Deps) (*Engine, error) {
	cfg.defaults()
	if ports.Clock == nil {
		ports.Clock = wallClock{}
	}
	if ports.Observer == nil {
		ports.Observer = NopObserver{}
	}
	logger := ports.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	runCtx, cancel := context.WithCancel(context.Background())
	d := &deps{ctx: runCtx, cfg: cfg, system: system, journal: ports.Journal, store: ports.Store,
		clock: ports.Clock, router: ports.Router, cards: ports.Issuer, obs: ports.Observer, hook: ports.Fault,
		momo: map[string]*actor.PID{}, settlers: map[string]engine.Settler{}}
	e := &Engine{d: d, cancel: cancel, stop: make(chan struct{}), outbox: ports.Outbox, notify: ports.Notifiers}

	d.registry = newRegistry(system, cfg.Shards, func(cardID string, shard *actor.PID) *actor.Props {
		return actor.PropsFromProducer(func() actor.Actor { return newCardActor(cardID, shard, d) })
	}, ports.Observer)
	for name, p := range ports.Momo {
		if s, ok := p.(engine.Settler); ok {
			d.settlers[name] = s
		}
		d.momo[name] = system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
			return &providerActor{name: name, d: d, momo: p, limit: cfg.ProviderLimit}
		}))
	}
	d.issuer = system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &providerActor{name: "issuer", d: d, issuer: ports.Issuer, limit: cfg.ProviderLimit}
	}))
	d.treasury = system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &treasuryActor{d: d} }))

	if err := e.recover(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	e.background(cfg.PollEvery, e.pollDue)
	e.background(cfg.TickEvery, func() { system.Root.Send(d.treasury, treasuryTick{}) })
	if cfg.SweepThreshold > 0 {
		e.background(cfg.SweepEvery, e.sweepByPolicy)
	}
	if e.outbox != nil {
		e.background(cfg.OutboxEvery, e.dispatchOutbox)
	}
	e.ready.Store(true)
	return e, nil
}

// recover resumes every non-final saga: each card with open work is
// activated (loading its state) and re-drives its steps.
func (e *Engine) recover(ctx context.Context) error {
	// The treasury answers once it loaded; float requests from recovering
	// cards then find it ready.
	if _, err := e.d.system.Root.RequestFuture(e.d.treasury, treasuryViewQuery{}, e.d.cfg.CommandTimeout).Result(); err != nil {
		return fmt.Errorf("recovery: treasury: %w", err)
	}
	ids, err := e.d.store.CardsWithOpenSagas(ctx)
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	sem := make(chan struct{}, 64)
	errs := make(chan error, len(ids))
	for _, id := range ids {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := e.d.registry.Request(id, &recoverCard{}, e.d.cfg.CommandTimeout).Result()
			if err != nil {
				errs <- fmt.Errorf("recovery: card %s: %w", id, err)
			}
		}()
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
	close(errs)
	return errors.Join(collectErrs(errs)...)
}

func collectErrs(ch chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

func (e *Engine) background(every time.Duration, f func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				if !e.d.crashed() {
					f()
				}
			}
		}
	}()
}

// pollDue sends each due pending payment's card a poll.
func (e *Engine) pollDue() {
	ps, err := e.d.store.DuePayments(e.d.ctx, e.d.clock.Now(), 1000)
	if err != nil {
		slog.Warn("poll due payments", "err", err)
		return
	}
	for _, p := range ps {
		if p.CardID != "" {
			e.d.registry.Send(p.CardID, &pollPayment{ref: p.Ref})
		}
	}
}

// sweepByPolicy reads the collection balances (off the treasury's mailbox)
// and hands them to the treasury, which decides.
func (e *Engine) sweepByPolicy() {
	ctx, cancel := context.WithTimeout(e.d.ctx, 10*time.Second)
	defer cancel()
	balances, err := e.d.store.CollectionBalances(ctx)
	if err != nil {
		slog.Warn("sweep policy: collection balances", "err", err)
		return
	}
	e.d.system.Root.Send(e.d.treasury, &sweepPolicy{collections: balances})
}

// Ready reports whether recovery is done and the engine takes commands.
func (e *Engine) Ready() bool { return e.ready.Load() && !e.d.crashed() }

// Crashed reports whether a fault hook crashed the engine.
func (e *Engine) Crashed() bool { return e.d.crashed() }

// Stop halts the background work and the actor system. Work in flight is
// abandoned as in a crash: every saga resumes at the next Start.
func (e *Engine) Stop() {
	select {
	case <-e.stop:
		return
	default:
	}
	close(e.stop)
	e.wg.Wait()
	e.cancel()
	e.d.system.Shutdown()
}

// Registry exposes the card registry (for tests and metrics).
func (e *Engine) Registry() *Registry { return e.d.registry }
