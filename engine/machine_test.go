package engine_test

import (
	"errors"
	"slices"
	"testing"

	"kash/engine"
)

type step[S ~string, E ~string] struct {
	from    S
	ev      E
	to      S
	effects []engine.Effect
	illegal bool
}

type applyFunc[S ~string, E ~string] func(S, E) (S, []engine.Effect, error)

func checkSteps[S ~string, E ~string](t *testing.T, machine string, apply applyFunc[S, E], steps []step[S, E]) {
	t.Helper()
	for _, st := range steps {
		to, effects, err := apply(st.from, st.ev)
		if st.illegal {
			var te *engine.TransitionError
			if !errors.Is(err, engine.ErrIllegalTransition) || !errors.As(err, &te) ||
				te.Machine != machine || te.From != string(st.from) || te.Event != string(st.ev) {
				t.Errorf("%s %s on %s: error = %v, want a TransitionError", machine, st.from, st.ev, err)
			}
			if to != st.from || effects != nil {
				t.Errorf("%s %s on %s: refused but moved to %s with %v", machine, st.from, st.ev, to, effects)
			}
			continue
		}
		if err != nil || to != st.to || !slices.Equal(effects, st.effects) {
			t.Errorf("%s %s on %s = %s %v %v; want %s %v", machine, st.from, st.ev, to, effects, err, st.to, st.effects)
		}
	}
}

func TestFundingMachine(t *testing.T) {
	type S = engine.FundingStatus
	const (
		awaiting  = engine.FundingStatusAwaitingPayment
		paid      = engine.FundingStatusPaid
		queued    = engine.FundingStatusQueuedForFloat
		funding   = engine.FundingStatusFundingCard
		succeeded = engine.FundingStatusSucceeded
		failed    = engine.FundingStatusFailed
		refunding = engine.FundingStatusRefunding
		refunded  = engine.FundingStatusRefunded
	)
	E := func(e ...engine.Effect) []engine.Effect { return e }
	checkSteps(t, "funding", S.Apply, []step[S, engine.FundingEvent]{
		// The paths.
		{from: awaiting, ev: engine.FundingPaymentSucceeded, to: paid, effects: E(engine.EffectRecordCollection, engine.EffectRequestFloat)},
		{from: awaiting, ev: engine.FundingPaymentFailed, to: failed, effects: E(engine.EffectNotify)},
		{from: paid, ev: engine.FundingFloatQueued, to: queued},
		{from: paid, ev: engine.FundingFloatReserved, to: funding, effects: E(engine.EffectCallIssuer)},
		{from: queued, ev: engine.FundingFloatReserved, to: funding, effects: E(engine.EffectCallIssuer)},
		{from: queued, ev: engine.FundingFloatWaitExpired, to: refunding, effects: E(engine.EffectReleaseFloat, engine.EffectStartRefund)},
		{from: funding, ev: engine.FundingIssuerSucceeded, to: succeeded, effects: E(engine.EffectCommitFloat, engine.EffectCreditCard, engine.EffectNotify)},
		{from: funding, ev: engine.FundingIssuerFailed, to: refunding, effects: E(engine.EffectReleaseFloat, engine.EffectStartRefund)},
		{from: refunding, ev: engine.FundingRefundSucceeded, to: refunded, effects: E(engine.EffectRecordRefund, engine.EffectNotify)},
		{from: refunding, ev: engine.FundingRefundFailed, to: refunding, effects: E(engine.EffectStartRefund)},
		{from: refunding, ev: engine.FundingRefundAbandoned, to: refunding, effects: E(engine.EffectManualReview)},
		// Repeats of what already happened: no-ops.
		{from: paid, ev: engine.FundingPaymentSucceeded, to: paid},
		{from: funding, ev: engine.FundingPaymentSucceeded, to: funding},
		{from: funding, ev: engine.FundingFloatQueued, to: funding},
		{from: funding, ev: engine.FundingFloatReserved, to: funding},
		{from: refunding, ev: engine.FundingIssuerFailed, to: refunding},
		{from: refunding, ev: engine.FundingFloatReserved, to: refunding},
		{from: succeeded, ev: engine.FundingIssuerSucceeded, to: succeeded},
		{from: failed, ev: engine.FundingPaymentFailed, to: failed},
		{from: refunded, ev: engine.FundingRefundSucceeded, to: refunded},
		// Illegal.
		{from: awaiting, ev: engine.FundingFloatReserved, illegal: true},
		{from: awaiting, ev: engine.FundingIssuerSucceeded, illegal: true},
		{from: paid, ev: engine.FundingPaymentFailed, illegal: true},
		{from: paid, ev: engine.FundingFloatWaitExpired, illegal: true},
		{from: funding, ev: engine.FundingFloatWaitExpired, illegal: true},
		{from: refunding, ev: engine.FundingIssuerSucceeded, illegal: true},
		{from: failed, ev: engine.FundingPaymentSucceeded, illegal: true}, // a late success goes to suspense
		{from: succeeded, ev: engine.FundingPaymentSucceeded, illegal: true},
		{from: succeeded, ev: engine.FundingIssuerFailed, illegal: true},
		{from: refunded, ev: engine.FundingRefundFailed, illegal: true},
		{from: "bogus", ev: engine.FundingPaymentSucceeded, illegal: true},
		{from: paid, ev: "bogus", illegal: true},
	})
}

