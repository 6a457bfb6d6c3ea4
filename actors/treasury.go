package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// treasuryID is the actor id of the (single) issuer account's treasury.
const treasuryID = "treasury:issuer"

// treasuryActor gates every issuance and funding on the float pre-funded at
// the card issuer. It grants reservations while float lasts and queues the
// rest in strict FIFO order with a bounded wait; it drains the queue when
// float arrives or is released.
//
// It is the hot spot, so it decides in memory while its writes are in
// flight (one journal stream per reservation, all fenced by its epoch) and
// tells a card of a decision only after that decision committed. If a write
// fails, it waits for its other writes to land, reloads from Postgres, and
// asks the affected card to ask again.
type treasuryActor struct {
	d        *deps
	epoch    int64
	float    int64 // issuer float per the ledger, USD minor
	reserved int64 // granted and not yet committed or released
	open     map[string]*engine.ReservationRecord
	queue    []*engine.ReservationRecord
	nextSeq  int64
	sweeps   map[string]*engine.SweepRecord // not final

	inflight  int
	reloading bool
	retry     []string // fundings to re-ask after a reload
	stash     []heldMessage
}

// Messages to the treasury.
type (
	reserveFloat struct {
		fundingID string
		cardID    string
		amount    int64
		deadline  time.Time
	}
	floatCommitted struct {
		fundingID string
		amount    int64
	}
	floatReleased struct{ fundingID string }
	floatReturned struct{ amount int64 } // a withdrawal moved card money back to the float
	floatTaken    struct{ amount int64 } // a credit-back moved float onto a card
	floatCredited struct {
		eventID string
		amount  int64
	}
	treasuryTick      struct{}
	treasuryViewQuery struct{}
	treasuryCommitted struct {
		err  error
		then func(error)
	}
)

// TreasuryView is the treasury's state for ops.
type TreasuryView struct {
	Available   int64 // USD minor
	Reserved    int64
	QueueCount  int
	QueueAmount int64
	OldestQueue time.Duration
	Sweeps      int // sweeps in flight
}

func (t *treasuryActor) Receive(ctx actor.Context) {
	if t.d.crashed() {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		t.start(ctx)
	case treasuryCommitted:
		t.inflight--
		m.then(m.err)
		t.maybeReload(ctx)
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		if t.reloading {
			t.stash = append(t.stash, heldMessage{msg: m, sender: ctx.Sender()})
			return
		}
		t.handle(ctx, m, ctx.Sender())
	}
}

func (t *treasuryActor) start(ctx actor.Context) {
	epoch, err := t.d.store.ClaimEpoch(t.d.ctx, treasuryID)
	if err != nil {
		panic(fmt.Errorf("treasury: %w", err))
	}
	t.epoch = epoch
	t.load()
	for _, s := range t.sweeps {
		if s.Status == string(engine.SweepStatusRequested) || s.Status == string(engine.SweepStatusPayoutPending) {
			t.settle(ctx, s)
		}
	}
}

func (t *treasuryActor) load() {
	snap, err := t.d.store.LoadTreasury(t.d.ctx)
	if err != nil {
		panic(fmt.Errorf("treasury: %w", err))
	}
	t.float, t.reserved, t.nextSeq = snap.Float, 0, snap.NextSeq
	t.sweeps = make(map[string]*engine.SweepRecord, len(snap.Sweeps))
	for i := range snap.Sweeps {
		t.sweeps[snap.Sweeps[i].ID] = &snap.Sweeps[i]
	}
	t.open = make(map[string]*engine.ReservationRecord, len(snap.Reservations))
	t.queue = t.queue[:0]
	for i := range snap.Reservations {
		r := &snap.Reservations[i]
		t.open[r.FundingID] = r
		if r.Status == engine.ReservationGranted {
			t.reserved += r.Amount
		} else {
			t.queue = append(t.queue, r)
		}
	}
	t.publish()
}

