package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Fault targets: one per provider operation that can misbehave.
const (
	TargetMomoCollect    = "momo.collect"
	TargetMomoPayout     = "momo.payout"
	TargetMomoStatus     = "momo.status"
	TargetIssuerCreate   = "issuer.create"
	TargetIssuerFund     = "issuer.fund"
	TargetIssuerWithdraw = "issuer.withdraw"
	TargetIssuerStatus   = "issuer.status"
	TargetSMS            = "sms"
	TargetPush           = "push"
	TargetOps            = "ops"
	TargetWebhooks       = "webhooks"
)

var allTargets = []string{
	TargetMomoCollect, TargetMomoPayout, TargetMomoStatus,
	TargetIssuerCreate, TargetIssuerFund, TargetIssuerWithdraw, TargetIssuerStatus,
	TargetSMS, TargetPush, TargetOps, TargetWebhooks,
}

// ErrUnknownTarget is returned for a fault target the simulator lacks.
var ErrUnknownTarget = errors.New("unknown fault target")

// ErrInvalidFault is returned for fault settings out of range.
var ErrInvalidFault = errors.New("invalid fault settings")

// Fault is how one target misbehaves. Rates are probabilities in [0, 1];
// FailRate+TimeoutRate must not exceed 1.
type Fault struct {
	Target      string  `json:"target"`
	FailRate    float64 `json:"fail_rate"`
	TimeoutRate float64 `json:"timeout_rate"`
	// LatencyMS is [min, max] milliseconds added before answering (or delivering).
	LatencyMS [2]int `json:"latency_ms"`
	// NextFailures makes the next N requests fail, before any draw.
	NextFailures int64 `json:"next_failures"`
	// TimeoutAppliedRate is the chance that a timed-out operation was applied (default 0.5).
	TimeoutAppliedRate *float64 `json:"timeout_applied_rate,omitempty"`
	// DuplicateRate and ReorderRate apply to the webhooks target only.
	DuplicateRate float64 `json:"duplicate_rate,omitempty"`
	ReorderRate   float64 `json:"reorder_rate,omitempty"`
}

func (f Fault) validate() error {
	if !knownTarget(f.Target) {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, f.Target)
	}
	rates := []float64{f.FailRate, f.TimeoutRate, f.DuplicateRate, f.ReorderRate}
	if f.TimeoutAppliedRate != nil {
		rates = append(rates, *f.TimeoutAppliedRate)
	}
	for _, r := range rates {
		if r < 0 || r > 1 || math.IsNaN(r) {
			return fmt.Errorf("%w: rates must be within [0, 1]", ErrInvalidFault)
		}
	}
	if f.FailRate+f.TimeoutRate > 1 {
		return fmt.Errorf("%w: fail_rate + timeout_rate exceeds 1", ErrInvalidFault)
	}
	if f.LatencyMS[0] < 0 || f.LatencyMS[1] < f.LatencyMS[0] {
		return fmt.Errorf("%w: latency_ms must be [min, max] with 0 <= min <= max", ErrInvalidFault)
	}
	if f.NextFailures < 0 {
		return fmt.Errorf("%w: next_failures must not be negative", ErrInvalidFault)
	}
	return nil
}

func knownTarget(t string) bool {
	for _, k := range allTargets {
		if k == t {
			return true
		}
	}
	return false
}

// faultKind is what happens to one request.
type faultKind int

const (
	faultNone    faultKind = iota
	faultFail              // a definitive failure
	faultTimeout           // no answer; maybe applied
)

// decision is the fault drawn for one request.
type decision struct {
	kind    faultKind
	applied bool // for faultTimeout: the operation takes effect before the answer is lost
	latency time.Duration
}

type targetFaults struct {
	spec atomic.Pointer[Fault]
	next atomic.Int64
}

// faultTable holds every target's settings. The common case — no fault on
// a target — costs one atomic load and takes no lock.
type faultTable struct {
	targets map[string]*targetFaults
	rngMu   sync.Mutex
	rng     *rand.Rand
}

