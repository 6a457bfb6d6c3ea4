package inproc

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"kash/engine"
)

// Issuer is an in-process card issuer holding a USD float.
type Issuer struct {
	mu     sync.Mutex
	script Script
	float  int64
	cards  map[string]*issuedCard // by issuer card id
	byCard map[string]string      // engine card id → issuer card id
	ops    map[string]*issuerOp   // by reference
	calls  map[string]int
	nextID int
}

type issuedCard struct {
	engineID string
	balance  int64
	status   string // active, blocked, terminated
}

type issuerOp struct {
	result engine.Result
	card   engine.IssuedCard
}

// NewIssuer returns an issuer with float (USD minor units).
func NewIssuer(float int64) *Issuer {
	return &Issuer{float: float, cards: map[string]*issuedCard{}, byCard: map[string]string{},
		ops: map[string]*issuerOp{}, calls: map[string]int{}}
}

// SetScript replaces the fault script (nil: every call is normal).
func (is *Issuer) SetScript(s Script) {
	is.mu.Lock()
	is.script = s
	is.mu.Unlock()
}

// AddFloat credits the issuer float, as a deposit at the issuer.
func (is *Issuer) AddFloat(minor int64) {
	is.mu.Lock()
	is.float += minor
	is.mu.Unlock()
}

func (is *Issuer) fault(op, ref string) Fault {
	is.calls[op+":"+ref]++
	if is.script == nil {
		return Normal
	}
	return is.script(op, ref)
}

// apply runs one idempotent operation under ref.
func (is *Issuer) apply(op, ref string, do func() (engine.Result, engine.IssuedCard)) (engine.Result, engine.IssuedCard, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	f := is.fault(op, ref)
	if done, ok := is.ops[ref]; ok {
		return done.result, done.card, nil
	}
	switch f {
	case Lost:
		return engine.Result{Ref: ref}, engine.IssuedCard{}, ErrTimeout
	case Fail:
		r := engine.Result{Outcome: engine.OutcomeFailed, Ref: ref, Reason: "scripted"}
		is.ops[ref] = &issuerOp{result: r}
		return r, engine.IssuedCard{}, nil
	}
	r, c := do()
	r.Ref = ref
	is.ops[ref] = &issuerOp{result: r, card: c}
	if f == Timeout {
		return engine.Result{Ref: ref}, engine.IssuedCard{}, ErrTimeout
	}
	return r, c, nil
}

func failed(reason string) engine.Result {
	return engine.Result{Outcome: engine.OutcomeFailed, Reason: reason}
}

var succeeded = engine.Result{Outcome: engine.OutcomeSucceeded}

// CreateCard implements engine.CardIssuer.
func (is *Issuer) CreateCard(_ context.Context, req engine.CreateCardRequest) (engine.Result, engine.IssuedCard, error) {
	return is.apply("create", req.Ref, func() (engine.Result, engine.IssuedCard) {
		if is.float < req.Amount.Minor {
			return failed("insufficient_float"), engine.IssuedCard{}
		}
		is.float -= req.Amount.Minor
		is.nextID++
		id := "ic_" + strconv.Itoa(is.nextID)
		is.cards[id] = &issuedCard{engineID: req.CardID, balance: req.Amount.Minor, status: "active"}
		is.byCard[req.CardID] = id
		return succeeded, engine.IssuedCard{IssuerCardID: id, Last4: fmt.Sprintf("%04d", is.nextID%10000), ExpiryMonth: 12, ExpiryYear: 2030}
	})
}

// FundCard implements engine.CardIssuer.
func (is *Issuer) FundCard(_ context.Context, op engine.CardOperation) (engine.Result, error) {
	r, _, err := is.apply("fund", op.Ref, func() (engine.Result, engine.IssuedCard) {
		c := is.cards[op.IssuerCardID]
		switch {
		case c == nil || c.status == "terminated":
			return failed("card_not_found"), engine.IssuedCard{}
		case is.float < op.Amount.Minor:
			return failed("insufficient_float"), engine.IssuedCard{}
		}
		is.float -= op.Amount.Minor
		c.balance += op.Amount.Minor
		return succeeded, engine.IssuedCard{}
	})
	return r, err
}

