package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func issueBody(amount, currency string) map[string]string {
	return map[string]string{"nickname": "Travel", "amount": amount, "currency": currency,
		"phone": "+22990000001", "operator": "mtn-bj"}
}

// issue buys a card for token and returns the card and funding ids.
func (e *env) issue(token, key, amount string) (cardID, fundingID string) {
	e.t.Helper()
	m := e.post("/v1/cards", token, issueBody(amount, "USD"), key).want(e.t, http.StatusAccepted)
	return m["card"].(map[string]any)["id"].(string), m["funding"].(map[string]any)["id"].(string)
}

// activeCard buys a card and settles its issuance: an active card with
// amount USD on it.
func activeCard(e *env, f *fakeEngine, token, key, amount string) string {
	e.t.Helper()
	cardID, fundingID := e.issue(token, key, amount)
	f.settle(fundingID, "succeeded")
	return cardID
}

func TestIssueCardAndReadIt(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000031")
	m := e.post("/v1/cards", token, issueBody("25.00", "USD"), "buy-1").want(t, http.StatusAccepted)
	card, funding := m["card"].(map[string]any), m["funding"].(map[string]any)
	if card["status"] != "pending" || card["last4"] != nil || card["nickname"] != "Travel" {
		t.Fatalf("card = %v", card)
	}
	if funding["kind"] != "issuance" || funding["status"] != "awaiting_payment" || funding["card_id"] != card["id"] {
		t.Fatalf("funding = %v", funding)
	}
	// The card receives exactly the amount; the fee is on the momo side.
	ca, ma, fees := funding["card_amount"].(map[string]any), funding["momo_amount"].(map[string]any), funding["fees"].(map[string]any)
	if ca["amount"] != "25.00" || ca["currency"] != "USD" || ma["currency"] != "XOF" || fees["amount"] != "1000" {
		t.Fatalf("amounts: card %v momo %v fees %v", ca, ma, fees)
	}
	// 25 USD at 652.173914 rounded up, plus the 1000 XOF fee.
	if ma["amount"] != "17305" {
		t.Fatalf("momo amount %v, want 17305", ma["amount"])
	}
	cardID := card["id"].(string)
	f.settle(funding["id"].(string), "succeeded")
	got := e.get("/v1/cards/"+cardID, token).want(t, http.StatusOK)
	if got["status"] != "active" || got["last4"] != "7894" || got["balance"].(map[string]any)["amount"] != "25.00" {
		t.Fatalf("card after issuance = %v", got)
	}
	list := e.get("/v1/cards", token).want(t, http.StatusOK)
	if len(list["data"].([]any)) != 1 || list["next_cursor"] != nil {
		t.Fatalf("list = %v", list)
	}
	fl := e.get("/v1/cards/"+cardID+"/fundings", token).want(t, http.StatusOK)
	if len(fl["data"].([]any)) != 1 {
		t.Fatalf("fundings = %v", fl)
	}
	tx := e.get("/v1/cards/"+cardID+"/transactions", token).want(t, http.StatusOK)
	if items := tx["data"].([]any); len(items) != 1 || items[0].(map[string]any)["type"] != "funding" {
		t.Fatalf("transactions = %v", tx)
	}
	sensitive := e.get("/v1/cards/"+cardID+"/sensitive", token).want(t, http.StatusOK)
	if sensitive["pan"] != "4187451234567894" || e.count(`SELECT count(*) FROM idempotency_keys WHERE position('4187451234567894' in convert_from(response_body, 'UTF8')) > 0`) != 0 {
		t.Fatalf("sensitive = %v", sensitive)
	}
}