func TestWithdrawalMachine(t *testing.T) {
	type S = engine.WithdrawalStatus
	E := func(e ...engine.Effect) []engine.Effect { return e }
	checkSteps(t, "withdrawal", S.Apply, []step[S, engine.WithdrawalEvent]{
		{from: engine.WithdrawalStatusPending, ev: engine.WithdrawalDebitSucceeded, to: engine.WithdrawalStatusCardDebited, effects: E(engine.EffectRecordDebit, engine.EffectPayout)},
		{from: engine.WithdrawalStatusPending, ev: engine.WithdrawalDebitFailed, to: engine.WithdrawalStatusFailed, effects: E(engine.EffectNotify)},
		{from: engine.WithdrawalStatusCardDebited, ev: engine.WithdrawalPayoutSucceeded, to: engine.WithdrawalStatusSucceeded, effects: E(engine.EffectRecordPayout, engine.EffectNotify)},
		{from: engine.WithdrawalStatusCardDebited, ev: engine.WithdrawalPayoutFailed, to: engine.WithdrawalStatusFailed, effects: E(engine.EffectCreditBack, engine.EffectNotify)},
		{from: engine.WithdrawalStatusCardDebited, ev: engine.WithdrawalDebitSucceeded, to: engine.WithdrawalStatusCardDebited},
		{from: engine.WithdrawalStatusSucceeded, ev: engine.WithdrawalPayoutSucceeded, to: engine.WithdrawalStatusSucceeded},
		{from: engine.WithdrawalStatusFailed, ev: engine.WithdrawalPayoutFailed, to: engine.WithdrawalStatusFailed},
		{from: engine.WithdrawalStatusPending, ev: engine.WithdrawalPayoutSucceeded, illegal: true},
		{from: engine.WithdrawalStatusCardDebited, ev: engine.WithdrawalDebitFailed, illegal: true},
		{from: engine.WithdrawalStatusSucceeded, ev: engine.WithdrawalPayoutFailed, illegal: true},
		{from: engine.WithdrawalStatusSucceeded, ev: engine.WithdrawalDebitSucceeded, illegal: true},
	})
}

func TestCardMachine(t *testing.T) {
	type S = engine.CardStatus
	E := func(e ...engine.Effect) []engine.Effect { return e }
	checkSteps(t, "card", S.Apply, []step[S, engine.CardEvent]{
		{from: engine.CardStatusPending, ev: engine.CardIssued, to: engine.CardStatusActive, effects: E(engine.EffectNotify)},
		{from: engine.CardStatusPending, ev: engine.CardIssueFailed, to: engine.CardStatusFailed, effects: E(engine.EffectNotify)},
		{from: engine.CardStatusActive, ev: engine.CardFreeze, to: engine.CardStatusFrozen},
		{from: engine.CardStatusFrozen, ev: engine.CardUnfreeze, to: engine.CardStatusActive},
		{from: engine.CardStatusFrozen, ev: engine.CardFreeze, to: engine.CardStatusFrozen},   // API: freezing a frozen card is a no-op
		{from: engine.CardStatusActive, ev: engine.CardUnfreeze, to: engine.CardStatusActive}, // and so is unfreezing an active one
		{from: engine.CardStatusActive, ev: engine.CardTerminateRequested, to: engine.CardStatusTerminating, effects: E(engine.EffectCloseCard)},
		{from: engine.CardStatusFrozen, ev: engine.CardTerminateRequested, to: engine.CardStatusTerminating, effects: E(engine.EffectCloseCard)},
		{from: engine.CardStatusTerminating, ev: engine.CardTerminateRequested, to: engine.CardStatusTerminating},
		{from: engine.CardStatusTerminating, ev: engine.CardTerminated, to: engine.CardStatusTerminated, effects: E(engine.EffectNotify)},
		{from: engine.CardStatusTerminated, ev: engine.CardTerminated, to: engine.CardStatusTerminated},
		{from: engine.CardStatusPending, ev: engine.CardFreeze, illegal: true},
		{from: engine.CardStatusPending, ev: engine.CardTerminateRequested, illegal: true},
		{from: engine.CardStatusTerminating, ev: engine.CardFreeze, illegal: true},
		{from: engine.CardStatusTerminating, ev: engine.CardUnfreeze, illegal: true},
		{from: engine.CardStatusTerminated, ev: engine.CardUnfreeze, illegal: true},
		{from: engine.CardStatusTerminated, ev: engine.CardTerminateRequested, illegal: true},
		{from: engine.CardStatusFailed, ev: engine.CardIssued, illegal: true},
		{from: engine.CardStatusActive, ev: engine.CardIssueFailed, illegal: true},
	})
}

