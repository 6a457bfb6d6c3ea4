package simtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers"
)

func pay(ref, phone string, op engine.Operator, amount int64) engine.PaymentRequest {
	return engine.PaymentRequest{Ref: ref, Phone: phone, Operator: op, Amount: xof(amount)}
}

func TestQosicMoovCollectAndPayout(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 0, 5*time.Second)
	ctx := context.Background()

	res, err := a.Collect(ctx, pay("c-moov-1", "+22960000001", engine.OperatorMoov, 5000))
	if err != nil || res.Outcome != engine.OutcomeSucceeded || res.ProviderRef == "" {
		t.Fatalf("collect: %+v, %v", res, err)
	}
	if got := e.wallet(t, "+22960000001"); got != "995000" {
		t.Fatalf("wallet after collect = %s, want 995000", got)
	}
	if got := e.collected(t, "qosic"); got != "5000" {
		t.Fatalf("collection balance = %s, want 5000", got)
	}

	res, err = a.Payout(ctx, pay("p-moov-1", "+22960000001", engine.OperatorMoov, 3000))
	if err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("payout: %+v, %v", res, err)
	}
	if got := e.wallet(t, "+22960000001"); got != "998000" {
		t.Fatalf("wallet after payout = %s, want 998000", got)
	}
	// The status endpoint knows both, under their transrefs.
	for _, ref := range []string{"c-moov-1", "p-moov-1"} {
		if res, err := a.PaymentStatus(ctx, ref, engine.OperatorMoov); err != nil || res.Outcome != engine.OutcomeSucceeded {
			t.Fatalf("status %s: %+v, %v", ref, res, err)
		}
	}
}

func TestQosicFailureCodes(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 0, 5*time.Second)
	ctx := context.Background()

	// Moov, empty wallet: "8" at once.
	res, err := a.Collect(ctx, pay("c-moov-empty", "+22960000000", engine.OperatorMoov, 5000))
	if err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("moov empty wallet: %+v, %v", res, err)
	}
	// MTN, empty wallet: pending, then "529".
	res, err = a.Collect(ctx, pay("c-mtn-empty", "+22990000000", engine.OperatorMTN, 5000))
	if err != nil || res.Outcome != engine.OutcomePending {
		t.Fatalf("mtn empty wallet: %+v, %v", res, err)
	}
	if final := waitFinal(t, a, "c-mtn-empty", engine.OperatorMTN); final.Outcome != engine.OutcomeFailed {
		t.Fatalf("mtn empty wallet final: %+v", final)
	}
	// Payout beyond the account's collected balance: "-1".
	res, err = a.Payout(ctx, pay("p-too-much", "+22990000001", engine.OperatorMTN, 1_000_000))
	if err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("payout beyond balance: %+v, %v", res, err)
	}
	// A transref never sent: not found, which is unknown, not failed.
	res, err = a.PaymentStatus(ctx, "never-sent", engine.OperatorMTN)
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown transref: %+v, %v", res, err)
	}
	// An injected provider failure.
	e.fault(t, map[string]any{"target": "momo.collect", "next_failures": 1})
	res, err = a.Collect(ctx, pay("c-injected", "+22960000001", engine.OperatorMoov, 1000))
	if err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("injected failure: %+v, %v", res, err)
	}
}

func TestQosicMTNIsAsynchronous(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 1, 5*time.Second) // the second account: clientids KASH2_*
	res, err := a.Collect(context.Background(), pay("c-mtn-1", "+22990000001", engine.OperatorMTN, 7000))
	if err != nil || res.Outcome != engine.OutcomePending {
		t.Fatalf("collect: %+v, %v", res, err)
	}
	if final := waitFinal(t, a, "c-mtn-1", engine.OperatorMTN); final.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("final: %+v", final)
	}
	if got := e.wallet(t, "+22990000001"); got != "993000" {
		t.Fatalf("wallet = %s, want 993000", got)
	}
	if got := e.collected(t, "qosic2"); got != "7000" {
		t.Fatalf("qosic2 collection = %s, want 7000", got)
	}
}

func TestQosicIdempotentByTransref(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 0, 5*time.Second)
	ctx := context.Background()
	for range 3 {
		res, err := a.Collect(ctx, pay("c-dup", "+22960000002", engine.OperatorMoov, 2500))
		if err != nil || res.Outcome != engine.OutcomeSucceeded {
			t.Fatalf("collect: %+v, %v", res, err)
		}
	}
	if got := e.wallet(t, "+22960000002"); got != "997500" {
		t.Fatalf("wallet = %s: the same transref moved money more than once", got)
	}
	for range 2 {
		res, err := a.Payout(ctx, pay("p-dup", "+22960000003", engine.OperatorMoov, 1000))
		if err != nil || res.Outcome != engine.OutcomeSucceeded {
			t.Fatalf("payout: %+v, %v", res, err)
		}
	}
	if got := e.wallet(t, "+22960000003"); got != "1001000" {
		t.Fatalf("payee wallet = %s, want 1001000", got)
	}
	// MTN: a repeat while pending, then after approval, is one debit.
	if res, err := a.Collect(ctx, pay("c-mtn-dup", "+22990000004", engine.OperatorMTN, 1000)); err != nil || res.Outcome != engine.OutcomePending {
		t.Fatalf("mtn: %+v, %v", res, err)
	}
	waitFinal(t, a, "c-mtn-dup", engine.OperatorMTN)
	if res, err := a.Collect(ctx, pay("c-mtn-dup", "+22990000004", engine.OperatorMTN, 1000)); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("mtn repeat after approval: %+v, %v", res, err)
	}
	if got := e.wallet(t, "+22990000004"); got != "999000" {
		t.Fatalf("mtn wallet = %s, want 999000", got)
	}
}

