// Package routing decides which mobile-money provider account takes a new
// payment. Each operator (mtn-bj, moov-bj) maps to an ordered list of
// provider accounts; each account has a health score (an EWMA of answered
// calls and of latency) and a circuit breaker (closed, open, half-open with
// a cooldown). Pick returns the first account in the operator's order that
// the breaker lets through and whose score is good enough, else the best
// scoring one the breaker lets through.
//
// Routing is consulted only for new references. A payment in flight is
// never moved: its status polls, retries and refunds go to the account that
// took it, through Provider(name), whatever that account's breaker says.
// The providers returned by Pick and Provider report every call's outcome
// and latency to the router themselves.
package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"kash/engine"
	"kash/gateway/providers"
)

// Errors of Pick and Provider.
var (
	// ErrUnsupportedOperator: no provider account is configured for the operator.
	ErrUnsupportedOperator = errors.New("no provider account for this operator")
	// ErrNoProvider: every account of the operator has its breaker open.
	ErrNoProvider = errors.New("no provider account available")
	// ErrUnknownProvider: Provider was asked for an account it does not know.
	ErrUnknownProvider = errors.New("unknown provider account")
)

// Config tunes the router. The zero value gives the defaults.
type Config struct {
	// FailureThreshold consecutive unanswered calls open a breaker. Default 5.
	FailureThreshold int
	// Cooldown is how long an open breaker refuses new payments before it
	// lets probes through. Default 30s.
	Cooldown time.Duration
	// HalfOpenProbes new payments may be in flight at once while half-open.
	// Default 1.
	HalfOpenProbes int
	// Alpha is the weight of the newest observation in the EWMAs. Default 0.2.
	Alpha float64
	// SlowLatency is the average latency at which the score is halved.
	// Default 5s.
	SlowLatency time.Duration
	// MinScore: an account scoring below it loses its place in the order to
	// better ones. Default 0.5.
	MinScore float64
	// ScoreHalfLife is how fast an account's bad record fades when nothing
	// new is learnt about it: without it, an account that lost its traffic
	// to a better one could never earn it back. Default 1 minute.
	ScoreHalfLife time.Duration
	// Clock defaults to the system clock; tests inject their own.
	Clock engine.Clock
	// Metrics receives kash_provider_circuit_state; may be nil.
	Metrics *providers.Metrics
}

