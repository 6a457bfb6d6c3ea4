package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"kash/engine"
)

func TestIdempotencyKeyIsRequiredOnMoneyRoutes(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000041")
	card := activeCard(e, f, token, "c", "20.00")
	wallet := map[string]string{"phone": "+22990000001", "operator": "mtn-bj"}
	money := map[string]string{"amount": "5.00", "currency": "USD", "phone": "+22990000001", "operator": "mtn-bj"}
	for path, body := range map[string]any{
		"/v1/cards":                          issueBody("10.00", "USD"),
		"/v1/cards/" + card + "/fundings":    money,
		"/v1/cards/" + card + "/withdrawals": money,
		"/v1/cards/" + card + "/terminate":   wallet,
	} {
		e.post(path, token, body, "").wantError(t, http.StatusBadRequest, "idempotency_key_required")
		e.post(path, token, body, strings.Repeat("k", 256)).wantError(t, http.StatusBadRequest, "idempotency_key_required")
		e.post(path, token, body, "tab\tkey").wantError(t, http.StatusBadRequest, "idempotency_key_required")
	}
	if n := e.count(`SELECT count(*) FROM fundings`); n != 1 {
		t.Fatalf("%d fundings: a keyless request went through", n)
	}
}

func TestIdempotentReplayAndReuse(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000042")
	first := e.post("/v1/cards", token, issueBody("10.00", "USD"), "same-key")
	first.want(t, http.StatusAccepted)
	again := e.post("/v1/cards", token, issueBody("10.00", "USD"), "same-key")
	again.want(t, http.StatusAccepted)
	if string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s / %s", again.body, again.header)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first response is marked replayed")
	}
	e.post("/v1/cards", token, issueBody("11.00", "USD"), "same-key").
		wantError(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	if f.issued != 1 {
		t.Fatalf("%d cards issued for one key (defect 1: double charge)", f.issued)
	}
	// Errors are outcomes too: the same key replays them.
	e.post("/v1/cards", token, issueBody("1.00", "USD"), "small").wantError(t, http.StatusUnprocessableEntity, "amount_too_small")
	r := e.post("/v1/cards", token, issueBody("1.00", "USD"), "small")
	r.wantError(t, http.StatusUnprocessableEntity, "amount_too_small")
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("an error outcome is not replayed")
	}
	// Keys are per caller: another user's identical key is theirs.
	other, _ := e.verifiedUser("+22990000043")
	o := e.post("/v1/cards", other, issueBody("10.00", "USD"), "same-key").want(t, http.StatusAccepted)
	if o["card"].(map[string]any)["id"] == first.json(t)["card"].(map[string]any)["id"] {
		t.Fatal("two users' keys named the same card")
	}
	if n := e.count(`SELECT count(*) FROM idempotency_keys WHERE expires_at < now() + interval '23 hours'`); n != 0 {
		t.Fatalf("%d keys kept less than 24 h", n)
	}
	// Honoured on other POSTs too.
	q1 := e.post("/v1/quotes", token, map[string]string{"operation": "funding", "amount": "10.00", "currency": "USD"}, "q")
	q2 := e.post("/v1/quotes", token, map[string]string{"operation": "funding", "amount": "10.00", "currency": "USD"}, "q")
	if q1.json(t)["id"] != q2.json(t)["id"] || q2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("quote not replayed")
	}
}

func TestIdempotencyInProgressAndTimeoutRecovery(t *testing.T) {
	e, f := newFakeServer(t, func(c *Config) { c.CommandTimeout = 1500 * time.Millisecond })
	token, _ := e.verifiedUser("+22990000044")
	gate := make(chan struct{})
	f.setGate(gate)

	var wg sync.WaitGroup
	var first resp
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = e.post("/v1/cards", token, issueBody("10.00", "USD"), "slow")
	}()
	// While the first holds the key, the same request is 409.
	f.waitAtGate(1)
	e.post("/v1/cards", token, issueBody("10.00", "USD"), "slow").wantError(t, http.StatusConflict, "idempotency_in_progress")
	wg.Wait()
	// The command outlived its deadline: 503, retry with the same key.
	first.wantError(t, http.StatusServiceUnavailable, "unavailable")

	// The engine finishes the command after the deadline...
	close(gate)
	f.setGate(nil)
	// ... and the retry is not stuck "in progress": it reaches the same card.
	var retry resp
	for range 100 {
		retry = e.post("/v1/cards", token, issueBody("10.00", "USD"), "slow")
		if retry.status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	retry.want(t, http.StatusAccepted)
	if f.issued != 1 {
		t.Fatalf("%d cards issued: the retry made a second one", f.issued)
	}
	if n := e.count(`SELECT count(*) FROM cards`); n != 1 {
		t.Fatalf("%d cards", n)
	}
	// And another body under that key is still refused.
	e.post("/v1/cards", token, issueBody("12.00", "USD"), "slow").wantError(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
}

func TestBusyEngineAndBackpressure(t *testing.T) {
	e, f := newFakeServer(t, func(c *Config) { c.MaxInFlightPerCard = 1; c.MaxInFlight = 2 })
	token, _ := e.verifiedUser("+22990000045")
	card := activeCard(e, f, token, "c", "20.00")

	f.failNext(engine.ErrBusy)
	e.post("/v1/cards/"+card+"/freeze", token, nil, "busy").wantError(t, http.StatusServiceUnavailable, "unavailable")
	// The 503 left the key free: the retry does the work.
	e.post("/v1/cards/"+card+"/freeze", token, nil, "busy").want(t, http.StatusOK)

	card2 := activeCard(e, f, token, "c2", "20.00")
	card3 := activeCard(e, f, token, "c3", "20.00")
	gate := make(chan struct{})
	f.setGate(gate)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.post("/v1/cards/"+card+"/unfreeze", token, nil, "").want(t, http.StatusOK)
	}()
	// A second command on the same card while one is in flight: 429.
	f.waitAtGate(1)
	e.get("/v1/cards/"+card+"/sensitive", token).wantError(t, http.StatusTooManyRequests, "rate_limited")
	go func() {
		defer wg.Done()
		e.post("/v1/cards/"+card2+"/freeze", token, nil, "").want(t, http.StatusOK)
	}()
	// Beyond the total bound, any card: 503.
	f.waitAtGate(2)
	e.post("/v1/cards/"+card3+"/freeze", token, nil, "k3").wantError(t, http.StatusServiceUnavailable, "unavailable")
	close(gate)
	wg.Wait()
	f.setGate(nil)
	e.get("/v1/cards/"+card+"/sensitive", token).want(t, http.StatusOK)
}

func TestPanicIsInternalWithoutInternals(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000046")
	f.mu.Lock()
	f.panicNext = true
	f.mu.Unlock()
	r := e.post("/v1/cards", token, issueBody("10.00", "USD"), "boom")
	r.wantError(t, http.StatusInternalServerError, "internal")
	if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "boom") {
		t.Fatalf("internals leak: %s", r.body)
	}
	// The key was released: the retry works.
	e.post("/v1/cards", token, issueBody("10.00", "USD"), "boom").want(t, http.StatusAccepted)
	e.get("/healthz", "").want(t, http.StatusOK)
}