func TestIssuanceNeedsKYCAndRespectsLimits(t *testing.T) {
	e, _ := newFakeServer(t)
	token, _, _ := e.login("+22990000032")
	e.post("/v1/cards", token, issueBody("25.00", "USD"), "k1").wantError(t, http.StatusForbidden, "kyc_required")
	token, _ = e.verifiedUser("+22990000033")
	e.post("/v1/cards", token, issueBody("4.99", "USD"), "k2").wantError(t, http.StatusUnprocessableEntity, "amount_too_small", "amount")
	e.post("/v1/cards", token, issueBody("2500.01", "USD"), "k3").wantError(t, http.StatusUnprocessableEntity, "amount_too_large", "amount")
	// Basic tier: 500 per operation, 1000 per day onto cards.
	e.post("/v1/cards", token, issueBody("500.01", "USD"), "k4").wantError(t, http.StatusUnprocessableEntity, "amount_too_large", "amount")
	e.issue(token, "k5", "500.00")
	e.issue(token, "k6", "450.00")
	e.post("/v1/cards", token, issueBody("60.00", "USD"), "k7").wantError(t, http.StatusUnprocessableEntity, "limit_exceeded", "amount")
	// Priced in XOF: the card gets what the francs buy.
	m := e.post("/v1/cards", token, issueBody("20000", "XOF"), "k8").want(t, http.StatusAccepted)
	if got := m["funding"].(map[string]any)["momo_amount"].(map[string]any)["amount"]; got != "20000" {
		t.Fatalf("momo amount %v, want exactly 20000", got)
	}
}

func TestFundingsWithdrawalsAndCardStates(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000034")
	pending, _ := e.issue(token, "p", "10.00")
	body := map[string]string{"amount": "10.00", "currency": "USD", "phone": "+22990000001", "operator": "moov-bj"}
	e.post("/v1/cards/"+pending+"/fundings", token, body, "f0").wantError(t, http.StatusConflict, "card_not_active")
	e.get("/v1/cards/"+pending+"/sensitive", token).wantError(t, http.StatusConflict, "card_not_active")

	card := activeCard(e, f, token, "c", "20.00")
	fd := e.post("/v1/cards/"+card+"/fundings", token, body, "f1").want(t, http.StatusAccepted)
	if fd["kind"] != "funding" || fd["operator"] != "moov-bj" {
		t.Fatalf("funding = %v", fd)
	}
	e.post("/v1/cards/"+card+"/fundings", token, map[string]string{"amount": "4.00", "currency": "USD",
		"phone": "+22990000001", "operator": "moov-bj"}, "f2").wantError(t, http.StatusUnprocessableEntity, "amount_too_small", "amount")

	wbody := map[string]string{"amount": "20.01", "currency": "USD", "phone": "+22990000001", "operator": "mtn-bj"}
	e.post("/v1/cards/"+card+"/withdrawals", token, wbody, "w1").wantError(t, http.StatusUnprocessableEntity, "insufficient_balance", "amount")
	wbody["amount"] = "0.01"
	w := e.post("/v1/cards/"+card+"/withdrawals", token, wbody, "w2").want(t, http.StatusAccepted)
	if w["status"] != "pending" || w["card_amount"].(map[string]any)["amount"] != "0.01" {
		t.Fatalf("withdrawal = %v", w)
	}
	got := e.get("/v1/cards/"+card, token).want(t, http.StatusOK)
	if got["available"].(map[string]any)["amount"] != "19.99" {
		t.Fatalf("available after a hold: %v", got["available"])
	}
	e.get("/v1/withdrawals/"+w["id"].(string), token).want(t, http.StatusOK)
	wl := e.get("/v1/cards/"+card+"/withdrawals", token).want(t, http.StatusOK)
	if len(wl["data"].([]any)) != 1 {
		t.Fatalf("withdrawals = %v", wl)
	}
	wbody["currency"] = "XOF"
	e.post("/v1/cards/"+card+"/withdrawals", token, wbody, "w3").wantError(t, http.StatusUnprocessableEntity, "unsupported_currency", "currency")

	fr := e.post("/v1/cards/"+card+"/freeze", token, nil, "").want(t, http.StatusOK)
	if fr["status"] != "frozen" {
		t.Fatalf("freeze: %v", fr)
	}
	e.post("/v1/cards/"+card+"/freeze", token, "{}", "").want(t, http.StatusOK)
	// Frozen cards still take fundings.
	e.post("/v1/cards/"+card+"/fundings", token, body, "f3").want(t, http.StatusAccepted)
	if un := e.post("/v1/cards/"+card+"/unfreeze", token, nil, "").want(t, http.StatusOK); un["status"] != "active" {
		t.Fatalf("unfreeze: %v", un)
	}
	e.post("/v1/cards/"+card+"/freeze", token, map[string]string{"why": "x"}, "").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "why")

	term := e.post("/v1/cards/"+card+"/terminate", token, map[string]string{"phone": "+22990000001", "operator": "mtn-bj"}, "t1")
	if term.want(t, http.StatusAccepted)["status"] != "terminating" {
		t.Fatalf("terminate: %s", term.body)
	}
	e.post("/v1/cards/"+card+"/fundings", token, body, "f4").wantError(t, http.StatusConflict, "card_not_active")
	e.post("/v1/cards/"+card+"/freeze", token, nil, "").wantError(t, http.StatusConflict, "card_not_active")
}

