package simtest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers"
	"kash/gateway/providers/flutterwave"
)

func create(t *testing.T, a *flutterwave.Adapter, ref, cardID string, cents int64) (engine.Result, engine.IssuedCard) {
	t.Helper()
	res, card, err := a.CreateCard(context.Background(), engine.CreateCardRequest{Ref: ref, CardID: cardID, HolderName: "Ada Kash", Amount: usd(cents)})
	if err != nil {
		t.Fatalf("create %s: %v", ref, err)
	}
	return res, card
}

func TestFlutterwaveCardLifecycle(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.issuer(t, 5*time.Second)
	ctx := context.Background()

	res, card := create(t, a, "iss-1", "card_1", 2500)
	if res.Outcome != engine.OutcomeSucceeded || card.IssuerCardID == "" || len(card.Last4) != 4 || card.ExpiryMonth == 0 {
		t.Fatalf("create: %+v %+v", res, card)
	}
	if bal, status := e.card(t, "card_1"); bal != "25.00" || status != "active" {
		t.Fatalf("sim card: %s %s", bal, status)
	}
	details, err := a.CardDetails(ctx, card.IssuerCardID)
	if err != nil || len(details.PAN) < 12 || details.PAN[len(details.PAN)-4:] != card.Last4 || len(details.CVV) != 3 ||
		details.ExpiryMonth != card.ExpiryMonth || details.ExpiryYear != card.ExpiryYear {
		t.Fatalf("details disagree with the issued card (values withheld): %v", err)
	}

	op := engine.CardOperation{Ref: "fnd-1", IssuerCardID: card.IssuerCardID, Amount: usd(1050)}
	if res, err := a.FundCard(ctx, op); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("fund: %+v, %v", res, err)
	}
	op = engine.CardOperation{Ref: "wdr-1", IssuerCardID: card.IssuerCardID, Amount: usd(500)}
	if res, err := a.WithdrawCard(ctx, op); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("withdraw: %+v, %v", res, err)
	}
	got, err := a.Card(ctx, card.IssuerCardID)
	if err != nil || got.Balance != usd(3050) || got.Status != "active" || got.CardReference != "card_1" {
		t.Fatalf("card: %+v, %v", got, err)
	}
	op = engine.CardOperation{Ref: "wdr-2", IssuerCardID: card.IssuerCardID, Amount: usd(10000)}
	if res, err := a.WithdrawCard(ctx, op); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("withdraw beyond balance: %+v, %v", res, err)
	}

	// Block: a spend is declined; unblock: approved.
	if res, err := a.BlockCard(ctx, "blk-1", card.IssuerCardID); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("block: %+v, %v", res, err)
	}
	if res, err := a.BlockCard(ctx, "blk-2", card.IssuerCardID); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("block again: %+v, %v", res, err)
	}
	if approved := e.spend(t, "card_1", "1.00"); approved {
		t.Fatal("spend approved on a blocked card")
	}
	if res, err := a.UnblockCard(ctx, "ublk-1", card.IssuerCardID); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("unblock: %+v, %v", res, err)
	}
	if approved := e.spend(t, "card_1", "1.00"); !approved {
		t.Fatal("spend declined on an active card")
	}

	txs, err := a.Transactions(ctx, card.IssuerCardID, time.Now().AddDate(0, 0, -1), time.Now().AddDate(0, 0, 1), 1, 20)
	if err != nil || len(txs) < 4 {
		t.Fatalf("transactions: %d, %v", len(txs), err)
	}
	seen := map[string]bool{}
	for _, tx := range txs {
		seen[tx.Reference] = true
	}
	if !seen["fnd-1"] || !seen["wdr-1"] {
		t.Fatalf("transactions lack our references: %+v", txs)
	}

	if res, err := a.TerminateCard(ctx, "trm-1", card.IssuerCardID); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("terminate: %+v, %v", res, err)
	}
	if res, err := a.TerminateCard(ctx, "trm-2", card.IssuerCardID); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("terminate again: %+v, %v", res, err)
	}
	if _, status := e.card(t, "card_1"); status != "terminated" {
		t.Fatalf("sim card status %s", status)
	}
	op = engine.CardOperation{Ref: "fnd-2", IssuerCardID: card.IssuerCardID, Amount: usd(100)}
	if res, err := a.FundCard(ctx, op); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("fund terminated: %+v, %v", res, err)
	}
	if res, err := a.BlockCard(ctx, "blk-3", card.IssuerCardID); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("block terminated: %+v, %v", res, err)
	}
}

func TestFlutterwaveFloat(t *testing.T) {
	e := startSim(t, sim.Config{IssuerFloat: "30.00"})
	a := e.issuer(t, 5*time.Second)
	ctx := context.Background()
	if got, err := a.FloatBalance(ctx); err != nil || got != usd(3000) {
		t.Fatalf("float: %v, %v", got, err)
	}
	res, _ := create(t, a, "iss-big", "card_big", 5000)
	if res.Outcome != engine.OutcomeFailed || res.Reason == "" {
		t.Fatalf("create beyond float: %+v", res)
	}
	res, card := create(t, a, "iss-ok", "card_ok", 2000)
	if res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("create: %+v", res)
	}
	if got, err := a.FloatBalance(ctx); err != nil || got != usd(1000) {
		t.Fatalf("float after issuance: %v, %v", got, err)
	}
	op := engine.CardOperation{Ref: "fnd-big", IssuerCardID: card.IssuerCardID, Amount: usd(1001)}
	if res, err := a.FundCard(ctx, op); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("fund beyond float: %+v, %v", res, err)
	}
}