func TestPaymentMachine(t *testing.T) {
	type S = engine.PaymentStatus
	E := func(e ...engine.Effect) []engine.Effect { return e }
	checkSteps(t, "payment", S.Apply, []step[S, engine.PaymentEvent]{
		{from: engine.PaymentStatusPending, ev: engine.PaymentReportedPending, to: engine.PaymentStatusPending},
		{from: engine.PaymentStatusPending, ev: engine.PaymentReportedSucceeded, to: engine.PaymentStatusSucceeded, effects: E(engine.EffectReportToOwner)},
		{from: engine.PaymentStatusPending, ev: engine.PaymentReportedFailed, to: engine.PaymentStatusFailed, effects: E(engine.EffectReportToOwner)},
		{from: engine.PaymentStatusPending, ev: engine.PaymentOwnerGaveUp, to: engine.PaymentStatusExpired},
		{from: engine.PaymentStatusExpired, ev: engine.PaymentOwnerGaveUp, to: engine.PaymentStatusExpired},
		{from: engine.PaymentStatusExpired, ev: engine.PaymentReportedPending, to: engine.PaymentStatusExpired},
		{from: engine.PaymentStatusExpired, ev: engine.PaymentReportedSucceeded, to: engine.PaymentStatusSucceeded, effects: E(engine.EffectLateSuccess)},
		{from: engine.PaymentStatusExpired, ev: engine.PaymentReportedFailed, to: engine.PaymentStatusFailed},
		{from: engine.PaymentStatusSucceeded, ev: engine.PaymentReportedSucceeded, to: engine.PaymentStatusSucceeded},
		{from: engine.PaymentStatusFailed, ev: engine.PaymentReportedFailed, to: engine.PaymentStatusFailed},
		{from: engine.PaymentStatusSucceeded, ev: engine.PaymentReportedFailed, illegal: true},
		{from: engine.PaymentStatusSucceeded, ev: engine.PaymentReportedPending, illegal: true},
		{from: engine.PaymentStatusFailed, ev: engine.PaymentReportedSucceeded, illegal: true},
		{from: engine.PaymentStatusSucceeded, ev: engine.PaymentOwnerGaveUp, illegal: true},
	})
}

func TestSweepMachine(t *testing.T) {
	type S = engine.SweepStatus
	E := func(e ...engine.Effect) []engine.Effect { return e }
	checkSteps(t, "sweep", S.Apply, []step[S, engine.SweepEvent]{
		{from: engine.SweepStatusRequested, ev: engine.SweepPayoutAccepted, to: engine.SweepStatusPayoutPending},
		{from: engine.SweepStatusRequested, ev: engine.SweepPayoutSucceeded, to: engine.SweepStatusDepositPending, effects: E(engine.EffectRecordSweepPayout)},
		{from: engine.SweepStatusPayoutPending, ev: engine.SweepPayoutSucceeded, to: engine.SweepStatusDepositPending, effects: E(engine.EffectRecordSweepPayout)},
		{from: engine.SweepStatusPayoutPending, ev: engine.SweepPayoutFailed, to: engine.SweepStatusFailed, effects: E(engine.EffectNotify)},
		{from: engine.SweepStatusDepositPending, ev: engine.SweepDepositReceived, to: engine.SweepStatusCompleted, effects: E(engine.EffectRecordSweepDeposit, engine.EffectNotify)},
		{from: engine.SweepStatusDepositPending, ev: engine.SweepDepositOverdue, to: engine.SweepStatusDepositPending, effects: E(engine.EffectManualReview)},
		{from: engine.SweepStatusDepositPending, ev: engine.SweepPayoutSucceeded, to: engine.SweepStatusDepositPending},
		{from: engine.SweepStatusDepositPending, ev: engine.SweepPayoutFailed, illegal: true},
		{from: engine.SweepStatusRequested, ev: engine.SweepDepositReceived, to: engine.SweepStatusCompleted, effects: E(engine.EffectRecordSweepPayout, engine.EffectRecordSweepDeposit, engine.EffectNotify)},
		{from: engine.SweepStatusPayoutPending, ev: engine.SweepDepositReceived, to: engine.SweepStatusCompleted, effects: E(engine.EffectRecordSweepPayout, engine.EffectRecordSweepDeposit, engine.EffectNotify)},
		{from: engine.SweepStatusCompleted, ev: engine.SweepPayoutSucceeded, illegal: true},
	})
}

