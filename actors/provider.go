package actors

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// providerActor is one provider account (a momo provider, or the card
// issuer). It bounds the calls in flight to the account, performs each
// call on its own goroutine with a deadline so that its mailbox never
// blocks, and sends each result to the card that asked, through the
// registry. Routing health and circuit state are kept by the Router.
type providerActor struct {
	name     string
	d        *deps
	momo     engine.MomoProvider
	issuer   engine.CardIssuer
	limit    int
	inflight int
	queue    []any
}

type callDone struct{}

func (p *providerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *momoCall, *issuerCall:
		if p.inflight >= p.limit {
			p.queue = append(p.queue, m)
			return
		}
		p.start(ctx, m)
	case callDone:
		p.inflight--
		if len(p.queue) > 0 && p.inflight < p.limit {
			next := p.queue[0]
			p.queue = p.queue[1:]
			p.start(ctx, next)
		}
	}
}

func (p *providerActor) start(ctx actor.Context, m any) {
	p.inflight++
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		defer root.Send(self, callDone{})
		switch c := m.(type) {
		case *momoCall:
			p.doMomo(c)
		case *issuerCall:
			p.doIssuer(c)
		}
	}()
}

func (p *providerActor) doMomo(c *momoCall) {
	ctx, cancel := context.WithTimeout(p.d.ctx, p.d.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	var res engine.Result
	var err error
	switch c.kind {
	case callCollect:
		res, err = p.momo.Collect(ctx, c.req)
	case callPayout:
		res, err = p.momo.Payout(ctx, c.req)
	default:
		res, err = p.momo.PaymentStatus(ctx, c.req.Ref, c.req.Operator)
		if errors.Is(err, engine.ErrUnknownReference) {
			p.d.router.Record(p.name, engine.OutcomeUnknown, nil, time.Since(start))
			p.d.registry.Send(c.cardID, &resendMomo{ref: c.req.Ref})
			return
		}
	}
	if err != nil {
		res.Outcome = engine.OutcomeUnknown
	}
	p.d.router.Record(p.name, res.Outcome, err, time.Since(start))
	if p.d.fault(FaultAfterCall) != nil {
		return
	}
	p.d.registry.Send(c.cardID, &paymentResult{ref: c.req.Ref, result: res, err: err, call: true})
}

func (p *providerActor) doIssuer(c *issuerCall) {
	ctx, cancel := context.WithTimeout(p.d.ctx, p.d.cfg.CallTimeout)
	defer cancel()
	var res engine.Result
	var card engine.IssuedCard
	var err error
	switch c.kind {
	case issuerCreate:
		res, card, err = p.issuer.CreateCard(ctx, c.create)
	case issuerFund:
		res, err = p.issuer.FundCard(ctx, c.op)
	case issuerWithdraw:
		res, err = p.issuer.WithdrawCard(ctx, c.op)
	case issuerBlock:
		res, err = p.issuer.BlockCard(ctx, c.ref, c.issuerCardID)
	case issuerUnblock:
		res, err = p.issuer.UnblockCard(ctx, c.ref, c.issuerCardID)
	case issuerTerminate:
		res, err = p.issuer.TerminateCard(ctx, c.ref, c.issuerCardID)
	default:
		res, card, err = p.issuer.OperationStatus(ctx, c.ref)
		if errors.Is(err, engine.ErrUnknownReference) {
			// The issuer never saw this reference: the call did not take
			// effect, so the card sends it again under the same reference.
			p.d.registry.Send(c.cardID, &resendIssuer{ref: c.ref})
			return
		}
	}
	if err != nil {
		res.Outcome = engine.OutcomeUnknown
	}
	if p.d.fault(FaultAfterCall) != nil {
		return
	}
	p.d.registry.Send(c.cardID, &issuerResult{ref: c.ref, result: res, card: card, err: err})
}

// resendIssuer and resendMomo tell a card that the provider never received
// ref: the card sends the original request again, under the same ref.
type (
	resendIssuer struct{ ref string }
	resendMomo   struct{ ref string }
)
