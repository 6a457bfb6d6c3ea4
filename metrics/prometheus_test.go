package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// prometheusServer is a real Prometheus (the Debian package's binary) that
// a test starts on a loopback port with its own config and storage.
type prometheusServer struct {
	URL string // http://127.0.0.1:port

	cmd     *exec.Cmd
	logs    *lockedBuffer
	exited  chan struct{} // closed when the process has exited
	exitErr error         // set before exited is closed
}

// lockedBuffer collects the server's output, written by exec's copier
// goroutine and read by the test on failure.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startPrometheus starts Prometheus scraping target (host:port) every
// second, with the shipped alert rules loaded so that the real server proves
// it accepts them. It is killed when the test ends.
func startPrometheus(t *testing.T, target string) *prometheusServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (%v): run `make deps` to install the Debian package prometheus", err)
	}
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join("prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: kashd
    static_configs:
      - targets: [%q]
`, target)
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	logs := &lockedBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	p := &prometheusServer{URL: "http://" + addr, cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Logf("kill prometheus: %v", err)
		}
		<-p.exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	return p
}

// freeLoopbackAddr picks a free port on 127.0.0.1 by letting the kernel
// choose one and releasing it for the child process.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

type queryResponse struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// Query runs an instant PromQL query through the HTTP API.
func (p *prometheusServer) Query(expr string) (queryResponse, error) {
	var qr queryResponse
	resp, err := http.Get(p.URL + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return qr, fmt.Errorf("query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return qr, fmt.Errorf("read answer to %q: %w", expr, err)
	}
	if err := json.Unmarshal(body, &qr); err != nil {
		return qr, fmt.Errorf("decode answer to %q (%s): %w", expr, resp.Status, err)
	}
	return qr, nil
}

// waitFor polls cond every 250 ms until it holds or the deadline passes.
// The deadline bounds the test; it asserts nothing about speed.
func (p *prometheusServer) waitFor(t *testing.T, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for {
		select {
		case <-p.exited:
			t.Fatalf("prometheus exited (%v) while waiting for %s:\n%s", p.exitErr, what, p.logs.String())
		default:
		}
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v; last state: %s", what, limit, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestRealPrometheusScrapesTheFloatQueue starts a real Prometheus on
// loopback, has it scrape a fasthttp server serving Handler(), and reads a
// known float-queue length back through the PromQL HTTP API. Every query of
// the dashboard and of the alert rules then runs against the same server, so
// a PromQL syntax or type error in them fails here.
func TestRealPrometheusScrapesTheFloatQueue(t *testing.T) {
	m := New()
	exerciseAll(m)
	m.Treasury.SetQueue(17, usd(123_45), time.Now().Add(-time.Minute))
	metricsURL := serveMetrics(t, m)
	target := strings.TrimSuffix(strings.TrimPrefix(metricsURL, "http://"), "/metrics")
	prom := startPrometheus(t, target)

	const expr = `kash_treasury_float_queue_length{job="kashd"}`
	prom.waitFor(t, "the float queue length in Prometheus", 30*time.Second, func() (bool, string) {
		qr, err := prom.Query(expr)
		if err != nil {
			return false, err.Error()
		}
		if qr.Status != "success" || len(qr.Data.Result) != 1 {
			return false, fmt.Sprintf("%+v", qr)
		}
		return qr.Data.Result[0].Value[1] == "17", fmt.Sprintf("value %v", qr.Data.Result[0].Value[1])
	})

	queries, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	grafanaVars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".+")
	for _, q := range queries {
		if !strings.Contains(q.Expr, "kash_") && !strings.Contains(q.Expr, "(") {
			continue // the datasource variable's "prometheus", not PromQL
		}
		expr := grafanaVars.Replace(q.Expr)
		if strings.HasPrefix(expr, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		qr, err := prom.Query(expr)
		if err != nil {
			t.Errorf("%s: %v", q.Source, err)
			continue
		}
		if qr.Status != "success" {
			t.Errorf("%s: Prometheus refused %q: %s: %s", q.Source, expr, qr.ErrorType, qr.Error)
		}
	}
}
