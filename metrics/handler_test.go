package metrics

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"kash/metrics/promtest"
)

// promtool returns the path of promtool, failing the test when it is
// missing (see promtest).
func promtool(t *testing.T) string {
	t.Helper()
	return promtest.Promtool(t)
}

// serveMetrics serves m.Handler() on a loopback port of a real fasthttp
// server and returns the /metrics URL.
func serveMetrics(t *testing.T, m *Metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	serve := m.Handler()
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/metrics" {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			return
		}
		serve(ctx)
	}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/metrics"
}

func scrape(t *testing.T, url string) []byte {
	t.Helper()
	return promtest.Scrape(t, url)
}

func TestHandlerServesTextThatPromtoolAccepts(t *testing.T) {
	m := New()
	exerciseAll(m)
	body := scrape(t, serveMetrics(t, m))

	for _, name := range m.Names() {
		if !bytes.Contains(body, []byte("\n# TYPE "+name+" ")) {
			t.Errorf("%s missing from the scraped page", name)
		}
	}
	promtest.CheckMetrics(t, body)
}

func TestHandlerRefusesOtherMethods(t *testing.T) {
	url := serveMetrics(t, New())
	resp, err := http.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %s, want 405", resp.Status)
	}
	if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow %q, want %q", allow, "GET, HEAD")
	}
}

func TestInstrumentCountsTheHandlersStatus(t *testing.T) {
	m := New()
	h := m.HTTP.Instrument("/v1/cards/{id}", func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusConflict)
	})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/v1/cards/c_123")
	h(&ctx)
	body := scrapeRegistry(t, m)
	want := `kash_http_requests_total{code_class="4xx",method="POST",route="/v1/cards/{id}"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("exposition lacks %s", want)
	}
	if strings.Contains(body, "c_123") {
		t.Error("the raw path (with a card id) leaked into a label")
	}
}

// scrapeRegistry renders the registry through the real handler without a
// network round trip.
func scrapeRegistry(t *testing.T, m *Metrics) string {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/metrics")
	m.Handler()(&ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusOK {
		t.Fatalf("/metrics: status %d", ctx.Response.StatusCode())
	}
	return string(ctx.Response.Body())
}
