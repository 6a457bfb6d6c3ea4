// The end-to-end tests run the API on the real actor engine with the
// in-process providers.

package gateway

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"kash/actors"
	"kash/actors/inproc"
	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

type e2eWorld struct {
	*env
	issuer *inproc.Issuer
	eng    *actors.Engine
}

func newEngineServer(t *testing.T) *e2eWorld {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := persistence.NewStateStore(pool)
	journal := persistence.NewJournal(pool, persistence.JournalConfig{})
	issuer := inproc.NewIssuer(0)
	eng, err := actors.Start(context.Background(), actors.Config{IssuerRetry: 50 * time.Millisecond,
		PollEvery: 50 * time.Millisecond, TickEvery: 50 * time.Millisecond}, actors.Deps{
		Journal: journal, Store: store,
		Momo:   map[string]engine.MomoProvider{"qosic": inproc.NewMomo("qosic")},
		Issuer: issuer,
		Router: actors.StaticRouter{engine.OperatorMTN: "qosic", engine.OperatorMoov: "qosic"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Stop(); journal.Close() })
	return &e2eWorld{env: newTestServerOn(t, pool, eng), issuer: issuer, eng: eng}
}

// eventually polls read until it returns want (the sagas run in the
// background); it bounds the wait so a stuck saga fails the test.
func eventually(t *testing.T, what string, want any, read func() any) {
	t.Helper()
	var got any
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(20 * time.Millisecond) {
		if got = read(); got == want {
			return
		}
	}
	t.Fatalf("%s: %v, want %v", what, got, want)
}

func TestEndToEndWithTheActorEngine(t *testing.T) {
	w := newEngineServer(t)
	w.issuer.AddFloat(100_000_00)
	w.webhook("flutterwave", testWebhookSecret, `{"id":"evt_f1","type":"issuer.float_credited",
		"data":{"amount":"100000.00","currency":"USD","reference":"dep_1","source":"deposit"}}`).want(t, http.StatusOK)

	token, _ := w.verifiedUser("+22990000091")
	first := w.post("/v1/cards", token, map[string]string{"amount": "25.00", "currency": "USD",
		"phone": "+22990000001", "operator": "moov-bj"}, "buy")
	m := first.want(t, http.StatusAccepted)
	cardID := m["card"].(map[string]any)["id"].(string)
	fundingID := m["funding"].(map[string]any)["id"].(string)
	if f := w.get("/v1/fundings/"+fundingID+"?wait=20", token).want(t, http.StatusOK); f["status"] != "succeeded" {
		t.Fatalf("issuance: %v", f)
	}
	card := w.get("/v1/cards/"+cardID, token).want(t, http.StatusOK)
	if card["status"] != "active" || card["balance"].(map[string]any)["amount"] != "25.00" {
		t.Fatalf("card: %v", card)
	}
	again := w.post("/v1/cards", token, map[string]string{"amount": "25.00", "currency": "USD",
		"phone": "+22990000001", "operator": "moov-bj"}, "buy")
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("retry not replayed")
	}

	if !w.issuer.Spend(cardID, 250) {
		t.Fatal("issuer refused the spend")
	}
	w.webhook("flutterwave", testWebhookSecret, fmt.Sprintf(`{"id":"evt_s1","type":"card.spend",
		"data":{"card_reference":%q,"card_id":"x","amount":"2.50","currency":"USD","merchant":"Netflix","status":"successful"}}`,
		cardID)).want(t, http.StatusOK)
	eventually(t, "balance after spend", "22.50", func() any {
		return w.get("/v1/cards/"+cardID, token).want(t, http.StatusOK)["balance"].(map[string]any)["amount"]
	})

	wd := w.post("/v1/cards/"+cardID+"/withdrawals", token, map[string]string{"amount": "10.00", "currency": "USD",
		"phone": "+22990000001", "operator": "moov-bj"}, "wd").want(t, http.StatusAccepted)
	if got := w.get("/v1/withdrawals/"+wd["id"].(string)+"?wait=20", token).want(t, http.StatusOK); got["status"] != "succeeded" {
		t.Fatalf("withdrawal: %v", got)
	}
	w.post("/v1/cards/"+cardID+"/withdrawals", token, map[string]string{"amount": "100.00", "currency": "USD",
		"phone": "+22990000001", "operator": "moov-bj"}, "wd2").wantError(t, http.StatusUnprocessableEntity, "insufficient_balance", "amount")

	if fr := w.post("/v1/cards/"+cardID+"/freeze", token, nil, "").want(t, http.StatusOK); fr["status"] != "frozen" {
		t.Fatalf("freeze: %v", fr)
	}
	if s := w.get("/v1/cards/"+cardID+"/sensitive", token).want(t, http.StatusOK); s["pan"] == "" {
		t.Fatalf("sensitive: %v", s)
	}
	tx := w.get("/v1/cards/"+cardID+"/transactions", token).want(t, http.StatusOK)["data"].([]any)
	if len(tx) != 3 {
		t.Fatalf("transactions: %v", tx)
	}
	w.post("/v1/cards/"+cardID+"/terminate", token, map[string]string{"phone": "+22990000001", "operator": "moov-bj"},
		"end").want(t, http.StatusAccepted)
	eventually(t, "card status", "terminated", func() any {
		return w.get("/v1/cards/"+cardID, token).want(t, http.StatusOK)["status"]
	})
	check := w.get("/v1/admin/ledger/check", testAdminToken).want(t, http.StatusOK)
	if check["ok"] != true {
		t.Fatalf("ledger check: %v", check)
	}
	w.get("/v1/admin/treasury", testAdminToken).want(t, http.StatusOK)
	w.get("/v1/admin/earnings?group_by=operation", testAdminToken).want(t, http.StatusOK)
}
