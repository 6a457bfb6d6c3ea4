package engine

import "fmt"

// SweepStatus is the status of a sweep, which moves collected XOF from a
// momo provider account to the issuer float. The machine:
//
//	requested ─PayoutAccepted→ payout_pending
//	requested | payout_pending ─PayoutSucceeded→ deposit_pending ─DepositReceived→ completed
//	requested | payout_pending ─PayoutFailed→ failed
//	requested | payout_pending ─DepositReceived→ completed (the issuer's credit proves the payout)
//	deposit_pending ─DepositOverdue→ deposit_pending (ManualReview)
//
// Once the XOF has left (deposit_pending) the sweep cannot fail: the money
// is on its way, and only ops can say where it went. completed and failed
// are final.
type SweepStatus string

// Sweep statuses, as the API names them.
const (
	SweepStatusRequested      SweepStatus = "requested"       // recorded; the XOF payout is being sent
	SweepStatusPayoutPending  SweepStatus = "payout_pending"  // the provider accepted the payout
	SweepStatusDepositPending SweepStatus = "deposit_pending" // the XOF left; waiting for the USD at the issuer
	SweepStatusCompleted      SweepStatus = "completed"       // final
	SweepStatusFailed         SweepStatus = "failed"          // final: the XOF never left
)

// SweepEvent is something that happened to a sweep, reported to its machine.
type SweepEvent string

// Sweep events.
const (
	SweepPayoutAccepted  SweepEvent = "payout_accepted"  // the provider accepted the XOF payout, pending
	SweepPayoutSucceeded SweepEvent = "payout_succeeded" // the XOF left the momo account
	SweepPayoutFailed    SweepEvent = "payout_failed"    // the XOF payout definitely failed
	SweepDepositReceived SweepEvent = "deposit_received" // the USD arrived in the issuer float
	SweepDepositOverdue  SweepEvent = "deposit_overdue"  // the USD is later than it should be
)

var sweepMachine = newMachine("sweep", SweepStatusRequested,
	[]SweepStatus{
		SweepStatusRequested, SweepStatusPayoutPending, SweepStatusDepositPending, SweepStatusCompleted,
		SweepStatusFailed,
	},
	[]SweepStatus{SweepStatusCompleted, SweepStatusFailed},
	[]SweepEvent{
		SweepPayoutAccepted, SweepPayoutSucceeded, SweepPayoutFailed, SweepDepositReceived,
		SweepDepositOverdue,
	},
	false,
	[]rule[SweepStatus, SweepEvent]{
		{from: []SweepStatus{SweepStatusRequested}, on: SweepPayoutAccepted, to: SweepStatusPayoutPending},
		{from: []SweepStatus{SweepStatusRequested, SweepStatusPayoutPending}, on: SweepPayoutSucceeded, to: SweepStatusDepositPending, effects: []Effect{EffectRecordSweepPayout}},
		{from: []SweepStatus{SweepStatusRequested, SweepStatusPayoutPending}, on: SweepPayoutFailed, to: SweepStatusFailed, effects: []Effect{EffectNotify}},
		{from: []SweepStatus{SweepStatusDepositPending}, on: SweepDepositReceived, to: SweepStatusCompleted, effects: []Effect{EffectRecordSweepDeposit, EffectNotify}},
		{from: []SweepStatus{SweepStatusRequested, SweepStatusPayoutPending}, on: SweepDepositReceived, to: SweepStatusCompleted, effects: []Effect{EffectRecordSweepPayout, EffectRecordSweepDeposit, EffectNotify}},
		{from: []SweepStatus{SweepStatusDepositPending}, on: SweepDepositOverdue, to: SweepStatusDepositPending, effects: []Effect{EffectManualReview}},
	})

var sweepResume = map[SweepStatus][]Effect{
	SweepStatusRequested:     {EffectSweepPayout},
	SweepStatusPayoutPending: {EffectSweepPayout},
}

// SweepStatuses lists the legal sweep statuses.
func SweepStatuses() []SweepStatus { return clone(sweepMachine.states) }

// SweepEvents lists the sweep events.
func SweepEvents() []SweepEvent { return clone(sweepMachine.events) }

// StartSweep returns the status a new sweep starts in and the effects that
// start it; the actor persists the sweep (with its references) first.
func StartSweep() (SweepStatus, []Effect) { return SweepStatusRequested, SweepStatusRequested.Resume() }

// ParseSweepStatus returns the sweep status named s, or an error wrapping
// ErrUnknownStatus.
func ParseSweepStatus(s string) (SweepStatus, error) {
	if !SweepStatus(s).Valid() {
		return "", fmt.Errorf("%w: sweep status %q", ErrUnknownStatus, s)
	}
	return SweepStatus(s), nil
}

// Apply is the sweep transition function: the status after ev and the
// effects to perform, or a *TransitionError. It is pure: calling it
// changes nothing, so it also tells whether ev is allowed now.
func (s SweepStatus) Apply(ev SweepEvent) (SweepStatus, []Effect, error) {
	return sweepMachine.apply(s, ev)
}

// Valid reports whether s is a legal sweep status.
func (s SweepStatus) Valid() bool { return sweepMachine.valid(s) }

// IsFinal reports whether s accepts no more changes.
func (s SweepStatus) IsFinal() bool { return sweepMachine.final[s] }

// Resume returns the effects to drive again for a sweep found in s after a
// restart: each redoes work that may be in flight under the same
// reference (asking the provider first), and none books money.
func (s SweepStatus) Resume() []Effect { return clone(sweepResume[s]) }

// String returns the status's API name.
func (s SweepStatus) String() string { return string(s) }

// String returns the event's name.
func (e SweepEvent) String() string { return string(e) }
