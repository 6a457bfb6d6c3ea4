package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Scenario is one kind of load. The suite gives each run a fresh database,
// calls Setup (not measured), opens the window, drives Op, closes the
// window, then calls Finish for the correctness checks.
//
// The HTTP scenarios of BENCH.md (e2e, contention, starved, chaos) are
// Scenarios too: their Setup starts kashd and the simulator against the
// database and creates users, cards and float through the API; their Op is
// one request mix iteration; their Finish reconciles with the simulator's
// books. They register with Register like settle and baseline.
type Scenario interface {
	// Setup builds the scenario's world in env.DB (not measured).
	Setup(ctx context.Context, env Env) error
	// Capacity is how many operations the world can take (0: no limit).
	Capacity() int
	// Op performs operation i, returning when it is complete or failed.
	Op(ctx context.Context, i int) error
	// Pool is the database pool of the system under test: the harness
	// reads Postgres's statistics through it.
	Pool() *pgxpool.Pool
	// Measure is called when the measured window opens.
	Measure()
	// Finish is called after the window closed and every operation
	// finished: it stops the system and runs the correctness checks.
	Finish(ctx context.Context, run *Run) (Outcome, error)
	// Close releases what Setup took; it is safe after a failed Setup.
	Close()
}

// Env is what a scenario's Setup gets.
type Env struct {
	DB      *Database
	Options Options
	// Log receives setup progress for humans (never nil).
	Log io.Writer
}

// Options are the knobs every scenario takes (BENCH.md): the load, the
// world's size, and the seed of its randomness.
type Options struct {
	Load  Load
	Cards int   // cards in the world (default 10,000)
	Users int   // users owning them (default: one per card)
	Seed  int64 // seed of amounts and any other random choice
	// Work is how many operations to prepare for scenarios that seed a
	// finite pool of work (0: sized from the load; see WorkFor).
	Work int
	// Statements collects pg_stat_statements when the server has it loaded.
	Statements bool
	// Journal tunes the engine's group-commit journal (zero: its defaults),
	// to measure batch size and parallelism.
	JournalBatch, JournalWorkers int
}

func (o *Options) defaults() {
	if o.Cards <= 0 {
		o.Cards = 10_000
	}
	if o.Users <= 0 {
		o.Users = o.Cards
	}
}

// WorkFor is how many operations to seed for a run under load when
// Options.Work is 0: rate × duration (plus slack) open-loop, or
// closedRate × duration closed-loop, where closedRate is the fastest the
// scenario is expected to go. A closed-loop run that exhausts its pool
// ends early; the report says so.
func (o Options) WorkFor(closedRate float64) int {
	if o.Work > 0 {
		return o.Work
	}
	rate := closedRate
	if o.Load.Rate > 0 {
		rate = o.Load.Rate * 1.02
	}
	return int(rate*o.Load.Duration.Seconds()) + 100
}

// Outcome is what a scenario reports after its run.
type Outcome struct {
	Checks   []Check
	Statuses map[string]int64          // final statuses of the operations' sagas
	Facts    []Fact                    // what the world was (cards, work seeded, pool size...)
	Stages   map[string]LatencySummary // latency of the steps inside an operation
	Journal  *JournalStats             // group-commit batches, when the system has a journal
	Notes    []string
}

// Check is one correctness check of a run.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Fact is a named property of a run's world, for the report.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func fact(name string, format string, args ...any) Fact {
	return Fact{Name: name, Value: fmt.Sprintf(format, args...)}
}

// Registration describes a scenario to the suite.
type Registration struct {
	Name    string
	Summary string
	// ComparedTo names the scenario this one is measured against in the
	// same invocation (settle against baseline): the report prints the
	// throughput ratio when both ran.
	ComparedTo string
	New        func(Options) Scenario
}

var registry = struct {
	sync.Mutex
	byName map[string]Registration
}{byName: map[string]Registration{}}

// Register makes a scenario available to the suite by name.
func Register(r Registration) {
	registry.Lock()
	defer registry.Unlock()
	registry.byName[r.Name] = r
}

// Lookup returns the scenario registered under name.
func Lookup(name string) (Registration, bool) {
	registry.Lock()
	defer registry.Unlock()
	r, ok := registry.byName[name]
	return r, ok
}

// Scenarios returns every registered scenario, by name.
func Scenarios() []Registration {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Registration, 0, len(registry.byName))
	for _, r := range registry.byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Hooks let the caller act at the edges of each measured window (CPU and
// heap profiles of the window alone).
type Hooks struct {
	WindowOpened func(scenario string, repeat int)
	WindowClosed func(scenario string, repeat int)
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}
