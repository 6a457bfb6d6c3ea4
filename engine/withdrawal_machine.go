package engine

import "fmt"

// WithdrawalStatus is the status of a withdrawal. The machine:
//
//	pending ─DebitSucceeded→ card_debited ─PayoutSucceeded→ succeeded
//	pending ─DebitFailed→ failed;  card_debited ─PayoutFailed→ failed (CreditBack)
//
// The card is debited before the payout is sent, and the payout is retried
// under the same reference; only when it has finally failed is the card
// credited back, so money never leaves twice nor gets stranded (defects 8,
// 9). succeeded and failed are final.
type WithdrawalStatus string

// Withdrawal statuses, as the API names them.
const (
	WithdrawalStatusPending     WithdrawalStatus = "pending"      // the hold is placed; the issuer debit is in flight
	WithdrawalStatusCardDebited WithdrawalStatus = "card_debited" // the payout is in flight
	WithdrawalStatusSucceeded   WithdrawalStatus = "succeeded"    // final
	WithdrawalStatusFailed      WithdrawalStatus = "failed"       // final
)

// WithdrawalEvent is something that happened to a withdrawal, reported to its machine.
type WithdrawalEvent string

// Withdrawal events.
const (
	WithdrawalDebitSucceeded  WithdrawalEvent = "debit_succeeded"  // the issuer took the amount off the card
	WithdrawalDebitFailed     WithdrawalEvent = "debit_failed"     // the issuer definitely did not
	WithdrawalPayoutSucceeded WithdrawalEvent = "payout_succeeded" // the wallet was paid
	WithdrawalPayoutFailed    WithdrawalEvent = "payout_failed"    // the payout finally failed, after its retries
)

var withdrawalMachine = newMachine("withdrawal", WithdrawalStatusPending,
	[]WithdrawalStatus{
		WithdrawalStatusPending, WithdrawalStatusCardDebited, WithdrawalStatusSucceeded,
		WithdrawalStatusFailed,
	},
	[]WithdrawalStatus{WithdrawalStatusSucceeded, WithdrawalStatusFailed},
	[]WithdrawalEvent{
		WithdrawalDebitSucceeded, WithdrawalDebitFailed, WithdrawalPayoutSucceeded,
		WithdrawalPayoutFailed,
	},
	false,
	[]rule[WithdrawalStatus, WithdrawalEvent]{
		{from: []WithdrawalStatus{WithdrawalStatusPending}, on: WithdrawalDebitSucceeded, to: WithdrawalStatusCardDebited, effects: []Effect{EffectRecordDebit, EffectPayout}},
		{from: []WithdrawalStatus{WithdrawalStatusPending}, on: WithdrawalDebitFailed, to: WithdrawalStatusFailed, effects: []Effect{EffectNotify}},
		{from: []WithdrawalStatus{WithdrawalStatusCardDebited}, on: WithdrawalPayoutSucceeded, to: WithdrawalStatusSucceeded, effects: []Effect{EffectRecordPayout, EffectNotify}},
		{from: []WithdrawalStatus{WithdrawalStatusCardDebited}, on: WithdrawalPayoutFailed, to: WithdrawalStatusFailed, effects: []Effect{EffectCreditBack, EffectNotify}},
	})

var withdrawalResume = map[WithdrawalStatus][]Effect{
	WithdrawalStatusPending:     {EffectDebitCard},
	WithdrawalStatusCardDebited: {EffectPayout},
}

// WithdrawalStatuses lists the legal withdrawal statuses.
func WithdrawalStatuses() []WithdrawalStatus { return clone(withdrawalMachine.states) }

// WithdrawalEvents lists the withdrawal events.
func WithdrawalEvents() []WithdrawalEvent { return clone(withdrawalMachine.events) }

// StartWithdrawal returns the status a new withdrawal starts in and the effects that
// start it; the actor persists the withdrawal (with its references) first.
func StartWithdrawal() (WithdrawalStatus, []Effect) {
	return WithdrawalStatusPending, WithdrawalStatusPending.Resume()
}

// ParseWithdrawalStatus returns the withdrawal status named s, or an error wrapping
// ErrUnknownStatus.
func ParseWithdrawalStatus(s string) (WithdrawalStatus, error) {
	if !WithdrawalStatus(s).Valid() {
		return "", fmt.Errorf("%w: withdrawal status %q", ErrUnknownStatus, s)
	}
	return WithdrawalStatus(s), nil
}

// Apply is the withdrawal transition function: the status after ev and the
// effects to perform, or a *TransitionError. It is pure: calling it
// changes nothing, so it also tells whether ev is allowed now.
func (s WithdrawalStatus) Apply(ev WithdrawalEvent) (WithdrawalStatus, []Effect, error) {
	return withdrawalMachine.apply(s, ev)
}

// Valid reports whether s is a legal withdrawal status.
func (s WithdrawalStatus) Valid() bool { return withdrawalMachine.valid(s) }

// IsFinal reports whether s accepts no more changes.
func (s WithdrawalStatus) IsFinal() bool { return withdrawalMachine.final[s] }

// Resume returns the effects to drive again for a withdrawal found in s after a
// restart: each redoes work that may be in flight under the same
// reference (asking the provider first), and none books money.
func (s WithdrawalStatus) Resume() []Effect { return clone(withdrawalResume[s]) }

// String returns the status's API name.
func (s WithdrawalStatus) String() string { return string(s) }

// String returns the event's name.
func (e WithdrawalEvent) String() string { return string(e) }
