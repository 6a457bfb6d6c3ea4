package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// cardActor owns one card: its status and balance mirror, its holds, and
// the fundings, withdrawals and payments of that card with their sagas.
//
// Its in-memory state only ever reflects committed state: a step builds the
// new records, submits them to the journal, and applies them (and performs
// the step's effects) when the commit is acknowledged. While a change is in
// flight, new messages wait in the stash, so steps of one card never
// interleave.
type cardActor struct {
	id    string
	shard *actor.PID // owns this activation: passivation goes through it
	d     *deps

	exists      bool
	card        engine.CardRecord
	fundings    map[string]*engine.FundingRecord
	withdrawals map[string]*engine.WithdrawalRecord
	payments    map[string]*engine.PaymentRecord

	calls   map[string]bool // refs with a provider call in flight
	busy    bool
	seq     uint64
	pending func(error) // what to do when the change in flight commits
	stash   []heldMessage
	waiters []freezeWaiter

	failures   int       // consecutive changes that did not commit
	lastActive time.Time // last message other than an idle check
	idleArmed  bool      // an idle check is scheduled
}

type freezeWaiter struct {
	sender *actor.PID
	freeze bool
}

func newCardActor(id string, shard *actor.PID, d *deps) *cardActor {
	return &cardActor{id: id, shard: shard, d: d}
}

// Receive implements actor.Actor.
func (a *cardActor) Receive(ctx actor.Context) {
	if a.d.crashed() {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.load(ctx)
		a.touch(ctx)
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case idleCheck:
		a.checkIdle(ctx)
	case committed:
		a.touch(ctx)
		a.onCommitted(ctx, m)
	case passivateConfirm:
		if a.idle() {
			ctx.Stop(ctx.Self())
			return
		}
		a.touch(ctx)
		ctx.Send(a.shard, &passivateRefused{cardID: a.id})
	default:
		a.touch(ctx)
		if a.busy {
			a.stash = append(a.stash, heldMessage{msg: m, sender: ctx.Sender()})
			return
		}
		a.handle(ctx, m, ctx.Sender())
	}
}

// idleCheck is the card's own timer to consider passivation. (protoactor's
// ReceiveTimeout is not used: its timer races with the mailbox.)
type idleCheck struct{}

// touch records activity and makes sure an idle check is scheduled.
func (a *cardActor) touch(ctx actor.Context) {
	a.lastActive = time.Now()
	if !a.idleArmed {
		a.armIdle(ctx, a.d.cfg.IdleAfter)
	}
}

func (a *cardActor) armIdle(ctx actor.Context, after time.Duration) {
	a.idleArmed = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(after, func() { root.Send(self, idleCheck{}) })
}

// checkIdle asks the shard to passivate the card once it has been idle
// for IdleAfter; otherwise it checks again when it could be.
func (a *cardActor) checkIdle(ctx actor.Context) {
	a.idleArmed = false
	quiet := time.Since(a.lastActive)
	if quiet < a.d.cfg.IdleAfter {
		a.armIdle(ctx, a.d.cfg.IdleAfter-quiet)
		return
	}
	if a.idle() {
		ctx.Send(a.shard, &passivateRequest{cardID: a.id})
		return
	}
	a.armIdle(ctx, a.d.cfg.IdleAfter)
}

func (a *cardActor) idle() bool {
	return !a.busy && len(a.calls) == 0 && len(a.stash) == 0 && len(a.waiters) == 0
}

// load reads the card's durable state. A failure leaves the actor unable to
// decide, so it crashes and the supervisor restarts it (reloading).
func (a *cardActor) load(ctx actor.Context) {
	snap, err := a.d.store.LoadCard(a.d.ctx, a.id)
	if err != nil {
		panic(fmt.Errorf("card %s: load: %w", a.id, err))
	}
	a.exists, a.card = snap.Found, snap.Card
	a.fundings = make(map[string]*engine.FundingRecord, len(snap.Fundings))
	for i := range snap.Fundings {
		a.fundings[snap.Fundings[i].ID] = &snap.Fundings[i]
	}
	a.withdrawals = make(map[string]*engine.WithdrawalRecord, len(snap.Withdrawals))
	for i := range snap.Withdrawals {
		a.withdrawals[snap.Withdrawals[i].ID] = &snap.Withdrawals[i]
	}
	a.payments = make(map[string]*engine.PaymentRecord, len(snap.Payments))
	for i := range snap.Payments {
		a.payments[snap.Payments[i].Ref] = &snap.Payments[i]
	}
	if a.calls == nil {
		a.calls = map[string]bool{}
	}
}

func (a *cardActor) handle(ctx actor.Context, msg any, sender *actor.PID) {
	switch m := msg.(type) {
	case *IssueCard:
		a.issue(ctx, m, sender)
	case *FundCard:
		a.fund(ctx, m, sender)
	case *Withdraw:
		a.withdraw(ctx, m, sender)
	case *Terminate:
		a.terminate(ctx, m, sender)
	case *freezeCard:
		a.freeze(ctx, m, sender)
	case *sensitiveRequest:
		a.sensitive(ctx, m, sender)
	case *CardEvent:
		a.cardEvent(ctx, m, sender)
	case *paymentResult:
		a.onPayment(ctx, m)
	case *pollPayment:
		a.poll(ctx, m.ref)
	case *issuerResult:
		a.onIssuer(ctx, m)
	case *retryIssuer:
		a.resolveIssuer(m.ref)
	case *resendIssuer:
		a.resend(m.ref)
	case *resendMomo:
		delete(a.calls, m.ref)
		if p := a.payments[m.ref]; p != nil && p.Status == engine.PaymentPending {
			kind := callPayout
			if p.Kind == engine.PaymentCollection {
				kind = callCollect
			}
			a.callMomo(kind, p)
		}
	case *floatGranted:
		a.onFloatGranted(ctx, m.fundingID)
	case *floatQueued:
		a.onFloatQueued(ctx, m.fundingID)
	case *floatExpired:
		a.onFloatExpired(ctx, m.fundingID)
	case *floatRetry:
		if f := a.fundings[m.fundingID]; f != nil && (f.Status == statusPaid || f.Status == statusQueued) {
			a.requestFloat(f)
		}
	case *retryRefund:
		a.retryRefund(ctx, m.fundingID)
	case *recoverCard:
		a.recover(ctx)
		a.reply(ctx, sender, recovered{})
	case *resumeFunding:
		if f := a.fundings[m.fundingID]; f != nil {
			a.resumeFunding(f)
		}
		a.reply(ctx, sender, commandReply{})
	default:
		slog.Debug("card actor: unexpected message", "card", a.id, "type", fmt.Sprintf("%T", msg))
	}
}

