package main

import (
	"time"

	"kash/actors"
	"kash/engine"
	"kash/metrics"
)

// metricsObserver reports what the actors do to the metrics registry, and
// tells the gateway's long polls when an operation is final.
type metricsObserver struct {
	m     *metrics.Metrics
	final func(withdrawal bool, id string)
}

var _ actors.Observer = metricsObserver{}

func (o metricsObserver) Activated(kind string)  { o.m.Actors.Activated(metrics.ActorKind(kind)) }
func (o metricsObserver) Passivated(kind string) { o.m.Actors.Passivated(metrics.ActorKind(kind)) }
func (o metricsObserver) FundingTransition(id, from, to string) {
	o.m.Sagas.FundingTransition(from, to)
	if engine.FundingStatus(to).IsFinal() {
		o.final(false, id)
	}
	if from == string(engine.FundingStatusQueuedForFloat) && to == string(engine.FundingStatusRefunding) {
		o.m.Treasury.QueueExpired() // the only way out of the queue but float
	}
}
func (o metricsObserver) WithdrawalTransition(id, from, to string) {
	o.m.Sagas.WithdrawalTransition(from, to)
	if engine.WithdrawalStatus(to).IsFinal() {
		o.final(true, id)
	}
}
func (o metricsObserver) PaymentFinal(_, kind, status string) {
	if kind != engine.PaymentRefund {
		return
	}
	switch status {
	case string(metrics.RefundSucceeded):
		o.m.Sagas.Refund(metrics.RefundSucceeded)
	case string(metrics.RefundFailed):
		o.m.Sagas.Refund(metrics.RefundFailed) // the card actor retries it
	}
}
func (o metricsObserver) Earned(operation string, xofMinor int64) {
	o.m.Money.Earned(operation, engine.NewMoney(xofMinor, engine.XOF))
}
func (o metricsObserver) Suspense(int)     {}
func (o metricsObserver) ManualReview(int) {}
func (o metricsObserver) Treasury(v actors.TreasuryView) {
	o.m.Treasury.SetFloat(engine.NewMoney(v.Available, engine.USD), engine.NewMoney(v.Reserved, engine.USD))
	var oldest time.Time
	if v.QueueCount > 0 {
		oldest = time.Now().Add(-v.OldestQueue)
	}
	o.m.Treasury.SetQueue(v.QueueCount, engine.NewMoney(v.QueueAmount, engine.USD), oldest)
	o.m.Treasury.SetSweepsInFlight(v.Sweeps)
}

// routerAdapter lets the actors route new payments through the
// health-scored router of gateway/providers/routing.
type routerAdapter struct {
	pick   func(op engine.Operator) (engine.MomoProvider, error)
	record func(provider string, outcome engine.Outcome, latency time.Duration)
}

func (r routerAdapter) Route(op engine.Operator) (string, error) {
	p, err := r.pick(op)
	if err != nil {
		return "", err
	}
	return p.Name(), nil
}

func (r routerAdapter) Record(provider string, outcome engine.Outcome, _ error, took time.Duration) {
	r.record(provider, outcome, took)
}
