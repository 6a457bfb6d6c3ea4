package metrics

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kash/engine"
)

// fakeClock is a settable engine.Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func usd(minor int64) engine.Money { return engine.NewMoney(minor, engine.USD) }
func xof(minor int64) engine.Money { return engine.NewMoney(minor, engine.XOF) }

// exerciseAll calls every reporting method once, so that every family has
// at least one sample and shows up in the exposition.
func exerciseAll(m *Metrics) {
	now := time.Now()
	m.HTTP.DeclareRoute("/v1/cards", "POST")
	m.HTTP.RequestStarted()
	m.HTTP.RequestDone("/v1/cards", "POST", 202, 3*time.Millisecond)
	m.HTTP.Observe("/v1/cards/{id}", "GET", 404, time.Millisecond)
	m.Actors.Activated(KindCard)
	m.Actors.Passivated(KindCard)
	m.Actors.Restarted(KindTreasury)
	m.Actors.ObserveMailbox(KindTreasury, 3)
	m.Treasury.SetFloat(usd(100_000_00), usd(250_00))
	m.Treasury.SetLowWater(usd(10_000_00))
	m.Treasury.FloatCommitted(usd(50_00))
	m.Treasury.SetQueue(2, usd(75_00), now.Add(-time.Minute))
	m.Treasury.QueueExpired()
	m.Treasury.SetSweepsInFlight(1)
	m.Sagas.FundingTransition("", "awaiting_payment")
	m.Sagas.WithdrawalTransition("pending", "card_debited")
	m.Sagas.SetFundingsInFlight(map[string]int{"awaiting_payment": 3})
	m.Sagas.SetWithdrawalsInFlight(map[string]int{"card_debited": 1})
	m.Sagas.Refund(RefundSucceeded)
	m.Sagas.SetSuspenseItems(1)
	m.Sagas.SetManualReviewItems(2)
	m.Providers.Declare("mtn-bj", "collect")
	m.Providers.Call("mtn-bj", "collect", engine.OutcomePending, 40*time.Millisecond)
	m.Providers.Error("mtn-bj", "collect", ReasonTimeout)
	m.Providers.SetCircuit("mtn-bj", CircuitHalfOpen)
	m.Providers.SetPending("mtn-bj", []time.Time{now.Add(-2 * time.Hour)})
	m.Journal.ObserveBatch(12, 30, 2*time.Millisecond, nil)
	m.Journal.SetQueueLength(4)
	m.Journal.SetBatchesInFlight(2)
	m.Outbox.SetBacklog(ChannelSMS, 5, now.Add(-10*time.Second))
	m.Outbox.Delivered(ChannelPush, true)
	m.Money.Earned("funding", xof(1200))
	m.Money.LedgerChecked(now, 1000, 0)
	m.Money.Reconciled(now, 0)
}

func gatheredKashNames(t *testing.T, m *Metrics) []string {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var names []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "kash_") {
			names = append(names, mf.GetName())
		}
	}
	return names
}

func TestNewRegistersEveryFamilyOnceAndExportsIt(t *testing.T) {
	m := New()
	names := m.Names()
	if len(names) < 40 {
		t.Fatalf("only %d kash_ families registered: %v", len(names), names)
	}
	for i, n := range names {
		if !strings.HasPrefix(n, "kash_") {
			t.Errorf("%s: every Kash metric starts with kash_", n)
		}
		if FamilyName(n) != n {
			t.Errorf("%s: a family name must not end like a histogram series (_bucket, _sum, _count)", n)
		}
		if i > 0 && names[i-1] == n {
			t.Errorf("%s registered twice", n)
		}
	}
	exerciseAll(m)
	if got := gatheredKashNames(t, m); !slices.Equal(got, names) {
		t.Errorf("exposition and catalogue differ:\n exported %v\n catalogue %v", got, names)
	}
	// A second registry is independent: no global state, no conflict.
	other := New()
	if value(t, other.Treasury.queueLength) != 0 {
		t.Error("a new Metrics shares state with an earlier one")
	}
}

