package actors

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// FaultPoint names a step boundary where a test may crash the engine.
type FaultPoint string

// Step boundaries of every saga.
const (
	FaultBeforeCommit FaultPoint = "before-commit" // a step decided, its change not yet submitted
	FaultAfterCommit  FaultPoint = "after-commit"  // the change committed, its effects not yet performed
	FaultBeforeCall   FaultPoint = "before-call"   // intent durable, provider not yet called
	FaultAfterCall    FaultPoint = "after-call"    // provider answered, the answer not yet applied
)

// FaultHook decides whether the engine crashes at a step boundary. A crash
// stops every actor where it stands, as a killed process would: nothing
// after that point is written, called or answered.
type FaultHook func(point FaultPoint) bool

var errCrashed = errors.New("engine crashed (fault injection)")

// deps is what every actor of one engine shares.
type deps struct {
	ctx      context.Context
	cfg      Config
	system   *actor.ActorSystem
	journal  engine.Journal
	store    engine.StateStore
	clock    engine.Clock
	registry *Registry
	treasury *actor.PID
	momo     map[string]*actor.PID // provider account actors by name
	settlers map[string]engine.Settler
	issuer   *actor.PID
	router   Router
	cards    engine.CardIssuer
	obs      Observer
	hook     FaultHook
	crash    atomic.Bool
}

func (d *deps) crashed() bool { return d.crash.Load() }

// fault reports errCrashed when the hook crashes the engine at point.
func (d *deps) fault(point FaultPoint) error {
	if d.crash.Load() {
		return errCrashed
	}
	if d.hook != nil && d.hook(point) {
		d.crash.Store(true)
		return errCrashed
	}
	return nil
}

func (d *deps) route(op engine.Operator) (string, error) {
	name, err := d.router.Route(op)
	if err != nil {
		return "", errors.Join(engine.ErrBusy, err)
	}
	if _, ok := d.momo[name]; !ok {
		return "", errors.Join(engine.ErrBusy, errors.New("routed to an unknown provider "+name))
	}
	return name, nil
}

func (d *deps) treasurySend(msg any) {
	if d.crash.Load() {
		return
	}
	d.system.Root.Send(d.treasury, msg)
}

// after runs f once d elapses, unless the engine crashed meanwhile.
func (d *deps) after(wait time.Duration, f func()) {
	time.AfterFunc(wait, func() {
		if !d.crash.Load() {
			f()
		}
	})
}

// readSensitive reads card data live from the issuer and answers to, off
// the card's mailbox. The data is never stored, logged or cached.
func (d *deps) readSensitive(issuerCardID string, to *actor.PID) {
	go func() {
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.CallTimeout)
		defer cancel()
		sc, err := d.cards.CardDetails(ctx, issuerCardID)
		if err != nil {
			err = errors.Join(engine.ErrBusy, err)
		}
		if to != nil {
			d.system.Root.Send(to, commandReply{sensitive: sc, err: err})
		}
	}()
}

// Momo and issuer calls, as the card actor makes them.

const (
	callCollect = "collect"
	callPayout  = "payout"
	callStatus  = "status"
)

const (
	issuerCreate    = "create"
	issuerFund      = "fund"
	issuerWithdraw  = "withdraw"
	issuerBlock     = "block"
	issuerUnblock   = "unblock"
	issuerTerminate = "terminate"
	issuerStatus    = "status"
)

// momoCall asks a provider account actor to make one call for a card.
type momoCall struct {
	cardID string
	kind   string
	req    engine.PaymentRequest
}

// issuerCall asks the issuer actor to make one call for a card.
type issuerCall struct {
	cardID       string
	kind         string
	ref          string
	issuerCardID string
	create       engine.CreateCardRequest
	op           engine.CardOperation
}

func (a *cardActor) callMomo(kind string, p *engine.PaymentRecord) {
	if p == nil || a.d.fault(FaultBeforeCall) != nil {
		return
	}
	pid := a.d.momo[p.Provider]
	if pid == nil {
		return
	}
	a.calls[p.Ref] = true
	a.d.system.Root.Send(pid, &momoCall{cardID: a.id, kind: kind, req: engine.PaymentRequest{
		Ref: p.Ref, Phone: p.Phone, Operator: p.Operator, Amount: engine.NewMoney(p.Amount, p.Currency)}})
}

func (a *cardActor) callIssuer(c issuerCall) {
	if a.d.fault(FaultBeforeCall) != nil {
		return
	}
	c.cardID = a.id
	if c.issuerCardID == "" {
		c.issuerCardID = a.card.IssuerCardID
	}
	a.calls[c.ref] = true
	a.d.system.Root.Send(a.d.issuer, &c)
}
