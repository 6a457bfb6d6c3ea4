package providers

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
)

// Metric names. The lead's metrics package and the dashboards refer to them.
const (
	MetricRequests     = "kash_provider_requests_total"
	MetricDuration     = "kash_provider_request_duration_seconds"
	MetricCircuitState = "kash_provider_circuit_state"
)

// Recorder is where provider calls are reported. kashd passes the
// collectors of package metrics (which own the registry) through MetricsOn.
type Recorder interface {
	Observe(provider, operation string, outcome engine.Outcome, start time.Time)
	SetCircuitState(provider string, state int)
}

// Metrics holds the provider collectors. A nil *Metrics is valid and records
// nothing, so tests and tools need not build one.
type Metrics struct {
	sink     Recorder
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	circuit  *prometheus.GaugeVec
}

// NewMetrics creates the collectors and registers them on reg. Registering
// twice on one registry (several adapters, or the router and the adapters
// each calling NewMetrics) reuses the collectors already there instead of
// failing, so every caller may simply call NewMetrics(reg).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "Calls to outside providers by provider account, operation and outcome (succeeded, failed, pending, unknown).",
		}, []string{"provider", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricDuration,
			Help: "Duration of calls to outside providers, timeouts included.",
			// Providers answer in tens of milliseconds to tens of seconds
			// (MTN waits on the payer's phone), hence the wide range.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"provider", "operation"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricCircuitState,
			Help: "Circuit breaker state per provider account: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.circuit, err = register(reg, m.circuit); err != nil {
		return nil, err
	}
	return m, nil
}

// MetricsOn returns Metrics that report to r instead of collectors of their
// own: in kashd, the registry of package metrics owns these names.
func MetricsOn(r Recorder) *Metrics { return &Metrics{sink: r} }

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register provider metrics: %w", err)
}

// Observe records one call: its outcome and how long it took since start.
func (m *Metrics) Observe(provider, operation string, outcome engine.Outcome, start time.Time) {
	if m == nil {
		return
	}
	if m.sink != nil {
		m.sink.Observe(provider, operation, outcome, start)
		return
	}
	m.requests.WithLabelValues(provider, operation, outcome.String()).Inc()
	m.duration.WithLabelValues(provider, operation).Observe(time.Since(start).Seconds())
}

// SetCircuitState publishes a breaker state (0 closed, 1 half-open, 2 open).
func (m *Metrics) SetCircuitState(provider string, state int) {
	if m == nil {
		return
	}
	if m.sink != nil {
		m.sink.SetCircuitState(provider, state)
		return
	}
	m.circuit.WithLabelValues(provider).Set(float64(state))
}