func TestListsPageNewestFirst(t *testing.T) {
	e, _ := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000035")
	var ids []string
	for i := range 5 {
		id, _ := e.issue(token, "page-"+string(rune('a'+i)), "10.00")
		ids = append(ids, id)
	}
	var seen []string
	cursor := ""
	for range 4 {
		path := "/v1/cards?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		m := e.get(path, token).want(t, http.StatusOK)
		for _, c := range m["data"].([]any) {
			seen = append(seen, c.(map[string]any)["id"].(string))
		}
		if m["next_cursor"] == nil {
			break
		}
		cursor = m["next_cursor"].(string)
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("paged %v, created %v", seen, ids)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=%%%", "cursor=bm9wZQ"} {
		code := "invalid_field"
		r := e.get("/v1/cards?"+q, token)
		r.wantError(t, http.StatusUnprocessableEntity, code)
	}
}

func TestLongPollAnswersWhenFinal(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000036")
	_, fundingID := e.issue(token, "lp", "10.00")
	// Not final, no wait: answers at once.
	if got := e.get("/v1/fundings/"+fundingID, token).want(t, http.StatusOK)["status"]; got != "awaiting_payment" {
		t.Fatalf("status %v", got)
	}
	var wg sync.WaitGroup
	var polled map[string]any
	wg.Add(1)
	go func() {
		defer wg.Done()
		polled = e.get("/v1/fundings/"+fundingID+"?wait=30", token).want(t, http.StatusOK)
	}()
	// Settle while the poll waits; the poll must return the final status
	// (well before its 30 s: the test would otherwise take 30 s).
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	f.settle(fundingID, "succeeded")
	wg.Wait()
	if polled["status"] != "succeeded" {
		t.Fatalf("long poll answered %v", polled["status"])
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("the long poll did not answer when the funding became final")
	}
	// Final: answers at once even with a wait.
	e.get("/v1/fundings/"+fundingID+"?wait=30", token).want(t, http.StatusOK)
	e.get("/v1/fundings/"+fundingID+"?wait=31", token).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "wait")
	e.get("/v1/fundings/"+fundingID+"?wait=-1", token).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "wait")
	e.get("/v1/fundings/"+fundingID+"?wait=1", token).want(t, http.StatusOK)
	e.get("/v1/fundings/nope?wait=1", token).wantError(t, http.StatusNotFound, "not_found")
}