func TestStatusSets(t *testing.T) {
	want := []string{"awaiting_payment", "paid", "queued_for_float", "funding_card", "succeeded", "failed", "refunding", "refunded"}
	var got []string
	for _, s := range engine.FundingStatuses() {
		got = append(got, s.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("FundingStatuses() = %v, want the API's %v", got, want)
	}
	finals := map[string][]string{}
	for _, s := range engine.FundingStatuses() {
		if s.IsFinal() {
			finals["funding"] = append(finals["funding"], s.String())
		}
	}
	for _, s := range engine.CardStatuses() {
		if s.IsFinal() {
			finals["card"] = append(finals["card"], s.String())
		}
	}
	for _, s := range engine.WithdrawalStatuses() {
		if s.IsFinal() {
			finals["withdrawal"] = append(finals["withdrawal"], s.String())
		}
	}
	if !slices.Equal(finals["funding"], []string{"succeeded", "failed", "refunded"}) ||
		!slices.Equal(finals["card"], []string{"terminated", "failed"}) ||
		!slices.Equal(finals["withdrawal"], []string{"succeeded", "failed"}) {
		t.Errorf("final statuses = %v", finals)
	}
	if len(engine.CardStatuses()) != 6 || len(engine.WithdrawalStatuses()) != 4 || len(engine.SweepStatuses()) != 5 {
		t.Errorf("status sets: %v %v %v", engine.CardStatuses(), engine.WithdrawalStatuses(), engine.SweepStatuses())
	}
	if s, err := engine.ParseFundingStatus("funding_card"); err != nil || s != engine.FundingStatusFundingCard {
		t.Errorf("ParseFundingStatus = %v, %v", s, err)
	}
	if _, err := engine.ParseCardStatus("closed"); !errors.Is(err, engine.ErrUnknownStatus) {
		t.Errorf("ParseCardStatus(closed) = %v", err)
	}
	// The records' untyped payment statuses name the machine's.
	if engine.PaymentStatus(engine.PaymentSucceeded) != engine.PaymentStatusSucceeded ||
		engine.PaymentStatus(engine.PaymentPending) != engine.PaymentStatusPending ||
		engine.PaymentStatus(engine.PaymentFailed) != engine.PaymentStatusFailed {
		t.Error("payment record statuses disagree with the payment machine")
	}
}

func TestStartAndResume(t *testing.T) {
	if s, e := engine.StartFunding(); s != engine.FundingStatusAwaitingPayment || !slices.Equal(e, []engine.Effect{engine.EffectRequestPayment}) {
		t.Errorf("StartFunding() = %s %v", s, e)
	}
	if s, e := engine.StartWithdrawal(); s != engine.WithdrawalStatusPending || !slices.Equal(e, []engine.Effect{engine.EffectDebitCard}) {
		t.Errorf("StartWithdrawal() = %s %v", s, e)
	}
	if s, e := engine.StartSweep(); s != engine.SweepStatusRequested || !slices.Equal(e, []engine.Effect{engine.EffectSweepPayout}) {
		t.Errorf("StartSweep() = %s %v", s, e)
	}
	// After a crash between the debit and the payout, the payout is sent
	// again (same reference), never the debit (defect 9).
	if e := engine.WithdrawalStatusCardDebited.Resume(); !slices.Equal(e, []engine.Effect{engine.EffectPayout}) {
		t.Errorf("card_debited resumes with %v", e)
	}
	// A funding stuck mid-way resumes where it was (defect 3).
	if e := engine.FundingStatusFundingCard.Resume(); !slices.Equal(e, []engine.Effect{engine.EffectCallIssuer}) {
		t.Errorf("funding_card resumes with %v", e)
	}
	if e := engine.FundingStatusRefunding.Resume(); !slices.Equal(e, []engine.Effect{engine.EffectStartRefund}) {
		t.Errorf("refunding resumes with %v (defect 10: refunds are retried)", e)
	}
	for _, s := range engine.FundingStatuses() {
		for _, e := range s.Resume() {
			if e.MovesMoney() {
				t.Errorf("funding %s resumes with money effect %s", s, e)
			}
		}
		if s.IsFinal() && s.Resume() != nil {
			t.Errorf("final funding %s resumes with %v", s, s.Resume())
		}
	}
	// Effects returned are copies: changing them cannot change the machine.
	e := engine.FundingStatusPaid.Resume()
	e[0] = engine.EffectCreditCard
	if engine.FundingStatusPaid.Resume()[0] != engine.EffectRequestFloat {
		t.Error("Resume returned the machine's own table")
	}
}
