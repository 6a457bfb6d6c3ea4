package bench

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metricsSnapshot holds the counters of kashd's /metrics the report uses.
type metricsSnapshot struct {
	ok     bool
	values map[string]float64 // "name" or "name{labels}" → value
}

// scrape reads kashd's /metrics; a failed read gives an empty snapshot.
func (w *apiWorld) scrape() metricsSnapshot {
	text, err := w.client.Metrics()
	if err != nil {
		return metricsSnapshot{}
	}
	return parseMetrics(text)
}

// parseMetrics reads the Prometheus text format's samples.
func parseMetrics(text string) metricsSnapshot {
	s := metricsSnapshot{ok: true, values: map[string]float64{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		s.values[line[:i]] = v
	}
	return s
}

func (s metricsSnapshot) get(name string) float64 { return s.values[name] }

// journalSince is the journal's batches between first and s, from
// kashd's kash_journal_* metrics (nil when either scrape failed, as after
// a restart the counters start again).
func (s metricsSnapshot) journalSince(first metricsSnapshot, window time.Duration) *JournalStats {
	if !s.ok || !first.ok {
		return nil
	}
	d := func(name string) float64 { return s.get(name) - first.get(name) }
	committed := d(`kash_journal_batches_total{result="committed"}`)
	failed := d(`kash_journal_batches_total{result="failed"}`)
	if committed < 0 || failed < 0 {
		return nil // kashd restarted in between
	}
	j := &JournalStats{Batches: int64(committed + failed), Failed: int64(failed),
		Changes: int64(d(`kash_journal_items_total{result="committed"}`)),
		Rows:    int64(d("kash_journal_rows_written_total")), FromMetrics: true}
	if committed > 0 {
		j.ChangesPer = float64(j.Changes) / committed
		j.RowsPer = float64(j.Rows) / committed
	}
	if n := d("kash_journal_commit_duration_seconds_count"); n > 0 {
		j.MeanBatchMS = d("kash_journal_commit_duration_seconds_sum") / n * 1000
	}
	if secs := window.Seconds(); secs > 0 {
		j.CommitsPerSec = committed / secs
	}
	return j
}

// sampler reads kashd's treasury gauges once a second during the window,
// for the peak queue of fundings waiting for float. It reads /metrics, not
// GET /v1/admin/treasury: that view sums the whole ledger twice per call
// (persistence.Queries.Treasury), which would load Postgres with the
// harness's own work.
type sampler struct {
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu          sync.Mutex
	peakQueue   int
	peakAmount  int64 // USD cents
	samples     int
	unreachable int
}

func (w *apiWorld) startSampler() {
	s := &sampler{done: make(chan struct{}), stopped: make(chan struct{})}
	w.sampler = s
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				w.sampleTreasury(s)
			}
		}
	}()
}

func (w *apiWorld) sampleTreasury(s *sampler) {
	m := w.scrape()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	if !m.ok {
		s.unreachable++
		return
	}
	s.peakQueue = max(s.peakQueue, int(m.get("kash_treasury_float_queue_length")))
	s.peakAmount = max(s.peakAmount, int64(m.get(`kash_treasury_float_queue_amount{currency="USD"}`)*100+0.5))
}

// peak is the longest queue seen so far.
func (s *sampler) peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakQueue
}

func (s *sampler) stop() {
	s.once.Do(func() {
		close(s.done)
		<-s.stopped
	})
}

func (w *apiWorld) stopSampler() {
	if w.sampler != nil {
		w.sampler.stop()
	}
}

// sampledFacts reports the peak treasury queue seen by the sampler.
func (w *apiWorld) sampledFacts() []Fact {
	s := w.sampler
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := fact("peak treasury queue (kashd's treasury gauges, once a second)", "%d fundings, %s USD", s.peakQueue,
		usdText(s.peakAmount))
	if s.unreachable > 0 {
		f.Value += fmt.Sprintf(" (%d of %d samples unanswered)", s.unreachable, s.samples)
	}
	return []Fact{f}
}

// watchers are the processes of the system under test besides Postgres.
func (w *apiWorld) watchers() []*ProcWatcher {
	if w.watcher == nil {
		return nil
	}
	return []*ProcWatcher{w.watcher}
}

// facts describe the world for the report.
func (w *apiWorld) facts() []Fact {
	out := []Fact{fact("world", "%d users (OTP sign-in, KYC approved by ops), %d cards", len(w.users), len(w.cards))}
	if w.kashd != nil {
		out = append(out, fact("kashd", "child process (built from this tree), fresh database, simulator in the harness over HTTP; mtn-bj payers approve after %s", w.cfg.asyncDelay))
	} else {
		out = append(out, fact("kashd", "given: %s, simulator %s", w.opts.API, w.opts.Sim))
	}
	if w.pool != nil {
		out = append(out, fact("harness database pool (checks and statistics only)", "%d connections", w.pool.Config().MaxConns))
	}
	return out
}
