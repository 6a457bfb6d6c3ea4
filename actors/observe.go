package actors

import (
	"time"

	"kash/engine"
)

// Router chooses the momo provider account for a new payment and learns
// from the outcome of each call. An in-flight payment never moves: its
// provider is recorded with it, and Route is asked only for new ones.
type Router interface {
	Route(op engine.Operator) (provider string, err error)
	Record(provider string, outcome engine.Outcome, err error, took time.Duration)
}

// ActorObserver is told of card actor activations and passivations.
type ActorObserver interface {
	Activated(kind string)
	Passivated(kind string)
}

// Observer receives what the engine does, for metrics. Implementations must
// be cheap and safe for concurrent use.
type Observer interface {
	ActorObserver
	// FundingTransition and WithdrawalTransition are told after each
	// committed status change of an operation ("" from: created).
	FundingTransition(id, from, to string)
	WithdrawalTransition(id, from, to string)
	PaymentFinal(provider, kind, status string)
	Earned(operation string, xofMinor int64)
	Suspense(delta int)
	ManualReview(delta int)
	Treasury(v TreasuryView)
}

// NopObserver ignores everything.
type NopObserver struct{}

// Activated implements Observer.
func (NopObserver) Activated(string) {}

// Passivated implements Observer.
func (NopObserver) Passivated(string) {}

// FundingTransition implements Observer.
func (NopObserver) FundingTransition(string, string, string) {}

// WithdrawalTransition implements Observer.
func (NopObserver) WithdrawalTransition(string, string, string) {}

// PaymentFinal implements Observer.
func (NopObserver) PaymentFinal(string, string, string) {}

// Earned implements Observer.
func (NopObserver) Earned(string, int64) {}

// Suspense implements Observer.
func (NopObserver) Suspense(int) {}

// ManualReview implements Observer.
func (NopObserver) ManualReview(int) {}

// Treasury implements Observer.
func (NopObserver) Treasury(TreasuryView) {}

// StaticRouter routes every operator to one provider account by a fixed
// table; it keeps no health. Production wires the health-scored router of
// gateway/providers.
type StaticRouter map[engine.Operator]string

// Route implements Router.
func (r StaticRouter) Route(op engine.Operator) (string, error) {
	if p, ok := r[op]; ok {
		return p, nil
	}
	return "", engine.ErrBusy
}

// Record implements Router.
func (StaticRouter) Record(string, engine.Outcome, error, time.Duration) {}
