package bench

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"kash/persistence/pgtest"
)

// TestMain removes the kashd binary the HTTP scenarios built.
func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBuilds()
	os.Exit(code)
}

// runAPI runs an HTTP scenario on a pgtest database, with kashd as a child.
func runAPI(t *testing.T, name string, o Options) Result {
	t.Helper()
	reg, ok := Lookup(name)
	if !ok {
		t.Fatalf("scenario %s not registered", name)
	}
	log := io.Discard
	if testing.Verbose() {
		log = os.Stderr
	}
	suite := &Suite{Options: o, Log: log}
	res, err := suite.RunOn(context.Background(), reg, 1, &Database{URL: pgtest.NewURL(t)})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, c := range res.Checks {
		if !c.OK {
			t.Errorf("%s: check failed: %s: %s", name, c.Name, c.Detail)
		}
	}
	for _, n := range res.Notes {
		t.Logf("%s: note: %s", name, n)
	}
	if !res.Passed {
		t.Fatalf("%s: not passed: completed %d, failed %d, errors %v, statuses %v", name, res.Completed, res.Failed,
			res.Errors, res.Statuses)
	}
	return res
}

func smallAPIOptions(mix string, rate float64, d time.Duration) Options {
	return Options{Cards: 12, Users: 6, Seed: 3, Mix: mix, AsyncDelay: 10 * time.Millisecond,
		Load: Load{Rate: rate, Duration: d, Drain: time.Minute}}
}

// A short e2e run through kashd and the simulator over HTTP: every kind of
// operation completes and every check holds, books included.
func TestE2EPassesItsChecks(t *testing.T) {
	res := runAPI(t, "e2e", smallAPIOptions("funding=4,withdrawal=2,issuance=1,read=2,spend=1", 40, 3*time.Second))
	if res.Failed != 0 {
		t.Fatalf("errors %v", res.Errors)
	}
	for _, stage := range []string{"funding mtn-bj: completed", "funding moov-bj: completed", fundingsLabel + ": accepted",
		"read: GET /v1/cards/{id}", "spend at the simulator"} {
		if res.Stages[stage].Count == 0 {
			t.Errorf("stage %q timed nothing (stages %v)", stage, res.Stages)
		}
	}
	if res.Statuses["funding: succeeded"] == 0 || res.Statuses["issuance: succeeded"] < 12 {
		t.Errorf("statuses %v", res.Statuses)
	}
}

// Withdrawals and spends race on two cards, far beyond what they hold:
// nothing is overdrawn and every count is exact.
func TestContentionPassesItsChecks(t *testing.T) {
	o := Options{Cards: 2, Users: 2, Seed: 5, Load: Load{Concurrency: 48, Duration: time.Minute, Drain: time.Minute}}
	res := runAPI(t, "contention", o)
	if res.Offered != int64(2*contentionDemand*contentionStartCents/contentionUnitCents) {
		t.Fatalf("offered %d", res.Offered)
	}
	if res.Errors["HTTP 422 insufficient_balance"]+res.Errors["spend declined"] == 0 {
		t.Fatalf("no refusal: the cards were not drained (errors %v)", res.Errors)
	}
}

// Fundings queue for float, and top-ups and sweeps drain the queue in order.
func TestStarvedPassesItsChecks(t *testing.T) {
	o := Options{Cards: 8, Users: 4, Seed: 9, Load: Load{Rate: 20, Duration: 3 * time.Second, Drain: 2 * time.Minute}}
	res := runAPI(t, "starved", o)
	if res.Completed != res.Offered || res.Offered == 0 {
		t.Fatalf("offered %d, completed %d (errors %v)", res.Offered, res.Completed, res.Errors)
	}
}

// e2e with provider faults and kashd killed twice: afterwards every saga is
// final and the books agree.
func TestChaosPassesItsChecks(t *testing.T) {
	o := smallAPIOptions(DefaultMix, 30, 6*time.Second)
	res := runAPI(t, "chaos", o)
	var recoveries int
	for _, f := range res.Facts {
		if len(f.Name) > 8 && f.Name[:8] == "recovery" {
			recoveries++
		}
	}
	if recoveries != chaosKills {
		t.Fatalf("%d recoveries reported, want %d (facts %v)", recoveries, chaosKills, res.Facts)
	}
}

// A few thousand cards and actors: every actor is live at once, then all
// passivate and the heap shrinks.
func TestMemoryPassesItsChecks(t *testing.T) {
	o := Options{Cards: 20_000, Active: 10_000, IdleAfter: 12 * time.Second, Seed: 1,
		Load: Load{Concurrency: 32, Duration: time.Minute}}
	res := runAPI(t, "memory", o)
	if res.Completed != 10_000 {
		t.Fatalf("%d actors activated", res.Completed)
	}
}
