package engine_test

import (
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"kash/engine"
)

// machineSpec describes one machine for the random-walk property.
type machineSpec[S ~string, E ~string] struct {
	start    S
	statuses []S
	events   []E
	apply    func(S, E) (S, []engine.Effect, error)
	isFinal  func(S) bool
	// requires maps an effect to the effect that must have come before it
	// (or earlier in the same step): money may leave or be credited only
	// once what funds it is on the books.
	requires map[engine.Effect]engine.Effect
	// exclusive lists pairs of effects that never both happen in one life.
	exclusive [][2]engine.Effect
}

// walk applies a random sequence of events (legal, repeated, illegal and
// garbage) to a new operation and checks, after every step, that the
// status stays legal, refusals change nothing, final statuses stay final,
// money effects happen at most once and only after what they require.
func walk[S ~string, E ~string](t *rapid.T, m machineSpec[S, E]) {
	events := append(slices.Clone(m.events), E("garbage"))
	status := m.start
	seen := map[engine.Effect]int{}
	n := rapid.IntRange(0, 60).Draw(t, "n")
	for range n {
		ev := rapid.SampledFrom(events).Draw(t, "event")
		next, effects, err := m.apply(status, ev)
		if err != nil {
			if !errors.Is(err, engine.ErrIllegalTransition) {
				t.Fatalf("%s on %s: error %v is not ErrIllegalTransition", status, ev, err)
			}
			if next != status || effects != nil {
				t.Fatalf("%s on %s: refused, but moved to %s with %v", status, ev, next, effects)
			}
			continue
		}
		if !slices.Contains(m.statuses, next) {
			t.Fatalf("%s on %s: left the legal set for %q", status, ev, next)
		}
		if m.isFinal(status) && (next != status || len(effects) > 0) {
			t.Fatalf("final %s on %s: moved to %s with %v", status, ev, next, effects)
		}
		for _, e := range effects {
			if need, ok := m.requires[e]; ok && seen[need] == 0 {
				t.Fatalf("%s on %s: %s before %s", status, ev, e, need)
			}
			seen[e]++
			if e.MovesMoney() && seen[e] > 1 {
				t.Fatalf("%s on %s: money effect %s applied twice", status, ev, e)
			}
		}
		for _, pair := range m.exclusive {
			if seen[pair[0]] > 0 && seen[pair[1]] > 0 {
				t.Fatalf("both %s and %s in one life", pair[0], pair[1])
			}
		}
		status = next
	}
}

func TestPropFundingMachine(t *testing.T) {
	start, startEffects := engine.StartFunding()
	if slices.ContainsFunc(startEffects, engine.Effect.MovesMoney) {
		t.Fatalf("starting a funding books money: %v", startEffects)
	}
	rapid.Check(t, func(t *rapid.T) {
		walk(t, machineSpec[engine.FundingStatus, engine.FundingEvent]{
			start: start, statuses: engine.FundingStatuses(), events: engine.FundingEvents(),
			apply: engine.FundingStatus.Apply, isFinal: engine.FundingStatus.IsFinal,
			requires: map[engine.Effect]engine.Effect{
				engine.EffectRequestFloat: engine.EffectRecordCollection,
				engine.EffectCallIssuer:   engine.EffectRecordCollection,
				engine.EffectCreditCard:   engine.EffectRecordCollection,
				engine.EffectStartRefund:  engine.EffectRecordCollection,
				engine.EffectRecordRefund: engine.EffectStartRefund,
				engine.EffectCommitFloat:  engine.EffectCallIssuer,
				engine.EffectReleaseFloat: engine.EffectRequestFloat,
				engine.EffectManualReview: engine.EffectStartRefund,
			},
			exclusive: [][2]engine.Effect{
				{engine.EffectCreditCard, engine.EffectRecordRefund},
				{engine.EffectCreditCard, engine.EffectStartRefund},
				{engine.EffectCommitFloat, engine.EffectReleaseFloat},
			},
		})
	})
}

