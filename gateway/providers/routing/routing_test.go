package routing

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
	"kash/gateway/providers"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeProvider is an in-process MomoProvider whose next answers the test
// sets; it stands for an adapter, not for a provider's HTTP server.
type fakeProvider struct {
	name    string
	outcome engine.Outcome
	err     error
	calls   int
}

func (f *fakeProvider) Name() string { return f.name }

func (f *fakeProvider) answer(ref string) (engine.Result, error) {
	f.calls++
	if f.err != nil {
		return engine.Result{Outcome: engine.OutcomeUnknown, Ref: ref}, f.err
	}
	return engine.Result{Outcome: f.outcome, Ref: ref}, nil
}

func (f *fakeProvider) Collect(_ context.Context, r engine.PaymentRequest) (engine.Result, error) {
	return f.answer(r.Ref)
}

func (f *fakeProvider) Payout(_ context.Context, r engine.PaymentRequest) (engine.Result, error) {
	return f.answer(r.Ref)
}

func (f *fakeProvider) PaymentStatus(_ context.Context, ref string, _ engine.Operator) (engine.Result, error) {
	return f.answer(ref)
}

func healthy(name string) *fakeProvider {
	return &fakeProvider{name: name, outcome: engine.OutcomeSucceeded}
}

func newRouter(t *testing.T, clock *fakeClock, reg prometheus.Registerer, list ...engine.MomoProvider) *Router {
	t.Helper()
	var m *providers.Metrics
	if reg != nil {
		var err error
		if m, err = providers.NewMetrics(reg); err != nil {
			t.Fatal(err)
		}
	}
	r, err := New(Config{FailureThreshold: 3, Cooldown: 10 * time.Second, Clock: clock, Metrics: m},
		map[engine.Operator][]engine.MomoProvider{engine.OperatorMTN: list, engine.OperatorMoov: list[:1]})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pickName(t *testing.T, r *Router, op engine.Operator) string {
	t.Helper()
	p, err := r.Pick(op)
	if err != nil {
		t.Fatalf("Pick(%s): %v", op, err)
	}
	return p.Name()
}

func collect(t *testing.T, p engine.MomoProvider) {
	t.Helper()
	_, _ = p.Collect(context.Background(), engine.PaymentRequest{Ref: "r", Operator: engine.OperatorMTN})
}

func state(t *testing.T, r *Router, name string) State {
	t.Helper()
	for _, h := range r.Snapshot() {
		if h.Provider == name {
			return h.State
		}
	}
	t.Fatalf("no account %s", name)
	return -1
}

func TestPickPrefersOrderWhileHealthy(t *testing.T) {
	r := newRouter(t, newClock(), nil, healthy("qosic"), healthy("qosic2"))
	for range 10 {
		if got := pickName(t, r, engine.OperatorMTN); got != "qosic" {
			t.Fatalf("picked %s, want the first account", got)
		}
	}
}

func TestUnsupportedOperator(t *testing.T) {
	r := newRouter(t, newClock(), nil, healthy("qosic"))
	if _, err := r.Pick("orange-ci"); !errors.Is(err, ErrUnsupportedOperator) {
		t.Fatalf("err = %v, want ErrUnsupportedOperator", err)
	}
}

func TestBreakerOpensFailsOverAndRecovers(t *testing.T) {
	clock := newClock()
	reg := prometheus.NewRegistry()
	primary, secondary := healthy("qosic"), healthy("qosic2")
	r := newRouter(t, clock, reg, primary, secondary)
	gauge := func(name string) float64 { return circuitState(t, reg, name) }

	primary.err = providers.ErrTimeout
	for range 3 {
		p, _ := r.Pick(engine.OperatorMTN)
		collect(t, p)
	}
	if got := state(t, r, "qosic"); got != Open {
		t.Fatalf("after 3 timeouts state = %s, want open", got)
	}
	if g := gauge("qosic"); g != 2 {
		t.Fatalf("circuit gauge = %v, want 2", g)
	}
	if got := pickName(t, r, engine.OperatorMTN); got != "qosic2" {
		t.Fatalf("picked %s while primary open, want qosic2", got)
	}

	// Cooldown over: one probe goes to the primary, the next payment does not
	// (the probe is still in flight).
	clock.Advance(10 * time.Second)
	probe, err := r.Pick(engine.OperatorMTN)
	if err != nil || probe.Name() != "qosic" {
		t.Fatalf("probe = %v, %v; want qosic", probe, err)
	}
	if g := gauge("qosic"); g != 1 {
		t.Fatalf("circuit gauge = %v, want 1 (half-open)", g)
	}
	if got := pickName(t, r, engine.OperatorMTN); got != "qosic2" {
		t.Fatalf("second payment during probe went to %s", got)
	}
	primary.err = nil
	collect(t, probe)
	if got := state(t, r, "qosic"); got != Closed {
		t.Fatalf("after successful probe state = %s, want closed", got)
	}
	if g := gauge("qosic"); g != 0 {
		t.Fatalf("circuit gauge = %v, want 0", g)
	}
	// The score still carries the failures; it fades, and the order returns.
	clock.Advance(5 * time.Minute)
	if got := pickName(t, r, engine.OperatorMTN); got != "qosic" {
		t.Fatalf("after recovery picked %s, want qosic", got)
	}
}

// circuitState reads kash_provider_circuit_state{provider=name} from reg.
func circuitState(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != providers.MetricCircuitState {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "provider" && l.GetValue() == name {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s for %s", providers.MetricCircuitState, name)
	return -1
}

func TestFailedProbeReopens(t *testing.T) {
	clock := newClock()
	primary := healthy("qosic")
	r := newRouter(t, clock, nil, primary, healthy("qosic2"))
	primary.err = providers.ErrTransport
	for range 3 {
		collect(t, mustPick(t, r))
	}
	clock.Advance(10 * time.Second)
	probe := mustPick(t, r)
	if probe.Name() != "qosic" {
		t.Fatalf("probe went to %s", probe.Name())
	}
	collect(t, probe)
	if got := state(t, r, "qosic"); got != Open {
		t.Fatalf("after failed probe state = %s, want open", got)
	}
	clock.Advance(9 * time.Second)
	if got := pickName(t, r, engine.OperatorMTN); got != "qosic2" {
		t.Fatalf("reopened breaker let %s through before its new cooldown", got)
	}
}

func TestLostProbeSlotIsReclaimed(t *testing.T) {
	clock := newClock()
	primary := healthy("qosic")
	r := newRouter(t, clock, nil, primary, healthy("qosic2"))
	primary.err = providers.ErrTimeout
	for range 3 {
		collect(t, mustPick(t, r))
	}
	clock.Advance(10 * time.Second)
	if mustPick(t, r).Name() != "qosic" { // a probe whose caller never reports
		t.Fatal("probe not given to the primary")
	}
	clock.Advance(10 * time.Second)
	if got := pickName(t, r, engine.OperatorMTN); got != "qosic" {
		t.Fatalf("after a cooldown the lost probe still holds the slot: picked %s", got)
	}
}

func TestAllOpenIsNoProvider(t *testing.T) {
	clock := newClock()
	p := healthy("qosic")
	r := newRouter(t, clock, nil, p)
	p.err = providers.ErrTimeout
	for range 3 {
		collect(t, mustPick(t, r))
	}
	if _, err := r.Pick(engine.OperatorMoov); !errors.Is(err, ErrNoProvider) {
		t.Fatalf("err = %v, want ErrNoProvider", err)
	}
}

func TestInFlightPaymentIsNeverMoved(t *testing.T) {
	clock := newClock()
	primary := healthy("qosic")
	r := newRouter(t, clock, nil, primary, healthy("qosic2"))
	primary.err = providers.ErrTimeout
	for range 3 {
		collect(t, mustPick(t, r))
	}
	// The payment taken by qosic is resolved at qosic, open breaker or not.
	p, err := r.Provider("qosic")
	if err != nil || p.Name() != "qosic" {
		t.Fatalf("Provider(qosic) = %v, %v", p, err)
	}
	before := primary.calls
	if _, err := p.PaymentStatus(context.Background(), "r", engine.OperatorMTN); err == nil {
		t.Fatal("fake should still time out")
	}
	if primary.calls != before+1 {
		t.Fatal("status query did not reach the account that holds the payment")
	}
	if _, err := r.Provider("nope"); !errors.Is(err, ErrUnknownProvider) {
		t.Fatalf("err = %v, want ErrUnknownProvider", err)
	}
}

func TestAnsweredFailuresDoNotTripBreaker(t *testing.T) {
	p := &fakeProvider{name: "qosic", outcome: engine.OutcomeFailed}
	r := newRouter(t, newClock(), nil, p)
	for range 20 {
		collect(t, mustPick(t, r))
	}
	if got := state(t, r, "qosic"); got != Closed {
		t.Fatalf("definitive failures (insufficient balance) opened the breaker: %s", got)
	}
}

func TestSlowProviderLosesPreference(t *testing.T) {
	clock := newClock()
	r := newRouter(t, clock, nil, healthy("qosic"), healthy("qosic2"))
	for range 20 {
		r.Record("qosic", engine.OutcomeSucceeded, 30*time.Second)
	}
	if got := pickName(t, r, engine.OperatorMTN); got != "qosic2" {
		t.Fatalf("picked %s, want the fast account", got)
	}
}

func TestSharedAccountHasOneBreaker(t *testing.T) {
	clock := newClock()
	p := healthy("qosic")
	r := newRouter(t, clock, nil, p, healthy("qosic2"))
	r.Record("qosic", engine.OutcomeUnknown, 0)
	r.Record("qosic", engine.OutcomeUnknown, 0)
	r.Record("qosic", engine.OutcomeUnknown, 0)
	// Moov routes only to qosic: its breaker is the same as MTN's.
	if _, err := r.Pick(engine.OperatorMoov); !errors.Is(err, ErrNoProvider) {
		t.Fatalf("err = %v, want ErrNoProvider", err)
	}
}

func TestNewRejectsBadRoutes(t *testing.T) {
	if _, err := New(Config{}, map[engine.Operator][]engine.MomoProvider{engine.OperatorMTN: nil}); err == nil {
		t.Fatal("empty route accepted")
	}
	_, err := New(Config{}, map[engine.Operator][]engine.MomoProvider{
		engine.OperatorMTN: {healthy("qosic"), healthy("qosic")},
	})
	if err == nil || !strings.Contains(err.Error(), "two different providers") {
		t.Fatalf("duplicate names accepted: %v", err)
	}
}

func TestUnwrap(t *testing.T) {
	p := healthy("qosic")
	r := newRouter(t, newClock(), nil, p)
	if Unwrap(mustPick(t, r)) != p {
		t.Fatal("Unwrap did not return the adapter")
	}
	if Unwrap(p) != p {
		t.Fatal("Unwrap changed an unwrapped provider")
	}
}

func mustPick(t *testing.T, r *Router) engine.MomoProvider {
	t.Helper()
	p, err := r.Pick(engine.OperatorMTN)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
