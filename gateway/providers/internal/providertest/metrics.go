package providertest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"kash/gateway/providers"
)

// NewMetrics returns provider metrics on a fresh registry.
func NewMetrics(t testing.TB) (*providers.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := providers.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// Requests reads kash_provider_requests_total for the labels (0 if absent).
func Requests(t testing.TB, reg *prometheus.Registry, provider, operation, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"provider": provider, "operation": operation, "outcome": outcome}
	for _, f := range families {
		if f.GetName() != providers.MetricRequests {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// Observations reads the sample count of kash_provider_request_duration_seconds.
func Observations(t testing.TB, reg *prometheus.Registry, provider, operation string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != providers.MetricDuration {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if (l.GetName() == "provider" && l.GetValue() != provider) ||
					(l.GetName() == "operation" && l.GetValue() != operation) {
					continue metrics
				}
			}
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}