func TestPropWithdrawalMachine(t *testing.T) {
	start, _ := engine.StartWithdrawal()
	rapid.Check(t, func(t *rapid.T) {
		walk(t, machineSpec[engine.WithdrawalStatus, engine.WithdrawalEvent]{
			start: start, statuses: engine.WithdrawalStatuses(), events: engine.WithdrawalEvents(),
			apply: engine.WithdrawalStatus.Apply, isFinal: engine.WithdrawalStatus.IsFinal,
			requires: map[engine.Effect]engine.Effect{
				engine.EffectPayout:       engine.EffectRecordDebit,
				engine.EffectRecordPayout: engine.EffectPayout,
				engine.EffectCreditBack:   engine.EffectRecordDebit,
			},
			exclusive: [][2]engine.Effect{{engine.EffectRecordPayout, engine.EffectCreditBack}},
		})
	})
}

func TestPropCardMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		walk(t, machineSpec[engine.CardStatus, engine.CardEvent]{
			start: engine.CardStatusPending, statuses: engine.CardStatuses(), events: engine.CardEvents(),
			apply: engine.CardStatus.Apply, isFinal: engine.CardStatus.IsFinal,
		})
	})
}

func TestPropPaymentMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		walk(t, machineSpec[engine.PaymentStatus, engine.PaymentEvent]{
			start: engine.PaymentStatusPending, statuses: engine.PaymentStatuses(), events: engine.PaymentEvents(),
			apply: engine.PaymentStatus.Apply, isFinal: engine.PaymentStatus.IsFinal,
			// A payment's success reaches its owner or suspense, never both.
			exclusive: [][2]engine.Effect{{engine.EffectReportToOwner, engine.EffectLateSuccess}},
		})
	})
}

func TestPropSweepMachine(t *testing.T) {
	start, _ := engine.StartSweep()
	rapid.Check(t, func(t *rapid.T) {
		walk(t, machineSpec[engine.SweepStatus, engine.SweepEvent]{
			start: start, statuses: engine.SweepStatuses(), events: engine.SweepEvents(),
			apply: engine.SweepStatus.Apply, isFinal: engine.SweepStatus.IsFinal,
			requires: map[engine.Effect]engine.Effect{
				engine.EffectRecordSweepDeposit: engine.EffectRecordSweepPayout,
			},
		})
	})
}

// reachable explores a machine from start through Apply, exhaustively, and
// returns the names of the statuses it reached.
func reachable[S ~string, E ~string](start S, events []E, apply func(S, E) (S, []engine.Effect, error)) map[string]bool {
	seen := map[string]bool{string(start): true}
	queue := []S{start}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, ev := range events {
			if next, _, err := apply(s, ev); err == nil && !seen[string(next)] {
				seen[string(next)] = true
				queue = append(queue, next)
			}
		}
	}
	return seen
}

func names[S ~string](ss []S) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// Every status of every machine is reachable from its start: no dead rows
// in the tables, and every final status can actually be reached.
func TestEveryStatusIsReachable(t *testing.T) {
	check := func(machine string, got map[string]bool, all []string) {
		for _, s := range all {
			if !got[s] {
				t.Errorf("%s status %s is unreachable", machine, s)
			}
		}
	}
	check("funding", reachable(engine.FundingStatusAwaitingPayment, engine.FundingEvents(), engine.FundingStatus.Apply),
		names(engine.FundingStatuses()))
	check("withdrawal", reachable(engine.WithdrawalStatusPending, engine.WithdrawalEvents(), engine.WithdrawalStatus.Apply),
		names(engine.WithdrawalStatuses()))
	check("card", reachable(engine.CardStatusPending, engine.CardEvents(), engine.CardStatus.Apply),
		names(engine.CardStatuses()))
	check("payment", reachable(engine.PaymentStatusPending, engine.PaymentEvents(), engine.PaymentStatus.Apply),
		names(engine.PaymentStatuses()))
	check("sweep", reachable(engine.SweepStatusRequested, engine.SweepEvents(), engine.SweepStatus.Apply),
		names(engine.SweepStatuses()))
}
