package qosic

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
	"kash/gateway/providers"
	pt "kash/gateway/providers/internal/providertest"
)

const (
	testRef  = "f-01HXQ0S1C"
	password = "qosic-sandbox-pass"
)

func newAdapter(t *testing.T, url string, timeout time.Duration) (*Adapter, *prometheus.Registry) {
	t.Helper()
	m, reg := pt.NewMetrics(t)
	a, err := New(Config{
		BaseURL: url, Login: "kash-qosic", Password: password,
		MTNClientID: "KASH_MTN", MoovClientID: "KASH_MOOV", Timeout: timeout,
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	return a, reg
}

func payment(op engine.Operator) engine.PaymentRequest {
	return engine.PaymentRequest{Ref: testRef, Phone: "+22990000001", Operator: op, Amount: engine.NewMoney(5000, engine.XOF)}
}

func TestMTNCollectIsPendingAndSendsTheDocumentedRequest(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusAccepted, pt.Testdata(t, "mtn_collect_pending.json")))
	a, reg := newAdapter(t, srv.URL, time.Second)

	res, err := a.Collect(context.Background(), payment(engine.OperatorMTN))
	if err != nil {
		t.Fatal(err)
	}
	want := engine.Result{Outcome: engine.OutcomePending, Ref: testRef, ProviderRef: "QS000000000042"}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	req := srv.Last(t)
	if req.Method != http.MethodPost || req.Path != "/QosicBridge/user/requestpayment" {
		t.Fatalf("request %s %s", req.Method, req.Path)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("kash-qosic:"+password))
	if req.Header["Authorization"] != wantAuth {
		t.Fatalf("Authorization %q", req.Header["Authorization"])
	}
	var body map[string]string
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"msisdn": "22990000001", "amount": "5000", "transref": testRef, "clientid": "KASH_MTN"} {
		if body[k] != v {
			t.Errorf("body %s = %q, want %q", k, body[k], v)
		}
	}
	if body["firstname"] == "" || body["lastname"] == "" {
		t.Error("firstname and lastname are required by QosicBridge")
	}
	if n := pt.Requests(t, reg, "qosic", "collect", "pending"); n != 1 {
		t.Fatalf("requests_total{collect,pending} = %v", n)
	}
	if n := pt.Observations(t, reg, "qosic", "collect"); n != 1 {
		t.Fatalf("duration observations = %v", n)
	}
}

func TestMoovCollectSucceeds(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusOK, pt.Testdata(t, "moov_collect_success.json")))
	a, _ := newAdapter(t, srv.URL, time.Second)
	res, err := a.Collect(context.Background(), payment(engine.OperatorMoov))
	if err != nil || res.Outcome != engine.OutcomeSucceeded || res.ProviderRef != "QS000000000043" {
		t.Fatalf("%+v, %v", res, err)
	}
	req := srv.Last(t)
	if req.Path != "/QosicBridge/user/requestpaymentmv" || !strings.Contains(string(req.Body), `"clientid":"KASH_MOOV"`) {
		t.Fatalf("request %s %s", req.Path, req.Body)
	}
}

// withCode rewrites the responsecode of a documented answer.
func withCode(t *testing.T, file, code string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(pt.Testdata(t, file), &m); err != nil {
		t.Fatal(err)
	}
	m["responsecode"] = code
	b, _ := json.Marshal(m)
	return b
}

func TestMoovCollectFailureCodes(t *testing.T) {
	srv := pt.Start(t, nil)
	a, _ := newAdapter(t, srv.URL, time.Second)
	for _, code := range []string{"8", "92", "94", "95", "10", "91", "98", "99", "-1"} {
		srv.Handle(pt.Reply(http.StatusOK, withCode(t, "moov_collect_failed.json", code)))
		res, err := a.Collect(context.Background(), payment(engine.OperatorMoov))
		if err != nil || res.Outcome != engine.OutcomeFailed {
			t.Errorf("code %s: %+v, %v", code, res, err)
		}
		if !strings.Contains(res.Reason, code) || !strings.Contains(res.Reason, "insufficient balance") {
			t.Errorf("code %s: reason %q lacks the code or comment", code, res.Reason)
		}
	}
}

