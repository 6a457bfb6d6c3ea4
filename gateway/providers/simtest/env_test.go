package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers"
	"kash/gateway/providers/flutterwave"
	"kash/gateway/providers/qosic"
)

const webhookSecret = "simtest-webhook-secret"

// env is a simulator serving on a random loopback port.
type env struct {
	URL string
	Sim *sim.Sim
}

func startSim(t *testing.T, cfg sim.Config) *env {
	t.Helper()
	if cfg.AsyncDelay == 0 {
		cfg.AsyncDelay = 50 * time.Millisecond
	}
	if cfg.TimeoutHang == 0 {
		cfg.TimeoutHang = 2 * time.Second
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = webhookSecret
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; err != nil && !errors.Is(err, sim.ErrClosed) {
			t.Errorf("sim serve: %v", err)
		}
	})
	return &env{URL: "http://" + ln.Addr().String(), Sim: s}
}

// control calls the simulator's control API (no auth) and decodes the answer.
func (e *env) control(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

type money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type state struct {
	Issuer struct {
		Float money `json:"float"`
		Cards []struct {
			Card    string `json:"card"`
			Balance money  `json:"balance"`
			Status  string `json:"status"`
		} `json:"cards"`
	} `json:"issuer"`
	Momo struct {
		Providers []struct {
			Provider string `json:"provider"`
			Balance  money  `json:"balance"`
		} `json:"providers"`
		Wallets []struct {
			Phone   string `json:"phone"`
			Balance money  `json:"balance"`
		} `json:"wallets"`
	} `json:"momo"`
}

func (e *env) state(t *testing.T) state {
	t.Helper()
	var s state
	if code := e.control(t, http.MethodGet, "/sim/state", nil, &s); code != http.StatusOK {
		t.Fatalf("/sim/state: HTTP %d", code)
	}
	return s
}

// wallet is a phone's balance in the simulator ("" if never touched).
func (e *env) wallet(t *testing.T, phone string) string {
	t.Helper()
	for _, w := range e.state(t).Momo.Wallets {
		if w.Phone == phone {
			return w.Balance.Amount
		}
	}
	return ""
}

func (e *env) collected(t *testing.T, account string) string {
	t.Helper()
	for _, p := range e.state(t).Momo.Providers {
		if p.Provider == account {
			return p.Balance.Amount
		}
	}
	t.Fatalf("no provider account %s in /sim/state", account)
	return ""
}

func (e *env) card(t *testing.T, cardRef string) (balance, status string) {
	t.Helper()
	for _, c := range e.state(t).Issuer.Cards {
		if c.Card == cardRef {
			return c.Balance.Amount, c.Status
		}
	}
	t.Fatalf("no card %s in /sim/state", cardRef)
	return "", ""
}

func (e *env) fault(t *testing.T, f map[string]any) {
	t.Helper()
	if code := e.control(t, http.MethodPost, "/sim/faults", f, nil); code != http.StatusOK {
		t.Fatalf("POST /sim/faults %v: HTTP %d", f, code)
	}
}

func (e *env) clearFaults(t *testing.T) {
	t.Helper()
	if code := e.control(t, http.MethodDelete, "/sim/faults", nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /sim/faults: HTTP %d", code)
	}
}

type message struct {
	To    string `json:"to"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

func (e *env) messages(t *testing.T, path string) []message {
	t.Helper()
	var out struct {
		Data []message `json:"data"`
	}
	e.control(t, http.MethodGet, path, nil, &out)
	return out.Data
}

// qosicAdapter talks to one of the simulator's default accounts.
func (e *env) qosicAdapter(t *testing.T, account int, timeout time.Duration) *qosic.Adapter {
	t.Helper()
	acc := sim.DefaultQosicAccounts()[account]
	return e.newQosic(t, qosic.Config{
		Name: acc.Name, Login: acc.User, Password: providers.Secret(acc.Password),
		MTNClientID: acc.MTNClientID, MoovClientID: acc.MoovClientID, Timeout: timeout,
	})
}

func (e *env) qosicAdapterWith(t *testing.T, name, login, password, mtn, moov string) *qosic.Adapter {
	t.Helper()
	return e.newQosic(t, qosic.Config{
		Name: name, Login: login, Password: providers.Secret(password), MTNClientID: mtn, MoovClientID: moov,
		Timeout: 5 * time.Second,
	})
}

func (e *env) newQosic(t *testing.T, cfg qosic.Config) *qosic.Adapter {
	t.Helper()
	cfg.BaseURL = e.URL
	a, err := qosic.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) issuer(t *testing.T, timeout time.Duration) *flutterwave.Adapter {
	t.Helper()
	cfg := e.Sim.Config()
	a, err := flutterwave.New(flutterwave.Config{
		BaseURL: e.URL, SecretKey: providers.Secret(cfg.Flutterwave.SecretKey),
		VerifHash: providers.Secret(cfg.Flutterwave.VerifHash), Timeout: timeout,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitFinal polls PaymentStatus until the outcome is final. It bounds the
// wait (the simulator approves MTN payments after AsyncDelay) but asserts
// nothing about time.
func waitFinal(t *testing.T, p engine.MomoProvider, ref string, op engine.Operator) engine.Result {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := p.PaymentStatus(context.Background(), ref, op)
		if err == nil && res.Outcome.Final() {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s never became final: %+v, %v", ref, res, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func xof(n int64) engine.Money { return engine.NewMoney(n, engine.XOF) }
func usd(c int64) engine.Money { return engine.NewMoney(c, engine.USD) }
