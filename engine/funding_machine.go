package engine

import "fmt"

// FundingStatus is the status of a funding or an issuance (an issuance is a
// funding whose issuer call creates the card). The machine:
//
//	awaiting_payment ─PaymentSucceeded→ paid ─FloatQueued→ queued_for_float
//	paid | queued_for_float ─FloatReserved→ funding_card ─IssuerSucceeded→ succeeded
//	awaiting_payment ─PaymentFailed→ failed
//	queued_for_float ─FloatWaitExpired→ refunding;  funding_card ─IssuerFailed→ refunding
//	refunding ─RefundSucceeded→ refunded  (RefundFailed retries; RefundAbandoned asks ops)
//
// succeeded, failed and refunded are final. Money is booked at exactly three
// edges (RecordCollection, CreditCard, RecordRefund), and a funding reaches
// either CreditCard or RecordRefund, never both. An event that may already
// have happened on the way to a status that is not final is a no-op (a
// duplicate or a stale fact); in a final status only the event that led
// into it is.
type FundingStatus string

// Funding statuses, as the API names them.
const (
	FundingStatusAwaitingPayment FundingStatus = "awaiting_payment"
	FundingStatusPaid            FundingStatus = "paid"
	FundingStatusQueuedForFloat  FundingStatus = "queued_for_float" // waiting for issuer float, FIFO, bounded
	FundingStatusFundingCard     FundingStatus = "funding_card"     // the issuer call is in flight
	FundingStatusSucceeded       FundingStatus = "succeeded"        // final
	FundingStatusFailed          FundingStatus = "failed"           // final: the payment failed or expired
	FundingStatusRefunding       FundingStatus = "refunding"
	FundingStatusRefunded        FundingStatus = "refunded" // final
)

// FundingEvent is something that happened to a funding, reported to its machine.
type FundingEvent string

// Funding events.
const (
	FundingPaymentSucceeded FundingEvent = "payment_succeeded"  // the collection succeeded
	FundingPaymentFailed    FundingEvent = "payment_failed"     // the collection failed or expired
	FundingFloatQueued      FundingEvent = "float_queued"       // the treasury queued the reservation
	FundingFloatReserved    FundingEvent = "float_reserved"     // the treasury reserved the float
	FundingFloatWaitExpired FundingEvent = "float_wait_expired" // the bounded wait for float ran out
	FundingIssuerSucceeded  FundingEvent = "issuer_succeeded"   // the issuer funded (or created) the card
	FundingIssuerFailed     FundingEvent = "issuer_failed"      // the issuer definitely did not
	FundingRefundSucceeded  FundingEvent = "refund_succeeded"   // the refund reached the wallet
	FundingRefundFailed     FundingEvent = "refund_failed"      // a refund attempt failed; retry
	FundingRefundAbandoned  FundingEvent = "refund_abandoned"   // retries are exhausted; ops must act
)

