package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuthorizationMatrix: every user route with another user's ids is
// 404; every ops route with a user token is 403 and without a token 401;
// every user route with the ops token or no token is 401.
func TestAuthorizationMatrix(t *testing.T) {
	e, f := newFakeServer(t)
	alice, _ := e.verifiedUser("+22990000051")
	bob, _ := e.verifiedUser("+22990000052")
	card := activeCard(e, f, alice, "a-card", "20.00")
	fund := e.post("/v1/cards/"+card+"/fundings", alice, map[string]string{"amount": "5.00", "currency": "USD",
		"phone": "+22990000001", "operator": "mtn-bj"}, "a-f").want(t, http.StatusAccepted)["id"].(string)
	wdr := e.post("/v1/cards/"+card+"/withdrawals", alice, map[string]string{"amount": "1.00", "currency": "USD",
		"phone": "+22990000001", "operator": "mtn-bj"}, "a-w").want(t, http.StatusAccepted)["id"].(string)
	money := map[string]string{"amount": "5.00", "currency": "USD", "phone": "+22990000001", "operator": "mtn-bj"}
	wallet := map[string]string{"phone": "+22990000001", "operator": "mtn-bj"}

	for _, r := range []request{
		{method: "GET", path: "/v1/cards/" + card},
		{method: "GET", path: "/v1/cards/" + card + "/sensitive"},
		{method: "GET", path: "/v1/cards/" + card + "/fundings"},
		{method: "GET", path: "/v1/cards/" + card + "/withdrawals"},
		{method: "GET", path: "/v1/cards/" + card + "/transactions"},
		{method: "GET", path: "/v1/fundings/" + fund},
		{method: "GET", path: "/v1/fundings/" + fund + "?wait=1"},
		{method: "GET", path: "/v1/withdrawals/" + wdr},
		{method: "POST", path: "/v1/cards/" + card + "/fundings", body: money},
		{method: "POST", path: "/v1/cards/" + card + "/withdrawals", body: money},
		{method: "POST", path: "/v1/cards/" + card + "/freeze"},
		{method: "POST", path: "/v1/cards/" + card + "/unfreeze"},
		{method: "POST", path: "/v1/cards/" + card + "/terminate", body: wallet},
	} {
		t.Run("bob "+r.method+" "+r.path, func(t *testing.T) {
			r.token = bob
			r.headers = map[string]string{"Idempotency-Key": "bob-" + strings.ReplaceAll(r.path, "/", "-")}
			e.do(r).wantError(t, http.StatusNotFound, "not_found")
		})
	}
	// Bob's attempts changed nothing of Alice's.
	if c := f.card(card); c.Status != "active" || c.UserID == "" {
		t.Fatalf("alice's card after bob: %+v", c)
	}
	if n := e.count(`SELECT count(*) FROM fundings WHERE card_id = $1`, card); n != 2 {
		t.Fatalf("%d fundings on alice's card", n)
	}
	// Bob's own lists do not show Alice's card; his KYC is his.
	if got := e.get("/v1/cards", bob).want(t, http.StatusOK)["data"].([]any); len(got) != 0 {
		t.Fatalf("bob sees %v", got)
	}

	kycID := e.get("/v1/kyc", alice).want(t, http.StatusOK)["id"].(string)
	ops := []request{
		{method: "GET", path: "/v1/admin/kyc?status=pending"},
		{method: "GET", path: "/v1/admin/kyc/" + kycID + "/document"},
		{method: "GET", path: "/v1/admin/kyc/" + kycID + "/selfie"},
		{method: "POST", path: "/v1/admin/kyc/" + kycID + "/approve"},
		{method: "POST", path: "/v1/admin/kyc/" + kycID + "/reject", body: map[string]string{"reason": "x"}},
		{method: "GET", path: "/v1/admin/treasury"},
		{method: "POST", path: "/v1/admin/treasury/sweeps", body: map[string]string{"provider": "qosic", "amount": "1000", "currency": "XOF"}},
		{method: "POST", path: "/v1/admin/rates", body: map[string]string{"cost_rate": "1", "funding_margin": "0", "withdrawal_spread": "0"}},
		{method: "GET", path: "/v1/admin/rates"},
		{method: "GET", path: "/v1/admin/earnings"},
		{method: "GET", path: "/v1/admin/fundings"},
		{method: "GET", path: "/v1/admin/withdrawals"},
		{method: "GET", path: "/v1/admin/payments"},
		{method: "GET", path: "/v1/admin/ledger/check"},
		{method: "GET", path: "/v1/admin/reconciliation"},
	}
	for _, r := range ops {
		t.Run("user on "+r.method+" "+r.path, func(t *testing.T) {
			r.token = alice
			e.do(r).wantError(t, http.StatusForbidden, "forbidden")
			r.token = ""
			e.do(r).wantError(t, http.StatusUnauthorized, "unauthorized")
		})
	}
	users := []request{
		{method: "GET", path: "/v1/me"},
		{method: "PATCH", path: "/v1/me", body: map[string]string{"name": "x"}},
		{method: "POST", path: "/v1/me/devices", body: map[string]string{"device_id": "d"}},
		{method: "GET", path: "/v1/kyc"},
		{method: "POST", path: "/v1/quotes", body: map[string]string{"operation": "funding", "amount": "5.00", "currency": "USD"}},
		{method: "POST", path: "/v1/cards", body: issueBody("10.00", "USD")},
		{method: "GET", path: "/v1/cards"},
		{method: "GET", path: "/v1/cards/" + card},
		{method: "GET", path: "/v1/cards/" + card + "/sensitive"},
		{method: "POST", path: "/v1/cards/" + card + "/freeze"},
		{method: "GET", path: "/v1/fundings/" + fund},
		{method: "GET", path: "/v1/withdrawals/" + wdr},
	}
	for _, r := range users {
		t.Run("ops token on "+r.method+" "+r.path, func(t *testing.T) {
			r.token = testAdminToken
			e.do(r).wantError(t, http.StatusUnauthorized, "unauthorized")
			r.token = ""
			e.do(r).wantError(t, http.StatusUnauthorized, "unauthorized")
		})
	}
	// Nothing ops-only happened on the way.
	if n := e.count(`SELECT count(*) FROM rates`); n != 0 {
		t.Fatal("a non-ops request set rates")
	}
	if got := e.get("/v1/kyc", alice).want(t, http.StatusOK)["status"]; got != "approved" {
		t.Fatalf("alice's kyc is %v", got)
	}
}

