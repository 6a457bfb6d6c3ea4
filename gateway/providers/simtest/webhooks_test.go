package simtest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers/flutterwave"
	"kash/gateway/providers/webhooksig"
)

type hook struct {
	path, signature, verifHash string
	body                       []byte
}

// startHookReceiver stands in for the engine's webhook endpoint.
func startHookReceiver(t *testing.T) (string, chan hook) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hooks := make(chan hook, 64)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		hooks <- hook{
			path:      string(ctx.Path()),
			signature: string(ctx.Request.Header.Peek(webhooksig.Header)),
			verifHash: string(ctx.Request.Header.Peek("verif-hash")),
			body:      append([]byte(nil), ctx.PostBody()...),
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String(), hooks
}

func nextHook(t *testing.T, hooks chan hook, path string) hook {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case h := <-hooks:
			if h.path == path {
				return h
			}
		case <-timeout:
			t.Fatalf("no webhook on %s", path)
		}
	}
}

// TestSimulatorWebhooksVerify: the signatures the simulator puts on its
// webhooks are the ones webhooksig and flutterwave.VerifyHash accept, and a
// tampered body or wrong secret is refused.
func TestSimulatorWebhooksVerify(t *testing.T) {
	url, hooks := startHookReceiver(t)
	e := startSim(t, sim.Config{WebhookURL: url})
	secret := []byte(webhookSecret)

	a := e.qosicAdapter(t, 0, 5*time.Second)
	if _, err := a.Collect(context.Background(), pay("c-hook", "+22990000011", engine.OperatorMTN, 1000)); err != nil {
		t.Fatal(err)
	}
	h := nextHook(t, hooks, "/v1/webhooks/qosic")
	if !webhooksig.Verify(secret, h.body, h.signature) {
		t.Fatalf("payment.status signature %q does not verify", h.signature)
	}
	if !strings.Contains(string(h.body), `"transref":"c-hook"`) {
		t.Fatalf("payment.status body %s", h.body)
	}
	if webhooksig.Verify([]byte("other-secret"), h.body, h.signature) ||
		webhooksig.Verify(secret, append(h.body, ' '), h.signature) {
		t.Fatal("signature verified with a wrong secret or a changed body")
	}

	if code := e.control(t, "POST", "/sim/issuer/float", map[string]string{"amount": "100.00", "currency": "USD"}, nil); code != 200 {
		t.Fatalf("/sim/issuer/float: HTTP %d", code)
	}
	h = nextHook(t, hooks, "/v1/webhooks/flutterwave")
	if !webhooksig.Verify(secret, h.body, h.signature) {
		t.Fatalf("issuer webhook signature %q does not verify", h.signature)
	}
	if !flutterwave.VerifyHash(h.verifHash, e.Sim.Config().Flutterwave.VerifHash) {
		t.Fatalf("verif-hash %q does not verify", h.verifHash)
	}
	issuer := e.issuer(t, 5*time.Second)
	if !issuer.VerifyWebhook(h.verifHash) || issuer.VerifyWebhook("forged") {
		t.Fatal("adapter's VerifyWebhook disagrees with the simulator")
	}
}
