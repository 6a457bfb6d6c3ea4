package sim

import (
	"net/http"
	"testing"
	"time"
)

func TestMoovCollectDebitsWalletOnceByTransref(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	body := payment("22990000001", "5000", "moov-1", "KASH_MOOV")

	for i := 0; i < 3; i++ {
		status, r := s.qosic(t, "requestpaymentmv", body)
		if status != http.StatusOK || r.ResponseCode != "0" || r.ResponseMsg != "SUCCESSFUL" || r.TransRef != "moov-1" || r.ServiceRef == "" {
			t.Fatalf("attempt %d: %d %+v", i, status, r)
		}
	}
	if got := s.walletBalance(t, "+22990000001"); got != "995000" {
		t.Fatalf("wallet %s, want 995000 (debited once)", got)
	}
	if got := s.collection(t, "qosic"); got != "5000" {
		t.Fatalf("collection %s, want 5000", got)
	}
	_, st := s.qosic(t, "gettransactionstatusmv", map[string]any{"transref": "moov-1", "clientid": "KASH_MOOV"})
	if st.ResponseCode != "00" {
		t.Fatalf("status %+v, want 00", st)
	}
}

func TestMoovCollectFromEmptyWalletFails(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	status, r := s.qosic(t, "requestpaymentmv", payment("+22990000000", "100", "empty-1", "KASH_MOOV"))
	if status != http.StatusOK || r.ResponseCode != "8" || r.ResponseMsg != "FAILED" {
		t.Fatalf("got %d %+v, want 200 code 8", status, r)
	}
	_, st := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "empty-1", "clientid": "KASH_MTN"})
	if st.ResponseCode != "8" {
		t.Fatalf("status %+v, want 8", st)
	}
	if got := s.collection(t, "qosic"); got != "0" {
		t.Fatalf("collection %s, want 0", got)
	}
}

func TestQosicRefusesBadCredentialsClientIDsAndBodies(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	a := s.cfg.Qosic[0]
	wrong := MomoAccount{User: a.User, Password: "nope"}
	if status, r := s.qosicAs(t, wrong, "requestpaymentmv", payment("22990000001", "100", "x", "KASH_MOOV")); status != http.StatusUnauthorized || r.ResponseCode != "-1" {
		t.Fatalf("bad password: %d %+v", status, r)
	}
	cases := []struct {
		name   string
		op     string
		body   map[string]any
		status int
		msg    string
	}{
		{"MTN clientid on a Moov endpoint", "requestpaymentmv", payment("22990000001", "100", "c1", "KASH_MTN"), http.StatusNotFound, "INVALID CLIENT ID"},
		{"another account's clientid", "requestpayment", payment("22990000001", "100", "c2", "KASH2_MTN"), http.StatusNotFound, "INVALID CLIENT ID"},
		{"fractional amount", "requestpayment", payment("22990000001", "10.5", "c3", "KASH_MTN"), http.StatusBadRequest, "INVALID REQUEST"},
		{"zero amount", "deposit", payment("22990000001", "0", "c4", "KASH_MTN"), http.StatusBadRequest, "INVALID REQUEST"},
		{"bad msisdn", "requestpayment", payment("22a9", "100", "c5", "KASH_MTN"), http.StatusBadRequest, "INVALID REQUEST"},
		{"no transref", "requestpayment", payment("22990000001", "100", "", "KASH_MTN"), http.StatusBadRequest, "INVALID REQUEST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, r := s.qosic(t, c.op, c.body)
			if status != c.status || r.ResponseMsg != c.msg || r.ResponseCode != "-1" {
				t.Fatalf("got %d %+v, want %d %s", status, r, c.status, c.msg)
			}
		})
	}
	status, out := call(t, "POST", s.base+"/QosicBridge/user/requestpayment", map[string]string{"Authorization": basicAuth(a.User, a.Password)}, "{not json")
	if status != http.StatusBadRequest {
		t.Fatalf("malformed JSON: %d %s", status, out)
	}
	// Numbers are accepted for amounts, as some SDKs send them.
	if status, r := s.qosic(t, "requestpaymentmv", map[string]any{"msisdn": "90000002", "amount": 700, "transref": "num", "clientid": "KASH_MOOV"}); status != http.StatusOK || r.ResponseCode != "0" {
		t.Fatalf("numeric amount: %d %+v", status, r)
	}
	if got := s.walletBalance(t, "+22990000002"); got != "999300" {
		t.Fatalf("wallet %s after an 8-digit msisdn, want 999300", got)
	}
}