// WithdrawCard implements engine.CardIssuer.
func (is *Issuer) WithdrawCard(_ context.Context, op engine.CardOperation) (engine.Result, error) {
	r, _, err := is.apply("withdraw", op.Ref, func() (engine.Result, engine.IssuedCard) {
		c := is.cards[op.IssuerCardID]
		switch {
		case c == nil || c.status == "terminated":
			return failed("card_not_found"), engine.IssuedCard{}
		case c.balance < op.Amount.Minor:
			return failed("insufficient_balance"), engine.IssuedCard{}
		}
		c.balance -= op.Amount.Minor
		is.float += op.Amount.Minor
		return succeeded, engine.IssuedCard{}
	})
	return r, err
}

func (is *Issuer) setStatus(op, ref, issuerCardID, status string) (engine.Result, error) {
	r, _, err := is.apply(op, ref, func() (engine.Result, engine.IssuedCard) {
		c := is.cards[issuerCardID]
		if c == nil || c.status == "terminated" {
			return failed("card_not_found"), engine.IssuedCard{}
		}
		c.status = status
		return succeeded, engine.IssuedCard{}
	})
	return r, err
}

// BlockCard implements engine.CardIssuer.
func (is *Issuer) BlockCard(_ context.Context, ref, issuerCardID string) (engine.Result, error) {
	return is.setStatus("block", ref, issuerCardID, "blocked")
}

// UnblockCard implements engine.CardIssuer.
func (is *Issuer) UnblockCard(_ context.Context, ref, issuerCardID string) (engine.Result, error) {
	return is.setStatus("unblock", ref, issuerCardID, "active")
}

// TerminateCard implements engine.CardIssuer.
func (is *Issuer) TerminateCard(_ context.Context, ref, issuerCardID string) (engine.Result, error) {
	return is.setStatus("terminate", ref, issuerCardID, "terminated")
}

// OperationStatus implements engine.CardIssuer.
func (is *Issuer) OperationStatus(_ context.Context, ref string) (engine.Result, engine.IssuedCard, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	switch is.fault("status", ref) {
	case Lost, Timeout:
		return engine.Result{Ref: ref}, engine.IssuedCard{}, ErrTimeout
	}
	op, ok := is.ops[ref]
	if !ok {
		return engine.Result{Ref: ref}, engine.IssuedCard{}, engine.ErrUnknownReference
	}
	return op.result, op.card, nil
}

// CardDetails implements engine.CardIssuer.
func (is *Issuer) CardDetails(_ context.Context, issuerCardID string) (engine.SensitiveCard, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if _, ok := is.cards[issuerCardID]; !ok {
		return engine.SensitiveCard{}, fmt.Errorf("inproc: card %s not found", issuerCardID)
	}
	return engine.SensitiveCard{PAN: "4000000000000002", CVV: "123", ExpiryMonth: 12, ExpiryYear: 2030}, nil
}

// FloatBalance implements engine.CardIssuer.
func (is *Issuer) FloatBalance(context.Context) (engine.Money, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	return engine.NewMoney(is.float, engine.USD), nil
}

// Spend takes amount off the card of engine card id, as a merchant would;
// it reports whether the issuer approved it.
func (is *Issuer) Spend(cardID string, amount int64) bool {
	is.mu.Lock()
	defer is.mu.Unlock()
	c := is.cards[is.byCard[cardID]]
	if c == nil || c.status != "active" || c.balance < amount {
		return false
	}
	c.balance -= amount
	return true
}

// IssuerBooks is the issuer's own record.
type IssuerBooks struct {
	Float      int64
	Cards      map[string]int64 // engine card id → balance
	Status     map[string]string
	CallsByRef map[string]int
}

// Books returns a copy of the issuer's books.
func (is *Issuer) Books() IssuerBooks {
	is.mu.Lock()
	defer is.mu.Unlock()
	b := IssuerBooks{Float: is.float, Cards: map[string]int64{}, Status: map[string]string{}, CallsByRef: map[string]int{}}
	for _, c := range is.cards {
		b.Cards[c.engineID] = c.balance
		b.Status[c.engineID] = c.status
	}
	for k, v := range is.calls {
		b.CallsByRef[k] = v
	}
	return b
}
