package flutterwave

import (
	"context"
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

const secretKey = "FLWSECK_TEST-kash-sandbox"

func newAdapter(t *testing.T, url string, timeout time.Duration) (*Adapter, *prometheus.Registry) {
	t.Helper()
	m, reg := pt.NewMetrics(t)
	a, err := New(Config{BaseURL: url, SecretKey: secretKey, VerifHash: "whhash", Timeout: timeout}, m)
	if err != nil {
		t.Fatal(err)
	}
	return a, reg
}

func usd(cents int64) engine.Money { return engine.NewMoney(cents, engine.USD) }

func TestCreateCard(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusOK, pt.Testdata(t, "create_card.json")))
	a, reg := newAdapter(t, srv.URL, time.Second)
	res, card, err := a.CreateCard(context.Background(), engine.CreateCardRequest{
		Ref: "iss-01HX", CardID: "card_01HX", HolderName: "Ada Lovelace Kash", Amount: usd(2500),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != engine.OutcomeSucceeded || res.Ref != "iss-01HX" || res.ProviderRef != "199a344f-1dbe-4b00-ba4d-beb014345fae" {
		t.Fatalf("result %+v", res)
	}
	want := engine.IssuedCard{IssuerCardID: "199a344f-1dbe-4b00-ba4d-beb014345fae", Last4: "0288", ExpiryMonth: 9, ExpiryYear: 2025}
	if card != want {
		t.Fatalf("card %+v, want %+v", card, want)
	}
	req := srv.Last(t)
	if req.Method != http.MethodPost || req.Path != "/v3/virtual-cards" || req.Header["Authorization"] != "Bearer "+secretKey {
		t.Fatalf("request %s %s auth %q", req.Method, req.Path, req.Header["Authorization"])
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"currency": "USD", "amount": 25.0, "debit_currency": "USD", "billing_name": "Ada Lovelace Kash",
		"first_name": "Ada Lovelace", "last_name": "Kash", "reference": "iss-01HX", "card_reference": "card_01HX",
	} {
		if body[k] != v {
			t.Errorf("body %s = %v, want %v", k, body[k], v)
		}
	}
	if !strings.Contains(string(req.Body), `"amount":25.00`) {
		t.Errorf("amount not sent as a two-decimal number: %s", req.Body)
	}
	if n := pt.Requests(t, reg, "flutterwave", "create", "succeeded"); n != 1 {
		t.Fatalf("requests_total{create,succeeded} = %v", n)
	}
}

func TestMoneyMoves(t *testing.T) {
	cases := []struct {
		name   string
		call   func(*Adapter, context.Context, engine.CardOperation) (engine.Result, error)
		status int
		file   string
		path   string
		want   engine.Outcome
		reason string
	}{
		{"fund", (*Adapter).FundCard, 200, "fund_success.json", "/fund", engine.OutcomeSucceeded, ""},
		{"withdraw", (*Adapter).WithdrawCard, 200, "withdraw_success.json", "/withdraw", engine.OutcomeSucceeded, ""},
		{"fund short float", (*Adapter).FundCard, 400, "insufficient_balance.json", "/fund", engine.OutcomeFailed, "Insufficient wallet balance"},
		{"fund terminated", (*Adapter).FundCard, 400, "terminated.json", "/fund", engine.OutcomeFailed, "Card has been terminated"},
		{"withdraw unknown card", (*Adapter).WithdrawCard, 404, "card_not_found.json", "/withdraw", engine.OutcomeFailed, "Unable to retrieve the requested card."},
		{"fund bad key", (*Adapter).FundCard, 401, "unauthorized.json", "/fund", engine.OutcomeFailed, "Invalid authorization key"},
		{"fund reference reused", (*Adapter).FundCard, 409, "reference_used.json", "/fund", engine.OutcomeFailed, "Reference already used"},
		{"error envelope with 200", (*Adapter).FundCard, 200, "insufficient_balance.json", "/fund", engine.OutcomeFailed, "Insufficient wallet balance"},
	}
	srv := pt.Start(t, nil)
	a, _ := newAdapter(t, srv.URL, time.Second)
	op := engine.CardOperation{Ref: "fnd-01HX", IssuerCardID: "card-uuid", Amount: usd(1050)}
	for _, c := range cases {
		srv.Handle(pt.Reply(c.status, pt.Testdata(t, c.file)))
		res, err := c.call(a, context.Background(), op)
		if err != nil || res.Outcome != c.want || res.Reason != c.reason || res.Ref != op.Ref {
			t.Errorf("%s: %+v, %v", c.name, res, err)
		}
		req := srv.Last(t)
		if req.Path != "/v3/virtual-cards/card-uuid"+c.path || !strings.Contains(string(req.Body), `"reference":"fnd-01HX"`) ||
			!strings.Contains(string(req.Body), `"amount":10.50`) {
			t.Errorf("%s: request %s %s", c.name, req.Path, req.Body)
		}
	}
}

func TestUnknownOutcomes(t *testing.T) {
	srv := pt.Start(t, nil)
	a, reg := newAdapter(t, srv.URL, 200*time.Millisecond)
	op := engine.CardOperation{Ref: "fnd-01HX", IssuerCardID: "card-uuid", Amount: usd(1000)}
	cases := []struct {
		name    string
		handler func()
		want    error
	}{
		{"500", func() { srv.Handle(pt.Reply(500, []byte(`{"status":"error","message":"boom"}`))) }, providers.ErrUnexpectedStatus},
		{"503 html", func() { srv.Handle(pt.ReplyText(503, "<html>busy</html>")) }, providers.ErrUnexpectedStatus},
		{"429", func() { srv.Handle(pt.Reply(429, pt.Testdata(t, "insufficient_balance.json"))) }, providers.ErrUnexpectedStatus},
		{"malformed 200", func() { srv.Handle(pt.ReplyText(200, "{not json")) }, providers.ErrMalformed},
		{"odd status", func() { srv.Handle(pt.Reply(200, []byte(`{"status":"queued","message":"","data":null}`))) }, providers.ErrMalformed},
		{"timeout", func() { srv.Handle(srv.Hang()) }, providers.ErrTimeout},
	}
	for _, c := range cases {
		c.handler()
		res, err := a.FundCard(context.Background(), op)
		if res.Outcome != engine.OutcomeUnknown || res.Ref != op.Ref || !errors.Is(err, c.want) {
			t.Errorf("%s: %+v, %v; want unknown, %v", c.name, res, err, c.want)
		}
	}
	if n := pt.Requests(t, reg, "flutterwave", "fund", "unknown"); n != float64(len(cases)) {
		t.Fatalf("requests_total{fund,unknown} = %v", n)
	}
	// A creation whose success answer cannot be read is unknown, not failed:
	// the card may exist.
	srv.Handle(pt.Reply(200, []byte(`{"status":"success","message":"Card created successfully","data":{"id":""}}`)))
	res, _, err := a.CreateCard(context.Background(), engine.CreateCardRequest{Ref: "iss-1", CardID: "c1", HolderName: "A", Amount: usd(500)})
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrMalformed) {
		t.Fatalf("unreadable creation: %+v, %v", res, err)
	}
}

