package sim

import (
	"net/http"
	"testing"
	"time"
)

func TestNextFailuresFailNewReferencesOnly(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	if _, r := s.qosic(t, "requestpaymentmv", payment("22994000001", "100", "known", "KASH_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("setup: %+v", r)
	}
	s.setFault(t, map[string]any{"target": "momo.collect", "next_failures": 2})
	// A known reference keeps its real outcome: a fault never rewrites it.
	if _, r := s.qosic(t, "requestpaymentmv", payment("22994000001", "100", "known", "KASH_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("known reference under fault: %+v", r)
	}
	if _, r := s.qosic(t, "requestpaymentmv", payment("22994000001", "100", "f1", "KASH_MOOV")); r.ResponseCode != "-1" || r.Comment != injectedFailure {
		t.Fatalf("first injected failure: %+v", r)
	}
	if _, r := s.qosic(t, "requestpayment", payment("22994000001", "100", "f2", "KASH_MTN")); r.ResponseCode != "-1" {
		t.Fatalf("second injected failure: %+v", r)
	}
	if _, r := s.qosic(t, "requestpaymentmv", payment("22994000001", "100", "f1", "KASH_MOOV")); r.ResponseCode != "-1" {
		t.Fatalf("a failed reference stays failed: %+v", r)
	}
	if _, r := s.qosic(t, "requestpaymentmv", payment("22994000001", "100", "ok", "KASH_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("after the failures: %+v", r)
	}
	_, out := call(t, "GET", s.base+"/sim/faults", nil, nil)
	if f := decode[map[string][]Fault](t, out)["data"]; len(f) != 1 || f[0].Target != "momo.collect" || f[0].NextFailures != 0 {
		t.Fatalf("faults %s", out)
	}
	if got := s.walletBalance(t, "+22994000001"); got != "999800" {
		t.Fatalf("wallet %s, want 999800", got)
	}
}

func TestFailRateOneFailsEveryIssuerFunding(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	c := s.createCardOK(t, "iss", "card_F", 10)
	s.setFault(t, map[string]any{"target": "issuer.fund", "fail_rate": 1})
	for i, ref := range []string{"fa", "fb", "fc"} {
		status, r := s.flw(t, "POST", "/virtual-cards/"+c.ID+"/fund", map[string]any{"amount": 1, "reference": ref})
		if status != http.StatusBadRequest || r.Message != injectedIssuerFailure {
			t.Fatalf("fund %d: %d %+v", i, status, r)
		}
	}
	if status, out := call(t, "DELETE", s.base+"/sim/faults", nil, nil); status != http.StatusNoContent {
		t.Fatalf("clear: %d %s", status, out)
	}
	if status, _ := s.flw(t, "POST", "/virtual-cards/"+c.ID+"/fund", map[string]any{"amount": 1, "reference": "fd"}); status != http.StatusOK {
		t.Fatalf("fund after clearing: %d", status)
	}
}

func TestTimeoutLosesTheAnswerAppliedOrNot(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	short := &http.Client{Timeout: 150 * time.Millisecond}
	auth := map[string]string{"Authorization": basicAuth(s.cfg.Qosic[0].User, s.cfg.Qosic[0].Password)}
	url := s.base + "/QosicBridge/user/requestpaymentmv"

	for _, tc := range []struct {
		applied float64
		ref     string
		status  string
	}{{1, "t-applied", "00"}, {0, "t-lost", "404"}} {
		s.setFault(t, map[string]any{"target": "momo.collect", "timeout_rate": 1, "timeout_applied_rate": tc.applied})
		if _, _, err := callWith(short, "POST", url, auth, payment("22995000001", "300", tc.ref, "KASH_MOOV")); err == nil {
			t.Fatalf("%s: the request was answered despite timeout_rate 1", tc.ref)
		}
		if _, r := s.qosic(t, "gettransactionstatusmv", map[string]any{"transref": tc.ref, "clientid": "KASH_MOOV"}); r.ResponseCode != tc.status {
			t.Fatalf("%s: status %+v, want %s", tc.ref, r, tc.status)
		}
	}
	if got := s.walletBalance(t, "+22995000001"); got != "999700" {
		t.Fatalf("wallet %s: only the applied request may have moved money", got)
	}

	c := s.createCardOK(t, "iss-t", "card_T", 5)
	s.setFault(t, map[string]any{"target": "issuer.withdraw", "timeout_rate": 1, "timeout_applied_rate": 1})
	flwAuth := map[string]string{"Authorization": "Bearer " + s.cfg.Flutterwave.SecretKey}
	if _, _, err := callWith(short, "POST", s.base+"/v3/virtual-cards/"+c.ID+"/withdraw", flwAuth, map[string]any{"amount": 2, "reference": "wd-t"}); err == nil {
		t.Fatal("withdraw answered despite timeout_rate 1")
	}
	_, r := s.flw(t, "GET", "/virtual-cards/references/wd-t", nil)
	if op := decode[flwOperation](t, r.Data); op.Status != "successful" || op.Amount != "2.00" {
		t.Fatalf("withdraw resolved by reference: %+v", op)
	}
}

func TestStatusFaultIsUnavailableNotFailed(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	s.qosic(t, "requestpaymentmv", payment("22996000001", "100", "st", "KASH_MOOV"))
	s.setFault(t, map[string]any{"target": "momo.status", "next_failures": 1, "latency_ms": []int{1, 3}})
	if status, r := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "st", "clientid": "KASH_MTN"}); status != http.StatusServiceUnavailable || r.ResponseCode != "503" {
		t.Fatalf("status under fault: %d %+v", status, r)
	}
	if _, r := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "st", "clientid": "KASH_MTN"}); r.ResponseCode != "00" {
		t.Fatalf("status after fault: %+v", r)
	}
}