func TestQuotes(t *testing.T) {
	e, _ := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000037")
	q := e.post("/v1/quotes", token, map[string]string{"operation": "funding", "amount": "10.00", "currency": "USD"}, "").
		want(t, http.StatusCreated)
	if q["rate"] != "652.173914" || q["momo_amount"].(map[string]any)["amount"] != "6522" || q["fees"].(map[string]any)["amount"] != "0" {
		t.Fatalf("quote = %v", q)
	}
	w := e.post("/v1/quotes", token, map[string]string{"operation": "withdrawal", "amount": "5760", "currency": "XOF"}, "").
		want(t, http.StatusCreated)
	if w["card_amount"].(map[string]any)["amount"] != "10.00" || w["rate"] != "576" {
		t.Fatalf("withdrawal quote = %v", w)
	}
	e.post("/v1/quotes", token, map[string]string{"operation": "lending", "amount": "10.00", "currency": "USD"}, "").
		wantError(t, http.StatusUnprocessableEntity, "invalid_field", "operation")
	e.post("/v1/quotes", token, map[string]string{"operation": "funding", "amount": "1.00", "currency": "USD"}, "").
		wantError(t, http.StatusUnprocessableEntity, "amount_too_small", "amount")

	// A quote holds its rate through a rate change.
	iq := e.post("/v1/quotes", token, map[string]string{"operation": "issuance", "amount": "10.00", "currency": "USD"}, "").
		want(t, http.StatusCreated)
	e.post("/v1/admin/rates", testAdminToken, map[string]any{"cost_rate": "700", "funding_margin": 0.1,
		"withdrawal_spread": "0.05"}, "").want(t, http.StatusCreated)
	body := issueBody("10.00", "USD")
	body["quote_id"] = iq["id"].(string)
	m := e.post("/v1/cards", token, body, "with-quote").want(t, http.StatusAccepted)
	if got := m["funding"].(map[string]any); got["rate"] != "652.173914" || got["momo_amount"].(map[string]any)["amount"] != iq["momo_amount"].(map[string]any)["amount"] {
		t.Fatalf("the quote's rate was not held: %v", got)
	}
	// Without a quote, the new rates apply.
	if m := e.post("/v1/cards", token, issueBody("10.00", "USD"), "no-quote").want(t, http.StatusAccepted); m["funding"].(map[string]any)["rate"] != "777.777778" {
		t.Fatalf("new rate not applied: %v", m["funding"])
	}
	for name, mut := range map[string]func(map[string]string){
		"unknown":        func(b map[string]string) { b["quote_id"] = "qt_nope" },
		"other amount":   func(b map[string]string) { b["amount"] = "11.00" },
		"other currency": func(b map[string]string) { b["amount"], b["currency"] = "10000", "XOF" },
	} {
		b := issueBody("10.00", "USD")
		b["quote_id"] = iq["id"].(string)
		mut(b)
		e.post("/v1/cards", token, b, "bad-quote-"+strings.ReplaceAll(name, " ", "-")).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "quote_id")
	}
	fq := e.post("/v1/quotes", token, map[string]string{"operation": "funding", "amount": "10.00", "currency": "USD"}, "").
		want(t, http.StatusCreated)
	b := issueBody("10.00", "USD")
	b["quote_id"] = fq["id"].(string)
	e.post("/v1/cards", token, b, "wrong-op").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "quote_id")
	e.clock.Advance(6 * time.Minute)
	b["quote_id"] = iq["id"].(string)
	e.post("/v1/cards", token, b, "expired").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "quote_id")

	// Another user cannot use it.
	other, _ := e.verifiedUser("+22990000038")
	q2 := e.post("/v1/quotes", other, map[string]string{"operation": "issuance", "amount": "10.00", "currency": "USD"}, "").
		want(t, http.StatusCreated)
	b["quote_id"] = q2["id"].(string)
	e.post("/v1/cards", token, b, "stolen").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "quote_id")

	rates := e.get("/v1/admin/rates", testAdminToken).want(t, http.StatusOK)
	if rates["current"].(map[string]any)["cost_rate"] != "700" || len(rates["history"].([]any)) != 1 {
		t.Fatalf("rates = %v", rates)
	}
	if n := e.count(`SELECT count(*) FROM admin_audit_log WHERE action = 'rates.set'`); n != 1 {
		t.Fatalf("%d audit rows", n)
	}
	e.post("/v1/admin/rates", testAdminToken, map[string]any{"cost_rate": "700", "funding_margin": "1",
		"withdrawal_spread": "0.05"}, "").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "funding_margin")
	e.post("/v1/admin/rates", testAdminToken, map[string]any{"cost_rate": "-1", "funding_margin": "0.1",
		"withdrawal_spread": "0.05"}, "").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "cost_rate")
	e.post("/v1/admin/rates", testAdminToken, map[string]any{"cost_rate": "abc", "funding_margin": "0.1",
		"withdrawal_spread": "0.05"}, "").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "cost_rate")
	if !strings.Contains(string(e.get("/v1/admin/rates", testAdminToken).body), `"id":"rates_`) {
		t.Fatal("rate set ids")
	}
}

// The engine's word that an operation is final wakes its long polls at
// once, without waiting for the database check (here an hour away).
func TestLongPollWokenByOperationFinal(t *testing.T) {
	e, f := newFakeServer(t, func(c *Config) { c.PollEvery = time.Hour })
	token, _ := e.verifiedUser("+22990000038")
	_, fundingID := e.issue(token, "lp-push", "10.00")
	answered := make(chan map[string]any)
	go func() { answered <- e.get("/v1/fundings/"+fundingID+"?wait=30", token).want(t, http.StatusOK) }()
	time.Sleep(100 * time.Millisecond)
	f.settle(fundingID, "succeeded")
	e.srv.OperationFinal(false, fundingID)
	select {
	case polled := <-answered:
		if polled["status"] != "succeeded" {
			t.Fatalf("long poll answered %v", polled["status"])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OperationFinal did not wake the long poll")
	}
}