func TestStateChanges(t *testing.T) {
	cases := []struct {
		name   string
		call   func(*Adapter, context.Context, string, string) (engine.Result, error)
		status int
		file   string
		path   string
		want   engine.Outcome
	}{
		{"block", (*Adapter).BlockCard, 200, "block_success.json", "/status/block", engine.OutcomeSucceeded},
		{"block again", (*Adapter).BlockCard, 400, "block_already.json", "/status/block", engine.OutcomeSucceeded},
		{"block terminated", (*Adapter).BlockCard, 400, "terminated.json", "/status/block", engine.OutcomeFailed},
		{"unblock", (*Adapter).UnblockCard, 200, "unblock_success.json", "/status/unblock", engine.OutcomeSucceeded},
		{"terminate", (*Adapter).TerminateCard, 200, "terminate_success.json", "/terminate", engine.OutcomeSucceeded},
		{"terminate again", (*Adapter).TerminateCard, 400, "terminated.json", "/terminate", engine.OutcomeSucceeded},
		{"terminate unknown", (*Adapter).TerminateCard, 404, "card_not_found.json", "/terminate", engine.OutcomeFailed},
	}
	srv := pt.Start(t, nil)
	a, _ := newAdapter(t, srv.URL, time.Second)
	for _, c := range cases {
		srv.Handle(pt.Reply(c.status, pt.Testdata(t, c.file)))
		res, err := c.call(a, context.Background(), "blk-1", "card-uuid")
		if err != nil || res.Outcome != c.want {
			t.Errorf("%s: %+v, %v", c.name, res, err)
		}
		req := srv.Last(t)
		if req.Method != http.MethodPut || req.Path != "/v3/virtual-cards/card-uuid"+c.path || string(req.Body) != `{"reference":"blk-1"}` {
			t.Errorf("%s: request %s %s %s", c.name, req.Method, req.Path, req.Body)
		}
	}
}

