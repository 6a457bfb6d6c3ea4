package sim

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"sort"
	"testing"
	"time"
)

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantKeys(t *testing.T, what string, v any, want ...string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", what, v)
	}
	sort.Strings(want)
	if got := keys(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s has keys %v, want %v", what, got, want)
	}
	return m
}

func wantMoney(t *testing.T, what string, v any, amount, currency string) {
	t.Helper()
	m := wantKeys(t, what, v, "amount", "currency")
	if m["amount"] != amount || m["currency"] != currency {
		t.Fatalf("%s = %v, want %s %s", what, m, amount, currency)
	}
}

// TestStateHasExactlyTheAPIShape checks GET /sim/state field by field
// against API.md.
func TestStateHasExactlyTheAPIShape(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{IssuerFloat: "500.00"})
	s.createCardOK(t, "iss", "card_S", "12.34")
	s.qosic(t, "requestpaymentmv", payment("22998000001", "4000", "c", "KASH_MOOV"))

	_, out := call(t, "GET", s.base+"/sim/state", nil, nil)
	var root map[string]any
	if err := json.Unmarshal(out, &root); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "state", root, "issuer", "momo")
	issuer := wantKeys(t, "issuer", root["issuer"], "float", "cards")
	wantMoney(t, "issuer.float", issuer["float"], "487.66", "USD")
	cards := issuer["cards"].([]any)
	if len(cards) != 1 {
		t.Fatalf("cards %v", cards)
	}
	c := wantKeys(t, "card", cards[0], "card", "balance", "status")
	wantMoney(t, "card.balance", c["balance"], "12.34", "USD")
	if c["card"] != "card_S" || c["status"] != "active" {
		t.Fatalf("card %v", c)
	}
	momo := wantKeys(t, "momo", root["momo"], "providers", "wallets")
	providers := momo["providers"].([]any)
	if len(providers) != 2 {
		t.Fatalf("providers %v", providers)
	}
	p := wantKeys(t, "provider", providers[0], "provider", "balance")
	wantMoney(t, "provider.balance", p["balance"], "4000", "XOF")
	if p["provider"] != "qosic" {
		t.Fatalf("provider %v", p)
	}
	wallets := momo["wallets"].([]any)
	w := wantKeys(t, "wallet", wallets[0], "phone", "balance")
	wantMoney(t, "wallet.balance", w["balance"], "996000", "XOF")
	if w["phone"] != "+22998000001" {
		t.Fatalf("wallet %v", w)
	}
}

func TestFreshStateListsAreEmptyNotNull(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	_, out := call(t, "GET", s.base+"/sim/state", nil, nil)
	want := `{"issuer":{"float":{"amount":"100000.00","currency":"USD"},"cards":[]},"momo":{"providers":[{"provider":"qosic","balance":{"amount":"0","currency":"XOF"}},{"provider":"qosic2","balance":{"amount":"0","currency":"XOF"}}],"wallets":[]}}`
	if string(out) != want {
		t.Fatalf("state\n%s\nwant\n%s", out, want)
	}
	for _, p := range []string{"/sim/sms", "/sim/push", "/sim/ops", "/sim/faults"} {
		if _, out := call(t, "GET", s.base+p, nil, nil); string(out) != `{"data":[]}` {
			t.Fatalf("%s: %s", p, out)
		}
	}
}

