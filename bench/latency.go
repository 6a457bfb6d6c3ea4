package bench

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, with
// three significant digits: enough to tell 10.0 ms from 10.1 ms, in a few
// tens of kilobytes per histogram.
const (
	histMinMicros = 1
	histMaxMicros = int64(10 * time.Minute / time.Microsecond)
	histSigFigs   = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
}

// LatencySummary is a latency distribution in milliseconds.
type LatencySummary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(h *hdrhistogram.Histogram) LatencySummary {
	if h.TotalCount() == 0 {
		return LatencySummary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return LatencySummary{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// SecondPoint is one second of a run, by completion time: how many
// operations completed in it, and their latency percentiles.
type SecondPoint struct {
	Second    int     `json:"second"`
	Completed int64   `json:"completed"`
	Errors    int64   `json:"errors"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
}

// Recorder collects the outcome of every operation of a run: latencies of
// the successful ones (overall and per second of completion) and the
// errors by code. It is safe for concurrent use.
type Recorder struct {
	start time.Time

	mu        sync.Mutex
	all       *hdrhistogram.Histogram
	seconds   []*hdrhistogram.Histogram
	secErrors []int64
	errors    map[string]int64
	completed int64
	failed    int64
	last      time.Time
}

// NewRecorder returns a recorder whose per-second series starts at start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, all: newHistogram(), errors: map[string]int64{}}
}

// Record adds one operation intended to start at intended and finished at
// done. A failed operation (err != nil) is counted under its ErrorCode and
// kept out of the latency distribution, which describes successes.
func (r *Recorder) Record(intended, done time.Time, err error) {
	micros := max(done.Sub(intended).Microseconds(), histMinMicros)
	micros = min(micros, histMaxMicros)
	sec := max(int(done.Sub(r.start)/time.Second), 0)

	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.seconds) <= sec {
		r.seconds = append(r.seconds, nil)
		r.secErrors = append(r.secErrors, 0)
	}
	if done.After(r.last) {
		r.last = done
	}
	if err != nil {
		r.failed++
		r.errors[ErrorCode(err)]++
		r.secErrors[sec]++
		return
	}
	r.completed++
	// RecordValue fails only outside the trackable range, clamped above.
	_ = r.all.RecordValue(micros)
	if r.seconds[sec] == nil {
		r.seconds[sec] = newHistogram()
	}
	_ = r.seconds[sec].RecordValue(micros)
}

// Counts returns the operations completed and failed so far.
func (r *Recorder) Counts() (completed, failed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.completed, r.failed
}

// Summary is the latency distribution of every success so far.
func (r *Recorder) Summary() LatencySummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return summarize(r.all)
}

// SecondSummary is the latency distribution of the successes that
// completed in second sec of the run.
func (r *Recorder) SecondSummary(sec int) LatencySummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sec < 0 || sec >= len(r.seconds) || r.seconds[sec] == nil {
		return LatencySummary{}
	}
	return summarize(r.seconds[sec])
}

// Series returns one point per second of the run, from its start to the
// last completion.
func (r *Recorder) Series() []SecondPoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]SecondPoint, len(r.seconds))
	for i, h := range r.seconds {
		p := SecondPoint{Second: i, Errors: r.secErrors[i]}
		if h != nil {
			s := summarize(h)
			p.Completed, p.P50, p.P99, p.Max = s.Count, s.P50, s.P99, s.Max
		}
		out[i] = p
	}
	return out
}

// Errors returns the failures by code.
func (r *Recorder) Errors() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.errors))
	for k, v := range r.errors {
		out[k] = v
	}
	return out
}

// LastCompletion is when the last operation finished (zero if none did).
func (r *Recorder) LastCompletion() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// OpError is an operation's failure with the code the report counts it
// under (for example "issuer_failed" or "status_refunding").
type OpError struct {
	Code string
	Err  error
}

func (e *OpError) Error() string {
	if e.Err == nil {
		return e.Code
	}
	return e.Code + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// opErr wraps err under code.
func opErr(code string, err error) error { return &OpError{Code: code, Err: err} }

// ErrorCode is the code a failure is reported under: the code of an
// OpError, "timeout" for a deadline or cancellation (the operation did not
// finish within the run's drain time), else "error".
func ErrorCode(err error) string {
	var oe *OpError
	switch {
	case errors.As(err, &oe):
		return oe.Code
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout"
	default:
		return "error"
	}
}

// sortedKeys returns m's keys in order, for stable reports.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
