// Command kashbench measures the Kash engine (shared/BENCH.md): it sets up
// its own Postgres and world, offers load open-loop (--rate) or
// closed-loop (--concurrency), and prints a Markdown report with the
// correctness checks of every run. It exits 1 when a run's checks fail and
// 2 when it cannot run.
//
// With no flags it runs the short default suite that `make bench` runs:
// settle and baseline, side by side, then a short e2e run through kashd
// and the simulator over HTTP, on a throw-away cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"kash/bench"
)

// Defaults of the short suite: it must finish within three minutes on a
// 2-core machine, setup included. Its e2e run is shorter and smaller than
// the others, and open loop (shortSuiteE2E), unless flags say otherwise.
const (
	defaultScenarios   = "settle,baseline,e2e"
	defaultDuration    = 20 * time.Second
	defaultConcurrency = 512
	shortE2EDuration   = 10 * time.Second
	shortE2ERate       = 300
	shortE2ECards      = 400
)

type config struct {
	scenarios   []string
	duration    time.Duration
	rate        float64
	concurrency int
	users       int
	cards       int
	work        int
	seed        int64
	repeat      int
	jsonPath    string
	chartPath   string
	dataDir     string
	databaseURL string
	cpuProfile  string
	memProfile  string
	statements  bool
	quiet       bool
	keepDB      bool
	jBatch      int
	jWorkers    int
	api         string
	sim         string
	adminToken  string
	kashd       string
	mix         string
	asyncDelay  time.Duration
	active      int
	idleAfter   time.Duration
	// set holds the flags given on the command line.
	set map[string]bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("kashbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenario", defaultScenarios, "scenarios to run, comma separated: "+scenarioNames())
	fs.DurationVar(&c.duration, "duration", defaultDuration, "how long each run offers load")
	fs.Float64Var(&c.rate, "rate", 0, "open loop: operations offered per second (latency from the intended send time)")
	fs.IntVar(&c.concurrency, "concurrency", 0, fmt.Sprintf("closed loop: workers (default %d when --rate is not given)", defaultConcurrency))
	fs.IntVar(&c.users, "users", 0, "users owning the cards (default: the scenario's; settle one per card, the HTTP scenarios two cards per user)")
	fs.IntVar(&c.cards, "cards", 0, "cards in the world (default: the scenario's; settle and memory 10,000 and 1,000,000, e2e and chaos 1,000, starved 200, contention 4)")
	fs.IntVar(&c.work, "work", 0, "operations to seed for scenarios with a finite pool of work (default: sized from the load)")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the world's random choices")
	fs.IntVar(&c.repeat, "repeat", 1, "runs of each scenario (interleaved); the summary reports medians")
	fs.StringVar(&c.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&c.chartPath, "chart", "", "write a latency-over-time chart (SVG) to this file")
	fs.StringVar(&c.dataDir, "data-dir", "", "run a private Postgres cluster in this directory, left running (default: a throw-away cluster)")
	fs.StringVar(&c.databaseURL, "database-url", "", "use this Postgres server (its role must CREATE DATABASE)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of each measured window (FILE becomes FILE.<scenario>.<run>)")
	fs.StringVar(&c.memProfile, "memprofile", "", "write heap profiles at the start and end of each window (use pprof -base)")
	fs.BoolVar(&c.statements, "statements", false, "report pg_stat_statements (needs shared_preload_libraries = pg_stat_statements)")
	fs.IntVar(&c.jBatch, "journal-batch", 0, "settle: the journal's changes per transaction (default: the journal's own)")
	fs.IntVar(&c.jWorkers, "journal-workers", 0, "settle: the journal's transactions in flight (default: the journal's own)")
	fs.BoolVar(&c.keepDB, "keep-db", false, "keep each run's database for inspection (default: dropped)")
	fs.StringVar(&c.api, "api", "", "HTTP scenarios: use this running kashd (e.g. http://127.0.0.1:8080) instead of starting one")
	fs.StringVar(&c.sim, "sim", "", "with --api: its provider simulator (e.g. http://127.0.0.1:8090)")
	fs.StringVar(&c.adminToken, "admin-token", os.Getenv("KASH_ADMIN_TOKEN"), "with --api: its ops token (default $KASH_ADMIN_TOKEN)")
	fs.StringVar(&c.kashd, "kashd", "", "HTTP scenarios: the kashd binary to run (default: built from this repository)")
	fs.StringVar(&c.mix, "mix", bench.DefaultMix, "e2e and chaos: the operation mix, kind=weight (funding, withdrawal, issuance, read, spend)")
	fs.DurationVar(&c.asyncDelay, "async-delay", 20*time.Millisecond, "HTTP scenarios: how long an mtn-bj payer takes to approve at the simulator")
	fs.IntVar(&c.active, "active", 100_000, "memory: card actors to activate")
	fs.DurationVar(&c.idleAfter, "idle-after", 0, "memory: how long a card actor stays idle before it passivates (default: the scenario's)")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	for _, s := range strings.Split(*scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if _, ok := bench.Lookup(s); !ok {
				return c, fmt.Errorf("unknown scenario %q (known: %s)", s, scenarioNames())
			}
			c.scenarios = append(c.scenarios, s)
		}
	}
	switch {
	case len(c.scenarios) == 0:
		return c, errors.New("no scenario given")
	case c.rate > 0 && c.concurrency > 0:
		return c, errors.New("give --rate (open loop) or --concurrency (closed loop), not both")
	case c.rate < 0 || c.concurrency < 0 || c.duration <= 0 || c.cards < 0 || c.users < 0 || c.repeat <= 0 || c.active <= 0:
		return c, errors.New("--rate, --concurrency, --duration, --cards, --users, --active and --repeat must be positive")
	case c.set["cards"] && c.cards == 0:
		return c, errors.New("--cards must be positive")
	case c.api != "" && c.sim == "":
		return c, errors.New("--api needs --sim")
	case c.dataDir != "" && c.databaseURL != "":
		return c, errors.New("give --data-dir or --database-url, not both")
	}
	if c.rate == 0 && c.concurrency == 0 {
		c.concurrency = defaultConcurrency
	}
	return c, nil
}