func TestOperationStatus(t *testing.T) {
	srv := pt.Start(t, nil)
	a, _ := newAdapter(t, srv.URL, time.Second)

	srv.Handle(pt.Reply(200, pt.Testdata(t, "operation_create.json")))
	res, card, err := a.OperationStatus(context.Background(), "iss-01HX")
	want := engine.IssuedCard{IssuerCardID: "8f1c2d3e-0000-4000-8000-000000000001", Last4: "7894", ExpiryMonth: 1, ExpiryYear: 2029}
	if err != nil || res.Outcome != engine.OutcomeSucceeded || card != want || res.ProviderRef != want.IssuerCardID {
		t.Fatalf("create: %+v %+v %v", res, card, err)
	}
	if got := srv.Last(t); got.Method != http.MethodGet || got.Path != "/v3/virtual-cards/references/iss-01HX" {
		t.Fatalf("request %s %s", got.Method, got.Path)
	}

	srv.Handle(pt.Reply(200, pt.Testdata(t, "operation_fund_failed.json")))
	res, card, err = a.OperationStatus(context.Background(), "iss-01HX")
	if err != nil || res.Outcome != engine.OutcomeFailed || res.Reason != "Insufficient wallet balance" || card != (engine.IssuedCard{}) {
		t.Fatalf("fund failed: %+v %+v %v", res, card, err)
	}

	srv.Handle(pt.Reply(200, pt.Testdata(t, "operation_withdraw_successful.json")))
	if res, _, err = a.OperationStatus(context.Background(), "iss-01HX"); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("withdraw: %+v %v", res, err)
	}

	unknown := []struct {
		status int
		file   string
		want   error
	}{
		{404, "operation_not_found.json", providers.ErrNotFound},
		{200, "operation_weird.json", providers.ErrMalformed},
		{503, "card_not_found.json", providers.ErrUnexpectedStatus},
		{200, "operation_create.json", providers.ErrMalformed}, // answer about another reference
	}
	for _, u := range unknown {
		srv.Handle(pt.Reply(u.status, pt.Testdata(t, u.file)))
		ref := "iss-01HX"
		if u.want == providers.ErrMalformed && u.file == "operation_create.json" {
			ref = "iss-other"
		}
		res, _, err := a.OperationStatus(context.Background(), ref)
		if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, u.want) {
			t.Errorf("%d %s: %+v, %v; want %v", u.status, u.file, res, err, u.want)
		}
	}
}

func TestCardDetailsNeverLeakThroughErrorsOrPrints(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, pt.Testdata(t, "get_card.json")))
	a, reg := newAdapter(t, srv.URL, time.Second)
	got, err := a.CardDetails(context.Background(), "7dc7b98c-7f6d-48f3-9b31-859a145c8085")
	if err != nil {
		t.Fatal(err)
	}
	if got.PAN != "5366130719043293" || got.CVV != "267" || got.ExpiryMonth != 1 || got.ExpiryYear != 2023 {
		t.Fatalf("details wrong (values withheld): month %d year %d", got.ExpiryMonth, got.ExpiryYear)
	}
	for _, s := range []string{fmt.Sprint(got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got)} {
		if strings.Contains(s, "5366130719043293") || strings.Contains(s, "267") {
			t.Fatal("card data printed")
		}
	}
	if n := pt.Requests(t, reg, "flutterwave", "details", "succeeded"); n != 1 {
		t.Fatalf("requests_total{details,succeeded} = %v", n)
	}
	srv.Handle(pt.Reply(404, pt.Testdata(t, "card_not_found.json")))
	if _, err := a.CardDetails(context.Background(), "nope"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown card: %v", err)
	}
	srv.Handle(pt.Reply(200, []byte(`{"status":"success","message":"","data":{"id":"x","card_pan":"4111111111111111","cvv":"999","expiration":"garbage"}}`)))
	_, err = a.CardDetails(context.Background(), "x")
	if !errors.Is(err, providers.ErrMalformed) || strings.Contains(err.Error(), "4111111111111111") || strings.Contains(err.Error(), "999") {
		t.Fatalf("malformed card: %v", err)
	}
}

func TestCard(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, pt.Testdata(t, "get_card.json")))
	a, _ := newAdapter(t, srv.URL, time.Second)
	c, err := a.Card(context.Background(), "7dc7b98c-7f6d-48f3-9b31-859a145c8085")
	if err != nil {
		t.Fatal(err)
	}
	if c.Balance != usd(2_000_000) || c.Status != "active" || c.Last4 != "3293" {
		t.Fatalf("card %+v", c)
	}
}