func TestFlutterwaveIdempotentByReference(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.issuer(t, 5*time.Second)
	ctx := context.Background()
	_, first := create(t, a, "iss-dup", "card_dup", 1000)
	_, second := create(t, a, "iss-dup", "card_dup", 1000)
	if first != second {
		t.Fatalf("same reference created two cards: %+v vs %+v", first, second)
	}
	if n := len(e.state(t).Issuer.Cards); n != 1 {
		t.Fatalf("%d cards in the simulator", n)
	}
	op := engine.CardOperation{Ref: "fnd-dup", IssuerCardID: first.IssuerCardID, Amount: usd(700)}
	for range 3 {
		if res, err := a.FundCard(ctx, op); err != nil || res.Outcome != engine.OutcomeSucceeded {
			t.Fatalf("fund: %+v, %v", res, err)
		}
	}
	if bal, _ := e.card(t, "card_dup"); bal != "17.00" {
		t.Fatalf("card balance %s: the same reference funded more than once", bal)
	}
	// Reusing a reference for another operation is refused, not applied.
	op = engine.CardOperation{Ref: "fnd-dup", IssuerCardID: first.IssuerCardID, Amount: usd(100)}
	if res, err := a.WithdrawCard(ctx, op); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("reused reference: %+v, %v", res, err)
	}
	if bal, _ := e.card(t, "card_dup"); bal != "17.00" {
		t.Fatalf("card balance %s after a refused reference reuse", bal)
	}
}

func TestFlutterwaveTimeoutResolvedByOperationStatus(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.issuer(t, 300*time.Millisecond)
	ctx := context.Background()

	// Creation applied, answer lost: the status returns the card.
	e.fault(t, map[string]any{"target": "issuer.create", "timeout_rate": 1, "timeout_applied_rate": 1})
	res, _, err := a.CreateCard(ctx, engine.CreateCardRequest{Ref: "iss-t", CardID: "card_t", HolderName: "Ada Kash", Amount: usd(1500)})
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("create: %+v, %v", res, err)
	}
	e.clearFaults(t)
	res, card, err := a.OperationStatus(ctx, "iss-t")
	if err != nil || res.Outcome != engine.OutcomeSucceeded || card.IssuerCardID == "" || card.Last4 == "" {
		t.Fatalf("status of creation: %+v %+v %v", res, card, err)
	}

	// Funding never applied: not found; resent under the same reference, once.
	e.fault(t, map[string]any{"target": "issuer.fund", "timeout_rate": 1, "timeout_applied_rate": 0})
	op := engine.CardOperation{Ref: "fnd-t", IssuerCardID: card.IssuerCardID, Amount: usd(500)}
	if res, err := a.FundCard(ctx, op); res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("fund: %+v, %v", res, err)
	}
	e.clearFaults(t)
	if res, _, err := a.OperationStatus(ctx, "fnd-t"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("status of lost funding: %+v, %v", res, err)
	}
	for range 2 {
		if res, err := a.FundCard(ctx, op); err != nil || res.Outcome != engine.OutcomeSucceeded {
			t.Fatalf("resend: %+v, %v", res, err)
		}
	}
	if bal, _ := e.card(t, "card_t"); bal != "20.00" {
		t.Fatalf("card balance %s, want 20.00", bal)
	}

	// Withdrawal applied, answer lost: the status says succeeded.
	e.fault(t, map[string]any{"target": "issuer.withdraw", "timeout_rate": 1, "timeout_applied_rate": 1})
	op = engine.CardOperation{Ref: "wdr-t", IssuerCardID: card.IssuerCardID, Amount: usd(300)}
	if res, err := a.WithdrawCard(ctx, op); res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("withdraw: %+v, %v", res, err)
	}
	e.clearFaults(t)
	if res, _, err := a.OperationStatus(ctx, "wdr-t"); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("status of withdrawal: %+v, %v", res, err)
	}
	if bal, _ := e.card(t, "card_t"); bal != "17.00" {
		t.Fatalf("card balance %s, want 17.00", bal)
	}
}

func TestFlutterwaveInjectedFailuresAndOutages(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.issuer(t, 5*time.Second)
	ctx := context.Background()
	e.fault(t, map[string]any{"target": "issuer.create", "next_failures": 1})
	if res, _ := create(t, a, "iss-f", "card_f", 1000); res.Outcome != engine.OutcomeFailed {
		t.Fatalf("injected failure: %+v", res)
	}
	if res, _, err := a.OperationStatus(ctx, "iss-f"); err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("status of injected failure: %+v, %v", res, err)
	}
	e.fault(t, map[string]any{"target": "issuer.status", "fail_rate": 1})
	if res, _, err := a.OperationStatus(ctx, "iss-f"); res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrUnexpectedStatus) {
		t.Fatalf("status outage: %+v, %v", res, err)
	}
}

func TestFlutterwaveWrongKeyRefused(t *testing.T) {
	e := startSim(t, sim.Config{})
	a, err := flutterwave.New(flutterwave.Config{BaseURL: e.URL, SecretKey: "FLWSECK_TEST-wrong"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := create(t, a, "iss-k", "card_k", 1000); res.Outcome != engine.OutcomeFailed {
		t.Fatalf("wrong key: %+v", res)
	}
	if _, err := a.FloatBalance(context.Background()); !errors.Is(err, providers.ErrUnexpectedStatus) {
		t.Fatalf("balance with wrong key: %v", err)
	}
}

// spend asks the simulated card network for a purchase.
func (e *env) spend(t *testing.T, card, amount string) bool {
	t.Helper()
	var out struct {
		Approved bool `json:"approved"`
	}
	code := e.control(t, http.MethodPost, "/sim/spend", map[string]string{"card": card, "amount": amount, "currency": "USD", "merchant": "Test"}, &out)
	if code != http.StatusOK {
		t.Fatalf("/sim/spend: HTTP %d", code)
	}
	return out.Approved
}
