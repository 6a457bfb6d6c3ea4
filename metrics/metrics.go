package metrics

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"kash/engine"
)

// Metrics is kashd's registry and the groups of collectors that the other
// packages report to. Create it with New; its zero value is not usable.
type Metrics struct {
	HTTP      *HTTP      // gateway: requests and latency by route
	Actors    *Actors    // actors: live, activations, passivations, mailboxes
	Treasury  *Treasury  // treasury actor: float, float queue, sweeps
	Sagas     *Sagas     // card actors: fundings, withdrawals, refunds, suspense
	Providers *Providers // provider adapters and accounts: calls, errors, circuits, pending payments
	Journal   *Journal   // persistence: group-commit batches
	Outbox    *Outbox    // outbox dispatcher: backlog by channel
	Money     *Money     // earnings, ledger check and reconciliation results

	registry *prometheus.Registry
	families []family

	handlerOnce sync.Once
	handler     fasthttp.RequestHandler
}

// family describes one metric family that New registers. The catalogue lets
// tests prove that every name the dashboard and the alert rules query exists,
// with the labels they select on, even before a vector has its first child.
type family struct {
	name      string
	labels    []string
	histogram bool
}

// Option changes how New builds the metrics.
type Option func(*options)

type options struct {
	clock engine.Clock
}

// WithClock makes the scrape-time ages (oldest queued item, pending payment
// age buckets) use c instead of the wall clock, so tests control time.
func WithClock(c engine.Clock) Option {
	return func(o *options) { o.clock = c }
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New creates a fresh registry holding the Go runtime and process
// collectors and every Kash collector. Each call is independent: tests may
// create as many as they like.
func New(opts ...Option) *Metrics {
	o := options{clock: wallClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.HTTP = newHTTP(m)
	m.Actors = newActors(m)
	m.Treasury = newTreasury(m, o.clock)
	m.Sagas = newSagas(m)
	m.Providers = newProviders(m, o.clock)
	m.Journal = newJournal(m)
	m.Outbox = newOutbox(m, o.clock)
	m.Money = newMoney(m)
	return m
}

// Handler serves the registry in the Prometheus text format, for GET (and
// HEAD) /metrics on the gateway's fasthttp server. Other methods get 405.
// Every call returns the same handler.
func (m *Metrics) Handler() fasthttp.RequestHandler {
	m.handlerOnce.Do(func() { m.handler = m.newHandler() })
	return m.handler
}

func (m *Metrics) newHandler() fasthttp.RequestHandler {
	h := promhttp.InstrumentMetricHandler(m.registry, promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		// A failing collector must not blank the whole page: ops need the
		// rest most when something is wrong.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.registry,
		// Scrapes are cheap but not free; a handful at once is plenty.
		MaxRequestsInFlight: 4,
	}))
	serve := fasthttpadaptor.NewFastHTTPHandler(h)
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Error(http.StatusText(http.StatusMethodNotAllowed), fasthttp.StatusMethodNotAllowed)
			ctx.Response.Header.Set("Allow", "GET, HEAD") // after Error, which resets the response
			return
		}
		serve(ctx)
	}
}

// Gatherer gives read access to the registry, for tests and for in-process
// consumers such as the bench report.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// Registerer lets kashd add a third-party collector (for example one that
// exports a library's own statistics). Kash's own metrics are the typed
// groups above: report through them rather than registering new ones.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

// Names returns the sorted names of every kash_ metric family New
// registers, whether or not it has a sample yet.
func (m *Metrics) Names() []string {
	names := make([]string, 0, len(m.families))
	for _, f := range m.families {
		names = append(names, f.name)
	}
	slices.Sort(names)
	return names
}

// family returns the catalogue entry of the kash_ family called name, and
// whether New registers it.
func (m *Metrics) family(name string) (family, bool) {
	for _, f := range m.families {
		if f.name == name {
			return f, true
		}
	}
	return family{}, false
}

func (m *Metrics) register(c prometheus.Collector, name string, labels ...string) {
	m.registry.MustRegister(c)
	m.families = append(m.families, family{name: name, labels: labels})
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.register(v, name, labels...)
	return v
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	m.register(c, name)
	return c
}

func (m *Metrics) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.register(v, name, labels...)
	return v
}

func (m *Metrics) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	m.register(g, name)
	return g
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.register(v, name, labels...)
	m.families[len(m.families)-1].histogram = true
	return v
}

func (m *Metrics) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	m.register(h, name)
	m.families[len(m.families)-1].histogram = true
	return h
}

// major converts an amount to major units for a gauge. An amount without a
// supported currency cannot be labelled honestly and is reported as not ok.
func major(amount engine.Money) (float64, bool) {
	if !amount.Currency.Valid() {
		return 0, false
	}
	f, _ := amount.Decimal().Float64()
	return f, true
}