func TestGoRuntimeAndProcessCollectorsAreRegistered(t *testing.T) {
	mfs, err := New().Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := map[string]bool{"go_goroutines": false, "go_memstats_heap_inuse_bytes": false,
		"go_gc_duration_seconds": false, "process_resident_memory_bytes": false, "process_cpu_seconds_total": false}
	for _, mf := range mfs {
		if _, ok := want[mf.GetName()]; ok {
			want[mf.GetName()] = true
		}
	}
	for name, found := range want {
		if !found {
			t.Errorf("%s is not exported", name)
		}
	}
}

// allowedLabels is the whole label vocabulary: adding a label means adding
// it here, which is the moment to ask whether it is bounded.
var allowedLabels = []string{
	"route", "method", "code_class", "kind", "currency", "status", "from", "to", "outcome",
	"provider", "operation", "reason", "age_bucket", "result", "channel",
}

func TestNoPerEntityLabels(t *testing.T) {
	for _, f := range New().families {
		for _, l := range f.labels {
			if !slices.Contains(allowedLabels, l) {
				t.Errorf("%s has label %q outside the bounded vocabulary", f.name, l)
			}
		}
	}
}

func TestHTTPCountsByRoutePatternAndStatusClass(t *testing.T) {
	m := New()
	m.HTTP.RequestStarted()
	m.HTTP.RequestDone("/v1/cards/{id}", "GET", 200, 10*time.Millisecond)
	m.HTTP.Observe("/v1/cards/{id}", "GET", 503, time.Millisecond)
	m.HTTP.Observe("", "BREW", 404, time.Millisecond)
	m.HTTP.Observe("/x", "GET", 42, time.Millisecond)
	cases := []struct {
		route, method, class string
		want                 float64
	}{
		{"/v1/cards/{id}", "GET", "2xx", 1},
		{"/v1/cards/{id}", "GET", "5xx", 1},
		{RouteUnmatched, "OTHER", "4xx", 1},
		{"/x", "GET", "5xx", 1},
	}
	for _, c := range cases {
		if got := value(t, m.HTTP.requests.WithLabelValues(c.route, c.method, c.class)); got != c.want {
			t.Errorf("requests{%s,%s,%s} = %v, want %v", c.route, c.method, c.class, got, c.want)
		}
	}
	if got := value(t, m.HTTP.inFlight); got != 0 {
		t.Errorf("in flight = %v after a started and done request, want 0", got)
	}
}

func TestTreasuryAmountsAreMajorUnitsByCurrency(t *testing.T) {
	m := New()
	m.Treasury.SetFloat(usd(1234567), usd(1050))
	m.Treasury.FloatCommitted(usd(1999))
	m.Treasury.FloatCommitted(usd(1))
	m.Treasury.SetFloat(engine.Money{Minor: 5}, engine.Money{Minor: 5}) // no currency: ignored
	checks := map[string]float64{
		"available": value(t, m.Treasury.available.WithLabelValues("USD")),
		"reserved":  value(t, m.Treasury.reserved.WithLabelValues("USD")),
		"committed": value(t, m.Treasury.committed.WithLabelValues("USD")),
	}
	want := map[string]float64{"available": 12345.67, "reserved": 10.50, "committed": 20}
	for k, v := range want {
		if checks[k] != v {
			t.Errorf("%s = %v, want %v", k, checks[k], v)
		}
	}
	m.Money.Earned("withdrawal", xof(1500))
	if got := value(t, m.Money.earnings.WithLabelValues("withdrawal", "XOF")); got != 1500 {
		t.Errorf("earnings = %v, want 1500 (XOF has no minor digits)", got)
	}
}