// TestQosicTimeoutResolvedByStatus: the answer is lost after the collection
// was applied; the adapter says unknown; the status of the same transref
// says succeeded; the money moved once.
func TestQosicTimeoutResolvedByStatus(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 0, 300*time.Millisecond)
	ctx := context.Background()
	e.fault(t, map[string]any{"target": "momo.collect", "timeout_rate": 1, "timeout_applied_rate": 1})
	res, err := a.Collect(ctx, pay("c-timeout", "+22960000005", engine.OperatorMoov, 4000))
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("collect: %+v, %v; want unknown timeout", res, err)
	}
	e.clearFaults(t)
	res, err = a.PaymentStatus(ctx, "c-timeout", engine.OperatorMoov)
	if err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("status: %+v, %v", res, err)
	}
	if got := e.wallet(t, "+22960000005"); got != "996000" {
		t.Fatalf("wallet = %s, want 996000", got)
	}
}

// TestQosicLostRequestResentUnderSameRef: the request never took effect;
// the status says not found; resending under the same transref moves the
// money once.
func TestQosicLostRequestResentUnderSameRef(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 0, 300*time.Millisecond)
	ctx := context.Background()
	e.fault(t, map[string]any{"target": "momo.payout", "timeout_rate": 1, "timeout_applied_rate": 0})
	seed, err := a.Collect(ctx, pay("c-seed", "+22960000006", engine.OperatorMoov, 10000))
	if err != nil || seed.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("seed collection: %+v, %v", seed, err)
	}
	res, err := a.Payout(ctx, pay("p-lost", "+22960000007", engine.OperatorMoov, 3000))
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("payout: %+v, %v", res, err)
	}
	e.clearFaults(t)
	res, err = a.PaymentStatus(ctx, "p-lost", engine.OperatorMoov)
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("status: %+v, %v; want not found", res, err)
	}
	for range 2 {
		if res, err := a.Payout(ctx, pay("p-lost", "+22960000007", engine.OperatorMoov, 3000)); err != nil || res.Outcome != engine.OutcomeSucceeded {
			t.Fatalf("resend: %+v, %v", res, err)
		}
	}
	if got := e.wallet(t, "+22960000007"); got != "1003000" {
		t.Fatalf("payee wallet = %s, want 1003000", got)
	}
}

func TestQosicStatusOutageIsUnknown(t *testing.T) {
	e := startSim(t, sim.Config{})
	a := e.qosicAdapter(t, 0, 5*time.Second)
	e.fault(t, map[string]any{"target": "momo.status", "fail_rate": 1})
	res, err := a.PaymentStatus(context.Background(), "anything", engine.OperatorMTN)
	if res.Outcome != engine.OutcomeUnknown || !errors.Is(err, providers.ErrUnexpectedStatus) {
		t.Fatalf("%+v, %v; want unknown (HTTP 503)", res, err)
	}
}

func TestQosicWrongCredentialsRefused(t *testing.T) {
	e := startSim(t, sim.Config{})
	acc := sim.DefaultQosicAccounts()[0]
	bad := e.qosicAdapterWith(t, acc.Name, acc.User, "wrong-password", acc.MTNClientID, acc.MoovClientID)
	res, err := bad.Collect(context.Background(), pay("c-badauth", "+22960000008", engine.OperatorMoov, 1000))
	if err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("wrong password: %+v, %v", res, err)
	}
	wrongClient := e.qosicAdapterWith(t, acc.Name, acc.User, acc.Password, "KASH2_MTN", "KASH2_MOOV")
	res, err = wrongClient.Collect(context.Background(), pay("c-badclient", "+22960000008", engine.OperatorMoov, 1000))
	if err != nil || res.Outcome != engine.OutcomeFailed {
		t.Fatalf("other account's clientid: %+v, %v", res, err)
	}
	if got := e.wallet(t, "+22960000008"); got != "" && got != "1000000" {
		t.Fatalf("refused requests moved money: wallet %s", got)
	}
}

func TestQosicSettlement(t *testing.T) {
	e := startSim(t, sim.Config{SweepDelay: 50 * time.Millisecond})
	a := e.qosicAdapter(t, 0, 5*time.Second)
	ctx := context.Background()
	if res, err := a.Collect(ctx, pay("c-sweep-seed", "+22960000009", engine.OperatorMoov, 600000)); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("seed: %+v, %v", res, err)
	}
	floatBefore := e.state(t).Issuer.Float.Amount
	res, err := a.Settle(ctx, "sw-1", xof(600000))
	if err != nil || res.Outcome != engine.OutcomePending {
		t.Fatalf("settle: %+v, %v", res, err)
	}
	if final := waitFinal(t, a, "sw-1", engine.OperatorMTN); final.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("settlement final: %+v", final)
	}
	if after := e.state(t).Issuer.Float.Amount; after == floatBefore {
		t.Fatalf("issuer float unchanged by the settlement: %s", after)
	}
}
