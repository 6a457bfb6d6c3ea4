package routing

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"pgregory.net/rapid"

	"kash/engine"
	"kash/gateway/providers"
)

// TestRouterInvariants drives a router with random picks, outcomes and
// clock moves and checks, after every step, the rules the engine relies on.
func TestRouterInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clock := newClock()
		reg := prometheus.NewRegistry()
		metrics, err := providers.NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"a", "b", "c"}
		list := make([]engine.MomoProvider, len(names))
		for i, n := range names {
			list[i] = healthy(n)
		}
		cfg := Config{
			FailureThreshold: rapid.IntRange(1, 5).Draw(t, "threshold"),
			Cooldown:         time.Duration(rapid.IntRange(1, 30).Draw(t, "cooldown_s")) * time.Second,
			HalfOpenProbes:   rapid.IntRange(1, 3).Draw(t, "probes"),
			Clock:            clock,
			Metrics:          metrics,
		}
		r, err := New(cfg, map[engine.Operator][]engine.MomoProvider{engine.OperatorMTN: list})
		if err != nil {
			t.Fatal(err)
		}
		consecutive := map[string]int{} // model: unanswered calls in a row while closed

		for step := range rapid.IntRange(1, 200).Draw(t, "steps") {
			_ = step
			switch rapid.IntRange(0, 2).Draw(t, "action") {
			case 0: // a new payment
				before := snapshot(r)
				p, err := r.Pick(engine.OperatorMTN)
				if errors.Is(err, ErrNoProvider) {
					for n, b := range before {
						if b.state == Closed {
							t.Fatalf("no provider although %s is closed", n)
						}
					}
					continue
				}
				if err != nil {
					t.Fatalf("Pick: %v", err)
				}
				if !slices.Contains(names, p.Name()) {
					t.Fatalf("picked %q, not in the route", p.Name())
				}
				b := before[p.Name()]
				if b.state == Open && clock.Now().Sub(b.openedAt) < cfg.Cooldown {
					t.Fatalf("picked %s while open and cooling down", p.Name())
				}
				after := r.accounts[p.Name()].breaker
				if after.state == Open {
					t.Fatalf("picked %s and left it open", p.Name())
				}
				if after.state == HalfOpen && after.probes > cfg.HalfOpenProbes {
					t.Fatalf("%s: %d probes in flight, limit %d", p.Name(), after.probes, cfg.HalfOpenProbes)
				}
			case 1: // an outcome comes back
				name := rapid.SampledFrom(names).Draw(t, "provider")
				outcome := rapid.SampledFrom([]engine.Outcome{
					engine.OutcomeUnknown, engine.OutcomePending, engine.OutcomeSucceeded, engine.OutcomeFailed,
				}).Draw(t, "outcome")
				wasClosed := r.accounts[name].breaker.state == Closed
				r.Record(name, outcome, time.Duration(rapid.IntRange(0, 20000).Draw(t, "latency_ms"))*time.Millisecond)
				if !wasClosed {
					consecutive[name] = 0
					continue
				}
				if outcome != engine.OutcomeUnknown {
					consecutive[name] = 0
				} else {
					consecutive[name]++
				}
				st := r.accounts[name].breaker.state
				if consecutive[name] >= cfg.FailureThreshold {
					if st != Open {
						t.Fatalf("%s: %d unanswered calls in a row, breaker %s", name, consecutive[name], st)
					}
					consecutive[name] = 0
				} else if st != Closed {
					t.Fatalf("%s: opened after %d failures, threshold %d", name, consecutive[name], cfg.FailureThreshold)
				}
			case 2:
				clock.Advance(time.Duration(rapid.IntRange(0, 40).Draw(t, "advance_s")) * time.Second)
			}
			for _, h := range r.Snapshot() {
				if got := circuitStateOf(t, reg, h.Provider); got != float64(h.State) {
					t.Fatalf("%s: gauge %v, state %s", h.Provider, got, h.State)
				}
				if h.Score < 0 || h.Score > 1 {
					t.Fatalf("%s: score %v out of [0,1]", h.Provider, h.Score)
				}
				if h.State != Closed {
					consecutive[h.Provider] = 0
				}
			}
		}
	})
}

type breakerView struct {
	state    State
	openedAt time.Time
}

func snapshot(r *Router) map[string]breakerView {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]breakerView{}
	for n, acc := range r.accounts {
		out[n] = breakerView{acc.breaker.state, acc.breaker.openedAt}
	}
	return out
}

func circuitStateOf(t *rapid.T, reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != providers.MetricCircuitState {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge for %s", name)
	return -1
}
