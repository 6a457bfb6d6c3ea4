package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Op performs operation i of a run (i counts from 0, in offering order)
// and returns once the operation is complete, or failed. It must return
// promptly when ctx ends.
type Op func(ctx context.Context, i int) error

// Load says how a run offers operations.
type Load struct {
	// Rate > 0 offers operations open-loop at this many per second, each
	// with an intended send time fixed in advance; latency is measured from
	// that time, so queueing anywhere (here included) shows.
	Rate float64
	// Concurrency is the number of closed-loop workers, used when Rate is 0:
	// each sends its next operation when the previous one completed.
	Concurrency int
	// Duration is how long operations are offered.
	Duration time.Duration
	// Limit caps the operations offered (0: no cap), for scenarios that
	// seeded a finite pool of work.
	Limit int
	// MaxInFlight bounds outstanding open-loop operations (default 200,000):
	// beyond it the generator waits, and the wait counts in the latency.
	MaxInFlight int
	// Drain is how long outstanding operations may take to finish once
	// offering stopped (default 30 s); then they are cancelled.
	Drain time.Duration
	// Progress receives one line per second while the run lasts (nil: none).
	Progress io.Writer
	// Label prefixes the progress lines.
	Label string
	// Sample, when set, is called once per second while the run lasts (for
	// peak memory sampling).
	Sample func()
}

// Mode names the load model: "open" or "closed".
func (l Load) Mode() string {
	if l.Rate > 0 {
		return "open"
	}
	return "closed"
}

func (l *Load) validate() error {
	switch {
	case l.Rate < 0:
		return fmt.Errorf("load: rate %v must not be negative", l.Rate)
	case l.Rate == 0 && l.Concurrency <= 0:
		return errors.New("load: give a rate (open loop) or a concurrency (closed loop)")
	case l.Duration <= 0:
		return fmt.Errorf("load: duration %v must be positive", l.Duration)
	case l.Limit < 0:
		return fmt.Errorf("load: limit %d must not be negative", l.Limit)
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = 200_000
	}
	if l.Drain <= 0 {
		l.Drain = 30 * time.Second
	}
	return nil
}

// Run is what Drive measured.
type Run struct {
	Start     time.Time     // the first intended send time
	Offered   int64         // operations sent
	OfferedIn time.Duration // how long offering lasted
	Exhausted bool          // offering stopped at Limit, before Duration
	Elapsed   time.Duration // from Start to the last completion
	Recorder  *Recorder
}

// Throughput is successful operations per second over the run.
func (r *Run) Throughput() float64 {
	completed, _ := r.Recorder.Counts()
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(completed) / r.Elapsed.Seconds()
}

// Drive offers op as load says and waits for the operations to finish.
func Drive(ctx context.Context, load Load, op Op) (*Run, error) {
	if err := load.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	run := &Run{Start: start, Recorder: NewRecorder(start)}
	opCtx, cancelOps := context.WithCancel(ctx)
	defer cancelOps()

	var offered atomic.Int64
	var wg sync.WaitGroup
	stopProgress := startProgress(load, run, &offered)
	if load.Rate > 0 {
		run.Exhausted = openLoop(ctx, opCtx, load, op, run.Recorder, &offered, &wg)
	} else {
		run.Exhausted = closedLoop(ctx, opCtx, load, op, run.Recorder, &offered, &wg)
	}
	run.OfferedIn = time.Since(start)
	drain(&wg, load.Drain, cancelOps)
	stopProgress()
	run.Offered = offered.Load()
	if last := run.Recorder.LastCompletion(); last.After(start) {
		run.Elapsed = last.Sub(start)
	}
	if err := ctx.Err(); err != nil {
		return run, fmt.Errorf("load interrupted: %w", err)
	}
	return run, nil
}

type intendedKey struct{}

func withIntended(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, intendedKey{}, at)
}

