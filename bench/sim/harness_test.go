package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "test-webhook-secret"

// started is a simulator serving on a loopback port.
type started struct {
	*Sim
	base string
}

// startSim serves a simulator on 127.0.0.1 for the test's duration.
func startSim(t testing.TB, cfg Config) *started {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = testSecret
	}
	if cfg.TimeoutHang == 0 {
		cfg.TimeoutHang = 2 * time.Second
	}
	s := New(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("serve returned %v, want ErrClosed", err)
		}
	})
	return &started{Sim: s, base: "http://" + ln.Addr().String()}
}

// receivedHook is a webhook as the engine would receive it.
type receivedHook struct {
	Provider  string
	Signature string
	VerifHash string
	Body      []byte
	Event     struct {
		ID        string            `json:"id"`
		Type      string            `json:"type"`
		CreatedAt string            `json:"created_at"`
		Data      map[string]string `json:"data"`
	}
}

// hookServer is a real HTTP server standing in for the engine's webhook
// endpoint. fail makes it answer 500 to the next N requests.
type hookServer struct {
	srv    *http.Server
	URL    string
	events chan receivedHook
	mu     sync.Mutex
	fail   int
}

func startHookServer(t *testing.T) *hookServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	h := &hookServer{URL: "http://" + ln.Addr().String(), events: make(chan receivedHook, 4096)}
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = h.srv.Serve(ln) }()
	t.Cleanup(func() { _ = h.srv.Shutdown(context.Background()) })
	return h
}

func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	failing := h.fail > 0
	if failing {
		h.fail--
	}
	h.mu.Unlock()
	if failing {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	rh := receivedHook{
		Provider:  strings.TrimPrefix(r.URL.Path, "/v1/webhooks/"),
		Signature: r.Header.Get(SignatureHeader),
		VerifHash: r.Header.Get("verif-hash"),
		Body:      body,
	}
	if err := json.Unmarshal(body, &rh.Event); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.events <- rh
	w.WriteHeader(http.StatusOK)
}

// next waits for the next webhook, failing the test after a generous bound.
func (h *hookServer) next(t *testing.T) receivedHook {
	t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived")
		return receivedHook{}
	}
}

// nextOf waits for the next webhook of type typ, skipping others.
func (h *hookServer) nextOf(t *testing.T, typ string) receivedHook {
	t.Helper()
	for {
		if e := h.next(t); e.Event.Type == typ {
			return e
		}
	}
}

// verify checks the HMAC signature of a received webhook.
func (rh receivedHook) verify(t *testing.T) {
	t.Helper()
	if want := Sign(testSecret, rh.Body); rh.Signature != want {
		t.Fatalf("signature %q, want %q", rh.Signature, want)
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// call sends a request and returns the status and body.
func call(t testing.TB, method, rawURL string, header map[string]string, body any) (int, []byte) {
	t.Helper()
	status, out, err := callWith(httpClient, method, rawURL, header, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	return status, out
}

func callWith(c *http.Client, method, rawURL string, header map[string]string, body any) (int, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// qosic calls a QosicBridge endpoint as the first default account.
func (s *started) qosic(t testing.TB, op string, body map[string]any) (int, qosicResponse) {
	t.Helper()
	return s.qosicAs(t, s.cfg.Qosic[0], op, body)
}

func (s *started) qosicAs(t testing.TB, a MomoAccount, op string, body map[string]any) (int, qosicResponse) {
	t.Helper()
	status, out := call(t, "POST", s.base+"/QosicBridge/user/"+op, map[string]string{"Authorization": basicAuth(a.User, a.Password)}, body)
	return status, decode[qosicResponse](t, out)
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func payment(phone, amount, ref, clientid string) map[string]any {
	return map[string]any{"msisdn": phone, "amount": amount, "firstname": "Ada", "lastname": "Kash", "transref": ref, "clientid": clientid}
}

// flw calls a Flutterwave endpoint with the right secret key.
func (s *started) flw(t *testing.T, method, path string, body any) (int, flwResponseOf) {
	t.Helper()
	status, out := call(t, method, s.base+"/v3"+path, map[string]string{"Authorization": "Bearer " + s.cfg.Flutterwave.SecretKey}, body)
	return status, decode[flwResponseOf](t, out)
}

type flwResponseOf struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (s *started) state(t *testing.T) State {
	t.Helper()
	status, out := call(t, "GET", s.base+"/sim/state", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("state: %d %s", status, out)
	}
	return decode[State](t, out)
}

func (s *started) setFault(t *testing.T, f map[string]any) {
	t.Helper()
	if status, out := call(t, "POST", s.base+"/sim/faults", nil, f); status != http.StatusOK {
		t.Fatalf("set fault: %d %s", status, out)
	}
}

func (s *started) walletBalance(t *testing.T, phone string) string {
	t.Helper()
	for _, w := range s.state(t).Momo.Wallets {
		if w.Phone == phone {
			return w.Balance.Amount
		}
	}
	return ""
}

func (s *started) collection(t *testing.T, provider string) string {
	t.Helper()
	for _, p := range s.state(t).Momo.Providers {
		if p.Provider == provider {
			return p.Balance.Amount
		}
	}
	t.Fatalf("no provider %q", provider)
	return ""
}

// waitSettled waits until no approval or settlement is scheduled.
func (s *started) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.Settling() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d operations still scheduled", s.Settling())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func query(v string) string { return url.QueryEscape(v) }
