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
// database and creates users and cards through the API; their Op is one
// operation of the mix; their Finish waits for every saga to be final and
// reconciles with the simulator's books.
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

	// API and Sim point the HTTP scenarios at a kashd and a simulator
	// already running (empty: the harness starts its own), with the ops
	// token AdminToken.
	API, Sim, AdminToken string
	// KashdPath is the kashd binary the HTTP scenarios run (empty: built
	// from this module with go build).
	KashdPath string
	// Mix is e2e's operation mix, "kind=weight,..." (empty: DefaultMix).
	Mix string
	// AsyncDelay is how long an mtn-bj payer takes to approve at the
	// simulator (KASH_SIM_ASYNC_DELAY_MS; default 20 ms).
	AsyncDelay time.Duration
	// Active is how many card actors the memory scenario activates
	// (default 100,000), and IdleAfter how soon they passivate.
	Active    int
	IdleAfter time.Duration
}

// defaults fills the settle world's size: 10,000 cards, one user each.
// Scenarios apply their own defaults (Cards 0 means "the scenario's").
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
	// FixedWork says the scenario's Capacity is its whole run by design
	// (contention, memory): offering stops there, and that is no shortage.
	FixedWork bool
	New       func(Options) Scenario
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

// Watched is implemented by scenarios whose system under test runs in
// processes of its own (kashd as a child): the suite samples their CPU and
// memory too, and names this process after what it does in the scenario.
type Watched interface {
	Watchers() []*ProcWatcher
	SelfName() string
}

// LoadShaper is implemented by scenarios whose operations need more than
// the default drain time (chaos waits out provider timeouts and restarts).
type LoadShaper interface {
	ShapeLoad(*Load)
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
