package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"kash/engine"
	"kash/gateway/providers"
	pt "kash/gateway/providers/internal/providertest"
)

// startTLS serves "ok" over HTTPS on loopback with a fresh self-signed
// certificate for 127.0.0.1 and returns the URL and a pool trusting it.
func startTLS(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kash test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"ok":true}`) }}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return "https://" + ln.Addr().String(), pool
}

func TestTLSIsVerified(t *testing.T) {
	url, pool := startTLS(t)
	untrusting := providers.NewHTTPClient(providers.HTTPConfig{Timeout: 2 * time.Second})
	_, err := untrusting.Do(context.Background(), providers.Request{Method: "GET", URL: url + "/"})
	if !errors.Is(err, providers.ErrTransport) {
		t.Fatalf("self-signed certificate accepted: %v", err)
	}
	trusting := providers.NewHTTPClient(providers.HTTPConfig{Timeout: 2 * time.Second, RootCAs: pool})
	resp, err := trusting.Do(context.Background(), providers.Request{Method: "GET", URL: url + "/"})
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("trusted server: %+v, %v", resp, err)
	}
}

func TestDoSendsJSONAndHeaders(t *testing.T) {
	srv := pt.Start(t, pt.Reply(201, []byte(`{"id":"1"}`)))
	c := providers.NewHTTPClient(providers.HTTPConfig{})
	resp, err := c.Do(context.Background(), providers.Request{
		Method: "POST", URL: srv.URL + "/x", Body: []byte(`{"a":1}`),
		Header: []providers.Header{{Name: "Authorization", Value: "Bearer k"}},
	})
	if err != nil || resp.Status != 201 || string(resp.Body) != `{"id":"1"}` {
		t.Fatalf("%+v, %v", resp, err)
	}
	req := srv.Last(t)
	if req.Header["Content-Type"] != "application/json" || req.Header["Authorization"] != "Bearer k" ||
		req.Header["Accept"] != "application/json" || string(req.Body) != `{"a":1}` {
		t.Fatalf("request %+v", req)
	}
	if c.Timeout() != providers.DefaultTimeout {
		t.Fatalf("default timeout %s", c.Timeout())
	}
}

func TestDoBoundsResponseBodies(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, []byte(strings.Repeat("x", 4096))))
	c := providers.NewHTTPClient(providers.HTTPConfig{MaxResponseBodySize: 1024})
	if _, err := c.Do(context.Background(), providers.Request{Method: "GET", URL: srv.URL}); !errors.Is(err, providers.ErrTransport) {
		t.Fatalf("oversized body: %v", err)
	}
}

func TestDoHonoursAnExpiredContext(t *testing.T) {
	srv := pt.Start(t, pt.Reply(200, nil))
	c := providers.NewHTTPClient(providers.HTTPConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Do(ctx, providers.Request{Method: "GET", URL: srv.URL}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("a cancelled call was sent (%d requests)", n)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := providers.Secret("hunter2")
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "k", s)
	j, _ := json.Marshal(struct{ K providers.Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), logged.String(), string(j),
		fmt.Sprintf("%+v", struct{ K providers.Secret }{s})} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed: %s", out)
		}
	}
	if s.Reveal() != "hunter2" || s.IsZero() || !providers.Secret("").IsZero() {
		t.Fatal("Reveal/IsZero")
	}
}

func TestFlexString(t *testing.T) {
	var v struct{ A, B, C, D providers.FlexString }
	if err := json.Unmarshal([]byte(`{"A":"00","B":0,"C":null,"D":12.50}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "00" || v.B != "0" || v.C != "" || v.D != "12.50" {
		t.Fatalf("%+v", v)
	}
	if err := json.Unmarshal([]byte(`{"A":true}`), &v); err == nil {
		t.Fatal("boolean accepted")
	}
}

func TestMetricsRegisterTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	m1, err := providers.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := providers.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m1.Observe("qosic", "collect", engine.OutcomePending, time.Now())
	m2.Observe("qosic", "collect", engine.OutcomePending, time.Now())
	if n := pt.Requests(t, reg, "qosic", "collect", "pending"); n != 2 {
		t.Fatalf("shared counter = %v, want 2", n)
	}
	var nilMetrics *providers.Metrics
	nilMetrics.Observe("x", "y", engine.OutcomeFailed, time.Now()) // must not panic
	nilMetrics.SetCircuitState("x", 2)
}

func TestBaseURL(t *testing.T) {
	good := map[string]string{
		"https://qosic.net:8443/":     "https://qosic.net:8443",
		"http://127.0.0.1:8090":       "http://127.0.0.1:8090",
		"https://api.flutterwave.com": "https://api.flutterwave.com",
	}
	for in, want := range good {
		if got, err := providers.BaseURL(in); err != nil || got != want {
			t.Errorf("BaseURL(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "qosic.net", "ftp://x", "https://x/?a=b", "https:///path"} {
		if _, err := providers.BaseURL(bad); err == nil {
			t.Errorf("BaseURL(%q) accepted", bad)
		}
	}
}

func TestUnknownAndOutcomeOf(t *testing.T) {
	res, err := providers.Unknown("r1", "qosic", "collect", providers.ErrTimeout)
	if res.Outcome != engine.OutcomeUnknown || res.Ref != "r1" || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("%+v %v", res, err)
	}
	if providers.OutcomeOf(nil) != engine.OutcomeSucceeded ||
		providers.OutcomeOf(fmt.Errorf("x: %w", providers.ErrRejected)) != engine.OutcomeFailed ||
		providers.OutcomeOf(providers.ErrTimeout) != engine.OutcomeUnknown {
		t.Fatal("OutcomeOf")
	}
}
