// Package inproc holds in-process providers: a mobile-money provider and a
// card issuer that implement the engine's ports in memory, instantly and
// deterministically, with scriptable failures, timeouts and unknown
// outcomes at every call. Tests use them to crash and replay sagas, and the
// bench's settle scenario uses them to measure the engine alone.
//
// Like real providers they are idempotent by reference: a reference applied
// once is never applied again, and its first outcome is returned. They keep
// their own books, so a test can compare them with the engine's ledger.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"kash/engine"
)

// ErrTimeout is what a scripted timeout returns: the outcome is unknown.
var ErrTimeout = errors.New("inproc: timeout")

// Fault scripts what one call does.
type Fault int

// Faults a Script may return.
const (
	Normal  Fault = iota // do the call
	Fail                 // refuse it: OutcomeFailed, nothing applied
	Timeout              // apply it, then lose the answer (unknown outcome)
	Lost                 // lose the request: nothing applied, unknown outcome
	Pending              // accept it and leave it pending (momo only)
)

// Script decides the fault of each call: op is e.g. "collect", "payout",
// "status", "create", "fund", "withdraw"; ref is the call's reference.
type Script func(op, ref string) Fault

// Momo is an in-process mobile-money provider account.
type Momo struct {
	name string

	mu        sync.Mutex
	script    Script
	wallets   map[string]int64 // phone → XOF; absent means the default balance
	payments  map[string]*momoPayment
	collected int64 // the account's collection balance
	calls     map[string]int
}

type momoPayment struct {
	kind   string
	phone  string
	amount int64
	status engine.Outcome
	reason string
}

// DefaultWallet is the starting balance of every wallet (XOF).
const DefaultWallet = 1_000_000

// NewMomo returns a provider account named name.
func NewMomo(name string) *Momo {
	return &Momo{name: name, wallets: map[string]int64{}, payments: map[string]*momoPayment{}, calls: map[string]int{}}
}

// SetScript replaces the fault script (nil: every call is normal).
func (m *Momo) SetScript(s Script) {
	m.mu.Lock()
	m.script = s
	m.mu.Unlock()
}

// Name implements engine.MomoProvider.
func (m *Momo) Name() string { return m.name }

func (m *Momo) fault(op, ref string) Fault {
	m.calls[op+":"+ref]++
	if m.script == nil {
		return Normal
	}
	return m.script(op, ref)
}

func (m *Momo) wallet(phone string) int64 {
	if b, ok := m.wallets[phone]; ok {
		return b
	}
	if strings.HasSuffix(phone, "0000") {
		return 0
	}
	return DefaultWallet
}

// Collect implements engine.MomoProvider. A phone ending in 0000 has an
// empty wallet; on mtn-bj a phone ending in 9999 never approves.
func (m *Momo) Collect(_ context.Context, req engine.PaymentRequest) (engine.Result, error) {
	return m.do("collect", req)
}

// Payout implements engine.MomoProvider.
func (m *Momo) Payout(_ context.Context, req engine.PaymentRequest) (engine.Result, error) {
	return m.do("payout", req)
}

func (m *Momo) do(kind string, req engine.PaymentRequest) (engine.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fault(kind, req.Ref)
	if p, ok := m.payments[req.Ref]; ok {
		return m.result(req.Ref, p), nil
	}
	switch f {
	case Lost:
		return engine.Result{Ref: req.Ref}, ErrTimeout
	case Fail:
		p := &momoPayment{kind: kind, phone: req.Phone, amount: req.Amount.Minor, status: engine.OutcomeFailed, reason: "scripted"}
		m.payments[req.Ref] = p
		return m.result(req.Ref, p), nil
	}
	p := &momoPayment{kind: kind, phone: req.Phone, amount: req.Amount.Minor, status: engine.OutcomePending}
	m.payments[req.Ref] = p
	switch {
	case f == Pending || (kind == "collect" && req.Operator == engine.OperatorMTN && strings.HasSuffix(req.Phone, "9999")):
	default:
		m.settle(p)
	}
	if f == Timeout {
		return engine.Result{Ref: req.Ref}, ErrTimeout
	}
	return m.result(req.Ref, p), nil
}

