package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"kash/bench/apiclient"
)

func init() {
	Register(Registration{Name: "chaos",
		Summary: "e2e with provider faults (errors, timeouts, latency) and kashd SIGKILLed twice and restarted mid-run: afterwards nothing is lost, duplicated or stuck",
		New:     func(o Options) Scenario { return NewChaos(o) }})
}

// Chaos's targets (issue 7): ready again within 10 s of each restart.
const (
	chaosKills        = 2
	targetRecoverySec = 10
)

// NewChaos returns the chaos scenario: e2e whose clients retry as a real
// app does (same Idempotency-Key), with faults on every provider call and
// kashd killed twice.
func NewChaos(o Options) *E2E {
	return &E2E{opts: o, chaos: &chaosPlan{opts: o, kills: chaosKills}}
}

// chaosFaults are the provider faults of a chaos run: a few percent of
// errors and of timeouts (half of them applied at the provider, the answer
// lost) and some latency on every money call, and duplicated and
// reordered webhooks.
func chaosFaults() []apiclient.Fault {
	return []apiclient.Fault{
		{Target: "momo.collect", FailRate: 0.03, TimeoutRate: 0.02, LatencyMS: []int{2, 40}},
		{Target: "momo.payout", FailRate: 0.03, TimeoutRate: 0.02, LatencyMS: []int{2, 40}},
		{Target: "momo.status", FailRate: 0.05, LatencyMS: []int{2, 20}},
		{Target: "issuer.create", FailRate: 0.02, TimeoutRate: 0.01, LatencyMS: []int{2, 40}},
		{Target: "issuer.fund", FailRate: 0.03, TimeoutRate: 0.02, LatencyMS: []int{2, 40}},
		{Target: "issuer.withdraw", FailRate: 0.03, TimeoutRate: 0.02, LatencyMS: []int{2, 40}},
		{Target: "webhooks", DuplicateRate: 0.05, ReorderRate: 0.05, LatencyMS: []int{0, 20}},
	}
}

// chaosPlan injects the faults when the window opens and kills kashd at
// evenly spaced moments of it, restarting it at once each time.
type chaosPlan struct {
	opts  Options
	kills int
	w     *apiWorld

	done     chan struct{}
	finished chan struct{}
	once     sync.Once

	mu         sync.Mutex
	recoveries []recovery
	faultErr   error
}

// recovery is one kill and restart of kashd.
type recovery struct {
	at    time.Duration // into the window
	ready time.Duration // from the restart to /readyz answering 200
	down  time.Duration // from the kill to ready again
	err   error
}

func (c *chaosPlan) worldConfig() apiWorldConfig {
	return apiWorldConfig{scenario: "chaos", retry: true, timeoutHang: 3 * time.Second}
}

func (c *chaosPlan) begin(w *apiWorld) {
	c.w = w
	c.done, c.finished = make(chan struct{}), make(chan struct{})
	for _, f := range chaosFaults() {
		if err := w.client.SetFault(f); err != nil {
			c.mu.Lock()
			c.faultErr = fmt.Errorf("set fault %s: %w", f.Target, err)
			c.mu.Unlock()
		}
	}
	start := time.Now()
	go func() {
		defer close(c.finished)
		if w.kashd == nil {
			return
		}
		for k := 1; k <= c.kills; k++ {
			at := time.Duration(float64(c.opts.Load.Duration) * float64(k) / float64(c.kills+1))
			select {
			case <-c.done:
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			c.killAndRestart(start)
		}
	}()
}

func (c *chaosPlan) killAndRestart(start time.Time) {
	r := recovery{at: time.Since(start)}
	killed := time.Now()
	r.err = c.w.kashd.Kill()
	if r.err == nil {
		r.err = c.w.kashd.Start()
	}
	if r.err == nil {
		restarted := time.Now()
		r.ready, r.err = c.w.kashd.WaitReady(context.Background(), c.w.client.Ready, readyTimeout)
		r.ready = time.Since(restarted)
	}
	r.down = time.Since(killed)
	c.mu.Lock()
	c.recoveries = append(c.recoveries, r)
	c.mu.Unlock()
}

// stop ends the kill schedule (waiting for a restart in progress).
func (c *chaosPlan) stop() {
	if c.done == nil {
		return
	}
	c.once.Do(func() { close(c.done) })
	<-c.finished
}

// end stops the plan, clears the faults so that the system can settle,
// and reports the restarts.
func (c *chaosPlan) end(context.Context) []Fact {
	c.stop()
	if c.w != nil {
		if err := c.w.client.ClearFaults(); err != nil {
			c.mu.Lock()
			c.faultErr = fmt.Errorf("clear faults: %w", err)
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var targets []string
	for _, f := range chaosFaults() {
		targets = append(targets, f.Target)
	}
	out := []Fact{fact("provider faults during the window", "%s: 1–5%% errors, 1–2%% timeouts (answer lost, applied half the time; the connection hangs 3 s), 2–40 ms latency; webhooks 5%% duplicated, 5%% reordered",
		strings.Join(targets, ", "))}
	for i, r := range c.recoveries {
		v := fmt.Sprintf("SIGKILL at %.1fs; ready %.2fs after the restart, %.2fs after the kill (target < %d s: %s)",
			r.at.Seconds(), r.ready.Seconds(), r.down.Seconds(), targetRecoverySec, metMissed(r.err == nil && r.ready < targetRecoverySec*time.Second))
		if r.err != nil {
			v += " — " + r.err.Error()
		}
		out = append(out, fact(fmt.Sprintf("recovery %d", i+1), "%s", v))
	}
	return out
}

// checks: kashd was killed as planned and came back each time.
func (c *chaosPlan) checks() []Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := len(c.recoveries) == c.kills && c.faultErr == nil
	var errs []string
	for _, r := range c.recoveries {
		if r.err != nil {
			ok = false
			errs = append(errs, r.err.Error())
		}
	}
	if c.faultErr != nil {
		errs = append(errs, c.faultErr.Error())
	}
	return []Check{{Name: "kashd was SIGKILLed mid-run and became ready again each time; the faults were on",
		OK: ok, Detail: fmt.Sprintf("%d of %d kills recovered%s", len(c.recoveries)-len(errs), c.kills, exampleText(errs))}}
}
