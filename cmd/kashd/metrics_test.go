package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"kash/bench/apiclient"
	"kash/engine"
	"kash/gateway/providers"
	"kash/metrics"
	"kash/metrics/promtest"
)

// scrapeLimit bounds the waits for what kashd reports in the background
// (gauges every 5 s, float committed 10 s behind the ledger, the ledger check
// and reconciliation at start, the outbox's retry). It bounds the test and
// asserts nothing about speed.
const scrapeLimit = 45 * time.Second

// exposition is one parsed scrape of kashd's /metrics.
type exposition map[string]*dto.MetricFamily

// sum adds the values of name's series whose labels include want; found
// is false when no series matches. A histogram's series count as their
// observation counts.
func (e exposition) sum(name string, want map[string]string) (total float64, found bool) {
	f := e[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total, found
}

// labelValues returns the sorted distinct values of label across name's series.
func (e exposition) labelValues(name, label string) []string {
	var out []string
	for _, m := range e[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && !slices.Contains(out, lp.GetValue()) {
				out = append(out, lp.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

type labels = map[string]string

// expectation is one thing a running kashd must report; check says what
// it saw when it does not hold.
type expectation struct {
	what  string
	check func(exposition) (ok bool, saw string)
}

// atLeast expects the series of name matching want to add up to min or more.
func atLeast(what, name string, want labels, min float64) expectation {
	return expectation{what, func(e exposition) (bool, string) {
		v, found := e.sum(name, want)
		return found && v >= min, fmt.Sprintf("%s = %v (found %v), want >= %v", series(name, want), v, found, min)
	}}
}

// exactly expects the series of name matching want to add up to value.
func exactly(what, name string, want labels, value float64) expectation {
	return expectation{what, func(e exposition) (bool, string) {
		v, found := e.sum(name, want)
		return found && v == value, fmt.Sprintf("%s = %v (found %v), want %v", series(name, want), v, found, value)
	}}
}

// series writes name and labels as a PromQL selector.
func series(name string, want labels) string {
	var matchers []string
	for k, v := range want {
		matchers = append(matchers, fmt.Sprintf("%s=%q", k, v))
	}
	slices.Sort(matchers)
	return name + "{" + strings.Join(matchers, ",") + "}"
}

// scrapeUntil scrapes kashd until every expectation holds, failing the test
// with the ones that still do not after scrapeLimit. It returns the last
// page and its parse.
func scrapeUntil(t *testing.T, c *apiclient.Client, expect []expectation) ([]byte, exposition) {
	t.Helper()
	deadline := time.Now().Add(scrapeLimit)
	for {
		page := promtest.Scrape(t, c.API+"/metrics")
		e := exposition(promtest.Families(t, page))
		var unmet []string
		for _, x := range expect {
			if ok, saw := x.check(e); !ok {
				unmet = append(unmet, x.what+": "+saw)
			}
		}
		if len(unmet) == 0 {
			return page, e
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v kashd still does not report:\n  %s", scrapeLimit, strings.Join(unmet, "\n  "))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// driveTraffic runs a newcomer's first steps through the API: login (an
// OTP by SMS), KYC, a card bought with MTN, and a withdrawal, with the push
// provider failing once so that a provider error and an outbox retry happen.
func driveTraffic(t *testing.T, c *apiclient.Client) {
	t.Helper()
	token, err := c.Login("+22997000301")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(token); err != nil {
		t.Fatal(err)
	}
	fault := map[string]any{"target": "push", "next_failures": 1}
	if err := c.Do("POST", c.Sim+"/sim/faults", "", "", fault, nil); err != nil {
		t.Fatalf("inject a push failure: %v", err)
	}
	card, f, err := c.IssueCard(token, "metrics-buy-1", "25.00", "+22997000301", "mtn-bj")
	if err != nil {
		t.Fatal(err)
	}
	if f, err = c.WaitFunding(token, f.ID, 20); err != nil || f.Status != "succeeded" {
		t.Fatalf("issuance: %+v %v", f, err)
	}
	w, err := c.Withdraw(token, "metrics-wd-1", card.ID, "10.00", "+22996000301", "moov-bj")
	if err != nil {
		t.Fatal(err)
	}
	if w, err = c.WaitWithdrawal(token, w.ID, 20); err != nil || w.Status != "succeeded" {
		t.Fatalf("withdrawal: %+v %v", w, err)
	}
}

// Every metric name that the Grafana dashboard and the alert rules query
// is exported by a running kashd after a little real traffic, with values
// that show each part of the wiring works; and promtool lints the page clean.
func TestKashdExportsEveryMetricTheDashboardAndAlertsQuery(t *testing.T) {
	t.Parallel()
	c := startKashd(t)
	driveTraffic(t, c)
	referenced, err := metrics.ReferencedNames()
	if err != nil {
		t.Fatal(err)
	}
	expect := make([]expectation, 0, len(referenced)+32)
	for _, name := range referenced {
		expect = append(expect, expectation{"exported " + name, func(e exposition) (bool, string) {
			return len(e[name].GetMetric()) > 0, "no series"
		}})
	}
	expect = append(expect, wiringExpectations()...)
	page, e := scrapeUntil(t, c, expect)

	if got, want := e.labelValues("kash_outbox_backlog", "channel"), []string{"ops_chat", "push", "sms"}; !slices.Equal(got, want) {
		t.Errorf("outbox channels %v, want %v (the table's ops is ops_chat)", got, want)
	}
	for _, route := range e.labelValues("kash_http_requests_total", "route") {
		if strings.Contains(route, "card_") || strings.Contains(route, "+229") {
			t.Errorf("route label %q carries an id", route)
		}
	}
	promtest.CheckMetrics(t, page)
}

// wiringExpectations are the values that prove each reporter is wired: the
// gateway, the routes declared up front, the actors, the treasury, the
// provider adapters and their failures, the outbox, the sagas, the ledger
// check and the reconciliation.
func wiringExpectations() []expectation {
	usd := labels{"currency": "USD"}
	return []expectation{
		atLeast("the gateway counts requests by route pattern", "kash_http_requests_total",
			labels{"route": "/v1/cards", "method": "POST", "code_class": "2xx"}, 1),
		exactly("routes are declared before their first request", "kash_http_requests_total",
			labels{"route": "/v1/admin/rates", "method": "GET", "code_class": "2xx"}, 0),
		atLeast("the probes are counted", "kash_http_requests_total",
			labels{"route": "/readyz", "method": "GET", "code_class": "2xx"}, 1),
		atLeast("requests in flight include this scrape, never negative", "kash_http_requests_in_flight", nil, 1),
		exactly("the low-water mark defaults to 1000 USD", "kash_treasury_float_low_water", usd, 1000),
		atLeast("the treasury reports the float", "kash_treasury_float_available", usd, 1000),
		exactly("the float committed since start is the 25 USD card", "kash_treasury_float_committed_total", usd, 25),
		exactly("one treasury actor", "kash_actors_live", labels{"kind": "treasury"}, 1),
		exactly("one outbox dispatcher", "kash_actors_live", labels{"kind": "outbox_dispatcher"}, 1),
		exactly("a provider account actor per qosic account and the issuer", "kash_actors_live",
			labels{"kind": "provider_account"}, 3),
		atLeast("card actors are activated", "kash_actor_activations_total", labels{"kind": "card"}, 1),
		atLeast("the issuance succeeded", "kash_funding_transitions_total", labels{"to": "succeeded"}, 1),
		atLeast("the withdrawal succeeded", "kash_withdrawal_transitions_total", labels{"to": "succeeded"}, 1),
		atLeast("earnings are booked", "kash_earnings_total", labels{"currency": "XOF"}, 1),
		atLeast("the issuer's calls are counted", "kash_provider_requests_total",
			labels{"provider": "flutterwave", "operation": "create", "outcome": "succeeded"}, 1),
		atLeast("the OTP SMS is counted", "kash_provider_requests_total",
			labels{"provider": "messagebird", "operation": "send", "outcome": "succeeded"}, 1),
		exactly("the push failure is counted by reason", "kash_provider_errors_total",
			labels{"provider": "onesignal", "operation": "send", "reason": "http_5xx"}, 1),
		exactly("no other provider error", "kash_provider_errors_total", nil, 1),
		exactly("the failed push delivery is counted", "kash_outbox_deliveries_total",
			labels{"channel": "push", "result": "failed"}, 1),
		atLeast("the retried push is delivered", "kash_outbox_deliveries_total",
			labels{"channel": "push", "result": "sent"}, 1),
		exactly("the qosic accounts' pending payments are declared", "kash_payments_pending",
			labels{"provider": "qosic2", "age_bucket": "over_24h"}, 0),
		atLeast("the ledger was checked", "kash_ledger_check_last_timestamp_seconds", nil, 1),
		exactly("the ledger balances", "kash_ledger_imbalances", nil, 0),
		atLeast("the books were reconciled", "kash_reconciliation_last_timestamp_seconds", nil, 1),
		exactly("the books agree with the providers", "kash_reconciliation_differences", nil, 0),
	}
}

// A real Prometheus (the Debian package's server, on loopback) scrapes a
// running kashd under a little load, evaluates the shipped alert rules
// against it without error, and answers PromQL through its HTTP API with
// the float queue and the requests counted.
func TestRealPrometheusScrapesKashdUnderLoad(t *testing.T) {
	t.Parallel()
	c := startKashd(t)
	rules, err := os.ReadFile(filepath.Join("..", "..", "metrics", metrics.AlertRulesPath))
	if err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, strings.TrimPrefix(c.API, "http://"), rules)
	loadDone := make(chan int, 1)
	go func() { loadDone <- load(c, 10*time.Second) }()

	queryUntil(t, prom, `kash_treasury_float_queue_length{job="kashd"}`, func(s []promtest.Sample) bool {
		return len(s) == 1 && s[0].String() == "0"
	})
	queryUntil(t, prom, `sum(increase(kash_http_requests_total{job="kashd",route="/v1/openapi.json",code_class="2xx"}[1m]))`,
		func(s []promtest.Sample) bool { return len(s) == 1 && positive(s[0].String()) })
	if sent := <-loadDone; sent == 0 {
		t.Fatal("the load goroutine sent no request")
	}
	queryUntil(t, prom, `sum(kash_http_requests_total{job="kashd"})`, func(s []promtest.Sample) bool {
		return len(s) == 1 && positive(s[0].String())
	})

	prom.WaitFor(t, "every alert rule evaluated healthy against kashd", scrapeLimit, func() (bool, string) {
		health, err := prom.RuleHealth()
		if err != nil {
			return false, err.Error()
		}
		for name, h := range health {
			if h != "ok" {
				return false, name + ": " + h
			}
		}
		return len(health) > 0, fmt.Sprintf("%d rules", len(health))
	})
	// A healthy kashd with its wiring complete has nothing pending: a
	// missing ledger check, reconciliation or float report would be.
	queryUntil(t, prom, `ALERTS`, func(s []promtest.Sample) bool { return len(s) == 0 })

	queries, err := metrics.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if expr, ok := promtest.PromQL(q.Expr); ok {
			if qr, err := prom.Query(expr); err != nil || qr.Status != "success" {
				t.Errorf("%s: %q against kashd's series: %v %s %s", q.Source, expr, err, qr.ErrorType, qr.Error)
			}
		}
	}
}

// load sends a few requests every 20 ms for d (the OpenAPI document, the
// probes, an unknown path) and returns how many it sent.
func load(c *apiclient.Client, d time.Duration) int {
	var sent int
	client := &http.Client{Timeout: 10 * time.Second}
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, path := range []string{"/v1/openapi.json", "/healthz", "/v1/no-such-route"} {
			resp, err := client.Get(c.API + path)
			if err != nil {
				continue
			}
			resp.Body.Close()
			sent++
		}
	}
	return sent
}

// queryUntil runs expr through Prometheus until its result satisfies ok.
func queryUntil(t *testing.T, prom *promtest.Server, expr string, ok func([]promtest.Sample) bool) {
	t.Helper()
	prom.WaitFor(t, expr, scrapeLimit, func() (bool, string) {
		qr, err := prom.Query(expr)
		if err != nil {
			return false, err.Error()
		}
		if qr.Status != "success" {
			return false, qr.ErrorType + ": " + qr.Error
		}
		var got []string
		for _, s := range qr.Data.Result {
			got = append(got, fmt.Sprintf("%v %s", s.Metric, s))
		}
		return ok(qr.Data.Result), fmt.Sprintf("%d series %v", len(got), got)
	})
}

func positive(value string) bool {
	v, err := strconv.ParseFloat(value, 64)
	return err == nil && v > 0
}

func TestFloatLowWaterComesFromTheEnvironment(t *testing.T) {
	for raw, want := range map[string]int64{"": 1000_00, "250.50": 250_50, "0": 0} {
		got, err := floatLowWater(func(string) string { return raw })
		if err != nil || got != engine.NewMoney(want, engine.USD) {
			t.Errorf("KASH_FLOAT_LOW_WATER_USD=%q: %v %v, want %d cents", raw, got, err, want)
		}
	}
	if _, err := floatLowWater(func(string) string { return "a lot" }); err == nil {
		t.Error("KASH_FLOAT_LOW_WATER_USD=\"a lot\" accepted")
	}
}

func TestProviderErrorsAreClassifiedByReason(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("qosic collect ref-1: %w", err) }
	cases := []struct {
		err    error
		reason metrics.ErrorReason
		fault  bool
	}{
		{nil, "", false},
		{wrap(engine.ErrUnknownReference), "", false},
		{wrap(providers.ErrRejected), "", false},
		{wrap(context.Canceled), "", false},
		{wrap(providers.ErrTimeout), metrics.ReasonTimeout, true},
		{wrap(context.DeadlineExceeded), metrics.ReasonTimeout, true},
		{wrap(providers.ErrTransport), metrics.ReasonTransport, true},
		{wrap(providers.ErrMalformed), metrics.ReasonBadResponse, true},
		{wrap(&providers.StatusError{Status: 429}), metrics.ReasonRateLimited, true},
		{wrap(&providers.StatusError{Status: 502}), metrics.ReasonHTTP5xx, true},
		{wrap(&providers.StatusError{Status: 404}), metrics.ReasonHTTP4xx, true},
		{errors.New("something else"), metrics.ReasonOther, true},
	}
	for _, c := range cases {
		reason, fault := errorReason(c.err)
		if reason != c.reason || fault != c.fault {
			t.Errorf("errorReason(%v) = %q, %v; want %q, %v", c.err, reason, fault, c.reason, c.fault)
		}
	}
}

func TestFloatCommittedScansAboveTheLastIDSeenBeforeTheWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f := floatCommitted{since: t0}
	if low := f.lowID(); low != 0 {
		t.Errorf("lowID without marks = %d, want 0 (scan everything)", low)
	}
	f.marks = []idMark{{t0.Add(-10 * time.Second), 5}, {t0.Add(-5 * time.Second), 9}, {t0.Add(time.Second), 12}}
	if low := f.lowID(); low != 9 {
		t.Errorf("lowID = %d, want 9 (the last mark at or before the window's start)", low)
	}
	if len(f.marks) != 2 || f.marks[0].id != 9 {
		t.Errorf("marks kept %v, want the one in use and the later ones", f.marks)
	}
}