func scenarioNames() string {
	var names []string
	for _, r := range bench.Scenarios() {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kashbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	passed, err := run(ctx, cfg, os.Stdout, os.Stderr)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "kashbench:", err)
		os.Exit(2)
	case !passed:
		fmt.Fprintln(os.Stderr, "kashbench: FAILED: correctness checks failed (see the report)")
		os.Exit(1)
	}
}

// run runs the suite and writes its report; it reports whether every run
// passed its checks.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (bool, error) {
	fmt.Fprintln(stderr, "kashbench: starting Postgres")
	pg, err := bench.StartPostgres(ctx, bench.PostgresConfig{DatabaseURL: cfg.databaseURL, DataDir: cfg.dataDir})
	if err != nil {
		return false, err
	}
	defer func() {
		if err := pg.Close(); err != nil {
			fmt.Fprintln(stderr, "kashbench: stop postgres:", err)
		}
	}()
	fmt.Fprintln(stderr, "kashbench:", pg.Describe)
	load := bench.Load{Rate: cfg.rate, Concurrency: cfg.concurrency, Duration: cfg.duration, Progress: stderr}
	if cfg.quiet {
		load.Progress = nil
	}
	prof := &profiler{cpuPath: cfg.cpuProfile, memPath: cfg.memProfile, log: stderr}
	defer bench.RemoveBuilds()
	suite := &bench.Suite{Postgres: pg, Scenarios: cfg.scenarios, Repeat: cfg.repeat, Log: stderr, KeepDatabases: cfg.keepDB,
		Hooks: bench.Hooks{WindowOpened: prof.opened, WindowClosed: prof.closed},
		Options: bench.Options{Load: load, Cards: cfg.cards, Users: cfg.users, Seed: cfg.seed, Work: cfg.work,
			Statements: cfg.statements, JournalBatch: cfg.jBatch, JournalWorkers: cfg.jWorkers,
			API: cfg.api, Sim: cfg.sim, AdminToken: cfg.adminToken, KashdPath: cfg.kashd, Mix: cfg.mix,
			AsyncDelay: cfg.asyncDelay, Active: cfg.active, IdleAfter: cfg.idleAfter},
		Adjust: map[string]func(*bench.Options){"e2e": cfg.shortE2E}}
	rep, err := suite.Run(ctx)
	if err != nil {
		return false, err
	}
	if err := prof.err; err != nil {
		return false, err
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		return false, err
	}
	if err := writeFile(cfg.jsonPath, rep.WriteJSON); err != nil {
		return false, err
	}
	if err := writeFile(cfg.chartPath, rep.WriteChart); err != nil {
		return false, err
	}
	return rep.Passed, nil
}

// writeFile writes path with write, unless path is empty.
func writeFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// shortE2E makes the short default suite's e2e run short, small and open
// loop, for whatever of duration, load and size the flags left unsaid.
func (c config) shortE2E(o *bench.Options) {
	if c.set["scenario"] {
		return
	}
	if !c.set["duration"] {
		o.Load.Duration = shortE2EDuration
	}
	if !c.set["rate"] && !c.set["concurrency"] {
		o.Load.Rate, o.Load.Concurrency = shortE2ERate, 0
	}
	if !c.set["cards"] {
		o.Cards = shortE2ECards
	}
}
