package engine

import "fmt"

// CardStatus is the status of a card. The machine: pending → active (issued)
// or failed (issuance failed); active ⇄ frozen; active or frozen →
// terminating → terminated. terminated and failed are final.
//
// Freeze and Unfreeze are applied once the issuer has blocked or unblocked
// the card (the API answers only then): call Apply first to see whether the
// command is allowed, call the issuer, then persist the new status. Card
// events are user commands, so only an event that leads into the current
// status counts as a repeat (freezing a frozen card is a no-op); any other
// event that does not apply is refused.
type CardStatus string

// Card statuses, as the API names them.
const (
	CardStatusPending     CardStatus = "pending" // ordered; the issuance funding is running
	CardStatusActive      CardStatus = "active"
	CardStatusFrozen      CardStatus = "frozen"      // blocked at the issuer
	CardStatusTerminating CardStatus = "terminating" // emptying and closing
	CardStatusTerminated  CardStatus = "terminated"  // final
	CardStatusFailed      CardStatus = "failed"      // final: the issuance never produced a card
)

// CardEvent is something that happened to a card, reported to its machine.
type CardEvent string

// Card events.
const (
	CardIssued             CardEvent = "issued"              // the issuer created the card
	CardIssueFailed        CardEvent = "issue_failed"        // the issuance failed or was refunded
	CardFreeze             CardEvent = "freeze"              // the issuer blocked the card
	CardUnfreeze           CardEvent = "unfreeze"            // the issuer unblocked the card
	CardTerminateRequested CardEvent = "terminate_requested" // the user asked to close the card
	CardTerminated         CardEvent = "terminated"          // the balance is withdrawn and the issuer closed the card
)

var cardMachine = newMachine("card", CardStatusPending,
	[]CardStatus{
		CardStatusPending, CardStatusActive, CardStatusFrozen, CardStatusTerminating,
		CardStatusTerminated, CardStatusFailed,
	},
	[]CardStatus{CardStatusTerminated, CardStatusFailed},
	[]CardEvent{
		CardIssued, CardIssueFailed, CardFreeze, CardUnfreeze, CardTerminateRequested, CardTerminated,
	},
	true,
	[]rule[CardStatus, CardEvent]{
		{from: []CardStatus{CardStatusPending}, on: CardIssued, to: CardStatusActive, effects: []Effect{EffectNotify}},
		{from: []CardStatus{CardStatusPending}, on: CardIssueFailed, to: CardStatusFailed, effects: []Effect{EffectNotify}},
		{from: []CardStatus{CardStatusActive}, on: CardFreeze, to: CardStatusFrozen},
		{from: []CardStatus{CardStatusFrozen}, on: CardUnfreeze, to: CardStatusActive},
		{from: []CardStatus{CardStatusActive, CardStatusFrozen}, on: CardTerminateRequested, to: CardStatusTerminating, effects: []Effect{EffectCloseCard}},
		{from: []CardStatus{CardStatusTerminating}, on: CardTerminated, to: CardStatusTerminated, effects: []Effect{EffectNotify}},
	})

var cardResume = map[CardStatus][]Effect{
	CardStatusTerminating: {EffectCloseCard},
}

// CardStatuses lists the legal card statuses.
func CardStatuses() []CardStatus { return clone(cardMachine.states) }

// CardEvents lists the card events.
func CardEvents() []CardEvent { return clone(cardMachine.events) }

// ParseCardStatus returns the card status named s, or an error wrapping
// ErrUnknownStatus.
func ParseCardStatus(s string) (CardStatus, error) {
	if !CardStatus(s).Valid() {
		return "", fmt.Errorf("%w: card status %q", ErrUnknownStatus, s)
	}
	return CardStatus(s), nil
}

// Apply is the card transition function: the status after ev and the
// effects to perform, or a *TransitionError. It is pure: calling it
// changes nothing, so it also tells whether ev is allowed now.
func (s CardStatus) Apply(ev CardEvent) (CardStatus, []Effect, error) {
	return cardMachine.apply(s, ev)
}

// Valid reports whether s is a legal card status.
func (s CardStatus) Valid() bool { return cardMachine.valid(s) }

// IsFinal reports whether s accepts no more changes.
func (s CardStatus) IsFinal() bool { return cardMachine.final[s] }

// Resume returns the effects to drive again for a card found in s after a
// restart: each redoes work that may be in flight under the same
// reference (asking the provider first), and none books money.
func (s CardStatus) Resume() []Effect { return clone(cardResume[s]) }

// String returns the status's API name.
func (s CardStatus) String() string { return string(s) }

// String returns the event's name.
func (e CardEvent) String() string { return string(e) }