func TestAgesGrowAtScrapeTimeWithoutNewReports(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	m := New(WithClock(clock))
	m.Treasury.SetQueue(3, usd(1500), clock.Now().Add(-30*time.Second))
	m.Outbox.SetBacklog(ChannelPush, 7, clock.Now().Add(-5*time.Second))
	clock.advance(10 * time.Minute)

	if got := value(t, m.Treasury.queueOldest); got != 630 {
		t.Errorf("oldest queued age = %v s, want 630 (queued 30 s before, 10 min passed)", got)
	}
	for channel, want := range map[Channel]float64{ChannelPush: 605, ChannelSMS: 0, ChannelOpsChat: 0} {
		if got := labelled(t, m.Outbox.oldest, map[string]string{"channel": string(channel)}); got != want {
			t.Errorf("outbox %s oldest age = %v, want %v", channel, got, want)
		}
	}
	m.Treasury.SetQueue(0, usd(0), time.Time{})
	if got := value(t, m.Treasury.queueOldest); got != 0 {
		t.Errorf("oldest age of an empty queue = %v, want 0", got)
	}
}

func TestPendingPaymentsMoveToOlderBucketsAsTimePasses(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := New(WithClock(clock))
	now := clock.Now()
	m.Providers.Declare("moov-bj")
	m.Providers.SetPending("mtn-bj", []time.Time{now, now.Add(-10 * time.Minute), now.Add(-23 * time.Hour)})
	bucket := func(provider string, b AgeBucket) float64 {
		t.Helper()
		return labelled(t, m.Providers.pending, map[string]string{"provider": provider, "age_bucket": string(b)})
	}
	for b, want := range map[AgeBucket]float64{AgeUnder5m: 1, Age5mTo1h: 1, Age1hTo24h: 1, AgeOver24h: 0} {
		if got := bucket("mtn-bj", b); got != want {
			t.Errorf("mtn-bj %s = %v, want %v", b, got, want)
		}
	}
	if got := bucket("moov-bj", AgeOver24h); got != 0 {
		t.Errorf("a declared provider without pending payments shows %v over 24h", got)
	}
	clock.advance(2 * time.Hour) // no new report
	for b, want := range map[AgeBucket]float64{AgeUnder5m: 0, Age5mTo1h: 0, Age1hTo24h: 2, AgeOver24h: 1} {
		if got := bucket("mtn-bj", b); got != want {
			t.Errorf("two hours later, mtn-bj %s = %v, want %v", b, got, want)
		}
	}
}

func TestBucketOfBoundaries(t *testing.T) {
	cases := map[time.Duration]AgeBucket{
		0: AgeUnder5m, 5*time.Minute - 1: AgeUnder5m, 5 * time.Minute: Age5mTo1h,
		time.Hour: Age1hTo24h, 24*time.Hour - 1: Age1hTo24h, 24 * time.Hour: AgeOver24h, 1000 * time.Hour: AgeOver24h,
	}
	for age, want := range cases {
		if got := BucketOf(age); got != want {
			t.Errorf("BucketOf(%v) = %s, want %s", age, got, want)
		}
	}
}

func TestInFlightSnapshotsResetMissingStatuses(t *testing.T) {
	m := New()
	m.Sagas.SetFundingsInFlight(map[string]int{"queued_for_float": 4, "paid": 2})
	m.Sagas.SetFundingsInFlight(map[string]int{"paid": 1})
	if got := value(t, m.Sagas.fundingsInFlight.vec.WithLabelValues("queued_for_float")); got != 0 {
		t.Errorf("queued_for_float kept %v after a snapshot without it", got)
	}
	if got := value(t, m.Sagas.fundingsInFlight.vec.WithLabelValues("paid")); got != 1 {
		t.Errorf("paid = %v, want 1", got)
	}
	m.Sagas.FundingTransition("", "awaiting_payment")
	if got := value(t, m.Sagas.fundingTransitions.WithLabelValues(StatusNew, "awaiting_payment")); got != 1 {
		t.Errorf("creation transition counted %v, want 1 under from=%q", got, StatusNew)
	}
}

