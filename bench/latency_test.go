package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestRecorderPercentilesOfAKnownDistribution(t *testing.T) {
	start := time.Unix(1000, 0)
	r := NewRecorder(start)
	for i := 1; i <= 1000; i++ {
		r.Record(start, start.Add(time.Duration(i)*time.Millisecond), nil)
	}
	s := r.Summary()
	near := func(name string, got, want float64) {
		t.Helper()
		// Three significant digits: within 0.1 % of the true value.
		if math.Abs(got-want) > want*0.001+0.001 {
			t.Errorf("%s = %.3f ms, want %.3f", name, got, want)
		}
	}
	if s.Count != 1000 {
		t.Fatalf("count %d, want 1000", s.Count)
	}
	near("p50", s.P50, 500)
	near("p90", s.P90, 900)
	near("p99", s.P99, 990)
	near("p99.9", s.P999, 999)
	near("max", s.Max, 1000)
	near("mean", s.Mean, 500.5)
}

func TestRecorderCountsErrorsByCodeOutsideTheLatencies(t *testing.T) {
	start := time.Unix(1000, 0)
	r := NewRecorder(start)
	r.Record(start, start.Add(time.Millisecond), nil)
	for range 3 {
		r.Record(start, start.Add(time.Hour), opErr("issuer_failed", errors.New("refused")))
	}
	r.Record(start, start.Add(time.Hour), fmt.Errorf("waiting: %w", context.DeadlineExceeded))
	r.Record(start, start.Add(time.Hour), errors.New("boom"))
	completed, failed := r.Counts()
	if completed != 1 || failed != 5 {
		t.Fatalf("completed %d failed %d, want 1 and 5", completed, failed)
	}
	want := map[string]int64{"issuer_failed": 3, "timeout": 1, "error": 1}
	got := r.Errors()
	if len(got) != len(want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("errors[%s] = %d, want %d", k, got[k], v)
		}
	}
	if max := r.Summary().Max; max > 1.01 {
		t.Fatalf("max latency %.2f ms: failures leaked into the latency distribution", max)
	}
}

func TestRecorderSeriesIsPerSecondOfCompletion(t *testing.T) {
	start := time.Unix(1000, 0)
	r := NewRecorder(start)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	r.Record(at(400), at(500), nil)   // second 0, 100 ms
	r.Record(at(1000), at(1500), nil) // second 1, 500 ms
	r.Record(at(1600), at(1700), nil) // second 1, 100 ms
	r.Record(at(3000), at(3200), errors.New("x"))
	series := r.Series()
	if len(series) != 4 {
		t.Fatalf("%d points, want 4", len(series))
	}
	wantCompleted := []int64{1, 2, 0, 0}
	wantErrors := []int64{0, 0, 0, 1}
	for i, p := range series {
		if p.Second != i || p.Completed != wantCompleted[i] || p.Errors != wantErrors[i] {
			t.Errorf("point %d = %+v, want completed %d errors %d", i, p, wantCompleted[i], wantErrors[i])
		}
	}
	if p := series[1]; p.P50 < 99 || p.P50 > 101 || p.Max < 499 || p.Max > 501 {
		t.Errorf("second 1: p50 %.1f max %.1f, want 100 and 500", p.P50, p.Max)
	}
	if !r.LastCompletion().Equal(at(3200)) {
		t.Errorf("last completion %v", r.LastCompletion())
	}
}

func TestFundingIdsRoundTrip(t *testing.T) {
	w := &settleWorld{cards: 7, users: 3}
	for _, i := range []int{0, 1, 42, 99_999_999} {
		if got, ok := fundingIndex(w.fundingID(i)); !ok || got != i {
			t.Errorf("fundingIndex(%q) = %d, %v", w.fundingID(i), got, ok)
		}
	}
	for _, id := range []string{"", "warm-up", "bf_0000001x", "bx_00000001", "bf_000000001"} {
		if _, ok := fundingIndex(id); ok {
			t.Errorf("fundingIndex(%q) accepted", id)
		}
	}
	// Zero padding makes "the first n fundings" a range of ids.
	if !(w.fundingID(9) < w.fundingID(10) && w.fundingID(99) < w.fundingID(100)) {
		t.Error("funding ids do not sort in index order")
	}
	if w.cardOf(15) != 1 || w.userID(5) != w.userID(2) {
		t.Error("fundings are not spread round-robin over cards, or cards over users")
	}
}

func TestAmountsAreDeterministicAndInRange(t *testing.T) {
	a := &settleWorld{seed: 1}
	b := &settleWorld{seed: 1}
	c := &settleWorld{seed: 2}
	differ := 0
	for i := range 1000 {
		x := a.amount(i)
		if x < minFundingCents || x > maxFundingCents {
			t.Fatalf("amount %d out of range", x)
		}
		if x != b.amount(i) {
			t.Fatal("same seed, different amounts")
		}
		if x != c.amount(i) {
			differ++
		}
	}
	if differ < 900 {
		t.Fatalf("only %d of 1000 amounts change with the seed", differ)
	}
}