// TestNoRouteWritesKYCStatusOrIssuerID: the user-writable surface cannot
// reach kyc_status or a card's issuer id (defect 11).
func TestNoRouteWritesKYCStatusOrIssuerID(t *testing.T) {
	e, f := newFakeServer(t)
	token, _, _ := e.login("+22990000053")
	for _, field := range []string{"kyc_status", "issuer_card_id", "status", "id"} {
		e.do(request{method: "PATCH", path: "/v1/me", token: token, body: map[string]string{field: "approved"}}).
			wantError(t, http.StatusUnprocessableEntity, "invalid_field", field)
	}
	verified, _ := e.verifiedUser("+22990000054")
	card := activeCard(e, f, verified, "c", "10.00")
	body := issueBody("10.00", "USD")
	body["issuer_card_id"] = "iss-stolen"
	e.post("/v1/cards", verified, body, "k").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "issuer_card_id")
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		e.do(request{method: m, path: "/v1/cards/" + card, token: verified, body: map[string]string{"issuer_card_id": "x"}}).
			wantError(t, http.StatusNotFound, "not_found")
	}
	if c := f.card(card); c.IssuerCardID != "iss-"+card {
		t.Fatalf("issuer id changed: %s", c.IssuerCardID)
	}
	if got := e.get("/v1/me", token).want(t, http.StatusOK)["kyc_status"]; got != "none" {
		t.Fatalf("kyc_status = %v", got)
	}
}
