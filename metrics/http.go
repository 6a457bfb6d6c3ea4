package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// RouteUnmatched is the route label of requests that matched no route, so
// that scanners probing random paths add one series, not one per path.
const RouteUnmatched = "unmatched"

// HTTP counts the gateway's requests by route pattern (such as
// "/v1/cards/{id}/fundings", never the raw path, which carries ids).
type HTTP struct {
	requests *prometheus.CounterVec   // kash_http_requests_total{route,method,code_class}
	duration *prometheus.HistogramVec // kash_http_request_duration_seconds{route,method}
	inFlight prometheus.Gauge         // kash_http_requests_in_flight
}

// httpBuckets span a cached read (sub-millisecond) to a long poll
// (?wait=30 answers after up to 30 s).
var httpBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

var codeClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func newHTTP(m *Metrics) *HTTP {
	return &HTTP{
		requests: m.counterVec("kash_http_requests_total",
			"HTTP requests answered, by route pattern, method and status class (2xx, 4xx, ...).",
			"route", "method", "code_class"),
		duration: m.histogramVec("kash_http_request_duration_seconds",
			"Time from request read to response written, by route pattern and method.",
			httpBuckets, "route", "method"),
		inFlight: m.gauge("kash_http_requests_in_flight",
			"HTTP requests being handled right now."),
	}
}

// DeclareRoute creates the zero series of a route, so that its rate and
// error ratio exist (as 0) before its first request. The gateway calls it
// once per registered route.
func (h *HTTP) DeclareRoute(route, method string) {
	if h == nil {
		return
	}
	method = normalizeMethod(method)
	for _, class := range codeClasses {
		h.requests.WithLabelValues(route, method, class)
	}
	h.duration.WithLabelValues(route, method)
}

// RequestStarted counts a request in flight; pair it with RequestDone.
func (h *HTTP) RequestStarted() {
	if h == nil {
		return
	}
	h.inFlight.Inc()
}

// RequestDone records a finished request. route is the matched pattern, or
// RouteUnmatched; status is the HTTP status sent.
func (h *HTTP) RequestDone(route, method string, status int, elapsed time.Duration) {
	if h == nil {
		return
	}
	h.inFlight.Dec()
	h.Observe(route, method, status, elapsed)
}

// Observe records a finished request without touching the in-flight gauge,
// for callers that do not track it.
func (h *HTTP) Observe(route, method string, status int, elapsed time.Duration) {
	if h == nil {
		return
	}
	if route == "" {
		route = RouteUnmatched
	}
	method = normalizeMethod(method)
	h.requests.WithLabelValues(route, method, codeClass(status)).Inc()
	h.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// TrackInFlight wraps a whole server's handler so that
// kash_http_requests_in_flight counts the requests being handled. It is for
// servers that report finished requests through Observe (kashd's gateway
// does, from its own dispatcher), which leaves the in-flight gauge alone.
func (h *HTTP) TrackInFlight(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if h == nil {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		h.inFlight.Inc()
		// Deferred so that a panic escaping next still leaves the gauge right.
		defer h.inFlight.Dec()
		next(ctx)
	}
}

// Instrument wraps the handler of one route so that each request is counted
// under that route's pattern with the status the handler set.
func (h *HTTP) Instrument(route string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if h == nil {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h.RequestStarted()
		// Deferred so that a handler panic recovered further up is still
		// counted (as whatever status the recoverer sets, usually 500).
		defer func() {
			h.RequestDone(route, string(ctx.Method()), ctx.Response.StatusCode(), time.Since(start))
		}()
		next(ctx)
	}
}

// normalizeMethod keeps the method label to the standard verbs: a client
// sending made-up methods must not create new series.
func normalizeMethod(method string) string {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return method
	}
	return "OTHER"
}

func codeClass(status int) string {
	if status < 100 || status > 599 {
		return "5xx" // a status outside HTTP's range is a server bug
	}
	return codeClasses[status/100-1]
}