// settle applies a pending payment to the books.
func (m *Momo) settle(p *momoPayment) {
	switch p.kind {
	case "collect":
		if m.wallet(p.phone) < p.amount {
			p.status, p.reason = engine.OutcomeFailed, "insufficient_funds"
			return
		}
		m.wallets[p.phone] = m.wallet(p.phone) - p.amount
		m.collected += p.amount
	case "payout":
		if m.collected < p.amount {
			p.status, p.reason = engine.OutcomeFailed, "insufficient_balance"
			return
		}
		m.collected -= p.amount
		m.wallets[p.phone] = m.wallet(p.phone) + p.amount
	}
	p.status = engine.OutcomeSucceeded
}

func (m *Momo) result(ref string, p *momoPayment) engine.Result {
	return engine.Result{Outcome: p.status, Ref: ref, ProviderRef: "momo-" + ref, Reason: p.reason}
}

// Approve settles a pending payment, as a payer approving on the phone.
func (m *Momo) Approve(ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.payments[ref]
	if !ok || p.status != engine.OutcomePending {
		return fmt.Errorf("inproc: no pending payment %s", ref)
	}
	m.settle(p)
	return nil
}

// PaymentStatus implements engine.MomoProvider.
func (m *Momo) PaymentStatus(_ context.Context, ref string, _ engine.Operator) (engine.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.fault("status", ref) {
	case Lost, Timeout:
		return engine.Result{Ref: ref}, ErrTimeout
	}
	p, ok := m.payments[ref]
	if !ok {
		return engine.Result{Ref: ref}, engine.ErrUnknownReference
	}
	return m.result(ref, p), nil
}

// MomoBooks is a provider account's own record.
type MomoBooks struct {
	Collected  int64            // collection balance (XOF)
	Succeeded  map[string]int64 // ref → amount of each succeeded payment
	Kinds      map[string]string
	Wallets    map[string]int64
	CallsByRef map[string]int // "op:ref" → calls
}

// Books returns a copy of the provider's books.
func (m *Momo) Books() MomoBooks {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := MomoBooks{Collected: m.collected, Succeeded: map[string]int64{}, Kinds: map[string]string{},
		Wallets: map[string]int64{}, CallsByRef: map[string]int{}}
	for ref, p := range m.payments {
		if p.status == engine.OutcomeSucceeded {
			b.Succeeded[ref] = p.amount
			b.Kinds[ref] = p.kind
		}
	}
	for k, v := range m.wallets {
		b.Wallets[k] = v
	}
	for k, v := range m.calls {
		b.CallsByRef[k] = v
	}
	return b
}

// Settle implements engine.Settler: it transfers amount of the collected
// balance out to the company (a sweep), once per reference.
func (m *Momo) Settle(_ context.Context, ref string, amount engine.Money) (engine.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fault("settle", ref)
	if p, ok := m.payments[ref]; ok {
		return m.result(ref, p), nil
	}
	switch f {
	case Lost:
		return engine.Result{Ref: ref}, ErrTimeout
	case Fail:
		p := &momoPayment{kind: "settle", amount: amount.Minor, status: engine.OutcomeFailed, reason: "scripted"}
		m.payments[ref] = p
		return m.result(ref, p), nil
	}
	p := &momoPayment{kind: "settle", amount: amount.Minor, status: engine.OutcomeSucceeded}
	if m.collected < amount.Minor {
		p.status, p.reason = engine.OutcomeFailed, "insufficient_balance"
	} else {
		m.collected -= amount.Minor
	}
	m.payments[ref] = p
	if f == Timeout {
		return engine.Result{Ref: ref}, ErrTimeout
	}
	return m.result(ref, p), nil
}