func TestControlFloatAndSpendValidation(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{WebhookURL: hooks.URL})
	status, out := call(t, "POST", s.base+"/sim/issuer/float", nil, map[string]any{"amount": "250.50", "currency": "USD"})
	if status != http.StatusOK || string(out) != `{"float":{"amount":"100250.50","currency":"USD"}}` {
		t.Fatalf("float: %d %s", status, out)
	}
	h := hooks.nextOf(t, EventFloatCredited)
	h.verify(t)
	if h.Event.Data["reference"] == "" || h.Event.Data["amount"] != "250.50" {
		t.Fatalf("webhook %+v", h.Event)
	}
	for _, body := range []map[string]any{
		{"amount": "1.001", "currency": "USD"},
		{"amount": "-1", "currency": "USD"},
		{"amount": "5", "currency": "XOF"},
	} {
		if status, out := call(t, "POST", s.base+"/sim/issuer/float", nil, body); status != http.StatusUnprocessableEntity {
			t.Fatalf("%v: %d %s", body, status, out)
		}
	}
	status, out = call(t, "POST", s.base+"/sim/spend", nil, map[string]any{"card": "x", "amount": 5, "currency": "USD"})
	if status != http.StatusBadRequest {
		t.Fatalf("numeric amount: %d %s", status, out)
	}
	if e := decode[apiError](t, out); e.Error.Code != "invalid_json" {
		t.Fatalf("error %s", out)
	}
	status, out = call(t, "POST", s.base+"/sim/spend", nil, map[string]any{"card": "x", "amount": "0", "currency": "USD"})
	if e := decode[apiError](t, out); status != http.StatusUnprocessableEntity || e.Error.Code != "invalid_amount" || e.Error.Field != "amount" {
		t.Fatalf("zero amount: %d %s", status, out)
	}
	if status, _ := call(t, "GET", s.base+"/sim/nothing", nil, nil); status != http.StatusNotFound {
		t.Fatalf("unknown control path: %d", status)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"KASH_SIM_ADDR": "127.0.0.1:9999", "KASH_SIM_ISSUER_FLOAT": "12.50", "KASH_SIM_ASYNC_DELAY_MS": "250",
		"KASH_WEBHOOK_URL": "http://127.0.0.1:8080", "KASH_WEBHOOK_SECRET": "s3cret", "KASH_SIM_COST_RATE": "655.957",
		"KASH_SIM_QOSIC2_PASSWORD": "other", "KASH_SIM_FLW_SECRET_KEY": "FLWSECK-x", "KASH_SIM_STATE_FILE": "/var/lib/kash/sim.json",
	}
	c, err := configFrom(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.IssuerFloat != "12.50" || c.AsyncDelay != 250*time.Millisecond || c.SweepDelay != DefaultSweepDelay ||
		c.WebhookURL != "http://127.0.0.1:8080" || c.WebhookSecret != "s3cret" || c.CostRate.String() != "655.957" ||
		c.Qosic[1].Password != "other" || c.Qosic[0].Password != "qosic-sandbox-pass" || c.Flutterwave.SecretKey != "FLWSECK-x" ||
		c.StateFile != "/var/lib/kash/sim.json" {
		t.Fatalf("config %+v", c)
	}
	def, err := configFrom(func(string) string { return "" })
	if err != nil || def.Addr != DefaultAddr || def.IssuerFloat != "100000.00" || def.AsyncDelay != time.Second || def.StateFile != "" || def.Seed != 0 {
		t.Fatalf("defaults %+v, %v", def, err)
	}
	for _, bad := range []map[string]string{
		{"KASH_SIM_ISSUER_FLOAT": "1.234"}, {"KASH_SIM_ASYNC_DELAY_MS": "soon"}, {"KASH_SIM_COST_RATE": "-3"}, {"KASH_SIM_SEED": "x"},
	} {
		if _, err := configFrom(func(k string) string { return bad[k] }); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
}

func TestXOFToUSDRoundsDown(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	defer s.Close()
	for _, tc := range []struct{ xof, cents int64 }{{600, 100}, {599, 99}, {5, 0}, {6, 1}, {600500, 100083}} {
		if got := xofToUSDCents(tc.xof, s.cfg.CostRate); got != tc.cents {
			t.Errorf("%d XOF = %d cents, want %d", tc.xof, got, tc.cents)
		}
	}
}

func TestCloseStopsServeWhateverTheOrder(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve returned %v, want ErrClosed", err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln2); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Close returned %v", err)
	}
}
