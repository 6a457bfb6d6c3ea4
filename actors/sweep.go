package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// Sweeps move collected mobile money to the issuer float: the treasury
// records the sweep, asks the provider account to settle the XOF out
// (under the sweep's id, on every retry), books the payout when it
// succeeded, and books the deposit when the issuer reports the USD.

type (
	startSweep struct {
		id       string
		provider string
		amount   int64 // XOF minor
		reason   string
	}
	sweepResult struct {
		id     string
		result engine.Result
		err    error
	}
	sweepReply struct {
		sweep engine.SweepRecord
		err   error
	}
)

// StartSweep starts a sweep of amount (XOF) from provider's collections.
func (e *Engine) StartSweep(ctx context.Context, sweepID, provider string, amount engine.Money) (engine.SweepRecord, error) {
	if amount.Currency != engine.XOF || amount.Minor <= 0 {
		return engine.SweepRecord{}, fmt.Errorf("sweep %s: %w", sweepID, engine.ErrInvalidAmount)
	}
	res, err := e.ask(ctx, e.d.treasury, &startSweep{id: sweepID, provider: provider, amount: amount.Minor, reason: "manual"})
	if err != nil {
		return engine.SweepRecord{}, err
	}
	r := res.(sweepReply)
	return r.sweep, r.err
}

func (t *treasuryActor) startSweep(ctx actor.Context, m *startSweep, sender *actor.PID) {
	reply := func(s engine.SweepRecord, err error) {
		if sender != nil {
			ctx.Send(sender, sweepReply{sweep: s, err: err})
		}
	}
	if s := t.sweeps[m.id]; s != nil {
		reply(*s, nil)
		return
	}
	if _, ok := t.d.settlers[m.provider]; !ok {
		reply(engine.SweepRecord{}, fmt.Errorf("%w: provider %q cannot settle", engine.ErrNotFound, m.provider))
		return
	}
	now := t.d.clock.Now()
	s := engine.SweepRecord{ID: m.id, Provider: m.provider, Amount: m.amount, Status: string(engine.SweepStatusRequested),
		Reason: m.reason, Version: 1, CreatedAt: now, UpdatedAt: now}
	t.write(ctx, engine.Change{Stream: "sweep:" + s.ID, Sweeps: []engine.SweepRecord{s}}, func(err error) {
		if errors.Is(err, engine.ErrDuplicate) {
			err = engine.ErrExists
		}
		if err != nil {
			reply(engine.SweepRecord{}, err)
			return
		}
		t.sweeps[s.ID] = &s
		reply(s, nil)
		t.settle(ctx, &s)
	})
}

// settle asks the provider to send the sweep's XOF out, off the mailbox.
func (t *treasuryActor) settle(ctx actor.Context, s *engine.SweepRecord) {
	settler := t.d.settlers[s.Provider]
	if settler == nil || t.d.fault(FaultBeforeCall) != nil {
		return
	}
	self, root, id, amount := ctx.Self(), ctx.ActorSystem().Root, s.ID, engine.NewMoney(s.Amount, engine.XOF)
	go func() {
		callCtx, cancel := context.WithTimeout(t.d.ctx, t.d.cfg.CallTimeout)
		defer cancel()
		res, err := settler.Settle(callCtx, id, amount)
		if t.d.fault(FaultAfterCall) == nil {
			root.Send(self, &sweepResult{id: id, result: res, err: err})
		}
	}()
}

func (t *treasuryActor) onSweepResult(ctx actor.Context, m *sweepResult) {
	s := t.sweeps[m.id]
	if s == nil {
		return
	}
	var ev engine.SweepEvent
	switch {
	case m.err != nil || m.result.Outcome == engine.OutcomeUnknown:
		// Ask again under the same reference: the provider answers the
		// first outcome (defect 4).
		t.d.after(t.d.cfg.IssuerRetry, func() { t.d.system.Root.Send(t.d.treasury, &sweepRetry{id: m.id}) })
		return
	case m.result.Outcome == engine.OutcomePending:
		// Still in transit: ask again later, whether or not this answer
		// changes the sweep's status.
		t.d.after(t.d.cfg.IssuerRetry, func() { t.d.system.Root.Send(t.d.treasury, &sweepRetry{id: m.id}) })
		ev = engine.SweepPayoutAccepted
	case m.result.Outcome == engine.OutcomeSucceeded:
		ev = engine.SweepPayoutSucceeded
	default:
		ev = engine.SweepPayoutFailed
	}
	to, _, err := engine.SweepStatus(s.Status).Apply(ev)
	if err != nil || string(to) == s.Status {
		return
	}
	ns := *s
	ns.Status, ns.Version, ns.UpdatedAt = string(to), s.Version+1, t.d.clock.Now()
	change := engine.Change{Stream: "sweep:" + s.ID, Sweeps: []engine.SweepRecord{ns}}
	if ev == engine.SweepPayoutSucceeded {
		change.Entries = []engine.Entry{mustEntry(engine.SweepPayoutEntry(s.ID, s.Provider, engine.NewMoney(s.Amount, engine.XOF)))}
	}
	// Decided in memory at once, like the treasury's other decisions: a
	// deposit reported while this write is in flight then builds on it. A
	// failed write reloads the treasury.
	t.sweeps[ns.ID] = &ns
	t.write(ctx, change, func(error) {})
}