func (c Config) withDefaults() Config {
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = 5
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 30 * time.Second
	}
	if c.HalfOpenProbes <= 0 {
		c.HalfOpenProbes = 1
	}
	if c.Alpha <= 0 || c.Alpha > 1 {
		c.Alpha = 0.2
	}
	if c.SlowLatency <= 0 {
		c.SlowLatency = 5 * time.Second
	}
	if c.MinScore <= 0 {
		c.MinScore = 0.5
	}
	if c.ScoreHalfLife <= 0 {
		c.ScoreHalfLife = time.Minute
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// account is one provider account's routing state.
type account struct {
	provider engine.MomoProvider
	tracked  *tracked
	breaker  breaker
	answered float64   // EWMA of 1 per answered call, 0 per unanswered
	latency  float64   // EWMA of latency, seconds
	observed time.Time // when answered and latency were last updated
}

// decayed returns the EWMAs as of now: the evidence fades towards a
// perfect record (answered 1, latency 0) with the configured half-life.
func (acc *account) decayed(now time.Time, halfLife time.Duration) (answered, latency float64) {
	if acc.observed.IsZero() || !now.After(acc.observed) {
		return acc.answered, acc.latency
	}
	keep := math.Exp2(-now.Sub(acc.observed).Seconds() / halfLife.Seconds())
	return 1 - (1-acc.answered)*keep, acc.latency * keep
}

// Router picks provider accounts for new payments. It is safe for
// concurrent use.
type Router struct {
	cfg      Config
	mu       sync.Mutex
	routes   map[engine.Operator][]*account
	accounts map[string]*account
}

// New builds a router from routes: for each operator, its provider accounts
// in order of preference. An account may serve several operators; it has
// one breaker and one score.
func New(cfg Config, routes map[engine.Operator][]engine.MomoProvider) (*Router, error) {
	r := &Router{
		cfg:      cfg.withDefaults(),
		routes:   make(map[engine.Operator][]*account, len(routes)),
		accounts: make(map[string]*account),
	}
	for op, list := range routes {
		if len(list) == 0 {
			return nil, fmt.Errorf("routing: operator %s has no provider account", op)
		}
		for _, p := range list {
			acc, err := r.add(p)
			if err != nil {
				return nil, err
			}
			r.routes[op] = append(r.routes[op], acc)
		}
	}
	return r, nil
}

func (r *Router) add(p engine.MomoProvider) (*account, error) {
	if p == nil {
		return nil, errors.New("routing: nil provider")
	}
	name := p.Name()
	if acc, ok := r.accounts[name]; ok {
		if acc.provider != p {
			return nil, fmt.Errorf("routing: two different providers named %q", name)
		}
		return acc, nil
	}
	acc := &account{provider: p, answered: 1}
	acc.tracked = &tracked{inner: p, router: r}
	r.accounts[name] = acc
	r.cfg.Metrics.SetCircuitState(name, int(Closed))
	return acc, nil
}

// Pick chooses the provider account for a new payment to or from op.
func (r *Router) Pick(op engine.Operator) (engine.MomoProvider, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list, ok := r.routes[op]
	if !ok {
		return nil, fmt.Errorf("routing %s: %w", op, ErrUnsupportedOperator)
	}
	now := r.cfg.Clock.Now()
	var best *account
	bestScore := -1.0
	for _, acc := range list {
		before := acc.breaker.state
		allowed := acc.breaker.available(now, r.cfg)
		r.publish(acc, before)
		if !allowed {
			continue
		}
		// A half-open account gets its probe whatever its score: testing it
		// is the only way for it to close again.
		if acc.breaker.state == HalfOpen {
			best = acc
			break
		}
		score := r.score(acc, now)
		if score >= r.cfg.MinScore {
			best = acc
			break
		}
		if score > bestScore {
			best, bestScore = acc, score
		}
	}
	if best == nil {
		return nil, fmt.Errorf("routing %s: %w", op, ErrNoProvider)
	}
	best.breaker.acquire(now)
	return best.tracked, nil
}

// Provider returns the account named name for a payment already in flight
// there (status, retry under the same reference, refund), whatever its
// breaker says: a payment is never moved.
func (r *Router) Provider(name string) (engine.MomoProvider, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	acc, ok := r.accounts[name]
	if !ok {
		return nil, fmt.Errorf("routing: %w: %q", ErrUnknownProvider, name)
	}
	return acc.tracked, nil
}

// Record feeds one call's outcome and latency into the account's score and
// breaker. An unknown outcome (no usable answer) counts against the
// account; an answer, even a failure, shows that it is up. Providers from
// Pick and Provider call it themselves; unknown names are ignored.
func (r *Router) Record(provider string, outcome engine.Outcome, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	acc, ok := r.accounts[provider]
	if !ok {
		return
	}
	now := r.cfg.Clock.Now()
	answered, avgLatency := acc.decayed(now, r.cfg.ScoreHalfLife)
	a := r.cfg.Alpha
	acc.answered = a*healthValue(outcome) + (1-a)*answered
	acc.latency = a*latency.Seconds() + (1-a)*avgLatency
	acc.observed = now
	before := acc.breaker.state
	acc.breaker.record(outcome != engine.OutcomeUnknown, now, r.cfg)
	r.publish(acc, before)
}

// healthValue is what one outcome contributes to the score. A definitive
// failure is usually the payer's (insufficient balance), but a run of them
// can be the provider's: it lowers the score a little and never trips the
// breaker.
func healthValue(o engine.Outcome) float64 {
	switch o {
	case engine.OutcomeSucceeded, engine.OutcomePending:
		return 1
	case engine.OutcomeFailed:
		return 0.75
	}
	return 0
}

// score is in [0, 1]: the answered ratio, halved when the average latency
// reaches SlowLatency.
func (r *Router) score(acc *account, now time.Time) float64 {
	answered, latency := acc.decayed(now, r.cfg.ScoreHalfLife)
	return answered / (1 + latency/r.cfg.SlowLatency.Seconds())
}

func (r *Router) publish(acc *account, before State) {
	if acc.breaker.state != before {
		r.cfg.Metrics.SetCircuitState(acc.provider.Name(), int(acc.breaker.state))
	}
}

// Health is a snapshot of one account's routing state, for ops and tests.
type Health struct {
	Provider string
	State    State
	Score    float64
	// Latency is the EWMA of call latency.
	Latency time.Duration
	// ConsecutiveFailures counts unanswered calls since the last answer
	// while closed.
	ConsecutiveFailures int
}

// Snapshot returns every account's state, sorted by name. It applies
// pending cooldowns, as Pick would.
func (r *Router) Snapshot() []Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Clock.Now()
	out := make([]Health, 0, len(r.accounts))
	for name, acc := range r.accounts {
		before := acc.breaker.state
		if acc.breaker.state == Open {
			acc.breaker.available(now, r.cfg)
		}
		r.publish(acc, before)
		_, latency := acc.decayed(now, r.cfg.ScoreHalfLife)
		out = append(out, Health{
			Provider: name, State: acc.breaker.state, Score: r.score(acc, now),
			Latency:             time.Duration(latency * float64(time.Second)),
			ConsecutiveFailures: acc.breaker.failures,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider < out[j].Provider })
	return out
}

// tracked wraps a provider so that each call reports to the router.
type tracked struct {
	inner  engine.MomoProvider
	router *Router
}

func (t *tracked) Name() string { return t.inner.Name() }

func (t *tracked) Collect(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	return t.observe(func() (engine.Result, error) { return t.inner.Collect(ctx, req) })
}

func (t *tracked) Payout(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	return t.observe(func() (engine.Result, error) { return t.inner.Payout(ctx, req) })
}

func (t *tracked) PaymentStatus(ctx context.Context, ref string, op engine.Operator) (engine.Result, error) {
	return t.observe(func() (engine.Result, error) { return t.inner.PaymentStatus(ctx, ref, op) })
}

func (t *tracked) observe(call func() (engine.Result, error)) (engine.Result, error) {
	start := t.router.cfg.Clock.Now()
	res, err := call()
	outcome := res.Outcome
	if err != nil {
		outcome = engine.OutcomeUnknown // the port's rule, enforced for the score
	}
	t.router.Record(t.inner.Name(), outcome, t.router.cfg.Clock.Now().Sub(start))
	return res, err
}

// Unwrap returns the provider a tracked wrapper stands for (or p itself),
// for callers that need adapter-specific methods such as Qosic's Settle.
func Unwrap(p engine.MomoProvider) engine.MomoProvider {
	if t, ok := p.(*tracked); ok {
		return t.inner
	}
	return p
}
