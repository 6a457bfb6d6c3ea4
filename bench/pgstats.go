package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// dbCounters are Postgres's cumulative statistics at one moment: those of
// the run's database (pg_stat_database) and the cluster's WAL (pg_stat_wal).
type dbCounters struct {
	commits, rollbacks        int64
	inserted, updated, delete int64
	walRecords, walBytes      int64
	walWrites, walSyncs       int64
}

// DBStats is what Postgres did during a measured window. Commits counts
// every transaction, read-only ones included; rows are heap tuples written.
type DBStats struct {
	Commits     int64 `json:"commits"`
	Rollbacks   int64 `json:"rollbacks"`
	RowsWritten int64 `json:"rows_written"` // inserted + updated + deleted
	Inserted    int64 `json:"inserted"`
	Updated     int64 `json:"updated"`
	Deleted     int64 `json:"deleted"`
	WALRecords  int64 `json:"wal_records"`
	WALBytes    int64 `json:"wal_bytes"`
	WALWrites   int64 `json:"wal_writes"`
	WALSyncs    int64 `json:"wal_syncs"` // fsyncs of the WAL, cluster-wide
}

// flushStats makes every idle connection of pool publish its pending
// statistics: a backend otherwise publishes them at most once a second,
// and only when it next goes idle, so counters read right after a burst
// would miss part of it.
func flushStats(ctx context.Context, pool *pgxpool.Pool) error {
	for _, c := range pool.AcquireAllIdle(ctx) {
		_, err := c.Exec(ctx, "SELECT pg_stat_force_next_flush()")
		c.Release()
		if err != nil {
			return fmt.Errorf("flush statistics: %w", err)
		}
	}
	return nil
}

func readCounters(ctx context.Context, pool *pgxpool.Pool) (dbCounters, error) {
	if err := flushStats(ctx, pool); err != nil {
		return dbCounters{}, err
	}
	var c dbCounters
	err := pool.QueryRow(ctx, `SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_deleted,
		w.wal_records, w.wal_bytes::bigint, w.wal_write, w.wal_sync
		FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`).
		Scan(&c.commits, &c.rollbacks, &c.inserted, &c.updated, &c.delete,
			&c.walRecords, &c.walBytes, &c.walWrites, &c.walSyncs)
	if err != nil {
		return c, fmt.Errorf("read database statistics: %w", err)
	}
	return c, nil
}

func (c dbCounters) since(before dbCounters) DBStats {
	s := DBStats{
		Commits: c.commits - before.commits, Rollbacks: c.rollbacks - before.rollbacks,
		Inserted: c.inserted - before.inserted, Updated: c.updated - before.updated, Deleted: c.delete - before.delete,
		WALRecords: c.walRecords - before.walRecords, WALBytes: c.walBytes - before.walBytes,
		WALWrites: c.walWrites - before.walWrites, WALSyncs: c.walSyncs - before.walSyncs,
	}
	s.RowsWritten = s.Inserted + s.Updated + s.Deleted
	return s
}

// Statement is one line of pg_stat_statements.
type Statement struct {
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMS float64 `json:"total_ms"`
	MeanMS  float64 `json:"mean_ms"`
	Rows    int64   `json:"rows"`
}

// resetStatements clears pg_stat_statements when the extension is there;
// it reports whether it is.
func resetStatements(ctx context.Context, pool *pgxpool.Pool) bool {
	if _, err := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return false
	}
	_, err := pool.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return err == nil
}

// topStatements returns the statements of this database that took the most
// time since the last reset.
func topStatements(ctx context.Context, pool *pgxpool.Pool, n int) ([]Statement, error) {
	rows, err := pool.Query(ctx, `SELECT query, calls, total_exec_time, mean_exec_time, rows FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	var out []Statement
	for rows.Next() {
		var s Statement
		if err := rows.Scan(&s.Query, &s.Calls, &s.TotalMS, &s.MeanMS, &s.Rows); err != nil {
			return nil, fmt.Errorf("read pg_stat_statements: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// JournalStats describes the group-commit journal's batches in a window.
type JournalStats struct {
	Batches       int64   `json:"batches"` // transactions attempted
	Failed        int64   `json:"failed"`
	Changes       int64   `json:"changes"`    // actor changes committed
	Statements    int64   `json:"statements"` // SQL statements committed
	CommitsPerSec float64 `json:"commits_per_sec"`
	ChangesPer    float64 `json:"changes_per_commit"`
	StatementsPer float64 `json:"statements_per_commit"`
	MeanBatchMS   float64 `json:"mean_batch_ms"`
	MaxBatchMS    float64 `json:"max_batch_ms"`
	MaxChanges    int64   `json:"max_changes_per_commit"`
	// Rows and RowsPer are the rows written, when the stats come from
	// kashd's /metrics (FromMetrics), which counts rows, not statements.
	Rows        int64   `json:"rows,omitempty"`
	RowsPer     float64 `json:"rows_per_commit,omitempty"`
	FromMetrics bool    `json:"from_metrics,omitempty"`
}

// JournalMeter is a persistence.JournalObserver that counts the journal's
// batches; Window reads and resets it.
type JournalMeter struct {
	mu                  sync.Mutex
	batches, failed     int64
	changes, statements int64
	took, maxTook       time.Duration
	maxChanges          int64
}

// ObserveBatch implements persistence.JournalObserver.
func (m *JournalMeter) ObserveBatch(items, rows int, took time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches++
	m.took += took
	m.maxTook = max(m.maxTook, took)
	if err != nil {
		m.failed++
		return
	}
	m.changes += int64(items)
	m.statements += int64(rows)
	m.maxChanges = max(m.maxChanges, int64(items))
}

// Reset starts a new window.
func (m *JournalMeter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches, m.failed, m.changes, m.statements, m.maxChanges = 0, 0, 0, 0, 0
	m.took, m.maxTook = 0, 0
}

// Window returns the stats since the last Reset, which was window ago.
func (m *JournalMeter) Window(window time.Duration) JournalStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := JournalStats{Batches: m.batches, Failed: m.failed, Changes: m.changes, Statements: m.statements,
		MaxBatchMS: ms(m.maxTook), MaxChanges: m.maxChanges}
	if ok := m.batches - m.failed; ok > 0 {
		s.ChangesPer = float64(m.changes) / float64(ok)
		s.StatementsPer = float64(m.statements) / float64(ok)
	}
	if m.batches > 0 {
		s.MeanBatchMS = ms(m.took) / float64(m.batches)
	}
	if secs := window.Seconds(); secs > 0 {
		s.CommitsPerSec = float64(m.batches-m.failed) / secs
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