func TestStatusAnswers(t *testing.T) {
	cases := []struct {
		file    string
		want    engine.Outcome
		wantErr error
	}{
		{"status_success.json", engine.OutcomeSucceeded, nil},
		{"status_pending.json", engine.OutcomePending, nil},
		{"status_mtn_insufficient.json", engine.OutcomeFailed, nil},
		{"status_failed.json", engine.OutcomeFailed, nil},
		{"status_success_message.json", engine.OutcomeSucceeded, nil},
		{"status_unsuccessful_message.json", engine.OutcomeUnknown, providers.ErrMalformed},
		{"status_unknown_code.json", engine.OutcomeUnknown, providers.ErrMalformed},
		{"status_not_found.json", engine.OutcomeUnknown, providers.ErrNotFound},
		{"other_transref.json", engine.OutcomeUnknown, providers.ErrMalformed},
		{"malformed.html", engine.OutcomeUnknown, providers.ErrMalformed},
	}
	srv := pt.Start(t, nil)
	a, reg := newAdapter(t, srv.URL, time.Second)
	for _, c := range cases {
		srv.Handle(pt.Reply(http.StatusOK, pt.Testdata(t, c.file)))
		res, err := a.PaymentStatus(context.Background(), testRef, engine.OperatorMTN)
		if res.Outcome != c.want || !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
			t.Errorf("%s: %+v, %v; want %s, %v", c.file, res, err, c.want, c.wantErr)
		}
		if res.Ref != testRef {
			t.Errorf("%s: ref %q", c.file, res.Ref)
		}
	}
	req := srv.Last(t)
	if req.Path != "/QosicBridge/user/gettransactionstatus" ||
		string(req.Body) != `{"transref":"f-01HXQ0S1C","clientid":"KASH_MTN"}` {
		t.Fatalf("status request %s %s", req.Path, req.Body)
	}
	if n := pt.Requests(t, reg, "qosic", "status", "unknown"); n != 5 {
		t.Fatalf("requests_total{status,unknown} = %v, want 5", n)
	}
}

func TestPayouts(t *testing.T) {
	cases := []struct {
		op   engine.Operator
		file string
		path string
		want engine.Outcome
	}{
		{engine.OperatorMTN, "deposit_success.json", "/QosicBridge/user/deposit", engine.OutcomeSucceeded},
		{engine.OperatorMoov, "depositmv_success.json", "/QosicBridge/user/depositmv", engine.OutcomeSucceeded},
		{engine.OperatorMTN, "deposit_failed.json", "/QosicBridge/user/deposit", engine.OutcomeFailed},
		{engine.OperatorMoov, "deposit_failed.json", "/QosicBridge/user/depositmv", engine.OutcomeFailed},
	}
	srv := pt.Start(t, nil)
	a, _ := newAdapter(t, srv.URL, time.Second)
	for _, c := range cases {
		srv.Handle(pt.Reply(http.StatusOK, pt.Testdata(t, c.file)))
		res, err := a.Payout(context.Background(), payment(c.op))
		if err != nil || res.Outcome != c.want {
			t.Errorf("%s %s: %+v, %v", c.op, c.file, res, err)
		}
		if got := srv.Last(t).Path; got != c.path {
			t.Errorf("%s: path %s, want %s", c.op, got, c.path)
		}
	}
}

func TestRefusedRequestsFailButUnreadableOnesAreUnknown(t *testing.T) {
	srv := pt.Start(t, nil)
	a, _ := newAdapter(t, srv.URL, time.Second)
	refusals := []struct {
		status int
		file   string
	}{
		{http.StatusUnauthorized, "unauthorized.json"},
		{http.StatusBadRequest, "invalid_request.json"},
		{http.StatusConflict, "status_failed.json"},
	}
	for _, r := range refusals {
		srv.Handle(pt.Reply(r.status, pt.Testdata(t, r.file)))
		res, err := a.Collect(context.Background(), payment(engine.OperatorMTN))
		if err != nil || res.Outcome != engine.OutcomeFailed || !strings.Contains(res.Reason, fmt.Sprint(r.status)) {
			t.Errorf("collect HTTP %d: %+v, %v", r.status, res, err)
		}
		// The same refusal to a status query says nothing about the payment.
		res, err = a.PaymentStatus(context.Background(), testRef, engine.OperatorMTN)
		if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrUnexpectedStatus) {
			t.Errorf("status HTTP %d: %+v, %v", r.status, res, err)
		}
	}
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		srv.Handle(pt.Reply(status, []byte(`{"responsecode":"-1","responsemsg":"FAILED"}`)))
		res, err := a.Collect(context.Background(), payment(engine.OperatorMoov))
		var se *providers.StatusError
		if res.Outcome != engine.OutcomeUnknown || !errors.As(err, &se) || se.Status != status {
			t.Errorf("HTTP %d: %+v, %v", status, res, err)
		}
	}
	srv.Handle(pt.Reply(http.StatusOK, pt.Testdata(t, "malformed.html")))
	if res, err := a.Payout(context.Background(), payment(engine.OperatorMTN)); res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrMalformed) {
		t.Errorf("malformed payout answer: %+v, %v", res, err)
	}
}

