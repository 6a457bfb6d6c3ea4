package bench

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"kash/persistence/pgtest"
)

// smallOptions is a world of a few hundred fundings, closed loop: enough to
// put many fundings of one card and of one treasury in flight at once.
func smallOptions(work int) Options {
	return Options{Cards: 40, Work: work, Seed: 7,
		Load: Load{Concurrency: 64, Duration: time.Minute, Drain: time.Minute}}
}

func runOn(t *testing.T, name string, o Options) Result {
	t.Helper()
	reg, ok := Lookup(name)
	if !ok {
		t.Fatalf("scenario %s not registered", name)
	}
	suite := &Suite{Options: o, Log: io.Discard}
	res, err := suite.RunOn(context.Background(), reg, 1, &Database{URL: pgtest.NewURL(t)})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func requirePassed(t *testing.T, res Result, work int) {
	t.Helper()
	for _, c := range res.Checks {
		if !c.OK {
			t.Errorf("%s: check failed: %s: %s", res.Scenario, c.Name, c.Detail)
		}
	}
	if !res.Passed || res.Completed != int64(work) || res.Failed != 0 || res.Offered != int64(work) {
		t.Fatalf("%s: passed %v, offered %d, completed %d, failed %d (errors %v); want every one of %d",
			res.Scenario, res.Passed, res.Offered, res.Completed, res.Failed, res.Errors, work)
	}
	if res.Statuses["succeeded"] != int64(work) {
		t.Fatalf("%s: statuses %v", res.Scenario, res.Statuses)
	}
	if res.Database.RowsWritten == 0 || res.Database.Commits == 0 {
		t.Fatalf("%s: no database activity seen: %+v", res.Scenario, res.Database)
	}
}

// A short settle run through the real engine and journal on a real
// Postgres: every funding completes once and every correctness check holds.
func TestSettlePassesItsChecks(t *testing.T) {
	const work = 400
	res := runOn(t, "settle", smallOptions(work))
	requirePassed(t, res, work)
	if res.Journal == nil || res.Journal.Batches == 0 || res.PerOp.Statements < 8 {
		t.Fatalf("journal stats %+v, per op %+v: want batches and at least 8 statements per funding", res.Journal, res.PerOp)
	}
	if got := res.Stages["stage 1: resume → float reserved, funding_card committed"].Count; got != work {
		t.Fatalf("stage 1 timed %d fundings, want %d", got, work)
	}
}

func TestBaselinePassesItsChecks(t *testing.T) {
	const work = 300
	res := runOn(t, "baseline", smallOptions(work))
	requirePassed(t, res, work)
	// Two transactions per funding, each fsynced.
	if res.PerOp.Commits < 2 {
		t.Fatalf("%.2f commits per funding, want at least 2", res.PerOp.Commits)
	}
}

// The checks are real: money moved behind the engine's back is caught.
func TestChecksCatchABalanceChangedBehindTheEngine(t *testing.T) {
	ctx := context.Background()
	o := smallOptions(100)
	o.defaults()
	s := NewSettle(o)
	defer s.Close()
	if err := s.Setup(ctx, Env{DB: &Database{URL: pgtest.NewURL(t)}, Options: o, Log: io.Discard}); err != nil {
		t.Fatal(err)
	}
	s.Measure()
	load := o.Load
	load.Limit = s.Capacity()
	run, err := Drive(ctx, load, s.Op)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Finish(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range out.Checks {
		if !c.OK {
			t.Fatalf("check failed before tampering: %s: %s", c.Name, c.Detail)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE cards SET balance_minor = balance_minor + 1 WHERE id = $1`, s.world.cardID(3)); err != nil {
		t.Fatal(err)
	}
	checks, _, err := s.world.verify(ctx, s.pool, s.issuer, run)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, c := range checks {
		if !c.OK {
			failed[c.Name] = true
		}
	}
	for _, want := range []string{"every card balance equals its ledger account", "issuer's books: every card balance equals the engine's"} {
		if !failed[want] {
			t.Errorf("check %q did not catch the tampered balance (failed: %v)", want, failed)
		}
	}
	for name := range failed {
		if !strings.Contains(name, "card balance") && !strings.Contains(name, "conservation") {
			t.Errorf("unrelated check failed: %s", name)
		}
	}
}

// BenchmarkSettle drives b.N paid fundings through ResumeFunding, closed
// loop, against a pgtest database: one treasury, 10,000 cards. The setup
// (cards, float, b.N fundings, card activation) is not timed. Use a fixed
// count, e.g. -benchtime=50000x, so that setup runs once:
//
//	go test -run '^$' -bench Settle -benchtime 50000x ./bench
func BenchmarkSettle(b *testing.B) {
	ctx := context.Background()
	o := Options{Cards: 10_000, Work: max(b.N, 1), Seed: 1, Load: Load{Concurrency: 512, Duration: time.Hour}}
	o.defaults()
	s := NewSettle(o)
	defer s.Close()
	if err := s.Setup(ctx, Env{DB: &Database{URL: pgtest.NewURL(b)}, Options: o, Log: io.Discard}); err != nil {
		b.Fatal(err)
	}
	before, err := readCounters(ctx, s.pool)
	if err != nil {
		b.Fatal(err)
	}
	s.Measure()
	load := o.Load
	load.Limit = s.Capacity()
	b.ResetTimer()
	run, err := Drive(ctx, load, s.Op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	after, err := readCounters(ctx, s.pool)
	if err != nil {
		b.Fatal(err)
	}
	out, err := s.Finish(ctx, run)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range out.Checks {
		if !c.OK {
			b.Fatalf("check failed: %s: %s", c.Name, c.Detail)
		}
	}
	db := after.since(before)
	n := float64(b.N)
	b.ReportMetric(run.Throughput(), "fundings/s")
	b.ReportMetric(float64(db.RowsWritten)/n, "rows/funding")
	b.ReportMetric(float64(db.Commits)/n, "commits/funding")
	b.ReportMetric(float64(out.Journal.Statements)/n, "statements/funding")
	b.ReportMetric(run.Recorder.Summary().P99, "p99-ms")
}
