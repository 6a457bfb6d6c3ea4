package gateway

import (
	"fmt"
	"net/http"
	"testing"

	"kash/engine"
	"kash/gateway/providers/webhooksig"
)

// webhook posts a provider event signed with secret (nil: unsigned).
func (e *env) webhook(provider string, secret []byte, body string) resp {
	e.t.Helper()
	r := request{method: http.MethodPost, path: "/v1/webhooks/" + provider, body: []byte(body)}
	if secret != nil {
		r.headers = map[string]string{webhooksig.Header: webhooksig.Sign(secret, []byte(body))}
	}
	return e.do(r)
}

func paymentEvent(id, ref, status string) string {
	return fmt.Sprintf(`{"id":%q,"type":"payment.status","created_at":"2026-01-01T00:00:01Z","data":{"provider":"qosic",
		"account":"qosic","clientid":"KASH_MTN","operator":"mtn-bj","kind":"collection","transref":%q,"serviceref":"QS1",
		"msisdn":"22990000001","amount":"5000","currency":"XOF","status":%q,"responsecode":"00","responsemsg":"SUCCESSFUL",
		"reason":""}}`, id, ref, status)
}

func TestWebhooksAreVerifiedDeduplicatedAndDispatched(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000071")
	cardID, fundingID := e.issue(token, "w", "10.00")
	ev := paymentEvent("evt_1", "pay-"+fundingID, "succeeded")

	e.webhook("qosic", nil, ev).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.webhook("qosic", []byte("wrong-secret"), ev).wantError(t, http.StatusUnauthorized, "unauthorized")
	forged := e.do(request{method: "POST", path: "/v1/webhooks/qosic", body: []byte(ev),
		headers: map[string]string{webhooksig.Header: "sha256=" + fmt.Sprintf("%064x", 0)}})
	forged.wantError(t, http.StatusUnauthorized, "unauthorized")
	// Signed over another body: the signature is over the raw bytes.
	e.do(request{method: "POST", path: "/v1/webhooks/qosic", body: []byte(ev + " "),
		headers: map[string]string{webhooksig.Header: webhooksig.Sign(testWebhookSecret, []byte(ev))}}).
		wantError(t, http.StatusUnauthorized, "unauthorized")
	if len(f.payments) != 0 || e.count(`SELECT count(*) FROM webhook_events`) != 0 {
		t.Fatal("an unsigned webhook changed something")
	}

	if got := e.webhook("qosic", testWebhookSecret, ev).want(t, http.StatusOK)["status"]; got != "processed" {
		t.Fatalf("status %v", got)
	}
	if got := e.webhook("qosic", testWebhookSecret, ev).want(t, http.StatusOK)["status"]; got != "duplicate" {
		t.Fatalf("duplicate answered %v", got)
	}
	if len(f.payments) != 1 || f.payments[0].cardID != cardID || f.payments[0].result.Outcome != engine.OutcomeSucceeded ||
		f.payments[0].result.ProviderRef != "QS1" {
		t.Fatalf("payment updates: %+v", f.payments)
	}
	// A payment that is not ours is acknowledged and ignored.
	if got := e.webhook("qosic", testWebhookSecret, paymentEvent("evt_2", "nope", "failed")).want(t, http.StatusOK)["status"]; got != "ignored" {
		t.Fatalf("unknown ref: %v", got)
	}

	f.settle(fundingID, "succeeded")
	spend := fmt.Sprintf(`{"id":"evt_3","type":"card.spend","created_at":"2026-01-01T00:00:02Z","data":{"card_id":"iss-1",
		"card_reference":%q,"transaction_id":"7003","amount":"2.50","currency":"USD","merchant":"Netflix","balance":"7.50",
		"status":"successful","reason":""}}`, cardID)
	e.webhook("flutterwave", testWebhookSecret, spend).want(t, http.StatusOK)
	decline := fmt.Sprintf(`{"id":"evt_4","type":"card.decline","data":{"card_id":"iss-1","card_reference":%q,
		"transaction_id":"7004","amount":"99.00","currency":"USD","merchant":"Shop","status":"failed","reason":"insufficient_funds"}}`, cardID)
	e.webhook("flutterwave", testWebhookSecret, decline).want(t, http.StatusOK)
	if len(f.events) != 2 || f.events[0].Kind != "spend" || f.events[0].Amount != engine.NewMoney(250, engine.USD) ||
		f.events[1].Kind != "decline" || f.events[1].Reason != "insufficient_funds" || f.events[0].EventID != "evt_3" {
		t.Fatalf("card events: %+v", f.events)
	}
	// Unknown card: acknowledged, refused for good, not redelivered.
	e.webhook("flutterwave", testWebhookSecret, `{"id":"evt_5","type":"card.spend","data":{"card_reference":"crd_nope","amount":"1.00","currency":"USD"}}`).
		want(t, http.StatusOK)

	float := `{"id":"evt_6","type":"issuer.float_credited","data":{"amount":"1000.00","currency":"USD","balance":"101000.00","source":"deposit","reference":"dep_1"}}`
	e.webhook("flutterwave", testWebhookSecret, float).want(t, http.StatusOK)
	if len(f.floats) != 1 || f.floats[0] != engine.NewMoney(100000, engine.USD) {
		t.Fatalf("floats: %v", f.floats)
	}
	e.webhook("flutterwave", testWebhookSecret, `{"id":"evt_7","type":"something.else","data":{}}`).want(t, http.StatusOK)

	// The engine too busy: 503, the provider delivers again, and then it counts.
	f.failNext(engine.ErrBusy)
	busy := `{"id":"evt_8","type":"issuer.float_credited","data":{"amount":"1.00","currency":"USD","reference":"dep_2"}}`
	e.webhook("flutterwave", testWebhookSecret, busy).wantError(t, http.StatusServiceUnavailable, "unavailable")
	e.webhook("flutterwave", testWebhookSecret, busy).want(t, http.StatusOK)
	if len(f.floats) != 2 {
		t.Fatalf("redelivery after 503 not processed: %v", f.floats)
	}

	for name, body := range map[string]string{
		"not json":    `not json`,
		"no id":       `{"type":"payment.status","data":{}}`,
		"bad amount":  `{"id":"evt_9","type":"issuer.float_credited","data":{"amount":-5,"currency":"USD"}}`,
		"bad status":  paymentEvent("evt_10", "pay-"+fundingID, "weird"),
		"wrong money": `{"id":"evt_11","type":"card.spend","data":{"card_reference":"x","amount":"1.001","currency":"USD"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := e.webhook("qosic", testWebhookSecret, body)
			if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		})
	}
	e.webhook("stripe", testWebhookSecret, ev).wantError(t, http.StatusNotFound, "not_found")
}
