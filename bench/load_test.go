package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestIntendedTimesAreAFixedSchedule(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, c := range []struct {
		i    int
		rate float64
		want time.Duration
	}{{0, 500, 0}, {1, 500, 2 * time.Millisecond}, {1000, 500, 2 * time.Second}, {3, 3, time.Second}, {1, 10_000, 100 * time.Microsecond}} {
		if got := IntendedAt(start, c.i, c.rate).Sub(start); got != c.want {
			t.Errorf("IntendedAt(%d, %v) = +%v, want +%v", c.i, c.rate, got, c.want)
		}
	}
}

// The number of operations an open-loop run offers follows from the
// schedule alone: rate × duration, however fast or slow they complete.
func TestOpenLoopOffersRateTimesDuration(t *testing.T) {
	var ran atomic.Int64
	run, err := Drive(context.Background(), Load{Rate: 2000, Duration: 250 * time.Millisecond}, func(context.Context, int) error {
		ran.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	completed, failed := run.Recorder.Counts()
	if run.Offered != 500 || ran.Load() != 500 || completed != 500 || failed != 0 {
		t.Fatalf("offered %d, ran %d, completed %d, failed %d; want 500 each and no failure", run.Offered, ran.Load(), completed, failed)
	}
	if run.Exhausted {
		t.Fatal("reported exhausted without a limit")
	}
}

// No coordinated omission: when the system stalls, operations that should
// have been sent during the stall are charged from their intended time,
// even when the generator itself could not send them (here, one operation
// in flight at most, and the first one takes 200 ms).
func TestOpenLoopChargesAStallToEveryOperationScheduledDuringIt(t *testing.T) {
	const stall = 200 * time.Millisecond
	load := Load{Rate: 1000, Duration: 100 * time.Millisecond, MaxInFlight: 1}
	run, err := Drive(context.Background(), load, func(_ context.Context, i int) error {
		if i == 0 {
			time.Sleep(stall)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Recorder.Summary()
	if s.Count != 100 {
		t.Fatalf("%d completed, want 100", s.Count)
	}
	// Operation i was due at i ms and could not finish before 200 ms: at
	// least 200 − i ms each, so the median is at least 150 ms. A harness
	// timing from the actual send would report about 0 ms.
	if s.P50 < 150 || s.Max < float64(stall.Milliseconds()) {
		t.Fatalf("p50 %.1f ms, max %.1f ms: the stall was not charged from the intended send times", s.P50, s.Max)
	}
}

func TestClosedLoopKeepsConcurrencyAndStopsAtTheLimit(t *testing.T) {
	var inFlight, peak atomic.Int64
	var mu sync.Mutex
	seen := map[int]bool{}
	run, err := Drive(context.Background(), Load{Concurrency: 4, Duration: time.Minute, Limit: 200}, func(_ context.Context, i int) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		seen[i] = true
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Offered != 200 || len(seen) != 200 || !run.Exhausted {
		t.Fatalf("offered %d, distinct ops %d, exhausted %v; want 200, 200, true", run.Offered, len(seen), run.Exhausted)
	}
	for i := range 200 {
		if !seen[i] {
			t.Fatalf("operation %d never ran", i)
		}
	}
	if peak.Load() > 4 {
		t.Fatalf("%d operations in flight at once with 4 workers", peak.Load())
	}
}

func TestDrainCancelsOperationsThatNeverFinish(t *testing.T) {
	load := Load{Rate: 100, Duration: 50 * time.Millisecond, Drain: 50 * time.Millisecond}
	run, err := Drive(context.Background(), load, func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	completed, failed := run.Recorder.Counts()
	if completed != 0 || failed != run.Offered || run.Offered != 5 {
		t.Fatalf("offered %d, completed %d, failed %d; want 5, 0, 5", run.Offered, completed, failed)
	}
	if got := run.Recorder.Errors()["timeout"]; got != 5 {
		t.Fatalf("timeouts %d, want 5", got)
	}
}

func TestLoadNeedsARateOrAConcurrency(t *testing.T) {
	for _, l := range []Load{{Duration: time.Second}, {Rate: -1, Duration: time.Second}, {Concurrency: 1}} {
		if _, err := Drive(context.Background(), l, func(context.Context, int) error { return nil }); err == nil {
			t.Errorf("Drive(%+v) accepted", l)
		}
	}
}

func TestProgressLinesReportTheRun(t *testing.T) {
	var out syncBuffer
	load := Load{Rate: 200, Duration: 1100 * time.Millisecond, Progress: &out, Label: "unit"}
	if _, err := Drive(context.Background(), load, func(context.Context, int) error { return nil }); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"unit", "offered", "completed", "errors", "p99"} {
		if !contains(text, want) {
			t.Fatalf("progress %q lacks %q", text, want)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