func TestAccountsKeepSeparateBooksAndTransrefs(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	second := s.cfg.Qosic[1]
	if _, r := s.qosic(t, "requestpaymentmv", payment("22990000003", "1000", "same", "KASH_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("first account: %+v", r)
	}
	if _, r := s.qosicAs(t, second, "requestpaymentmv", payment("22990000003", "2000", "same", "KASH2_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("second account: %+v", r)
	}
	if a, b := s.collection(t, "qosic"), s.collection(t, "qosic2"); a != "1000" || b != "2000" {
		t.Fatalf("collections %s and %s, want 1000 and 2000", a, b)
	}
}

func TestMTNCollectIsApprovedLaterWithSignedWebhook(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{AsyncDelay: 30 * time.Millisecond, WebhookURL: hooks.URL})

	status, r := s.qosic(t, "requestpayment", payment("22991000001", "2500", "mtn-1", "KASH_MTN"))
	if status != http.StatusAccepted || r.ResponseCode != "01" || r.ResponseMsg != "PENDING" {
		t.Fatalf("got %d %+v, want 202 01 PENDING", status, r)
	}
	h := hooks.nextOf(t, EventPaymentStatus)
	h.verify(t)
	d := h.Event.Data
	if h.Provider != "qosic" || h.Event.ID == "" || d["transref"] != "mtn-1" || d["status"] != "succeeded" || d["responsecode"] != "00" ||
		d["amount"] != "2500" || d["currency"] != "XOF" || d["account"] != "qosic" || d["operator"] != "mtn-bj" || d["msisdn"] != "22991000001" {
		t.Fatalf("webhook %s: %+v", h.Provider, h.Event)
	}
	if _, st := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "mtn-1", "clientid": "KASH_MTN"}); st.ResponseCode != "00" {
		t.Fatalf("status %+v", st)
	}
	if got := s.walletBalance(t, "+22991000001"); got != "997500" {
		t.Fatalf("wallet %s, want 997500", got)
	}
	// A retry after approval reports the final status and moves nothing.
	status, again := s.qosic(t, "requestpayment", payment("22991000001", "2500", "mtn-1", "KASH_MTN"))
	if status != http.StatusOK || again.ResponseCode != "00" || again.ServiceRef != r.ServiceRef {
		t.Fatalf("retry: %d %+v", status, again)
	}
	if got := s.collection(t, "qosic"); got != "2500" {
		t.Fatalf("collection %s, want 2500", got)
	}
}

func TestMTNEmptyWalletFailsAndNeverApprovingPhoneStaysPending(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{AsyncDelay: 20 * time.Millisecond, WebhookURL: hooks.URL})

	if _, r := s.qosic(t, "requestpayment", payment("22991119999", "100", "never", "KASH_MTN")); r.ResponseCode != "01" {
		t.Fatalf("9999: %+v", r)
	}
	if _, r := s.qosic(t, "requestpayment", payment("22991110000", "100", "empty", "KASH_MTN")); r.ResponseCode != "01" {
		t.Fatalf("0000: %+v", r)
	}
	h := hooks.nextOf(t, EventPaymentStatus)
	h.verify(t)
	if d := h.Event.Data; d["transref"] != "empty" || d["status"] != "failed" || d["responsecode"] != "529" || d["reason"] != "insufficient balance" {
		t.Fatalf("webhook: %+v", h.Event)
	}
	// "never" was asked first with the same delay: had it been approved, it would be by now.
	s.waitSettled(t)
	if _, st := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "never", "clientid": "KASH_MTN"}); st.ResponseCode != "01" {
		t.Fatalf("9999 status %+v, want still pending", st)
	}
	if got := s.walletBalance(t, "+22991119999"); got != "" {
		t.Fatalf("the 9999 wallet was touched: %s", got)
	}
}