var fundingMachine = newMachine("funding", FundingStatusAwaitingPayment,
	[]FundingStatus{
		FundingStatusAwaitingPayment, FundingStatusPaid, FundingStatusQueuedForFloat,
		FundingStatusFundingCard, FundingStatusSucceeded, FundingStatusFailed, FundingStatusRefunding,
		FundingStatusRefunded,
	},
	[]FundingStatus{FundingStatusSucceeded, FundingStatusFailed, FundingStatusRefunded},
	[]FundingEvent{
		FundingPaymentSucceeded, FundingPaymentFailed, FundingFloatQueued, FundingFloatReserved,
		FundingFloatWaitExpired, FundingIssuerSucceeded, FundingIssuerFailed, FundingRefundSucceeded,
		FundingRefundFailed, FundingRefundAbandoned,
	},
	false,
	[]rule[FundingStatus, FundingEvent]{
		{from: []FundingStatus{FundingStatusAwaitingPayment}, on: FundingPaymentSucceeded, to: FundingStatusPaid, effects: []Effect{EffectRecordCollection, EffectRequestFloat}},
		{from: []FundingStatus{FundingStatusAwaitingPayment}, on: FundingPaymentFailed, to: FundingStatusFailed, effects: []Effect{EffectNotify}},
		{from: []FundingStatus{FundingStatusPaid}, on: FundingFloatQueued, to: FundingStatusQueuedForFloat},
		{from: []FundingStatus{FundingStatusPaid, FundingStatusQueuedForFloat}, on: FundingFloatReserved, to: FundingStatusFundingCard, effects: []Effect{EffectCallIssuer}},
		{from: []FundingStatus{FundingStatusQueuedForFloat}, on: FundingFloatWaitExpired, to: FundingStatusRefunding, effects: []Effect{EffectReleaseFloat, EffectStartRefund}},
		{from: []FundingStatus{FundingStatusFundingCard}, on: FundingIssuerSucceeded, to: FundingStatusSucceeded, effects: []Effect{EffectCommitFloat, EffectCreditCard, EffectNotify}},
		{from: []FundingStatus{FundingStatusFundingCard}, on: FundingIssuerFailed, to: FundingStatusRefunding, effects: []Effect{EffectReleaseFloat, EffectStartRefund}},
		{from: []FundingStatus{FundingStatusRefunding}, on: FundingRefundSucceeded, to: FundingStatusRefunded, effects: []Effect{EffectRecordRefund, EffectNotify}},
		{from: []FundingStatus{FundingStatusRefunding}, on: FundingRefundFailed, to: FundingStatusRefunding, effects: []Effect{EffectStartRefund}},
		{from: []FundingStatus{FundingStatusRefunding}, on: FundingRefundAbandoned, to: FundingStatusRefunding, effects: []Effect{EffectManualReview}},
	})

var fundingResume = map[FundingStatus][]Effect{
	FundingStatusAwaitingPayment: {EffectRequestPayment},
	FundingStatusPaid:            {EffectRequestFloat},
	FundingStatusQueuedForFloat:  {EffectRequestFloat},
	FundingStatusFundingCard:     {EffectCallIssuer},
	FundingStatusRefunding:       {EffectStartRefund},
}

// FundingStatuses lists the legal funding statuses.
func FundingStatuses() []FundingStatus { return clone(fundingMachine.states) }

// FundingEvents lists the funding events.
func FundingEvents() []FundingEvent { return clone(fundingMachine.events) }

// StartFunding returns the status a new funding starts in and the effects that
// start it; the actor persists the funding (with its references) first.
func StartFunding() (FundingStatus, []Effect) {
	return FundingStatusAwaitingPayment, FundingStatusAwaitingPayment.Resume()
}

// ParseFundingStatus returns the funding status named s, or an error wrapping
// ErrUnknownStatus.
func ParseFundingStatus(s string) (FundingStatus, error) {
	if !FundingStatus(s).Valid() {
		return "", fmt.Errorf("%w: funding status %q", ErrUnknownStatus, s)
	}
	return FundingStatus(s), nil
}

// Apply is the funding transition function: the status after ev and the
// effects to perform, or a *TransitionError. It is pure: calling it
// changes nothing, so it also tells whether ev is allowed now.
//
// FloatWaitExpired asks for ReleaseFloat as well as StartRefund: the
// treasury may have granted the reservation while the wait ran out, and a
// FloatReserved that arrives afterwards is a no-op here, so the treasury
// must drop whatever it holds for the funding (queued or granted) on
// ReleaseFloat.
func (s FundingStatus) Apply(ev FundingEvent) (FundingStatus, []Effect, error) {
	return fundingMachine.apply(s, ev)
}

// Valid reports whether s is a legal funding status.
func (s FundingStatus) Valid() bool { return fundingMachine.valid(s) }

// IsFinal reports whether s accepts no more changes.
func (s FundingStatus) IsFinal() bool { return fundingMachine.final[s] }

// Resume returns the effects to drive again for a funding found in s after a
// restart: each redoes work that may be in flight under the same
// reference (asking the provider first), and none books money.
func (s FundingStatus) Resume() []Effect { return clone(fundingResume[s]) }

// String returns the status's API name.
func (s FundingStatus) String() string { return string(s) }

// String returns the event's name.
func (e FundingEvent) String() string { return string(e) }
