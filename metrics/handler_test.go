package metrics

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// promtool returns the path of promtool. It fails the test when it is
// missing: `make deps` (.ci/ensure-prometheus) installs it, and a check that
// skips itself on a bare machine is a check CI never runs.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): run `make deps` to install the Debian package prometheus", err)
	}
	return path
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
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	return body
}

func TestHandlerServesTextThatPromtoolAccepts(t *testing.T) {
	tool := promtool(t)
	m := New()
	exerciseAll(m)
	body := scrape(t, serveMetrics(t, m))

	for _, name := range m.Names() {
		if !bytes.Contains(body, []byte("\n# TYPE "+name+" ")) {
			t.Errorf("%s missing from the scraped page", name)
		}
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run promtool: %v", err)
		}
		t.Fatalf("promtool check metrics rejected the page (%v):\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics reported problems:\n%s", out)
	}
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