func TestTimeoutIsUnknown(t *testing.T) {
	srv := pt.Start(t, nil)
	srv.Handle(srv.Hang())
	a, reg := newAdapter(t, srv.URL, 200*time.Millisecond)
	res, err := a.Collect(context.Background(), payment(engine.OperatorMoov))
	if res.Outcome != engine.OutcomeUnknown || res.Ref != testRef || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("%+v, %v; want unknown with ErrTimeout", res, err)
	}
	if n := pt.Requests(t, reg, "qosic", "collect", "unknown"); n != 1 {
		t.Fatalf("requests_total{collect,unknown} = %v", n)
	}
	// A context deadline shorter than the configured timeout wins.
	a2, _ := newAdapter(t, srv.URL, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := a2.PaymentStatus(ctx, testRef, engine.OperatorMTN); !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("context deadline: %v, want ErrTimeout", err)
	}
}

func TestCancelledContextIsUnknown(t *testing.T) {
	srv := pt.Start(t, nil)
	srv.Handle(srv.Hang())
	a, _ := newAdapter(t, srv.URL, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(srv.Requests()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	res, err := a.Payout(ctx, payment(engine.OperatorMTN))
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, context.Canceled) {
		t.Fatalf("%+v, %v; want unknown with context.Canceled", res, err)
	}
}

func TestConnectionRefusedIsUnknown(t *testing.T) {
	// Port 1 on loopback: nothing listens there.
	a, _ := newAdapter(t, "http://127.0.0.1:1", time.Second)
	res, err := a.Collect(context.Background(), payment(engine.OperatorMTN))
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrTransport) {
		t.Fatalf("%+v, %v; want unknown with ErrTransport", res, err)
	}
}

func TestInvalidRequestsFailWithoutACall(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusOK, pt.Testdata(t, "moov_collect_success.json")))
	a, _ := newAdapter(t, srv.URL, time.Second)
	bad := []engine.PaymentRequest{
		{Ref: testRef, Phone: "+22990000001", Operator: engine.OperatorMTN, Amount: engine.NewMoney(500, engine.USD)},
		{Ref: testRef, Phone: "+22990000001", Operator: engine.OperatorMTN, Amount: engine.NewMoney(0, engine.XOF)},
		{Ref: "", Phone: "+22990000001", Operator: engine.OperatorMTN, Amount: engine.NewMoney(5000, engine.XOF)},
		{Ref: testRef, Phone: "not a phone", Operator: engine.OperatorMTN, Amount: engine.NewMoney(5000, engine.XOF)},
		{Ref: testRef, Phone: "+22990000001", Operator: "orange-ci", Amount: engine.NewMoney(5000, engine.XOF)},
	}
	for _, req := range bad {
		res, err := a.Collect(context.Background(), req)
		if err != nil || res.Outcome != engine.OutcomeFailed || !strings.HasPrefix(res.Reason, "invalid request") {
			t.Errorf("%+v: %+v, %v", req, res, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d invalid requests reached the provider", n)
	}
}

func TestSettlement(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusAccepted, []byte(`{"responsecode":"01","responsemsg":"PENDING","transref":"sw-1","serviceref":"QS1","comment":"1000.00 USD at 600"}`)))
	a, _ := newAdapter(t, srv.URL, time.Second)
	res, err := a.Settle(context.Background(), "sw-1", engine.NewMoney(600000, engine.XOF))
	if err != nil || res.Outcome != engine.OutcomePending {
		t.Fatalf("%+v, %v", res, err)
	}
	req := srv.Last(t)
	if req.Path != "/QosicBridge/user/settlement" || string(req.Body) != `{"transref":"sw-1","amount":"600000","clientid":"KASH_MTN"}` {
		t.Fatalf("request %s %s", req.Path, req.Body)
	}
}

func TestConfigNeverShowsThePassword(t *testing.T) {
	cfg := Config{Login: "kash-qosic", Password: password, MTNClientID: "KASH_MTN", MoovClientID: "KASH_MOOV"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "qosic", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(s, password) {
			t.Fatalf("password leaked: %s", s)
		}
		if !strings.Contains(s, "kash-qosic") {
			t.Fatalf("login missing from %s", s)
		}
	}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := base64.StdEncoding.EncodeToString([]byte("kash-qosic:" + password))
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", a, a, a), fmt.Sprintf("%+v %#v", *a, *a)} {
		if strings.Contains(s, password) || strings.Contains(s, creds) {
			t.Fatalf("adapter printing leaked the credentials: %s", s)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Login: "x", MTNClientID: "a", MoovClientID: "b"},
		{Login: "x", Password: "p", MTNClientID: "a"},
		{Login: "x", Password: "p", MTNClientID: "a", MoovClientID: "b", BaseURL: "ftp://qosic"},
	} {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("New(%v) accepted", cfg)
		}
	}
	a, err := New(Config{Login: "x", Password: "p", MTNClientID: "a", MoovClientID: "b"}, nil)
	if err != nil || a.Name() != "qosic" || a.base != DefaultBaseURL+basePath {
		t.Fatalf("defaults: %v %v", a, err)
	}
}