func TestTransactions(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, pt.Testdata(t, "transactions.json")))
	a, _ := newAdapter(t, srv.URL, time.Second)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	txs, err := a.Transactions(context.Background(), "card-uuid", from, from.AddDate(0, 1, 0), 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 3 {
		t.Fatalf("%d transactions", len(txs))
	}
	if txs[0].ID != "39250" || txs[0].Amount != usd(2_500_000) || txs[0].Indicator != "D" || txs[0].Status != "Successful" {
		t.Fatalf("first %+v", txs[0])
	}
	if txs[2].Amount != usd(1250) || txs[2].Type != "funding" || txs[2].Reference != "fnd-01HX" || txs[2].CreatedAt.IsZero() {
		t.Fatalf("third %+v", txs[2])
	}
	req := srv.Last(t)
	if req.Path != "/v3/virtual-cards/card-uuid/transactions" || req.Query != "from=2025-01-01&index=2&size=50&to=2025-02-01" {
		t.Fatalf("request %s?%s", req.Path, req.Query)
	}
}

func TestFloatBalance(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, pt.Testdata(t, "balance_usd.json")))
	a, _ := newAdapter(t, srv.URL, time.Second)
	got, err := a.FloatBalance(context.Background())
	if err != nil || got != usd(9_997_550) {
		t.Fatalf("%v, %v", got, err)
	}
	if p := srv.Last(t).Path; p != "/v3/balances/USD" {
		t.Fatalf("path %s", p)
	}
	srv.Handle(pt.Reply(200, []byte(`{"status":"success","message":"","data":{"currency":"USD","available_balance":10.129}}`)))
	if got, err := a.FloatBalance(context.Background()); err != nil || got != usd(1012) {
		t.Fatalf("extra precision must round down: %v, %v", got, err)
	}
	srv.Handle(pt.Reply(200, []byte(`{"status":"success","message":"","data":{"currency":"NGN","available_balance":10}}`)))
	if _, err := a.FloatBalance(context.Background()); !errors.Is(err, providers.ErrMalformed) {
		t.Fatalf("other currency accepted: %v", err)
	}
	srv.Handle(pt.Reply(401, pt.Testdata(t, "unauthorized.json")))
	if _, err := a.FloatBalance(context.Background()); !errors.Is(err, providers.ErrUnexpectedStatus) {
		t.Fatalf("401: %v", err)
	}
}

func TestInvalidRequestsFailWithoutACall(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, pt.Testdata(t, "fund_success.json")))
	a, _ := newAdapter(t, srv.URL, time.Second)
	for _, op := range []engine.CardOperation{
		{Ref: "r", IssuerCardID: "c", Amount: engine.NewMoney(1000, engine.XOF)},
		{Ref: "r", IssuerCardID: "c", Amount: usd(0)},
		{Ref: "", IssuerCardID: "c", Amount: usd(100)},
		{Ref: "r", IssuerCardID: "", Amount: usd(100)},
	} {
		if res, err := a.FundCard(context.Background(), op); err != nil || res.Outcome != engine.OutcomeFailed {
			t.Errorf("%+v: %+v %v", op, res, err)
		}
	}
	if res, _, err := a.CreateCard(context.Background(), engine.CreateCardRequest{Ref: "r", Amount: usd(500)}); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Errorf("create without card id: %+v %v", res, err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d invalid requests reached the issuer", n)
	}
}

func TestVerifyHash(t *testing.T) {
	cases := []struct {
		header, secret string
		want           bool
	}{
		{"whhash", "whhash", true},
		{"whhash ", "whhash", false},
		{"WHHASH", "whhash", false},
		{"", "whhash", false},
		{"", "", false},
		{"x", "", false},
	}
	for _, c := range cases {
		if got := VerifyHash(c.header, c.secret); got != c.want {
			t.Errorf("VerifyHash(%q, %q) = %v", c.header, c.secret, got)
		}
	}
	a, _ := newAdapter(t, "http://127.0.0.1:1", time.Second)
	if !a.VerifyWebhook("whhash") || a.VerifyWebhook("nope") {
		t.Fatal("VerifyWebhook does not use the configured hash")
	}
}

func TestConfigNeverShowsSecrets(t *testing.T) {
	cfg := Config{SecretKey: secretKey, VerifHash: "very-secret-hash"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "flw", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(s, secretKey) || strings.Contains(s, "very-secret-hash") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Fatal("missing secret key accepted")
	}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %+v %#v", a, a, a, *a, *a); strings.Contains(s, secretKey) {
		t.Fatalf("adapter printing leaked the key: %s", s)
	}
}