// sweepRetry asks the provider again about a sweep's settlement.
type sweepRetry struct{ id string }

// sweepDeposit books the USD a sweep bought, when the issuer reports it.
// It reports false when eventID is not an open sweep's.
//
// The issuer's credit can arrive before the provider's status query says
// the payout succeeded: a credit under the sweep's reference proves it did,
// so the payout is booked with the deposit.
func (t *treasuryActor) sweepDeposit(ctx actor.Context, m *floatCredited, sender *actor.PID) bool {
	s := t.sweeps[m.eventID]
	if s == nil {
		return false
	}
	if s.Status == string(engine.SweepStatusCompleted) {
		// The same deposit, reported again while its first report commits:
		// the issuer will report it again, and then it is a duplicate.
		if sender != nil {
			ctx.Send(sender, commandReply{err: engine.ErrBusy})
		}
		return true
	}
	to, effects, err := engine.SweepStatus(s.Status).Apply(engine.SweepDepositReceived)
	if err != nil {
		return false
	}
	var entries []engine.Entry
	for _, eff := range effects {
		switch eff {
		case engine.EffectRecordSweepPayout:
			entries = append(entries, mustEntry(engine.SweepPayoutEntry(s.ID, s.Provider, engine.NewMoney(s.Amount, engine.XOF))))
		case engine.EffectRecordSweepDeposit:
			entries = append(entries, mustEntry(engine.SweepDepositEntry(s.ID, engine.NewMoney(m.amount, engine.USD))))
		}
	}
	ns := *s
	ns.Status, ns.USD, ns.Version, ns.UpdatedAt = string(to), m.amount, s.Version+1, t.d.clock.Now()
	t.sweeps[ns.ID] = &ns
	t.write(ctx, engine.Change{Stream: "sweep:" + s.ID, Sweeps: []engine.SweepRecord{ns}, Entries: entries}, func(err error) {
		if err == nil {
			delete(t.sweeps, ns.ID)
			t.float += m.amount
			t.drain(ctx)
			t.publish()
		}
		if sender != nil {
			ctx.Send(sender, commandReply{err: err})
		}
	})
	return true
}

// sweepsInFlight counts sweeps that are not final.
func (t *treasuryActor) sweepsInFlight() int { return len(t.sweeps) }

// sweepPolicy carries fresh collection balances to the treasury.
type sweepPolicy struct{ collections map[string]int64 }

// applySweepPolicy starts a sweep on each provider account whose
// collections passed the threshold, or on any account with collections to
// spare when the float is low; one sweep per account at a time.
func (t *treasuryActor) applySweepPolicy(ctx actor.Context, m *sweepPolicy) {
	cfg := t.d.cfg
	low := t.float-t.reserved < cfg.FloatLowWater || len(t.queue) > 0
	busy := map[string]bool{}
	for _, s := range t.sweeps {
		busy[s.Provider] = true
	}
	for provider, balance := range m.collections {
		spare := balance - cfg.SweepReserve
		if busy[provider] || spare <= 0 || t.d.settlers[provider] == nil {
			continue
		}
		if balance < cfg.SweepThreshold && !low {
			continue
		}
		reason := "threshold"
		if low {
			reason = "low_float"
		}
		id := fmt.Sprintf("swp_auto_%s_%d", provider, t.d.clock.Now().UnixNano())
		t.startSweep(ctx, &startSweep{id: id, provider: provider, amount: spare, reason: reason}, nil)
	}
}