func (t *treasuryActor) handle(ctx actor.Context, msg any, sender *actor.PID) {
	switch m := msg.(type) {
	case *reserveFloat:
		t.reserve(ctx, m)
	case *floatCommitted:
		if r := t.open[m.fundingID]; r != nil && r.Status == engine.ReservationGranted {
			delete(t.open, m.fundingID)
			t.reserved -= r.Amount
			t.float -= r.Amount
		}
	case *floatReleased:
		if r := t.open[m.fundingID]; r != nil && r.Status == engine.ReservationGranted {
			delete(t.open, m.fundingID)
			t.reserved -= r.Amount
			t.drain(ctx)
		}
	case *floatReturned:
		t.float += m.amount
		t.drain(ctx)
	case *floatTaken:
		t.float -= m.amount
	case *floatCredited:
		if !t.sweepDeposit(ctx, m, sender) {
			t.credit(ctx, m, sender)
		}
	case *startSweep:
		t.startSweep(ctx, m, sender)
	case *sweepResult:
		t.onSweepResult(ctx, m)
	case *sweepPolicy:
		t.applySweepPolicy(ctx, m)
	case *sweepRetry:
		if s := t.sweeps[m.id]; s != nil && (s.Status == string(engine.SweepStatusRequested) || s.Status == string(engine.SweepStatusPayoutPending)) {
			t.settle(ctx, s)
		}
	case treasuryTick:
		t.expire(ctx)
	case treasuryViewQuery:
		ctx.Respond(t.view())
	}
	t.publish()
}

func (t *treasuryActor) view() TreasuryView {
	v := TreasuryView{Available: t.float - t.reserved, Reserved: t.reserved, QueueCount: len(t.queue)}
	for _, r := range t.queue {
		v.QueueAmount += r.Amount
	}
	v.Sweeps = t.sweepsInFlight()
	if len(t.queue) > 0 {
		v.OldestQueue = t.d.clock.Now().Sub(t.queue[0].RequestedAt)
	}
	return v
}

func (t *treasuryActor) publish() {
	t.d.obs.Treasury(t.view())
}

func (t *treasuryActor) reserve(ctx actor.Context, m *reserveFloat) {
	if r := t.open[m.fundingID]; r != nil {
		t.answer(r)
		return
	}
	now := t.d.clock.Now()
	r := &engine.ReservationRecord{FundingID: m.fundingID, CardID: m.cardID, Seq: t.nextSeq, Amount: m.amount,
		Status: engine.ReservationQueued, RequestedAt: now, Deadline: m.deadline, Version: 1}
	t.nextSeq++
	if len(t.queue) == 0 && m.amount <= t.float-t.reserved {
		r.Status, r.DecidedAt = engine.ReservationGranted, now
		t.reserved += r.Amount
	} else {
		t.queue = append(t.queue, r)
	}
	t.open[r.FundingID] = r
	rec := *r
	t.write(ctx, reservationChange(rec, now), func(err error) {
		if duplicateOf(err, "float_reservations_pkey") {
			// This funding asked before, and its reservation ended while we
			// were not looking (it is not open): tell the card how it ended.
			t.answerStored(rec.FundingID, rec.CardID)
			return
		}
		if err == nil {
			t.answer(&rec)
		}
	})
}

// answer tells the card of a reservation's current decision.
func (t *treasuryActor) answer(r *engine.ReservationRecord) {
	switch r.Status {
	case engine.ReservationGranted:
		t.d.registry.Send(r.CardID, &floatGranted{fundingID: r.FundingID})
	case engine.ReservationQueued:
		t.d.registry.Send(r.CardID, &floatQueued{fundingID: r.FundingID})
	case engine.ReservationExpired:
		t.d.registry.Send(r.CardID, &floatExpired{fundingID: r.FundingID})
	}
}

func (t *treasuryActor) answerStored(fundingID, cardID string) {
	r, found, err := t.d.store.LoadReservation(t.d.ctx, fundingID)
	if err != nil || !found {
		slog.Error("treasury: reservation vanished", "funding", fundingID, "err", err)
		return
	}
	if r.Status == engine.ReservationQueued || r.Status == engine.ReservationGranted {
		return // open: the reload that follows this failure answers it
	}
	r.CardID = cardID
	t.answer(&r)
}

// drain grants queued reservations in FIFO order while float lasts. The
// head blocks the queue: a later, smaller funding never overtakes it.
func (t *treasuryActor) drain(ctx actor.Context) {
	now := t.d.clock.Now()
	for len(t.queue) > 0 && t.queue[0].Amount <= t.float-t.reserved {
		r := t.queue[0]
		t.queue = t.queue[1:]
		r.Status, r.DecidedAt = engine.ReservationGranted, now
		r.Version++
		t.reserved += r.Amount
		rec := *r
		t.write(ctx, reservationChange(rec, now), func(err error) {
			if err == nil {
				t.answer(&rec)
			}
		})
	}
}