func TestProviderReasonsAreAClosedVocabulary(t *testing.T) {
	m := New()
	m.Providers.Error("issuer", "fund_card", ErrorReason("card 4111 declined for +22997000000"))
	m.Providers.Error("issuer", "fund_card", ReasonHTTP5xx)
	if got := value(t, m.Providers.errors.WithLabelValues("issuer", "fund_card", string(ReasonOther))); got != 1 {
		t.Errorf("free-text reason counted as other %v times, want 1", got)
	}
	if got := len(samples(t, m.Providers.errors)); got != 2 {
		t.Errorf("%d error series, want 2 (other, http_5xx)", got)
	}
	m.Providers.SetCircuit("issuer", CircuitOpen)
	if got := value(t, m.Providers.circuit.WithLabelValues("issuer")); got != 2 {
		t.Errorf("open circuit exported as %v, want 2", got)
	}
}

func TestJournalFailedBatchWritesNoRows(t *testing.T) {
	m := New()
	m.Journal.ObserveBatch(10, 25, time.Millisecond, nil)
	m.Journal.ObserveBatch(7, 18, time.Millisecond, errors.New("connection reset"))
	if got := value(t, m.Journal.rows); got != 25 {
		t.Errorf("rows written = %v, want 25 (the failed batch wrote nothing)", got)
	}
	for result, want := range map[string]float64{ResultCommitted: 1, ResultFailed: 1} {
		if got := value(t, m.Journal.batches.WithLabelValues(result)); got != want {
			t.Errorf("batches{%s} = %v, want %v", result, got, want)
		}
	}
	if got := value(t, m.Journal.items.WithLabelValues(ResultFailed)); got != 7 {
		t.Errorf("failed items = %v, want 7", got)
	}
}

func TestActorsLiveFollowsActivationsAndPassivations(t *testing.T) {
	m := New()
	for range 3 {
		m.Actors.Activated(KindCard)
	}
	m.Actors.Passivated(KindCard)
	m.Actors.Restarted(KindCard)
	if got := value(t, m.Actors.live.WithLabelValues(string(KindCard))); got != 2 {
		t.Errorf("live cards = %v, want 2", got)
	}
}

func TestNilGroupsAreNoOps(t *testing.T) {
	var m Metrics // every group nil, as another package's test may pass
	m.HTTP.Observe("/v1/me", "GET", 200, time.Millisecond)
	m.Actors.Activated(KindCard)
	m.Treasury.SetQueue(1, usd(1), time.Now())
	m.Sagas.Refund(RefundFailed)
	m.Providers.Call("p", "op", engine.OutcomeSucceeded, time.Millisecond)
	m.Journal.ObserveBatch(1, 1, time.Millisecond, nil)
	m.Outbox.Delivered(ChannelSMS, false)
	m.Money.LedgerChecked(time.Now(), 1, 0)
}

// providerRecorder is the interface gateway/providers reports through; the
// Providers group must keep satisfying it so the adapters can switch to it.
type providerRecorder interface {
	Observe(provider, operation string, outcome engine.Outcome, start time.Time)
	SetCircuitState(provider string, state int)
}

func TestProvidersServeTheAdaptersInterface(t *testing.T) {
	m := New()
	var rec providerRecorder = m.Providers
	rec.Observe("moov-bj", "collect", engine.OutcomeSucceeded, time.Now().Add(-time.Second))
	rec.SetCircuitState("moov-bj", 2)
	if got := value(t, m.Providers.requests.WithLabelValues("moov-bj", "collect", "succeeded")); got != 1 {
		t.Errorf("requests = %v, want 1", got)
	}
	if got := value(t, m.Providers.circuit.WithLabelValues("moov-bj")); got != float64(CircuitOpen) {
		t.Errorf("circuit = %v, want %v", got, CircuitOpen)
	}
}