func TestNotificationFaults(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	s.setFault(t, map[string]any{"target": "sms", "next_failures": 1})
	sms := map[string]any{"originator": "Kash", "recipients": []any{"22997000001"}, "body": "hi", "reference": "s1"}
	if status, _ := s.sendSMS(t, sms); status != http.StatusInternalServerError {
		t.Fatalf("sms under fault: %d", status)
	}
	if status, _ := s.sendSMS(t, sms); status != http.StatusCreated {
		t.Fatalf("sms retry: %d", status)
	}
	_, out := call(t, "GET", s.base+"/sim/sms", nil, nil)
	if l := decode[listed](t, out); len(l.Data) != 1 {
		t.Fatalf("a failed send was recorded: %s", out)
	}
}

func TestFaultSettingsAreValidated(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	for _, f := range []map[string]any{
		{"target": "momo.nothing"},
		{"target": "sms", "fail_rate": 1.5},
		{"target": "sms", "fail_rate": 0.6, "timeout_rate": 0.6},
		{"target": "sms", "latency_ms": []int{10, 5}},
		{"target": "sms", "next_failures": -1},
	} {
		if status, out := call(t, "POST", s.base+"/sim/faults", nil, f); status != http.StatusUnprocessableEntity {
			t.Fatalf("%v: %d %s", f, status, out)
		}
	}
	if status, _ := call(t, "DELETE", s.base+"/sim/faults?target=nope", nil, nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("clear unknown target: %d", status)
	}
}

func TestWebhookFaultsDropAndDuplicate(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{WebhookURL: hooks.URL})
	c := s.createCardOK(t, "iss-w", "card_W", 10)

	s.setFault(t, map[string]any{"target": "webhooks", "next_failures": 1})
	s.expectSpend(t, "card_W", "1.00", true, "")
	s.setFault(t, map[string]any{"target": "webhooks", "timeout_rate": 1})
	s.expectSpend(t, c.ID, "2.00", true, "")
	first := hooks.nextOf(t, EventCardSpend)
	second := hooks.nextOf(t, EventCardSpend)
	if first.Event.Data["amount"] != "2.00" || second.Event.ID != first.Event.ID || string(second.Body) != string(first.Body) {
		t.Fatalf("want the 2.00 spend twice (the 1.00 one dropped), got %s then %s", first.Body, second.Body)
	}
	s.waitStats(t, func(st WebhookStats) bool { return st.Dropped == 1 && st.Duplicated == 1 && st.Delivered == 2 })
}

func TestWebhookIsRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	hooks.fail = 2
	s := startSim(t, Config{WebhookURL: hooks.URL})
	s.DepositFloat(5000)
	h := hooks.nextOf(t, EventFloatCredited)
	h.verify(t)
	if d := h.Event.Data; d["amount"] != "50.00" || d["source"] != "deposit" || d["balance"] != "100050.00" {
		t.Fatalf("float webhook %+v", h.Event)
	}
	s.waitStats(t, func(st WebhookStats) bool { return st.Retried == 2 && st.Delivered == 1 })
}

// waitStats waits until the webhook counters satisfy ok: the receiver sees
// an event before the sender reads the answer and counts it.
func (s *started) waitStats(t *testing.T, ok func(WebhookStats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(s.WebhookStats()) {
		if time.Now().After(deadline) {
			t.Fatalf("webhook stats %+v", s.WebhookStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
