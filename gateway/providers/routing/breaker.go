package routing

import "time"

// State is a circuit breaker's state; its value is what the
// kash_provider_circuit_state gauge shows.
type State int

// Breaker states.
const (
	Closed   State = 0 // new payments flow
	HalfOpen State = 1 // the cooldown is over: a few probe payments test the provider
	Open     State = 2 // the provider failed repeatedly: no new payments until the cooldown ends
)

// String is the state's name (closed, half-open, open).
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "invalid"
}

// breaker is one provider account's circuit breaker. It is pure logic: the
// caller passes the time and holds the lock.
type breaker struct {
	state    State
	failures int       // consecutive failures while closed
	openedAt time.Time // when it last opened
	probes   int       // probe payments let through and not yet recorded
	probedAt time.Time // when the last probe was let through
}

// available reports whether a new payment may go to this provider now,
// moving an open breaker whose cooldown has passed to half-open. It does
// not take a probe slot: acquire does, for the provider actually chosen.
func (b *breaker) available(now time.Time, cfg Config) bool {
	switch b.state {
	case Closed:
		return true
	case Open:
		if now.Sub(b.openedAt) < cfg.Cooldown {
			return false
		}
		b.state, b.probes = HalfOpen, 0
	}
	// Half-open. A probe that was never recorded (its caller died) must not
	// hold the slot for ever: after a cooldown it no longer counts.
	if b.probes > 0 && now.Sub(b.probedAt) >= cfg.Cooldown {
		b.probes = 0
	}
	return b.probes < cfg.HalfOpenProbes
}

// acquire notes that a new payment was sent to this provider.
func (b *breaker) acquire(now time.Time) {
	if b.state == HalfOpen {
		b.probes++
		b.probedAt = now
	}
}

// record takes the result of a call: ok means the provider answered
// (whatever the answer), !ok that it did not (timeout, transport error,
// unreadable answer).
func (b *breaker) record(ok bool, now time.Time, cfg Config) {
	switch b.state {
	case Closed:
		if ok {
			b.failures = 0
			return
		}
		b.failures++
		if b.failures >= cfg.FailureThreshold {
			b.open(now)
		}
	case HalfOpen:
		if b.probes > 0 {
			b.probes--
		}
		if ok {
			b.state, b.failures, b.probes = Closed, 0, 0
			return
		}
		b.open(now)
	case Open:
		// Calls that started before the breaker opened, and status polls of
		// payments in flight, still report here; only probes decide.
	}
}

func (b *breaker) open(now time.Time) {
	b.state, b.openedAt, b.probes, b.failures = Open, now, 0, 0
}
