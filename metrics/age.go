package metrics

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
)

// ageGauge exports, for each label value, the age in seconds of the oldest
// item its owner reported. The age is computed at scrape time: an owner that
// stops reporting because it is stuck must not freeze the age it last set,
// or the alert meant for exactly that case would never fire.
type ageGauge struct {
	desc    *prometheus.Desc
	clock   engine.Clock
	labeled bool

	mu     sync.Mutex
	oldest map[string]time.Time // label value ("" when unlabeled) → oldest item; zero when empty
}

func newAgeGauge(m *Metrics, clock engine.Clock, name, help, label string) *ageGauge {
	g := &ageGauge{clock: clock, oldest: map[string]time.Time{}}
	if label == "" {
		g.desc = prometheus.NewDesc(name, help, nil, nil)
		g.oldest[""] = time.Time{}
		m.register(g, name)
	} else {
		g.labeled = true
		g.desc = prometheus.NewDesc(name, help, []string{label}, nil)
		m.register(g, name, label)
	}
	return g
}

// set records the oldest item's time for value; the zero time means empty.
func (g *ageGauge) set(value string, oldest time.Time) {
	g.mu.Lock()
	g.oldest[value] = oldest
	g.mu.Unlock()
}

func (g *ageGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *ageGauge) Collect(ch chan<- prometheus.Metric) {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for value, oldest := range g.oldest {
		age := ageSeconds(now, oldest)
		if g.labeled {
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, age, value)
		} else {
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, age)
		}
	}
}

func ageSeconds(now, since time.Time) float64 {
	if since.IsZero() {
		return 0
	}
	return math.Max(0, now.Sub(since).Seconds())
}

// AgeBucket is a value of the age_bucket label of kash_payments_pending.
type AgeBucket string

// The age buckets of pending payments. The last one matters most: polling
// goes on for at least 24 h, so a payment still pending after that is stuck.
const (
	AgeUnder5m AgeBucket = "under_5m"
	Age5mTo1h  AgeBucket = "5m_to_1h"
	Age1hTo24h AgeBucket = "1h_to_24h"
	AgeOver24h AgeBucket = "over_24h"
)

const ageBucketCnt = 4

var ageBuckets = [ageBucketCnt]struct {
	label AgeBucket
	below time.Duration
}{
	{AgeUnder5m, 5 * time.Minute},
	{Age5mTo1h, time.Hour},
	{Age1hTo24h, 24 * time.Hour},
	{AgeOver24h, math.MaxInt64},
}

// BucketOf returns the age bucket of a payment that has been pending for age.
func BucketOf(age time.Duration) AgeBucket { return ageBuckets[bucketIndex(age)].label }

func bucketIndex(age time.Duration) int {
	for i, b := range ageBuckets {
		if age < b.below {
			return i
		}
	}
	return len(ageBuckets) - 1
}

// pendingPayments exports kash_payments_pending{provider,age_bucket} from the
// start times of the payments each provider has pending, bucketed at scrape
// time so that payments move to older buckets without any new report.
type pendingPayments struct {
	desc  *prometheus.Desc
	clock engine.Clock

	mu    sync.Mutex
	since map[string][]time.Time // provider → start of each pending payment
}

func newPendingPayments(m *Metrics, clock engine.Clock) *pendingPayments {
	p := &pendingPayments{
		desc: prometheus.NewDesc("kash_payments_pending",
			"Payments (collections, payouts, refunds) without a final status, by provider and age bucket.",
			[]string{"provider", "age_bucket"}, nil),
		clock: clock,
		since: map[string][]time.Time{},
	}
	m.register(p, "kash_payments_pending", "provider", "age_bucket")
	return p
}

func (p *pendingPayments) set(provider string, since []time.Time) {
	own := slices.Clone(since) // the caller may reuse its slice
	p.mu.Lock()
	p.since[provider] = own
	p.mu.Unlock()
}

func (p *pendingPayments) replace(byProvider map[string][]time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for provider := range p.since {
		if _, ok := byProvider[provider]; !ok {
			p.since[provider] = nil
		}
	}
	for provider, since := range byProvider {
		p.since[provider] = slices.Clone(since) // the caller may reuse its slices
	}
}

func (p *pendingPayments) declare(provider string) {
	p.mu.Lock()
	if _, ok := p.since[provider]; !ok {
		p.since[provider] = nil
	}
	p.mu.Unlock()
}

func (p *pendingPayments) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }

func (p *pendingPayments) Collect(ch chan<- prometheus.Metric) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for provider, starts := range p.since {
		var counts [ageBucketCnt]int
		for _, s := range starts {
			counts[bucketIndex(now.Sub(s))]++
		}
		for i, b := range ageBuckets {
			ch <- prometheus.MustNewConstMetric(p.desc, prometheus.GaugeValue, float64(counts[i]), provider, string(b.label))
		}
	}
}