// persist submits change and runs then after it committed (err == nil) or
// failed; on failure the state is reloaded first.
func (a *cardActor) persist(ctx actor.Context, change engine.Change, then func(err error)) {
	if err := a.d.fault(FaultBeforeCommit); err != nil {
		return
	}
	a.busy = true
	a.seq++
	seq := a.seq
	a.pending = then
	change.Stream = "card:" + a.id
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.d.journal.Submit(change, func(err error) { root.Send(self, committed{seq: seq, err: err}) })
}

func (a *cardActor) onCommitted(ctx actor.Context, m committed) {
	if m.seq != a.seq || a.pending == nil {
		return
	}
	then := a.pending
	a.pending = nil
	a.busy = false
	if m.err != nil {
		slog.Warn("card change not committed; reloading", "card", a.id, "err", m.err)
		a.load(ctx)
		then(m.err)
		a.redriveLater()
	} else {
		a.failures = 0
		if a.d.fault(FaultAfterCommit) != nil {
			return
		}
		then(nil)
	}
	for !a.busy && len(a.stash) > 0 {
		h := a.stash[0]
		a.stash = a.stash[1:]
		a.handle(ctx, h.msg, h.sender)
	}
}

// redriveLater resumes the card's sagas after a write that did not commit:
// the step that failed is retried from durable state (asking providers for
// the status of its reference), with a backoff so that a permanent conflict
// does not spin.
func (a *cardActor) redriveLater() {
	a.failures++
	wait := min(time.Duration(1<<min(a.failures, 9))*100*time.Millisecond, 30*time.Second)
	a.d.after(wait, func() { a.d.registry.Send(a.id, &recoverCard{}) })
}

func (a *cardActor) reply(ctx actor.Context, to *actor.PID, msg any) {
	if to != nil {
		ctx.Send(to, msg)
	}
}

func (a *cardActor) replyErr(ctx actor.Context, to *actor.PID, err error) {
	if errors.Is(err, engine.ErrDuplicate) {
		err = engine.ErrExists
	}
	a.reply(ctx, to, commandReply{err: err})
}

func (a *cardActor) now() time.Time { return a.d.clock.Now() }

// owned reports whether userID may act on this card; another user's card is
// indistinguishable from a missing one.
func (a *cardActor) owned(userID string) bool {
	return a.exists && a.card.UserID == userID
}

// --- fundings -------------------------------------------------------------

