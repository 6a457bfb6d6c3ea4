package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// samples collects c and returns its samples. (client_golang's testutil
// would need one more module in go.mod for the same few lines.)
func samples(t *testing.T, c prometheus.Collector) []*dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var out []*dto.Metric
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatalf("write %s: %v", m.Desc(), err)
		}
		out = append(out, &pb)
	}
	return out
}

// value returns the value of the single counter or gauge sample of c.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	got := samples(t, c)
	if len(got) != 1 {
		t.Fatalf("collected %d samples, want 1", len(got))
	}
	switch {
	case got[0].Counter != nil:
		return got[0].Counter.GetValue()
	case got[0].Gauge != nil:
		return got[0].Gauge.GetValue()
	}
	t.Fatalf("sample %v is neither a counter nor a gauge", got[0])
	return 0
}

// labelled returns the value of c's sample whose labels include want.
func labelled(t *testing.T, c prometheus.Collector, want map[string]string) float64 {
	t.Helper()
	for _, s := range samples(t, c) {
		labels := map[string]string{}
		for _, lp := range s.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if match {
			return s.GetGauge().GetValue() + s.GetCounter().GetValue()
		}
	}
	t.Fatalf("no sample with labels %v", want)
	return 0
}