func newFaultTable(seed uint64) *faultTable {
	t := &faultTable{targets: make(map[string]*targetFaults, len(allTargets)), rng: rand.New(rand.NewPCG(seed, seed^0xfa17))}
	for _, k := range allTargets {
		t.targets[k] = &targetFaults{}
	}
	return t
}

func (t *faultTable) set(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	tf := t.targets[f.Target]
	spec := f
	spec.NextFailures = 0
	tf.spec.Store(&spec)
	tf.next.Store(f.NextFailures)
	return nil
}

func (t *faultTable) clear(target string) error {
	if target == "" {
		for _, tf := range t.targets {
			tf.spec.Store(nil)
			tf.next.Store(0)
		}
		return nil
	}
	tf, ok := t.targets[target]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	tf.spec.Store(nil)
	tf.next.Store(0)
	return nil
}

// list returns the targets that have settings, with their remaining
// next_failures, in target order.
func (t *faultTable) list() []Fault {
	var out []Fault
	for _, k := range allTargets {
		tf := t.targets[k]
		if spec := tf.spec.Load(); spec != nil {
			f := *spec
			f.NextFailures = tf.next.Load()
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// draw decides the fault for one request to target. A request for a known
// reference cannot fail (a failure never rewrites a recorded outcome), and
// does not use up next_failures.
func (t *faultTable) draw(target string, known bool) decision {
	tf := t.targets[target]
	spec := tf.spec.Load()
	if spec == nil {
		return decision{}
	}
	d := decision{latency: t.latency(spec)}
	if !known && takeOne(&tf.next) {
		d.kind = faultFail
		return d
	}
	r := t.float()
	switch {
	case r < spec.TimeoutRate:
		d.kind = faultTimeout
		applied := 0.5
		if spec.TimeoutAppliedRate != nil {
			applied = *spec.TimeoutAppliedRate
		}
		d.applied = t.chance(applied)
	case r < spec.TimeoutRate+spec.FailRate && !known:
		d.kind = faultFail
	}
	return d
}

// spec returns target's settings or nil.
func (t *faultTable) spec(target string) *Fault { return t.targets[target].spec.Load() }

func (t *faultTable) latency(spec *Fault) time.Duration {
	lo, hi := spec.LatencyMS[0], spec.LatencyMS[1]
	if hi <= 0 {
		return 0
	}
	ms := lo
	if hi > lo {
		t.rngMu.Lock()
		ms += t.rng.IntN(hi - lo + 1)
		t.rngMu.Unlock()
	}
	return time.Duration(ms) * time.Millisecond
}

func (t *faultTable) float() float64 {
	t.rngMu.Lock()
	defer t.rngMu.Unlock()
	return t.rng.Float64()
}

func (t *faultTable) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	return t.float() < p
}

// between returns a uniform duration in [lo, hi].
func (t *faultTable) between(lo, hi time.Duration) time.Duration {
	t.rngMu.Lock()
	defer t.rngMu.Unlock()
	return lo + time.Duration(t.rng.Int64N(int64(hi-lo)+1))
}

// takeOne decrements a positive counter and reports whether it did.
func takeOne(c *atomic.Int64) bool {
	for {
		n := c.Load()
		if n <= 0 {
			return false
		}
		if c.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// SetFault replaces target f.Target's fault settings.
func (s *Sim) SetFault(f Fault) error { return s.faults.set(f) }

// ClearFaults removes the settings of target, or of every target when target is "".
func (s *Sim) ClearFaults(target string) error { return s.faults.clear(target) }

// drawFault draws the fault for one request and sleeps its latency; known
// tells whether the request's reference is already recorded.
func (s *Sim) drawFault(target string, known bool) decision {
	d := s.faults.draw(target, known)
	if d.latency > 0 {
		time.Sleep(d.latency)
	}
	return d
}
