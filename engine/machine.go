package engine

import (
	"errors"
	"fmt"
	"slices"
)

// ErrIllegalTransition means a state machine refused an event in its
// current status. *TransitionError matches it with errors.Is.
var ErrIllegalTransition = errors.New("illegal transition")

// TransitionError says which machine refused which event in which status.
type TransitionError struct {
	Machine string // "card", "funding", "withdrawal", "payment" or "sweep"
	From    string // the current status
	Event   string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s: illegal transition from %q on %q", e.Machine, e.From, e.Event)
}

// Is reports whether target is ErrIllegalTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// Effect is work a transition asks the actor to do, after it has made the
// new status durable (and in the same change, for ledger effects). Effects
// carry no data: the actor owns the operation's record and knows the
// amounts, references and parties.
type Effect string

// Effects of the state machines.
const (
	// Funding (and issuance).
	EffectRequestPayment   Effect = "request_payment"   // start the momo collection (or ask its status, same ref)
	EffectRecordCollection Effect = "record_collection" // book CollectionEntry
	EffectRequestFloat     Effect = "request_float"     // ask the treasury for a float reservation
	EffectCallIssuer       Effect = "call_issuer"       // fund the card, or create it for an issuance (same ref on retry)
	EffectCommitFloat      Effect = "commit_float"      // turn the reservation into committed float
	EffectCreditCard       Effect = "credit_card"       // book CardCreditEntry and the funding's earnings; credit the balance mirror
	EffectReleaseFloat     Effect = "release_float"     // give the reservation back, or withdraw the queued request
	EffectStartRefund      Effect = "start_refund"      // pay the momo amount back (same refund ref on every retry)
	EffectRecordRefund     Effect = "record_refund"     // book RefundEntry
	EffectManualReview     Effect = "manual_review"     // flag for ops and tell the ops chat
	EffectNotify           Effect = "notify"            // tell the user (outbox)

	// Withdrawal.
	EffectDebitCard    Effect = "debit_card"    // take the card amount off the card at the issuer (same ref on retry)
	EffectRecordDebit  Effect = "record_debit"  // book WithdrawalDebitEntry; move the hold into the debit
	EffectPayout       Effect = "payout"        // pay the momo amount to the wallet (same ref on retry)
	EffectRecordPayout Effect = "record_payout" // book PayoutEntry and the withdrawal's earnings
	EffectCreditBack   Effect = "credit_back"   // re-fund the card at the issuer and book CreditBackEntry

	// Payment.
	EffectReportToOwner Effect = "report_to_owner" // pass the final status to the funding or withdrawal that owns the payment
	EffectLateSuccess   Effect = "late_success"    // the owner gave up on this payment: book it into suspense (defect 5)

	// Sweep.
	EffectSweepPayout        Effect = "sweep_payout"         // send the XOF out of the momo account (same ref on retry)
	EffectRecordSweepPayout  Effect = "record_sweep_payout"  // book SweepPayoutEntry
	EffectRecordSweepDeposit Effect = "record_sweep_deposit" // book SweepDepositEntry

	// Card.
	EffectCloseCard Effect = "close_card" // withdraw any balance to the given wallet, then terminate at the issuer
)

// MovesMoney reports whether e books money in the ledger. A state machine
// returns each of these at most once in the life of an operation.
func (e Effect) MovesMoney() bool {
	switch e {
	case EffectRecordCollection, EffectCreditCard, EffectRecordRefund, EffectRecordDebit,
		EffectRecordPayout, EffectCreditBack, EffectLateSuccess, EffectRecordSweepPayout, EffectRecordSweepDeposit:
		return true
	}
	return false
}

// String returns the effect's name.
func (e Effect) String() string { return string(e) }

// rule is one transition of a machine: on event, from any of from, go to to
// and ask for effects. A rule with to equal to its from is a self-loop that
// still asks for its effects (a retry).
type rule[S ~string, E ~string] struct {
	from    []S
	on      E
	to      S
	effects []Effect
}

// machine is a table-driven state machine. Besides its rules, an event that
// has already happened is a no-op: in a status that is not final, any event
// that may have led there (on some path from the initial status); in a
// final status, only the events that lead into it. A machine driven by user
// commands (commandOnly) takes only events that lead into the current
// status as repeats, so that a command that does not apply is refused
// rather than swallowed. Everything else is illegal. No-ops ask for no
// effects, which is what keeps money effects from running twice when an
// event is delivered twice.
type machine[S ~string, E ~string] struct {
	name        string
	commandOnly bool
	initial     S
	states      []S
	events      []E
	final       map[S]bool
	next        map[S]map[E]rule[S, E]
	repeats     map[S]map[E]bool
}

func newMachine[S ~string, E ~string](name string, initial S, states, final []S, events []E, commandOnly bool, rules []rule[S, E]) *machine[S, E] {
	m := &machine[S, E]{name: name, commandOnly: commandOnly, initial: initial, states: states, events: events,
		final: map[S]bool{}, next: map[S]map[E]rule[S, E]{}, repeats: map[S]map[E]bool{}}
	for _, s := range final {
		m.final[s] = true
	}
	for _, r := range rules {
		for _, from := range r.from {
			if m.next[from] == nil {
				m.next[from] = map[E]rule[S, E]{}
			}
			if _, dup := m.next[from][r.on]; dup || m.final[from] {
				panic(fmt.Sprintf("engine: %s machine: bad rule from %s on %s", name, from, r.on)) // a bug in the tables below
			}
			m.next[from][r.on] = r
		}
	}
	m.computeRepeats()
	return m
}

// computeRepeats fills repeats as the machine's doc says.
func (m *machine[S, E]) computeRepeats() {
	reach := m.reachable()
	for _, s := range m.states {
		m.repeats[s] = map[E]bool{}
	}
	for from, byEvent := range m.next {
		for ev, r := range byEvent {
			if r.to == from || !reach[m.initial][from] {
				continue
			}
			for _, s := range m.states {
				leadsIn := r.to == s
				if leadsIn || (!m.final[s] && !m.commandOnly && reach[r.to][s]) {
					m.repeats[s][ev] = true
				}
			}
		}
	}
}

// reachable returns, for each status, the statuses reachable from it
// (itself included).
func (m *machine[S, E]) reachable() map[S]map[S]bool {
	reach := map[S]map[S]bool{}
	for _, s := range m.states {
		seen := map[S]bool{s: true}
		stack := []S{s}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, r := range m.next[cur] {
				if !seen[r.to] {
					seen[r.to] = true
					stack = append(stack, r.to)
				}
			}
		}
		reach[s] = seen
	}
	return reach
}

// apply is the transition function shared by every machine.
func (m *machine[S, E]) apply(from S, ev E) (S, []Effect, error) {
	if r, ok := m.next[from][ev]; ok {
		return r.to, slices.Clone(r.effects), nil
	}
	if m.repeats[from][ev] {
		return from, nil, nil
	}
	return from, nil, &TransitionError{Machine: m.name, From: string(from), Event: string(ev)}
}

func (m *machine[S, E]) valid(s S) bool { return slices.Contains(m.states, s) }

// ErrUnknownStatus means a status name is not one of its machine's.
var ErrUnknownStatus = errors.New("unknown status")

// clone copies a table slice so callers cannot change the tables.
func clone[T any](s []T) []T { return slices.Clone(s) }
