package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kash/metrics/promtest"
)

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
	rules, err := os.ReadFile(filepath.Join("prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, target, rules)

	const expr = `kash_treasury_float_queue_length{job="kashd"}`
	prom.WaitFor(t, "the float queue length in Prometheus", 30*time.Second, func() (bool, string) {
		qr, err := prom.Query(expr)
		if err != nil {
			return false, err.Error()
		}
		if qr.Status != "success" || len(qr.Data.Result) != 1 {
			return false, fmt.Sprintf("%+v", qr)
		}
		return qr.Data.Result[0].String() == "17", "value " + qr.Data.Result[0].String()
	})

	queries, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		expr, ok := promtest.PromQL(q.Expr)
		if !ok {
			continue
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