// reservationChange writes a reservation and moves its funding in the same
// transaction: to queued_for_float when it queues, to funding_card when it
// is granted. The card then only mirrors the step (and, on a grant, calls
// the issuer at once), so the treasury and the card never race to write
// the same funding.
func reservationChange(r engine.ReservationRecord, now time.Time) engine.Change {
	c := engine.Change{Stream: "float:" + r.FundingID, Reservations: []engine.ReservationRecord{r}}
	switch r.Status {
	case engine.ReservationGranted:
		c.AdvanceFundings = []engine.FundingAdvance{{FundingID: r.FundingID, Status: string(engine.FundingStatusFundingCard), At: now}}
	case engine.ReservationQueued:
		c.AdvanceFundings = []engine.FundingAdvance{{FundingID: r.FundingID, Status: string(engine.FundingStatusQueuedForFloat), At: now}}
	}
	return c
}

// expire ends reservations that waited past their deadline; their
// fundings are refunded (defect 6: the wait is bounded and visible).
func (t *treasuryActor) expire(ctx actor.Context) {
	now := t.d.clock.Now()
	kept := t.queue[:0]
	var expired []*engine.ReservationRecord
	for _, r := range t.queue {
		if now.After(r.Deadline) {
			expired = append(expired, r)
			continue
		}
		kept = append(kept, r)
	}
	t.queue = kept
	for _, r := range expired {
		delete(t.open, r.FundingID)
		r.Status, r.DecidedAt = engine.ReservationExpired, now
		r.Version++
		rec := *r
		t.write(ctx, engine.Change{Stream: "float:" + r.FundingID, Reservations: []engine.ReservationRecord{rec}}, func(err error) {
			if err == nil {
				t.answer(&rec)
			}
		})
	}
	if len(expired) > 0 {
		t.drain(ctx)
	}
}

func (t *treasuryActor) credit(ctx actor.Context, m *floatCredited, sender *actor.PID) {
	entry := floatCreditEntry(m.eventID, m.amount)
	t.write(ctx, engine.Change{Stream: "float-credit:" + m.eventID, Entries: []engine.Entry{entry}}, func(err error) {
		switch {
		case err == nil:
			t.float += m.amount
			t.drain(ctx)
			t.publish()
		case duplicateOf(err, "ledger_entries_ref_key"):
			err = nil // the same credit, already applied
		}
		if sender != nil {
			ctx.Send(sender, commandReply{err: err})
		}
	})
}

// write submits a fenced change; then runs on the treasury's mailbox after
// the outcome is known.
func (t *treasuryActor) write(ctx actor.Context, change engine.Change, then func(error)) {
	if t.d.fault(FaultBeforeCommit) != nil {
		return
	}
	change.Fence = &engine.Fence{ActorID: treasuryID, Epoch: t.epoch}
	t.inflight++
	self, root := ctx.Self(), ctx.ActorSystem().Root
	t.d.journal.Submit(change, func(err error) {
		root.Send(self, treasuryCommitted{err: err, then: func(err error) {
			if err != nil && !expectedDuplicate(err) {
				t.failed(change)
			}
			if t.d.fault(FaultAfterCommit) == nil {
				then(err)
			}
		}})
	})
}

// duplicateOf reports whether err is a duplicate on constraint.
func duplicateOf(err error, constraint string) bool {
	var dup *engine.DuplicateError
	return errors.As(err, &dup) && dup.Constraint == constraint
}

// expectedDuplicate reports whether err repeats something the treasury
// already made durable (a reservation for the same funding, a credit with
// the same event id): nothing changed, so memory is still right. Any other
// duplicate (a seq collision) means memory went wrong: reload.
func expectedDuplicate(err error) bool {
	return duplicateOf(err, "float_reservations_pkey") || duplicateOf(err, "ledger_entries_ref_key") ||
		duplicateOf(err, "sweeps_pkey")
}

// failed schedules a reload after a write that did not commit: memory went
// ahead of durable state.
func (t *treasuryActor) failed(change engine.Change) {
	t.reloading = true
	for _, r := range change.Reservations {
		t.retry = append(t.retry, r.FundingID+"\x00"+r.CardID)
	}
}

func (t *treasuryActor) maybeReload(ctx actor.Context) {
	if !t.reloading || t.inflight > 0 {
		return
	}
	slog.Warn("treasury: a write failed; reloading from Postgres")
	t.load()
	t.reloading = false
	for _, k := range t.retry {
		for i := 0; i < len(k); i++ {
			if k[i] == 0 {
				t.d.registry.Send(k[i+1:], &floatRetry{fundingID: k[:i]})
				break
			}
		}
	}
	t.retry = nil
	stash := t.stash
	t.stash = nil
	for _, h := range stash {
		t.handle(ctx, h.msg, h.sender)
	}
}