func TestPayoutNeedsCollectedFunds(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	if status, r := s.qosic(t, "deposit", payment("22992000001", "1000", "po-1", "KASH_MTN")); status != http.StatusOK || r.ResponseCode != "-1" || r.ResponseMsg != "FAILED" {
		t.Fatalf("payout with nothing collected: %d %+v", status, r)
	}
	if _, r := s.qosic(t, "requestpaymentmv", payment("22992000002", "5000", "col-1", "KASH_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("collect: %+v", r)
	}
	// The failed payout keeps its outcome: the reference is spent.
	if _, r := s.qosic(t, "deposit", payment("22992000001", "1000", "po-1", "KASH_MTN")); r.ResponseCode != "-1" {
		t.Fatalf("retried failed payout: %+v", r)
	}
	for i := 0; i < 2; i++ {
		if status, r := s.qosic(t, "depositmv", payment("22992000001", "1000", "po-2", "KASH_MOOV")); status != http.StatusOK || r.ResponseCode != "0" {
			t.Fatalf("Moov payout %d: %d %+v", i, status, r)
		}
	}
	if _, r := s.qosic(t, "deposit", payment("22992000001", "1000", "po-3", "KASH_MTN")); r.ResponseCode != "00" {
		t.Fatalf("MTN payout: %+v", r)
	}
	if got := s.walletBalance(t, "+22992000001"); got != "1002000" {
		t.Fatalf("wallet %s, want 1002000", got)
	}
	if got := s.collection(t, "qosic"); got != "3000" {
		t.Fatalf("collection %s, want 3000", got)
	}
	if status, r := s.qosic(t, "requestpaymentmv", payment("22992000001", "1000", "po-3", "KASH_MOOV")); status != http.StatusConflict || r.ResponseMsg != "DUPLICATE TRANSREF" {
		t.Fatalf("transref of a payout reused for a collection: %d %+v", status, r)
	}
}

func TestStatusOfUnknownTransref(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	status, r := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "ghost", "clientid": "KASH_MTN"})
	if status != http.StatusOK || r.ResponseCode != "404" || r.ResponseMsg != "TRANSACTION NOT FOUND" {
		t.Fatalf("got %d %+v", status, r)
	}
}

func TestSettlementCreditsIssuerFloatAndTellsTheEngine(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{SweepDelay: 20 * time.Millisecond, WebhookURL: hooks.URL})
	if _, r := s.qosic(t, "requestpaymentmv", payment("22993000001", "600500", "c", "KASH_MOOV")); r.ResponseCode != "0" {
		t.Fatalf("collect: %+v", r)
	}
	if status, r := s.qosic(t, "settlement", map[string]any{"transref": "sw-big", "amount": "900000", "clientid": "KASH_MOOV"}); status != http.StatusOK || r.ResponseCode != "-1" {
		t.Fatalf("settlement above the collection: %d %+v", status, r)
	}
	status, r := s.qosic(t, "settlement", map[string]any{"transref": "sw-1", "amount": "600500", "clientid": "KASH_MTN"})
	if status != http.StatusAccepted || r.ResponseCode != "01" || r.Comment != "1000.83 USD at 600" {
		t.Fatalf("settlement: %d %+v", status, r)
	}
	if got := s.collection(t, "qosic"); got != "0" {
		t.Fatalf("collection %s, want 0 once settled", got)
	}
	h := hooks.nextOf(t, EventFloatCredited)
	h.verify(t)
	if h.Provider != "flutterwave" || h.VerifHash != s.cfg.Flutterwave.VerifHash {
		t.Fatalf("webhook to %s with verif-hash %q", h.Provider, h.VerifHash)
	}
	want := map[string]string{"amount": "1000.83", "currency": "USD", "balance": "101000.83", "source": "sweep", "reference": "sw-1", "account": "qosic", "xof_amount": "600500", "rate": "600"}
	for k, v := range want {
		if h.Event.Data[k] != v {
			t.Fatalf("data[%s] = %q, want %q (%+v)", k, h.Event.Data[k], v, h.Event.Data)
		}
	}
	if _, st := s.qosic(t, "gettransactionstatus", map[string]any{"transref": "sw-1", "clientid": "KASH_MTN"}); st.ResponseCode != "00" {
		t.Fatalf("status %+v", st)
	}
	if err := s.Books().Check(); err != nil {
		t.Fatal(err)
	}
}