// IntendedFrom is the intended send time of the operation ctx was given
// to (open loop: its slot in the schedule; closed loop: when it was
// sent), so that an operation can time its own steps from it as the
// harness times the whole; now when ctx carries none.
func IntendedFrom(ctx context.Context) time.Time {
	if at, ok := ctx.Value(intendedKey{}).(time.Time); ok {
		return at
	}
	return time.Now()
}

// IntendedAt is the intended send time of operation i of an open-loop run
// at rate per second: a fixed schedule, whatever happens to earlier sends.
func IntendedAt(start time.Time, i int, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// openLoop sends operation i at IntendedAt(i). When the generator falls
// behind (a slow wake-up, the in-flight bound) it sends every overdue
// operation at once, each keeping its intended time. It reports whether it
// stopped at the limit.
func openLoop(ctx, opCtx context.Context, load Load, op Op, rec *Recorder, offered *atomic.Int64, wg *sync.WaitGroup) bool {
	start := rec.start
	end := start.Add(load.Duration)
	slots := make(chan struct{}, load.MaxInFlight)
	for i := 0; ; i++ {
		if load.Limit > 0 && i >= load.Limit {
			return true
		}
		intended := IntendedAt(start, i, load.Rate)
		if !intended.Before(end) {
			return false
		}
		if wait := time.Until(intended); wait > 0 && !sleepCtx(ctx, wait) {
			return false
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		offered.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := op(withIntended(opCtx, intended), i)
			rec.Record(intended, time.Now(), err)
			<-slots
		}()
	}
}

// closedLoop runs Concurrency workers, each sending its next operation as
// soon as the previous one finished. It reports whether it stopped at the
// limit.
func closedLoop(ctx, opCtx context.Context, load Load, op Op, rec *Recorder, offered *atomic.Int64, wg *sync.WaitGroup) bool {
	end := rec.start.Add(load.Duration)
	var next atomic.Int64
	var exhausted atomic.Bool
	var workers sync.WaitGroup
	for range load.Concurrency {
		workers.Add(1)
		wg.Add(1)
		go func() {
			defer workers.Done()
			defer wg.Done()
			for ctx.Err() == nil {
				sent := time.Now()
				if !sent.Before(end) {
					return
				}
				i := int(next.Add(1) - 1)
				if load.Limit > 0 && i >= load.Limit {
					exhausted.Store(true)
					return
				}
				offered.Add(1)
				err := op(withIntended(opCtx, sent), i)
				rec.Record(sent, time.Now(), err)
			}
		}()
	}
	// Offering ends when every worker stopped sending; their last
	// operations have finished by then, so there is nothing left to drain.
	workers.Wait()
	return exhausted.Load()
}

// drain waits for outstanding operations, cancelling them after patience.
func drain(wg *sync.WaitGroup, patience time.Duration, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(patience):
		cancel()
		<-done
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startProgress prints a line per second: offered, completed, errors, in
// flight, p99 so far and p99 of the last second. It returns a stop func.
func startProgress(load Load, run *Run, offered *atomic.Int64) func() {
	if load.Progress == nil && load.Sample == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				if load.Sample != nil {
					load.Sample()
				}
				if load.Progress != nil {
					fmt.Fprintln(load.Progress, progressLine(load.Label, now, run, offered.Load()))
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

func progressLine(label string, now time.Time, run *Run, offered int64) string {
	rec := run.Recorder
	completed, failed := rec.Counts()
	elapsed := now.Sub(run.Start)
	sec := int(elapsed/time.Second) - 1
	last := rec.SecondSummary(sec)
	return fmt.Sprintf("%-9s %5.0fs  offered %9d  completed %9d (%7.0f/s)  errors %6d  in flight %6d  p99 %8.2f ms  (last 1 s: %8.2f ms)",
		label, elapsed.Seconds(), offered, completed, float64(last.Count), failed, offered-completed-failed,
		rec.Summary().P99, last.P99)
}
