package engine

import "fmt"

// PaymentStatus is the status of one mobile-money payment (a collection, a
// payout or a refund) under its one reference. The machine:
//
//	pending ─ReportedSucceeded→ succeeded (ReportToOwner)
//	pending ─ReportedFailed→ failed (ReportToOwner)
//	pending ─OwnerGaveUp→ expired ─ReportedSucceeded→ succeeded (LateSuccess)
//	                       expired ─ReportedFailed→ failed
//
// A repeated status is not a change: ReportedPending keeps a pending or
// expired payment as it is and asks for nothing, and the same final status
// again is a no-op, so a status poll or a duplicate webhook never fires a
// hook twice (defect 13). A different status after a final one is an
// ErrIllegalTransition for the actor to log and raise.
//
// expired is how defect 5 stays fixed: when a funding gives up on its
// collection (PaymentFailed on expiry), the actor applies OwnerGaveUp in
// the same step and keeps polling; a success that arrives afterwards comes
// out as LateSuccess, to be booked into suspense (CollectionEntry then
// SuspenseInEntry) and refunded or applied, never lost. expired is an
// internal status, listed with the others for the ops API.
//
// The untyped constants PaymentPending, PaymentSucceeded and PaymentFailed
// name the same statuses for records.
type PaymentStatus string

// Payment statuses, as the API names them.
const (
	PaymentStatusPending   PaymentStatus = "pending"
	PaymentStatusExpired   PaymentStatus = "expired"   // the owner gave up; still watched for a late answer
	PaymentStatusSucceeded PaymentStatus = "succeeded" // final
	PaymentStatusFailed    PaymentStatus = "failed"    // final
)

// PaymentEvent is something that happened to a payment, reported to its machine.
type PaymentEvent string

// Payment events.
const (
	PaymentReportedPending   PaymentEvent = "reported_pending"   // the provider says it is still pending
	PaymentReportedSucceeded PaymentEvent = "reported_succeeded" // the provider says it succeeded
	PaymentReportedFailed    PaymentEvent = "reported_failed"    // the provider says it failed
	PaymentOwnerGaveUp       PaymentEvent = "owner_gave_up"      // the owning operation stopped waiting (a funding's payment expired)
)

var paymentMachine = newMachine("payment", PaymentStatusPending,
	[]PaymentStatus{
		PaymentStatusPending, PaymentStatusExpired, PaymentStatusSucceeded, PaymentStatusFailed,
	},
	[]PaymentStatus{PaymentStatusSucceeded, PaymentStatusFailed},
	[]PaymentEvent{
		PaymentReportedPending, PaymentReportedSucceeded, PaymentReportedFailed, PaymentOwnerGaveUp,
	},
	false,
	[]rule[PaymentStatus, PaymentEvent]{
		{from: []PaymentStatus{PaymentStatusPending}, on: PaymentReportedPending, to: PaymentStatusPending},
		{from: []PaymentStatus{PaymentStatusExpired}, on: PaymentReportedPending, to: PaymentStatusExpired},
		{from: []PaymentStatus{PaymentStatusPending}, on: PaymentOwnerGaveUp, to: PaymentStatusExpired},
		{from: []PaymentStatus{PaymentStatusPending}, on: PaymentReportedSucceeded, to: PaymentStatusSucceeded, effects: []Effect{EffectReportToOwner}},
		{from: []PaymentStatus{PaymentStatusPending}, on: PaymentReportedFailed, to: PaymentStatusFailed, effects: []Effect{EffectReportToOwner}},
		{from: []PaymentStatus{PaymentStatusExpired}, on: PaymentReportedSucceeded, to: PaymentStatusSucceeded, effects: []Effect{EffectLateSuccess}},
		{from: []PaymentStatus{PaymentStatusExpired}, on: PaymentReportedFailed, to: PaymentStatusFailed},
	})

// PaymentStatuses lists the legal payment statuses.
func PaymentStatuses() []PaymentStatus { return clone(paymentMachine.states) }

// PaymentEvents lists the payment events.
func PaymentEvents() []PaymentEvent { return clone(paymentMachine.events) }

// ParsePaymentStatus returns the payment status named s, or an error wrapping
// ErrUnknownStatus.
func ParsePaymentStatus(s string) (PaymentStatus, error) {
	if !PaymentStatus(s).Valid() {
		return "", fmt.Errorf("%w: payment status %q", ErrUnknownStatus, s)
	}
	return PaymentStatus(s), nil
}

// Apply is the payment transition function: the status after ev and the
// effects to perform, or a *TransitionError. It is pure: calling it
// changes nothing, so it also tells whether ev is allowed now.
func (s PaymentStatus) Apply(ev PaymentEvent) (PaymentStatus, []Effect, error) {
	return paymentMachine.apply(s, ev)
}

// Valid reports whether s is a legal payment status.
func (s PaymentStatus) Valid() bool { return paymentMachine.valid(s) }

// IsFinal reports whether s accepts no more changes.
func (s PaymentStatus) IsFinal() bool { return paymentMachine.final[s] }

// String returns the status's API name.
func (s PaymentStatus) String() string { return string(s) }

// String returns the event's name.
func (e PaymentEvent) String() string { return string(e) }
