package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Suite runs scenarios one after the other on one server, each on a fresh
// database, Repeat times over (interleaved, so that drifting machine noise
// hits every scenario alike), and gathers their results.
type Suite struct {
	Postgres  *Postgres
	Scenarios []string
	Options   Options
	Repeat    int
	Hooks     Hooks
	// Log receives setup and progress lines (default stderr).
	Log io.Writer
	// KeepDatabases leaves each run's database behind, for inspection.
	KeepDatabases bool
	// Adjust, by scenario name, changes the options of that scenario's
	// runs (the short default suite runs e2e smaller and shorter).
	Adjust map[string]func(*Options)
}

// optionsFor is the options of one scenario's runs.
func (s *Suite) optionsFor(name string) Options {
	o := s.Options
	if f := s.Adjust[name]; f != nil {
		f(&o)
	}
	return o
}

// Run runs the suite. A scenario that cannot run (its setup failed) stops
// the suite with an error; a scenario whose checks fail is a failed result,
// and the suite goes on.
func (s *Suite) Run(ctx context.Context) (*Report, error) {
	if s.Log == nil {
		s.Log = os.Stderr
	}
	repeat := max(s.Repeat, 1)
	regs := make([]Registration, len(s.Scenarios))
	for i, name := range s.Scenarios {
		reg, ok := Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q", name)
		}
		regs[i] = reg
	}
	rep := newReport(s.Postgres, s.Options, repeat)
	for r := 1; r <= repeat; r++ {
		for _, reg := range regs {
			res, err := s.runOne(ctx, reg, r)
			if err != nil {
				return rep, fmt.Errorf("scenario %s (run %d): %w", reg.Name, r, err)
			}
			rep.Results = append(rep.Results, res)
		}
	}
	rep.summarize(regs)
	return rep, nil
}

func (s *Suite) runOne(ctx context.Context, reg Registration, repeat int) (res Result, err error) {
	fmt.Fprintf(s.Log, "== %s (run %d): fresh database\n", reg.Name, repeat)
	db, err := s.Postgres.NewDatabase(ctx, reg.Name)
	if err != nil {
		return res, err
	}
	defer func() {
		if s.KeepDatabases {
			fmt.Fprintf(s.Log, "%s: database %s kept\n", reg.Name, db.Name)
			return
		}
		dropCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = errors.Join(err, db.Drop(dropCtx))
	}()
	return s.RunOn(ctx, reg, repeat, db)
}

// RunOn runs one scenario on db, which must be fresh and migrated (tests
// give it a pgtest database).
func (s *Suite) RunOn(ctx context.Context, reg Registration, repeat int, db *Database) (Result, error) {
	if s.Log == nil {
		s.Log = os.Stderr
	}
	o := s.optionsFor(reg.Name)
	sc := reg.New(o)
	defer sc.Close()
	setupTook, err := timed(func() error { return sc.Setup(ctx, Env{DB: db, Options: o, Log: s.Log}) })
	if err != nil {
		return Result{}, fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(s.Log, "%s: set up in %.1fs\n", reg.Name, setupTook.Seconds())
	return s.measure(ctx, reg, repeat, sc, o, setupTook)
}

func (s *Suite) measure(ctx context.Context, reg Registration, repeat int, sc Scenario, o Options, setupTook time.Duration) (Result, error) {
	load := o.Load
	load.Limit, load.Label = sc.Capacity(), reg.Name
	if shaper, ok := sc.(LoadShaper); ok {
		shaper.ShapeLoad(&load)
	}
	self := "kashbench (load generator + engine)"
	var extra []*ProcWatcher
	if w, ok := sc.(Watched); ok {
		self, extra = w.SelfName(), w.Watchers()
	}
	watchers := append([]*ProcWatcher{SelfWatcher(self)}, extra...)
	if s.Postgres != nil && s.Postgres.DataDir != "" {
		watchers = append(watchers, PostgresWatcher(s.Postgres.DataDir))
	}
	watchers = append(watchers, MachineWatcher())
	load.Sample = func() {
		for _, w := range watchers {
			w.Sample()
		}
	}
	pool := sc.Pool()
	var before dbCounters
	statements := false
	if pool != nil {
		if err := settleDatabase(ctx, pool); err != nil {
			return Result{}, err
		}
		statements = o.Statements && resetStatements(ctx, pool)
		fmt.Fprintf(s.Log, "%s: vacuumed and checkpointed; measuring (%s)\n", reg.Name, describeLoad(load))
		var err error
		if before, err = readCounters(ctx, pool); err != nil {
			return Result{}, err
		}
	}
	// Setup garbage should not be collected on the window's time, nor an
	// earlier run's heap counted in this one's RSS.
	debug.FreeOSMemory()
	if s.Hooks.WindowOpened != nil {
		s.Hooks.WindowOpened(reg.Name, repeat)
	}
	for _, w := range watchers {
		w.Start()
	}
	sc.Measure()
	run, err := Drive(ctx, load, sc.Op)
	procs := make([]ProcUsage, len(watchers))
	for i, w := range watchers {
		procs[i] = w.Stop()
	}
	if s.Hooks.WindowClosed != nil {
		s.Hooks.WindowClosed(reg.Name, repeat)
	}
	if err != nil {
		return Result{}, err
	}
	res := newResult(reg.Name, repeat, load, run, setupTook, reg.FixedWork)
	if pool != nil {
		after, err := readCounters(ctx, pool)
		if err != nil {
			return Result{}, err
		}
		res.Database = after.since(before)
	}
	res.Processes = procs
	if statements {
		if res.Statements, err = topStatements(ctx, pool, 12); err != nil {
			res.Notes = append(res.Notes, err.Error())
		}
	}
	fmt.Fprintf(s.Log, "%s: %d completed in %.1fs (%.0f/s); checking\n", reg.Name, res.Completed, res.ElapsedSeconds, res.Throughput)
	out, err := sc.Finish(ctx, run)
	if err != nil {
		return Result{}, fmt.Errorf("finish: %w", err)
	}
	res.apply(out)
	return res, nil
}

func describeLoad(l Load) string {
	if l.Rate > 0 {
		return fmt.Sprintf("open loop, %.0f/s for %s", l.Rate, l.Duration)
	}
	return fmt.Sprintf("closed loop, %d workers for %s", l.Concurrency, l.Duration)
}

// settleDatabase leaves no maintenance debt from setup to the window, as
// pgbench does: the tables setup loaded are vacuumed (so that autovacuum
// does not wake up on them mid-run, and their hint bits are set) and
// analysed, then a CHECKPOINT, so that none falls due inside the window.
//
// Tables still empty are left alone: a vacuumed empty table is known to be
// empty, and the generic plans cached for the window's first statements
// would then scan it sequentially until autovacuum (up to a minute later)
// analyses it again; never vacuumed, it is assumed to be 10 pages, and the
// statements use their indexes from the start.
func settleDatabase(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(relname)
		FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("prepare the window: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("prepare the window: %w", err)
	}
	stmts := []string{"CHECKPOINT"}
	if len(tables) > 0 {
		stmts = append([]string{"VACUUM (ANALYZE) " + strings.Join(tables, ", ")}, stmts...)
	}
	for _, sql := range stmts {
		if _, err := pool.Exec(ctx, sql); err != nil {
			return fmt.Errorf("prepare the window: %s: %w", sql, err)
		}
	}
	return nil
}
