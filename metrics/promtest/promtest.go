// Package promtest runs the real Prometheus tools against Kash's metrics in
// tests: promtool's exposition lint, and a Prometheus server (the Debian
// package's binary) started on loopback with a private config and storage,
// queried through its HTTP API. The metrics package checks its own registry
// with it, and kashd checks a running server. Neither tool is ever faked:
// when one is missing the test fails and says how to install it, since a
// check that skips itself on a bare machine is a check CI never runs.
package promtest

import (
	"bytes"
	"encoding/json"
	"errors"
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

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// JobName is the job label of the scrape job that Start configures.
const JobName = "kashd"

// missing explains how to get the tools; .ci/ensure-prometheus does it.
const missing = "run `make deps` to install the Debian package prometheus"

// tool returns the path of a Prometheus binary or fails the test.
func tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): %s", name, err, missing)
	}
	return path
}

// Promtool returns the path of promtool, failing the test when it is missing.
func Promtool(t testing.TB) string {
	t.Helper()
	return tool(t, "promtool")
}

// CheckMetrics runs `promtool check metrics` on a text exposition and fails
// the test on any finding: a rejected page or a single lint problem.
func CheckMetrics(t testing.TB, exposition []byte) {
	t.Helper()
	cmd := exec.Command(Promtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
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

// Scrape GETs a /metrics URL and returns the page, failing the test unless
// it is a 200 in the text format.
func Scrape(t testing.TB, metricsURL string) []byte {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatalf("GET %s: %v", metricsURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", metricsURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", metricsURL, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET %s: Content-Type %q, want the text format", metricsURL, ct)
	}
	return body
}

// Families parses a text exposition into its metric families by name.
func Families(t testing.TB, exposition []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return families
}

// Server is a real Prometheus started by Start. It is killed when the test
// ends.
type Server struct {
	URL string // http://127.0.0.1:port

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

// Start runs Prometheus on a free loopback port, scraping target (host:port,
// path /metrics) every second as job JobName and, when rules is not empty,
// evaluating those alert rules every second, so that the real server proves
// it accepts them.
func Start(t testing.TB, target string, rules []byte) *Server {
	t.Helper()
	bin := tool(t, "prometheus")
	dir := t.TempDir()
	ruleFiles := "[]"
	if len(rules) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o600); err != nil {
			t.Fatal(err)
		}
		ruleFiles = "[alerts.yml]"
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: %s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, ruleFiles, JobName, target)
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
	s := &Server{URL: "http://" + addr, logs: logs, exited: make(chan struct{})}
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Logf("kill prometheus: %v", err)
		}
		<-s.exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	return s
}

// freeLoopbackAddr picks a free port on 127.0.0.1 by letting the kernel
// choose one and releasing it for the child process.
func freeLoopbackAddr(t testing.TB) string {
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

// Sample is one series of an instant query's answer.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value as a string"]
}

// String returns the sample's value as Prometheus wrote it ("17", "NaN").
func (s Sample) String() string {
	v, _ := s.Value[1].(string)
	return v
}

// QueryResponse is the answer of /api/v1/query.
type QueryResponse struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string   `json:"resultType"`
		Result     []Sample `json:"result"`
	} `json:"data"`
}

// Query runs an instant PromQL query through the HTTP API.
func (s *Server) Query(expr string) (QueryResponse, error) {
	var qr QueryResponse
	resp, err := http.Get(s.URL + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return qr, fmt.Errorf("query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return qr, fmt.Errorf("read the answer to %q: %w", expr, err)
	}
	if err := json.Unmarshal(body, &qr); err != nil {
		return qr, fmt.Errorf("decode the answer to %q (%s): %w", expr, resp.Status, err)
	}
	return qr, nil
}

// WaitFor polls cond every 250 ms until it holds or limit passes, and fails
// the test then with cond's last description of what it saw. The limit
// bounds the test; it asserts nothing about speed.
func (s *Server) WaitFor(t testing.TB, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.exited:
			t.Fatalf("prometheus exited (%v) while waiting for %s:\n%s", s.exitErr, what, s.logs.String())
		default:
		}
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v; last state: %s", what, limit, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// RuleHealth returns the health ("ok", "err", "unknown" before the first
// evaluation) of every loaded rule by name, with the last evaluation error
// appended to unhealthy ones.
func (s *Server) RuleHealth() (map[string]string, error) {
	resp, err := http.Get(s.URL + "/api/v1/rules")
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("decode the rules (%s): %w", resp.Status, err)
	}
	health := map[string]string{}
	for _, g := range answer.Data.Groups {
		for _, r := range g.Rules {
			h := r.Health
			if r.LastError != "" {
				h += ": " + r.LastError
			}
			health[r.Name] = h
		}
	}
	return health, nil
}

// grafanaVars stand in for the dashboard's variables: the rate window and
// the instance selector, matching every instance.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$instance", ".+")

// PromQL turns a query of the Grafana dashboard into PromQL that Prometheus
// can run. ok is false for what is not PromQL: Grafana's label_values()
// variable queries and the datasource variable's plain "prometheus".
func PromQL(dashboardExpr string) (expr string, ok bool) {
	if !strings.Contains(dashboardExpr, "kash_") && !strings.Contains(dashboardExpr, "(") {
		return "", false
	}
	expr = grafanaVars.Replace(dashboardExpr)
	if strings.HasPrefix(expr, "label_values(") {
		return "", false
	}
	return expr, true
}
