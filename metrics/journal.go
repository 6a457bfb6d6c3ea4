package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Journal reports the group-commit journal writer: how many actor writes go
// into one Postgres transaction, how long the commit takes, and failures.
type Journal struct {
	batchSize      prometheus.Histogram   // kash_journal_batch_size
	commitDuration prometheus.Histogram   // kash_journal_commit_duration_seconds
	rows           prometheus.Counter     // kash_journal_rows_written_total
	batches        *prometheus.CounterVec // kash_journal_batches_total{result}
	items          *prometheus.CounterVec // kash_journal_items_total{result}
	queue          prometheus.Gauge       // kash_journal_queue_length
	inFlight       prometheus.Gauge       // kash_journal_batches_in_flight
}

// Values of the result label of the journal counters.
const (
	ResultCommitted = "committed"
	ResultFailed    = "failed"
)

// batchSizeBuckets are powers of two: group commit is working when most
// batches land well above 1.
var batchSizeBuckets = prometheus.ExponentialBuckets(1, 2, 12)

// commitBuckets span a local Postgres commit (sub-millisecond) to a stalled one.
var commitBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

func newJournal(m *Metrics) *Journal {
	j := &Journal{
		batchSize: m.histogram("kash_journal_batch_size",
			"Items (actor writes) per journal batch, one Postgres transaction each.", batchSizeBuckets),
		commitDuration: m.histogram("kash_journal_commit_duration_seconds",
			"Time to write and commit one journal batch, committed or failed.", commitBuckets),
		rows: m.counter("kash_journal_rows_written_total",
			"Rows written to Postgres by committed journal batches."),
		batches: m.counterVec("kash_journal_batches_total",
			"Journal batches by result (committed, failed).", "result"),
		items: m.counterVec("kash_journal_items_total",
			"Journal items (actor writes) by the result of their batch (committed, failed).", "result"),
		queue: m.gauge("kash_journal_queue_length",
			"Items waiting for the next journal batch."),
		inFlight: m.gauge("kash_journal_batches_in_flight",
			"Journal batches sent to Postgres and not yet committed or failed."),
	}
	for _, r := range []string{ResultCommitted, ResultFailed} {
		j.batches.WithLabelValues(r)
		j.items.WithLabelValues(r)
	}
	return j
}

// ObserveBatch records one batch of items that wrote rows, took elapsed,
// and committed when err is nil. Rows of a failed batch are not counted:
// nothing of it was written.
func (j *Journal) ObserveBatch(items, rows int, elapsed time.Duration, err error) {
	if j == nil {
		return
	}
	result := ResultCommitted
	if err != nil {
		result = ResultFailed
	} else {
		j.rows.Add(float64(rows))
	}
	j.batches.WithLabelValues(result).Inc()
	j.items.WithLabelValues(result).Add(float64(items))
	j.batchSize.Observe(float64(items))
	j.commitDuration.Observe(elapsed.Seconds())
}

// SetQueueLength reports the items waiting for a batch.
func (j *Journal) SetQueueLength(n int) {
	if j == nil {
		return
	}
	j.queue.Set(float64(n))
}

// SetBatchesInFlight reports the batches being committed right now.
func (j *Journal) SetBatchesInFlight(n int) {
	if j == nil {
		return
	}
	j.inFlight.Set(float64(n))
}