func (a *cardActor) issue(ctx actor.Context, m *IssueCard, sender *actor.PID) {
	if a.exists {
		if f := a.fundings[m.FundingID]; f != nil && a.card.UserID == m.UserID {
			a.reply(ctx, sender, commandReply{card: a.card, funding: *f})
			return
		}
		a.replyErr(ctx, sender, engine.ErrExists)
		return
	}
	now := a.now()
	card := engine.CardRecord{ID: m.CardID, UserID: m.UserID, Nickname: m.Nickname, Status: cardPending,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	f, p, err := a.newFunding(kindIssuance, m.FundingID, m.UserID, m.Quote, m.Phone, m.Operator, now)
	if err != nil {
		a.replyErr(ctx, sender, err)
		return
	}
	a.persist(ctx, engine.Change{Cards: []engine.CardRecord{card}, Fundings: []engine.FundingRecord{f},
		Payments: []engine.PaymentRecord{p}}, func(err error) {
		if err != nil {
			a.replyErr(ctx, sender, err)
			return
		}
		a.exists, a.card = true, card
		a.fundings[f.ID], a.payments[p.Ref] = &f, &p
		a.d.obs.FundingTransition(f.ID, "", f.Status)
		a.reply(ctx, sender, commandReply{card: card, funding: f})
		a.callMomo(callCollect, &p)
	})
}

func (a *cardActor) fund(ctx actor.Context, m *FundCard, sender *actor.PID) {
	if !a.owned(m.UserID) {
		a.replyErr(ctx, sender, engine.ErrNotFound)
		return
	}
	if f := a.fundings[m.FundingID]; f != nil {
		a.reply(ctx, sender, commandReply{card: a.card, funding: *f})
		return
	}
	if a.card.Status != cardActive && a.card.Status != cardFrozen {
		a.replyErr(ctx, sender, engine.ErrCardNotActive)
		return
	}
	now := a.now()
	f, p, err := a.newFunding(kindFunding, m.FundingID, m.UserID, m.Quote, m.Phone, m.Operator, now)
	if err != nil {
		a.replyErr(ctx, sender, err)
		return
	}
	a.persist(ctx, engine.Change{Fundings: []engine.FundingRecord{f}, Payments: []engine.PaymentRecord{p}}, func(err error) {
		if err != nil {
			a.replyErr(ctx, sender, err)
			return
		}
		a.fundings[f.ID], a.payments[p.Ref] = &f, &p
		a.d.obs.FundingTransition(f.ID, "", f.Status)
		a.reply(ctx, sender, commandReply{card: a.card, funding: f})
		a.callMomo(callCollect, &p)
	})
}

func (a *cardActor) newFunding(kind, id, userID string, q engine.Quote, phone string, op engine.Operator, now time.Time) (engine.FundingRecord, engine.PaymentRecord, error) {
	provider, err := a.d.route(op)
	if err != nil {
		return engine.FundingRecord{}, engine.PaymentRecord{}, err
	}
	f := engine.FundingRecord{ID: id, CardID: a.cardID(), UserID: userID, Kind: kind, Status: statusAwaitingPayment,
		CardAmount: q.CardAmount.Minor, MomoAmount: q.MomoAmount.Minor, Fees: q.Fees.Minor, Earnings: q.Earnings.Minor,
		Rate: q.Rate, CostRate: q.CostRate, Phone: phone, Operator: op, Provider: provider, QuoteID: q.ID,
		PaymentDeadline: now.Add(a.d.cfg.PaymentWindow), Version: 1, CreatedAt: now, UpdatedAt: now}
	p := a.newPayment(collectionRef(id), engine.PaymentCollection, "funding", id, provider, op, phone,
		engine.NewMoney(q.MomoAmount.Minor, engine.XOF), now)
	return f, p, nil
}

func (a *cardActor) cardID() string {
	if a.exists {
		return a.card.ID
	}
	return a.id
}

func (a *cardActor) newPayment(ref, kind, ownerKind, ownerID, provider string, op engine.Operator, phone string, amount engine.Money, now time.Time) engine.PaymentRecord {
	return engine.PaymentRecord{Ref: ref, Kind: kind, OwnerKind: ownerKind, OwnerID: ownerID, CardID: a.cardID(),
		Provider: provider, Operator: op, Phone: phone, Amount: amount.Minor, Currency: amount.Currency,
		Status: engine.PaymentPending, NextCheckAt: now.Add(pollDelay(0)), Version: 1, CreatedAt: now, UpdatedAt: now}
}

// onCollection applies the final status of a funding's collection.
func (a *cardActor) onCollection(ctx actor.Context, p engine.PaymentRecord) {
	f := a.fundings[p.OwnerID]
	if f == nil {
		a.persistPayment(ctx, p)
		return
	}
	now := a.now()
	nf := *f
	change := engine.Change{Payments: []engine.PaymentRecord{p}}
	switch {
	case p.Status == engine.PaymentSucceeded && f.Status == statusAwaitingPayment:
		if err := stepFunding(&nf, evPaymentSucceeded, now); err != nil {
			a.persistPayment(ctx, p)
			return
		}
		change.Fundings = []engine.FundingRecord{nf}
		change.Entries = []engine.Entry{collectionEntry(&nf, &p)}
		a.persistFunding(ctx, f, nf, change, func() { a.requestFloat(a.fundings[nf.ID]) })
	case p.Status == engine.PaymentSucceeded:
		// The payer approved after the funding gave up (defect 5): the
		// money is real, so it is recorded, held in suspense and refunded.
		a.lateSuccess(ctx, f, p, change)
	case p.Status == engine.PaymentFailed && f.Status == statusAwaitingPayment:
		if err := stepFunding(&nf, evPaymentFailed, now); err != nil {
			a.persistPayment(ctx, p)
			return
		}
		nf.FailureReason = failureReason("payment_failed", p.Reason)
		change.Fundings = []engine.FundingRecord{nf}
		if nf.Kind == kindIssuance {
			change.Cards = []engine.CardRecord{a.cardWith(cardFailed, now)}
		}
		change.Outbox = a.notifyUser("funding:"+nf.ID+":failed", "Payment failed", "Your mobile money payment did not go through.")
		a.persistFunding(ctx, f, nf, change, nil)
	default:
		a.persistPayment(ctx, p)
	}
}

func (a *cardActor) lateSuccess(ctx actor.Context, f *engine.FundingRecord, p engine.PaymentRecord, change engine.Change) {
	now := a.now()
	change.Entries = []engine.Entry{collectionEntry(f, &p), suspenseInEntry(&p)}
	s := engine.SuspenseRecord{ID: "susp_" + p.Ref, PaymentRef: p.Ref, OwnerID: f.ID, Amount: p.Amount,
		Currency: p.Currency, Status: "open", Version: 1, CreatedAt: now}
	refund := a.newPayment(refundRef(f.ID, 1), engine.PaymentRefund, "funding", f.ID, p.Provider, f.Operator,
		f.Phone, engine.NewMoney(p.Amount, engine.XOF), now)
	change.Suspense = []engine.SuspenseRecord{s}
	change.Payments = append(change.Payments, refund)
	change.Outbox = a.opsAlert("suspense:"+p.Ref, fmt.Sprintf("late payment %s for funding %s held in suspense and refunded", p.Ref, f.ID))
	a.persist(ctx, change, func(err error) {
		if err != nil {
			return
		}
		a.payments[p.Ref], a.payments[refund.Ref] = &p, &refund
		a.d.obs.Suspense(1)
		a.callMomo(callPayout, &refund)
	})
}

func (a *cardActor) requestFloat(f *engine.FundingRecord) {
	if f == nil {
		return
	}
	a.d.treasurySend(&reserveFloat{fundingID: f.ID, cardID: a.card.ID, amount: f.CardAmount,
		deadline: a.now().Add(a.d.cfg.FloatWait)})
}

func (a *cardActor) onFloatQueued(ctx actor.Context, fundingID string) {
	f := a.fundings[fundingID]
	if f == nil || f.Status != statusPaid {
		return
	}
	// The treasury wrote the step with its queued reservation: mirror it.
	nf := *f
	if stepFunding(&nf, evFloatQueued, nf.UpdatedAt) != nil {
		return
	}
	a.fundings[nf.ID] = &nf
	a.d.obs.FundingTransition(nf.ID, f.Status, nf.Status)
}

func (a *cardActor) onFloatGranted(ctx actor.Context, fundingID string) {
	f := a.fundings[fundingID]
	if f == nil || (f.Status != statusPaid && f.Status != statusQueued) {
		return
	}
	// The treasury's grant moved the funding to funding_card in its own
	// transaction (the intent is durable before the issuer is called, and
	// recovery resolves it by the deterministic reference): the card
	// mirrors that step, which took the next version, and calls the issuer.
	nf := *f
	if stepFunding(&nf, evFloatReserved, nf.UpdatedAt) != nil {
		return
	}
	a.fundings[nf.ID] = &nf
	a.d.obs.FundingTransition(nf.ID, f.Status, nf.Status)
	a.callIssuerFor(&nf)
}

func (a *cardActor) callIssuerFor(f *engine.FundingRecord) {
	amount := engine.NewMoney(f.CardAmount, engine.USD)
	if f.Kind == kindIssuance && a.card.IssuerCardID == "" {
		a.callIssuer(issuerCall{kind: issuerCreate, ref: issueRef(f.ID), create: engine.CreateCardRequest{
			Ref: issueRef(f.ID), CardID: a.card.ID, HolderName: holderName(a.card), Amount: amount}})
		return
	}
	a.callIssuer(issuerCall{kind: issuerFund, ref: issueRef(f.ID), op: engine.CardOperation{
		Ref: issueRef(f.ID), IssuerCardID: a.card.IssuerCardID, Amount: amount}})
}

// holderName is the name printed on a new card: its nickname, or a neutral
// name, since the issuer requires one and users need not give theirs.
func holderName(c engine.CardRecord) string {
	if c.Nickname != "" {
		return c.Nickname
	}
	return "Kash Cardholder"
}

func (a *cardActor) onFloatExpired(ctx actor.Context, fundingID string) {
	f := a.fundings[fundingID]
	if f == nil || f.Status != statusQueued {
		return
	}
	nf := *f
	if stepFunding(&nf, evFloatWaitExpired, a.now()) != nil {
		return
	}
	nf.FailureReason = "float_unavailable"
	a.startRefund(ctx, f, nf, engine.Change{}, "")
}

// startRefund moves a paid funding to refunding and pays the momo amount
// back under the first refund reference.
func (a *cardActor) startRefund(ctx actor.Context, f *engine.FundingRecord, nf engine.FundingRecord, change engine.Change, settle string) {
	now := a.now()
	refund := a.newPayment(refundRef(nf.ID, 1), engine.PaymentRefund, "funding", nf.ID, nf.Provider, nf.Operator,
		nf.Phone, engine.NewMoney(nf.MomoAmount, engine.XOF), now)
	change.Fundings = []engine.FundingRecord{nf}
	change.Payments = append(change.Payments, refund)
	if nf.Kind == kindIssuance && a.card.Status == cardPending {
		change.Cards = []engine.CardRecord{a.cardWith(cardFailed, now)}
	}
	a.persistFunding(ctx, f, nf, change, func() {
		a.payments[refund.Ref] = &refund
		if settle == engine.ReservationReleased {
			a.d.treasurySend(&floatReleased{fundingID: nf.ID})
		}
		a.callMomo(callPayout, &refund)
	})
}

// onFundingIssuer applies the issuer's answer to a funding's card call.
func (a *cardActor) onFundingIssuer(ctx actor.Context, f *engine.FundingRecord, m *issuerResult) {
	if f.Status != statusFundingCard {
		return
	}
	now := a.now()
	nf := *f
	switch m.result.Outcome {
	case engine.OutcomeSucceeded:
		if stepFunding(&nf, evIssuerSucceeded, now) != nil {
			return
		}
		card := a.cardWith(a.card.Status, now)
		card.Balance += nf.CardAmount
		if nf.Kind == kindIssuance {
			card.Status = cardActive
			if m.card.IssuerCardID != "" {
				card.IssuerCardID, card.Last4 = m.card.IssuerCardID, m.card.Last4
				card.ExpiryMonth, card.ExpiryYear = m.card.ExpiryMonth, m.card.ExpiryYear
			}
		}
		entry, earning := fundedEntry(&nf, now)
		change := engine.Change{Fundings: []engine.FundingRecord{nf}, Cards: []engine.CardRecord{card},
			Entries: []engine.Entry{entry}, Earnings: []engine.Earning{earning},
			SettleReservations: []engine.ReservationSettlement{{FundingID: nf.ID, Status: engine.ReservationCommitted}},
			Outbox:             a.notifyUser("funding:"+nf.ID+":succeeded", "Card funded", "Your card was funded with "+engine.NewMoney(nf.CardAmount, engine.USD).String()+" USD.")}
		a.persistFunding(ctx, f, nf, change, func() {
			a.card = card
			a.d.treasurySend(&floatCommitted{fundingID: nf.ID, amount: nf.CardAmount})
			a.d.obs.Earned(nf.Kind, nf.Earnings)
		})
	case engine.OutcomeFailed:
		if stepFunding(&nf, evIssuerFailed, now) != nil {
			return
		}
		nf.FailureReason = failureReason("issuer_failed", m.result.Reason)
		a.startRefund(ctx, f, nf, engine.Change{SettleReservations: []engine.ReservationSettlement{
			{FundingID: nf.ID, Status: engine.ReservationReleased}}}, engine.ReservationReleased)
	default:
		a.retryLater(m.ref)
	}
}

// onRefund applies the final status of a refund payment.
func (a *cardActor) onRefund(ctx actor.Context, p engine.PaymentRecord) {
	f := a.fundings[p.OwnerID]
	if f == nil {
		a.persistPayment(ctx, p)
		return
	}
	now := a.now()
	change := engine.Change{Payments: []engine.PaymentRecord{p}}
	if p.Status == engine.PaymentSucceeded {
		change.Entries = []engine.Entry{refundEntry(f, &p)}
		if f.Status == statusRefunding {
			nf := *f
			if stepFunding(&nf, evRefundSucceeded, now) != nil {
				a.persistPayment(ctx, p)
				return
			}
			change.Fundings = []engine.FundingRecord{nf}
			change.Outbox = a.notifyUser("funding:"+nf.ID+":refunded", "Refunded", "Your payment was refunded to your mobile money wallet.")
			a.persistFunding(ctx, f, nf, change, nil)
			return
		}
		// A late payment held in suspense, now refunded.
		change.Suspense = []engine.SuspenseRecord{{ID: "susp_" + collectionRef(f.ID), Status: "refunded",
			Version: 2, ResolvedAt: now}}
		change.Entries = []engine.Entry{suspenseOutEntry(collectionRef(f.ID), &p), refundEntry(f, &p)}
		a.persist(ctx, change, func(err error) {
			if err == nil {
				delete(a.payments, p.Ref)
				a.d.obs.Suspense(-1)
			}
		})
		return
	}
	// A refund that failed is tried again under a new reference (the failed
	// one is final at the provider, so it cannot pay twice), until the
	// attempts run out and a person takes over.
	attempt := refundAttempt(p.Ref)
	if attempt >= a.d.cfg.RefundAttempts {
		nf := *f
		nf.ManualReview = true
		nf.Version++
		nf.UpdatedAt = now
		change.Fundings = []engine.FundingRecord{nf}
		change.Outbox = a.opsAlert("refund:"+f.ID+":manual", fmt.Sprintf("refund of funding %s failed %d times: manual review", f.ID, attempt))
		a.persistFunding(ctx, f, nf, change, func() { a.d.obs.ManualReview(1) })
		return
	}
	a.persist(ctx, change, func(err error) {
		if err != nil {
			return
		}
		a.payments[p.Ref] = &p
		a.d.after(refundBackoff(attempt), func() { a.d.registry.Send(a.id, &retryRefund{fundingID: f.ID}) })
	})
}

// retryRefund starts the next refund attempt of a funding whose latest
// refund failed.
func (a *cardActor) retryRefund(ctx actor.Context, fundingID string) {
	f := a.fundings[fundingID]
	if f == nil {
		return
	}
	last := a.latestRefund(fundingID)
	if last != nil && last.Status != engine.PaymentFailed {
		return
	}
	attempt := 1
	if last != nil {
		attempt = refundAttempt(last.Ref) + 1
	}
	now := a.now()
	refund := a.newPayment(refundRef(f.ID, attempt), engine.PaymentRefund, "funding", f.ID, f.Provider, f.Operator,
		f.Phone, engine.NewMoney(f.MomoAmount, engine.XOF), now)
	a.persist(ctx, engine.Change{Payments: []engine.PaymentRecord{refund}}, func(err error) {
		if err != nil {
			return
		}
		a.payments[refund.Ref] = &refund
		a.callMomo(callPayout, &refund)
	})
}

func (a *cardActor) latestRefund(fundingID string) *engine.PaymentRecord {
	var last *engine.PaymentRecord
	for _, p := range a.payments {
		if p.OwnerID == fundingID && p.Kind == engine.PaymentRefund && (last == nil || refundAttempt(p.Ref) > refundAttempt(last.Ref)) {
			last = p
		}
	}
	return last
}

// persistFunding commits a funding step and applies it in memory.
func (a *cardActor) persistFunding(ctx actor.Context, old *engine.FundingRecord, nf engine.FundingRecord, change engine.Change, then func()) {
	from := old.Status
	a.persist(ctx, change, func(err error) {
		if err != nil {
			return
		}
		a.applyPayments(change.Payments)
		for i := range change.Cards {
			a.card = change.Cards[i]
		}
		f := nf
		if isFinalFunding(f.Status) && !a.hasPendingPayment(f.ID) {
			delete(a.fundings, f.ID)
		} else {
			a.fundings[f.ID] = &f
		}
		a.d.obs.FundingTransition(f.ID, from, f.Status)
		if then != nil {
			then()
		}
	})
}

func (a *cardActor) persistPayment(ctx actor.Context, p engine.PaymentRecord) {
	a.persist(ctx, engine.Change{Payments: []engine.PaymentRecord{p}}, func(err error) {
		if err == nil {
			a.applyPayments([]engine.PaymentRecord{p})
		}
	})
}

func (a *cardActor) applyPayments(ps []engine.PaymentRecord) {
	for i := range ps {
		p := ps[i]
		a.payments[p.Ref] = &p
	}
}

func (a *cardActor) hasPendingPayment(ownerID string) bool {
	for _, p := range a.payments {
		if p.OwnerID == ownerID && p.Status == engine.PaymentPending {
			return true
		}
	}
	return false
}

// cardWith returns the next version of the card with status.
func (a *cardActor) cardWith(status string, now time.Time) engine.CardRecord {
	c := a.card
	c.Status = status
	c.Version++
	c.UpdatedAt = now
	return c
}

func (a *cardActor) notifyUser(key, title, body string) []engine.OutboxMessage {
	return []engine.OutboxMessage{{Channel: "push", DedupeKey: key, Recipient: a.card.UserID, Title: title, Body: body}}
}

func (a *cardActor) opsAlert(key, text string) []engine.OutboxMessage {
	return []engine.OutboxMessage{{Channel: "ops", DedupeKey: key, Recipient: "ops", Body: text}}
}

func failureReason(code, detail string) string {
	if detail == "" {
		return code
	}
	return code + ": " + detail
}

// --- payments ---------------------------------------------------------------

// onPayment applies a payment status from a call, a poll or a webhook. A
// repeated status is not a change (defect 13); only a first final status
// moves the saga on.
func (a *cardActor) onPayment(ctx actor.Context, m *paymentResult) {
	if m.call {
		delete(a.calls, m.ref)
	}
	p := a.payments[m.ref]
	if p == nil || p.Status != engine.PaymentPending {
		return
	}
	if m.err != nil || !m.result.Outcome.Final() {
		if m.result.ProviderRef != "" && p.ProviderRef == "" {
			np := *p
			np.ProviderRef = m.result.ProviderRef
			np.Version++
			np.UpdatedAt = a.now()
			a.persistPayment(ctx, np)
		}
		return
	}
	np := *p
	np.Status = engine.PaymentFailed
	if m.result.Outcome == engine.OutcomeSucceeded {
		np.Status = engine.PaymentSucceeded
	}
	np.StatusChanged = true
	np.Reason = m.result.Reason
	if m.result.ProviderRef != "" {
		np.ProviderRef = m.result.ProviderRef
	}
	np.NextCheckAt = time.Time{}
	np.Version++
	np.UpdatedAt = a.now()
	a.d.obs.PaymentFinal(np.Provider, np.Kind, np.Status)
	switch np.Kind {
	case engine.PaymentCollection:
		a.onCollection(ctx, np)
	case engine.PaymentRefund:
		a.onRefund(ctx, np)
	case engine.PaymentPayout:
		a.onPayout(ctx, np)
	}
}

// poll checks a pending payment whose next check is due, and expires a
// funding whose payer never approved within the payment window. Polling
// goes on with backoff after that: a late success is still seen (defect 5).
func (a *cardActor) poll(ctx actor.Context, ref string) {
	p := a.payments[ref]
	if p == nil || p.Status != engine.PaymentPending {
		return
	}
	now := a.now()
	np := *p
	np.Attempts++
	np.NextCheckAt = now.Add(pollDelay(np.Attempts))
	np.Version++
	np.UpdatedAt = now
	change := engine.Change{Payments: []engine.PaymentRecord{np}}
	f := a.fundings[p.OwnerID]
	expire := p.Kind == engine.PaymentCollection && f != nil && f.Status == statusAwaitingPayment && now.After(f.PaymentDeadline)
	var nf engine.FundingRecord
	if expire {
		nf = *f
		if stepFunding(&nf, evPaymentFailed, now) == nil {
			nf.FailureReason = "payment_expired"
			change.Fundings = []engine.FundingRecord{nf}
			if nf.Kind == kindIssuance {
				change.Cards = []engine.CardRecord{a.cardWith(cardFailed, now)}
			}
		} else {
			expire = false
		}
	}
	a.persist(ctx, change, func(err error) {
		if err != nil {
			return
		}
		a.payments[np.Ref] = &np
		if expire {
			for i := range change.Cards {
				a.card = change.Cards[i]
			}
			a.fundings[nf.ID] = &nf
			a.d.obs.FundingTransition(nf.ID, statusAwaitingPayment, nf.Status)
		}
		if !a.calls[np.Ref] {
			a.callMomo(callStatus, &np)
		}
	})
}

// --- withdrawals ------------------------------------------------------------

func (a *cardActor) withdraw(ctx actor.Context, m *Withdraw, sender *actor.PID) {
	if !a.owned(m.UserID) {
		a.replyErr(ctx, sender, engine.ErrNotFound)
		return
	}
	if w := a.withdrawals[m.WithdrawalID]; w != nil {
		a.reply(ctx, sender, commandReply{card: a.card, withdrawal: *w})
		return
	}
	if a.card.Status != cardActive && a.card.Status != cardFrozen {
		a.replyErr(ctx, sender, engine.ErrCardNotActive)
		return
	}
	a.startWithdrawal(ctx, m.WithdrawalID, m.UserID, m.Quote, m.Phone, m.Operator, "withdrawal", a.card.Status, sender)
}

func (a *cardActor) startWithdrawal(ctx actor.Context, id, userID string, q engine.Quote, phone string, op engine.Operator, purpose, cardStatus string, sender *actor.PID) {
	amount := q.CardAmount.Minor
	if amount <= 0 || amount > a.card.Available() {
		a.replyErr(ctx, sender, engine.ErrInsufficientBalance)
		return
	}
	provider, err := a.d.route(op)
	if err != nil {
		a.replyErr(ctx, sender, err)
		return
	}
	now := a.now()
	card := a.cardWith(cardStatus, now)
	card.Held += amount
	w := engine.WithdrawalRecord{ID: id, CardID: a.card.ID, UserID: userID, Status: statusPending,
		CardAmount: amount, MomoAmount: q.MomoAmount.Minor, Fees: q.Fees.Minor, Earnings: q.Earnings.Minor,
		Rate: q.Rate, CostRate: q.CostRate, Phone: phone, Operator: op, Provider: provider, Purpose: purpose,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	a.persist(ctx, engine.Change{Cards: []engine.CardRecord{card}, Withdrawals: []engine.WithdrawalRecord{w}}, func(err error) {
		if err != nil {
			a.replyErr(ctx, sender, err)
			return
		}
		a.card = card
		a.withdrawals[w.ID] = &w
		a.d.obs.WithdrawalTransition(w.ID, "", w.Status)
		a.reply(ctx, sender, commandReply{card: card, withdrawal: w})
		a.callDebit(&w)
	})
}

func (a *cardActor) callDebit(w *engine.WithdrawalRecord) {
	a.callIssuer(issuerCall{kind: issuerWithdraw, ref: debitRef(w.ID), op: engine.CardOperation{
		Ref: debitRef(w.ID), IssuerCardID: a.card.IssuerCardID, Amount: engine.NewMoney(w.CardAmount, engine.USD)}})
}

func (a *cardActor) onDebit(ctx actor.Context, w *engine.WithdrawalRecord, m *issuerResult) {
	if w.Status != statusPending {
		return
	}
	now := a.now()
	nw := *w
	card := a.cardWith(a.card.Status, now)
	card.Held -= w.CardAmount
	switch m.result.Outcome {
	case engine.OutcomeSucceeded:
		if stepWithdrawal(&nw, evDebitSucceeded, now) != nil {
			return
		}
		card.Balance -= w.CardAmount
		payout := a.newPayment(payoutRef(w.ID), engine.PaymentPayout, "withdrawal", w.ID, w.Provider, w.Operator,
			w.Phone, engine.NewMoney(w.MomoAmount, engine.XOF), now)
		change := engine.Change{Cards: []engine.CardRecord{card}, Withdrawals: []engine.WithdrawalRecord{nw},
			Payments: []engine.PaymentRecord{payout}, Entries: []engine.Entry{debitEntry(&nw)}}
		a.persistWithdrawal(ctx, w, nw, change, func() {
			a.d.treasurySend(&floatReturned{amount: w.CardAmount})
			a.callMomo(callPayout, a.payments[payout.Ref])
		})
	case engine.OutcomeFailed:
		if stepWithdrawal(&nw, evDebitFailed, now) != nil {
			return
		}
		nw.FailureReason = failureReason("issuer_failed", m.result.Reason)
		change := engine.Change{Cards: []engine.CardRecord{card}, Withdrawals: []engine.WithdrawalRecord{nw},
			Outbox: a.notifyUser("withdrawal:"+w.ID+":failed", "Withdrawal failed", "Your withdrawal could not be completed; your card balance is unchanged.")}
		a.persistWithdrawal(ctx, w, nw, change, nil)
	default:
		a.retryLater(m.ref)
	}
}

func (a *cardActor) onPayout(ctx actor.Context, p engine.PaymentRecord) {
	w := a.withdrawals[p.OwnerID]
	if w == nil || w.Status != statusCardDebited {
		a.persistPayment(ctx, p)
		return
	}
	now := a.now()
	if p.Status == engine.PaymentSucceeded {
		nw := *w
		if stepWithdrawal(&nw, evPayoutSucceeded, now) != nil {
			a.persistPayment(ctx, p)
			return
		}
		entry, earning := payoutEntry(&nw, &p, now)
		change := engine.Change{Payments: []engine.PaymentRecord{p}, Withdrawals: []engine.WithdrawalRecord{nw},
			Entries: []engine.Entry{entry}, Earnings: []engine.Earning{earning},
			Outbox: a.notifyUser("withdrawal:"+w.ID+":succeeded", "Withdrawal sent", engine.NewMoney(nw.MomoAmount, engine.XOF).String()+" XOF were sent to your wallet.")}
		a.persistWithdrawal(ctx, w, nw, change, func() {
			a.d.obs.Earned("withdrawal", nw.Earnings)
			if nw.Purpose == purposeTermination {
				a.callTerminate()
			}
		})
		return
	}
	// The payout failed for good: give the money back to the card at the
	// issuer, under its own reference (defect 9: nothing is stranded).
	a.persist(ctx, engine.Change{Payments: []engine.PaymentRecord{p}}, func(err error) {
		if err != nil {
			return
		}
		a.applyPayments([]engine.PaymentRecord{p})
		a.callCreditBack(w)
	})
}

func (a *cardActor) callCreditBack(w *engine.WithdrawalRecord) {
	ref := creditBackRef(w.ID, w.CreditBackAttempt)
	a.callIssuer(issuerCall{kind: issuerFund, ref: ref, op: engine.CardOperation{
		Ref: ref, IssuerCardID: a.card.IssuerCardID, Amount: engine.NewMoney(w.CardAmount, engine.USD)}})
}

func (a *cardActor) onCreditBack(ctx actor.Context, w *engine.WithdrawalRecord, m *issuerResult) {
	if w.Status != statusCardDebited || m.ref != creditBackRef(w.ID, w.CreditBackAttempt) {
		return // settled, or an earlier attempt's answer
	}
	now := a.now()
	switch m.result.Outcome {
	case engine.OutcomeSucceeded:
		nw := *w
		if stepWithdrawal(&nw, evPayoutFailed, now) != nil {
			return
		}
		nw.FailureReason = "payout_failed"
		card := a.cardWith(a.card.Status, now)
		card.Balance += w.CardAmount
		if w.Purpose == purposeTermination && card.Status == cardTerminating {
			card.Status = cardActive
		}
		change := engine.Change{Cards: []engine.CardRecord{card}, Withdrawals: []engine.WithdrawalRecord{nw},
			Entries: []engine.Entry{creditBackEntry(&nw)},
			Outbox:  a.notifyUser("withdrawal:"+w.ID+":failed", "Withdrawal failed", "Your withdrawal could not be paid out; the amount is back on your card.")}
		a.persistWithdrawal(ctx, w, nw, change, func() {
			a.d.treasurySend(&floatTaken{amount: w.CardAmount})
		})
	case engine.OutcomeFailed:
		// The issuer refused and keeps that answer under the reference; the
		// money must still go back to the card. The next attempt gets its
		// own reference, written before it is sent, after a growing pause.
		// Ops are told once the issuer keeps refusing.
		nw := *w
		nw.CreditBackAttempt = max(w.CreditBackAttempt, 1) + 1
		nw.Version++
		nw.UpdatedAt = now
		change := engine.Change{Withdrawals: []engine.WithdrawalRecord{nw}}
		alert := nw.CreditBackAttempt > creditBackAlertAfter && !w.ManualReview
		if alert {
			nw.ManualReview = true
			change.Withdrawals[0] = nw
			change.Outbox = a.opsAlert("creditback:"+w.ID, fmt.Sprintf("credit back of withdrawal %s refused %d times by the issuer (%s): manual review; still retrying",
				w.ID, nw.CreditBackAttempt-1, m.result.Reason))
		}
		next, delay := creditBackRef(nw.ID, nw.CreditBackAttempt), a.d.cfg.IssuerRetry<<min(nw.CreditBackAttempt-2, 10)
		a.persistWithdrawal(ctx, w, nw, change, func() {
			if alert {
				a.d.obs.ManualReview(1)
			}
			a.calls[next] = true
			a.d.after(delay, func() { a.d.registry.Send(a.id, &resendIssuer{ref: next}) })
		})
	default:
		a.retryLater(m.ref)
	}
}

// creditBackAlertAfter is how many refused credit-backs of one withdrawal
// put it under manual review.
const creditBackAlertAfter = 3

func (a *cardActor) persistWithdrawal(ctx actor.Context, old *engine.WithdrawalRecord, nw engine.WithdrawalRecord, change engine.Change, then func()) {
	from := old.Status
	a.persist(ctx, change, func(err error) {
		if err != nil {
			return
		}
		a.applyPayments(change.Payments)
		for i := range change.Cards {
			a.card = change.Cards[i]
		}
		w := nw
		if isFinalWithdrawal(w.Status) {
			delete(a.withdrawals, w.ID)
		} else {
			a.withdrawals[w.ID] = &w
		}
		a.d.obs.WithdrawalTransition(w.ID, from, w.Status)
		if then != nil {
			then()
		}
	})
}

// --- card lifecycle -------------------------------------------------------

func (a *cardActor) freeze(ctx actor.Context, m *freezeCard, sender *actor.PID) {
	if !a.owned(m.userID) {
		a.replyErr(ctx, sender, engine.ErrNotFound)
		return
	}
	want := cardActive
	if m.freeze {
		want = cardFrozen
	}
	if a.card.Status == want {
		a.reply(ctx, sender, commandReply{card: a.card})
		return
	}
	if a.card.Status != cardActive && a.card.Status != cardFrozen {
		a.replyErr(ctx, sender, engine.ErrCardNotActive)
		return
	}
	a.waiters = append(a.waiters, freezeWaiter{sender: sender, freeze: m.freeze})
	kind := issuerUnblock
	if m.freeze {
		kind = issuerBlock
	}
	ref := fmt.Sprintf("%s.%s.%d", a.card.ID, kind, a.card.Version)
	if !a.calls[ref] {
		a.callIssuer(issuerCall{kind: kind, ref: ref, issuerCardID: a.card.IssuerCardID})
	}
}

func (a *cardActor) onFreeze(ctx actor.Context, kind string, m *issuerResult) {
	want := cardActive
	if kind == issuerBlock {
		want = cardFrozen
	}
	var waiters, others []freezeWaiter
	for _, w := range a.waiters {
		if w.freeze == (kind == issuerBlock) {
			waiters = append(waiters, w)
		} else {
			others = append(others, w)
		}
	}
	a.waiters = others
	if m.result.Outcome != engine.OutcomeSucceeded || (a.card.Status != cardActive && a.card.Status != cardFrozen) {
		for _, w := range waiters {
			a.replyErr(ctx, w.sender, fmt.Errorf("%w: issuer did not confirm", engine.ErrBusy))
		}
		return
	}
	card := a.cardWith(want, a.now())
	a.persist(ctx, engine.Change{Cards: []engine.CardRecord{card}}, func(err error) {
		if err == nil {
			a.card = card
		}
		for _, w := range waiters {
			if err != nil {
				a.replyErr(ctx, w.sender, err)
			} else {
				a.reply(ctx, w.sender, commandReply{card: card})
			}
		}
	})
}

func (a *cardActor) terminate(ctx actor.Context, m *Terminate, sender *actor.PID) {
	if !a.owned(m.UserID) {
		a.replyErr(ctx, sender, engine.ErrNotFound)
		return
	}
	switch a.card.Status {
	case cardTerminating, cardTerminated:
		a.reply(ctx, sender, commandReply{card: a.card})
		return
	case cardActive, cardFrozen:
	default:
		a.replyErr(ctx, sender, engine.ErrCardNotActive)
		return
	}
	if len(a.withdrawals) > 0 || a.card.Held > 0 {
		a.replyErr(ctx, sender, fmt.Errorf("%w: a withdrawal is in progress", engine.ErrInvalidState))
		return
	}
	if a.card.Balance > 0 {
		a.startWithdrawal(ctx, m.WithdrawalID, m.UserID, m.Quote, m.Phone, m.Operator, purposeTermination, cardTerminating, sender)
		return
	}
	card := a.cardWith(cardTerminating, a.now())
	a.persist(ctx, engine.Change{Cards: []engine.CardRecord{card}}, func(err error) {
		if err != nil {
			a.replyErr(ctx, sender, err)
			return
		}
		a.card = card
		a.reply(ctx, sender, commandReply{card: card})
		a.callTerminate()
	})
}

func (a *cardActor) callTerminate() {
	a.callIssuer(issuerCall{kind: issuerTerminate, ref: terminateRef(a.card.ID), issuerCardID: a.card.IssuerCardID})
}

func (a *cardActor) onTerminate(ctx actor.Context, m *issuerResult) {
	if a.card.Status != cardTerminating {
		return
	}
	switch m.result.Outcome {
	case engine.OutcomeSucceeded:
		card := a.cardWith(cardTerminated, a.now())
		a.persist(ctx, engine.Change{Cards: []engine.CardRecord{card},
			Outbox: a.notifyUser("card:"+a.card.ID+":terminated", "Card closed", "Your card was terminated.")}, func(err error) {
			if err == nil {
				a.card = card
			}
		})
	case engine.OutcomeFailed:
		a.persist(ctx, engine.Change{Outbox: a.opsAlert("terminate:"+a.card.ID,
			fmt.Sprintf("issuer refused to terminate card %s (%s): manual review", a.card.ID, m.result.Reason))}, func(error) {})
	default:
		a.retryLater(m.ref)
	}
}

func (a *cardActor) sensitive(ctx actor.Context, m *sensitiveRequest, sender *actor.PID) {
	if !a.owned(m.userID) {
		a.replyErr(ctx, sender, engine.ErrNotFound)
		return
	}
	if (a.card.Status != cardActive && a.card.Status != cardFrozen) || a.card.IssuerCardID == "" {
		a.replyErr(ctx, sender, engine.ErrCardNotActive)
		return
	}
	a.d.readSensitive(a.card.IssuerCardID, sender)
}

// cardEvent mirrors a spend or a decline that happened at the issuer.
func (a *cardActor) cardEvent(ctx actor.Context, m *CardEvent, sender *actor.PID) {
	if !a.exists {
		a.replyErr(ctx, sender, engine.ErrNotFound)
		return
	}
	now := a.now()
	at := m.At
	if at.IsZero() {
		at = now
	}
	ev := engine.CardEventRecord{ID: m.EventID, CardID: a.card.ID, Kind: m.Kind, Amount: m.Amount.Minor,
		Currency: engine.USD, Merchant: m.Merchant, Reason: m.Reason, At: at}
	change := engine.Change{CardEvents: []engine.CardEventRecord{ev}}
	card := a.card
	if m.Kind == "spend" {
		card = a.cardWith(a.card.Status, now)
		card.Balance -= m.Amount.Minor
		if card.Balance < 0 {
			// The issuer approved more than our mirror holds: never guess;
			// record the event for ops and keep the mirror at zero.
			slog.Error("spend exceeds the card's mirrored balance", "card", a.card.ID, "event", m.EventID)
			card.Balance = 0
		}
		change.Cards = []engine.CardRecord{card}
		change.Entries = []engine.Entry{spendEntry(a.card.ID, m.EventID, a.card.Balance-card.Balance)}
	}
	a.persist(ctx, change, func(err error) {
		if err != nil {
			a.replyErr(ctx, sender, err)
			return
		}
		a.card = card
		a.reply(ctx, sender, commandReply{card: card})
	})
}

// --- issuer results -------------------------------------------------------

func (a *cardActor) onIssuer(ctx actor.Context, m *issuerResult) {
	delete(a.calls, m.ref)
	if m.err != nil {
		m.result.Outcome = engine.OutcomeUnknown
	}
	owner, kind := splitRef(m.ref)
	switch kind {
	case refIssue:
		if f := a.fundings[owner]; f != nil {
			a.onFundingIssuer(ctx, f, m)
		}
	case refDebit:
		if w := a.withdrawals[owner]; w != nil {
			a.onDebit(ctx, w, m)
		}
	case refCreditBack:
		if w := a.withdrawals[owner]; w != nil {
			a.onCreditBack(ctx, w, m)
		}
	case refTerminate:
		a.onTerminate(ctx, m)
	case issuerBlock, issuerUnblock:
		a.onFreeze(ctx, kind, m)
	}
}

// retryLater resolves an issuer call of unknown outcome after a pause, by
// asking for the status of the same reference.
func (a *cardActor) retryLater(ref string) {
	a.calls[ref] = true
	a.d.after(a.d.cfg.IssuerRetry, func() { a.d.registry.Send(a.id, &retryIssuer{ref: ref}) })
}

func (a *cardActor) resolveIssuer(ref string) {
	delete(a.calls, ref)
	a.callIssuer(issuerCall{kind: issuerStatus, ref: ref})
}

// resend makes an issuer call again under its own reference, after the
// issuer said it never received it.
func (a *cardActor) resend(ref string) {
	delete(a.calls, ref)
	owner, kind := splitRef(ref)
	switch kind {
	case refIssue:
		if f := a.fundings[owner]; f != nil && f.Status == statusFundingCard {
			a.callIssuerFor(f)
		}
	case refDebit:
		if w := a.withdrawals[owner]; w != nil && w.Status == statusPending {
			a.callDebit(w)
		}
	case refCreditBack:
		if w := a.withdrawals[owner]; w != nil && w.Status == statusCardDebited {
			a.callCreditBack(w)
		}
	case refTerminate:
		if a.card.Status == cardTerminating {
			a.callTerminate()
		}
	case issuerBlock, issuerUnblock:
		a.callIssuer(issuerCall{kind: kind, ref: ref})
	}
}

// --- recovery ---------------------------------------------------------------

// recover re-drives every non-final saga of this card after a restart:
// steps whose outcome is unknown are resolved by asking the provider for the
// status of their reference, never by a new reference.
func (a *cardActor) recover(ctx actor.Context) {
	for _, f := range a.fundings {
		a.resumeFunding(f)
	}
	for _, p := range a.payments {
		if p.Status == engine.PaymentPending && !a.calls[p.Ref] {
			a.pollNow(p.Ref)
		}
	}
	for _, w := range a.withdrawals {
		switch w.Status {
		case statusPending:
			a.resolveIssuer(debitRef(w.ID))
		case statusCardDebited:
			if p := a.payments[payoutRef(w.ID)]; p != nil && p.Status == engine.PaymentFailed {
				a.resolveIssuer(creditBackRef(w.ID, w.CreditBackAttempt))
			}
		}
	}
	if a.exists && a.card.Status == cardTerminating && len(a.withdrawals) == 0 {
		a.callTerminate()
	}
}

// resumeFunding drives a funding's next step again, each under its own
// reference.
func (a *cardActor) resumeFunding(f *engine.FundingRecord) {
	switch f.Status {
	case statusAwaitingPayment:
		a.pollNow(collectionRef(f.ID))
	case statusPaid, statusQueued:
		a.requestFloat(f)
	case statusFundingCard:
		a.resolveIssuer(issueRef(f.ID))
	case statusRefunding:
		if last := a.latestRefund(f.ID); last == nil || last.Status == engine.PaymentFailed {
			a.d.registry.Send(a.id, &retryRefund{fundingID: f.ID})
		} else if last.Status == engine.PaymentPending {
			a.pollNow(last.Ref)
		}
	}
}

func (a *cardActor) pollNow(ref string) {
	if p := a.payments[ref]; p != nil && p.Status == engine.PaymentPending && !a.calls[ref] {
		a.callMomo(callStatus, p)
	}
}

// --- references -------------------------------------------------------------

// References are derived from the operation's id, so that every retry and
// every recovery of a step uses the same one (defect 4).
const (
	refIssue      = "issue"
	refDebit      = "debit"
	refCreditBack = "creditback"
	refTerminate  = "terminate"
)

func collectionRef(fundingID string) string { return fundingID + ".collect" }
func issueRef(fundingID string) string      { return fundingID + "." + refIssue }
func debitRef(withdrawalID string) string   { return withdrawalID + "." + refDebit }
func payoutRef(withdrawalID string) string  { return withdrawalID + ".payout" }

// creditBackRef names a withdrawal's credit-back attempt: the first is
// <withdrawal>.creditback, the next ones .creditback.2, .creditback.3...
func creditBackRef(withdrawalID string, attempt int) string {
	if attempt <= 1 {
		return withdrawalID + "." + refCreditBack
	}
	return fmt.Sprintf("%s.%s.%d", withdrawalID, refCreditBack, attempt)
}
func terminateRef(cardID string) string { return cardID + "." + refTerminate }
func refundRef(fundingID string, attempt int) string {
	return fmt.Sprintf("%s.refund.%d", fundingID, attempt)
}

func refundAttempt(ref string) int {
	i := strings.LastIndexByte(ref, '.')
	n := 0
	for _, c := range ref[i+1:] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// splitRef returns the owner id and the step of an issuer reference.
func splitRef(ref string) (owner, kind string) {
	parts := strings.Split(ref, ".")
	if len(parts) < 2 {
		return ref, ""
	}
	return parts[0], parts[1]
}

// retryRefund starts the next attempt of a failed refund.
type retryRefund struct{ fundingID string }

// pollDelay is the backoff between status checks of a pending payment:
// seconds at first, then minutes, capped at an hour, so that polling goes on
// for as long as the payment is pending (at least 24 hours).
func pollDelay(attempt int) time.Duration {
	steps := []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	if attempt < len(steps) {
		return steps[attempt]
	}
	return time.Hour
}

func refundBackoff(attempt int) time.Duration {
	return time.Duration(attempt) * 5 * time.Second
}
