package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
)

// ErrorReason is a value of the reason label of kash_provider_errors_total.
// The vocabulary is closed: a provider's own message or code never becomes a
// label (it is unbounded and may carry personal data); it goes to the logs.
//
// An error is a fault of the call, not a business answer: a collection
// refused because the wallet is empty is a Call with engine.OutcomeFailed
// and no Error, so that users' empty wallets do not page ops.
type ErrorReason string

// The reasons a provider call can fail for.
const (
	ReasonTimeout     ErrorReason = "timeout"      // no answer in time: outcome unknown
	ReasonTransport   ErrorReason = "transport"    // connection refused, reset, TLS failure
	ReasonHTTP5xx     ErrorReason = "http_5xx"     // the provider failed
	ReasonHTTP4xx     ErrorReason = "http_4xx"     // the provider refused our request
	ReasonBadResponse ErrorReason = "bad_response" // an answer we could not parse or verify
	ReasonRateLimited ErrorReason = "rate_limited" // the provider, or our own limit, said slow down
	ReasonCircuitOpen ErrorReason = "circuit_open" // not sent (and no Call recorded): the circuit breaker is open
	ReasonOther       ErrorReason = "other"        // anything else; see the logs
)

var errorReasons = []ErrorReason{
	ReasonTimeout, ReasonTransport, ReasonHTTP5xx, ReasonHTTP4xx, ReasonBadResponse,
	ReasonRateLimited, ReasonCircuitOpen, ReasonOther,
}

// CircuitState is the state of a provider's circuit breaker; its numeric
// value is what kash_provider_circuit_state exports.
type CircuitState int

// Circuit breaker states.
const (
	CircuitClosed   CircuitState = 0 // calls flow
	CircuitHalfOpen CircuitState = 1 // probing with a few calls
	CircuitOpen     CircuitState = 2 // calls refused until the cool-down ends
)

var outcomes = []engine.Outcome{engine.OutcomeUnknown, engine.OutcomePending, engine.OutcomeSucceeded, engine.OutcomeFailed}

// providerBuckets span an in-process fake (about a millisecond) to an MTN
// collection that waits on the payer's phone (up to a minute).
var providerBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60}

// Providers reports calls to the payment providers, the card issuer and the
// notification services, their circuit breakers, and the payments pending
// at each. provider is the provider account's name (engine
// MomoProvider.Name(), "issuer", "sms", ...); operation is the call
// ("collect", "payout", "payment_status", "create_card", "fund_card", ...).
type Providers struct {
	requests *prometheus.CounterVec   // kash_provider_requests_total{provider,operation,outcome}
	duration *prometheus.HistogramVec // kash_provider_request_duration_seconds{provider,operation}
	errors   *prometheus.CounterVec   // kash_provider_errors_total{provider,operation,reason}
	circuit  *prometheus.GaugeVec     // kash_provider_circuit_state{provider}
	pending  *pendingPayments         // kash_payments_pending{provider,age_bucket}
}

func newProviders(m *Metrics, clock engine.Clock) *Providers {
	return &Providers{
		requests: m.counterVec("kash_provider_requests_total",
			"Calls to outside providers, by provider, operation and outcome (succeeded, failed, pending, unknown).",
			"provider", "operation", "outcome"),
		duration: m.histogramVec("kash_provider_request_duration_seconds",
			"Duration of calls to outside providers, by provider and operation.",
			providerBuckets, "provider", "operation"),
		errors: m.counterVec("kash_provider_errors_total",
			"Failed calls to outside providers, by provider, operation and reason (a fixed vocabulary).",
			"provider", "operation", "reason"),
		circuit: m.gaugeVec("kash_provider_circuit_state",
			"Circuit breaker state by provider: 0 closed, 1 half-open, 2 open.", "provider"),
		pending: newPendingPayments(m, clock),
	}
}

// Declare creates the zero series of a provider and its operations, so that
// error ratios and alerts see 0 rather than nothing before the first call.
// kashd calls it once per provider account at start.
func (p *Providers) Declare(provider string, operations ...string) {
	if p == nil {
		return
	}
	p.circuit.WithLabelValues(provider)
	p.pending.declare(provider)
	for _, op := range operations {
		p.duration.WithLabelValues(provider, op)
		for _, o := range outcomes {
			p.requests.WithLabelValues(provider, op, o.String())
		}
		for _, r := range errorReasons {
			p.errors.WithLabelValues(provider, op, string(r))
		}
	}
}

// Call records one call that was sent: its outcome and how long it took.
// Every sent call is recorded here, failed or not; Error adds why a call
// failed. A call that the open circuit kept from being sent is only an
// Error with ReasonCircuitOpen.
func (p *Providers) Call(provider, operation string, outcome engine.Outcome, elapsed time.Duration) {
	if p == nil {
		return
	}
	p.requests.WithLabelValues(provider, operation, outcome.String()).Inc()
	p.duration.WithLabelValues(provider, operation).Observe(elapsed.Seconds())
}

// Observe is Call with the call's start time instead of its duration. It
// and SetCircuitState have the signatures of gateway/providers.Metrics, so
// that the adapters and the router can report here through an interface.
func (p *Providers) Observe(provider, operation string, outcome engine.Outcome, start time.Time) {
	p.Call(provider, operation, outcome, time.Since(start))
}

// SetCircuitState is SetCircuit with the state as its exported number
// (0 closed, 1 half-open, 2 open).
func (p *Providers) SetCircuitState(provider string, state int) {
	p.SetCircuit(provider, CircuitState(state))
}

// Error counts a failed call by reason. A reason outside the vocabulary is
// counted as ReasonOther.
func (p *Providers) Error(provider, operation string, reason ErrorReason) {
	if p == nil {
		return
	}
	p.errors.WithLabelValues(provider, operation, string(knownReason(reason))).Inc()
}

// SetCircuit reports a provider's circuit breaker state.
func (p *Providers) SetCircuit(provider string, state CircuitState) {
	if p == nil {
		return
	}
	p.circuit.WithLabelValues(provider).Set(float64(state))
}

// SetPending replaces the provider's pending payments by the times each of
// them started; they are bucketed by age at scrape time.
func (p *Providers) SetPending(provider string, startedAt []time.Time) {
	if p == nil {
		return
	}
	p.pending.set(provider, startedAt)
}

// ReplacePending sets every provider's pending payments from one snapshot
// (provider → the start time of each pending payment). A provider reported
// before and absent from byProvider has none left: its counts drop to 0
// instead of keeping the last ones it had.
func (p *Providers) ReplacePending(byProvider map[string][]time.Time) {
	if p == nil {
		return
	}
	p.pending.replace(byProvider)
}

func knownReason(r ErrorReason) ErrorReason {
	for _, known := range errorReasons {
		if r == known {
			return r
		}
	}
	return ReasonOther
}
