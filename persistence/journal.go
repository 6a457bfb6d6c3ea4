package persistence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
)

// ErrFenced means a conditional write matched no row: the row's version is
// not the one its writer last saw, so another activation (or a lost race)
// got there first. The writer must reload its state from Postgres.
var ErrFenced = engine.ErrFenced

// ErrClosed is returned for changes submitted after Close.
var ErrClosed = errors.New("journal: closed")

// AnyRows is the expected row count of a write whose row count does not
// matter (a history row or an outbox message that may already exist).
const AnyRows = -1

// rowWrite is one row written by a Change: its kind says the table, the SQL
// and how many rows it must affect; args are the per-row statement's
// arguments, in the kind's column order.
type rowWrite struct {
	kind *writeKind
	args []any
}

// writeSet is the atomic unit of the journal: the writes of one
// engine.Change, committed together or not at all. Sets with the same
// stream commit in the order they were submitted.
type writeSet struct {
	Stream string
	Writes []rowWrite
}

// JournalObserver receives one call per attempted batch, for metrics: rows
// is the number of row writes of the batch (not of statements, which the
// set path makes far fewer; see Journal.Stats).
type JournalObserver interface {
	ObserveBatch(items, rows int, took time.Duration, err error)
}

// JournalConfig tunes the journal. Zero values take the defaults.
type JournalConfig struct {
	MaxBatch int             // changes per transaction (default 512)
	Workers  int             // transactions in flight at once (default 4)
	Observer JournalObserver // optional
	// RowByRow turns the set-based writes off: one statement per row, as
	// the set path's fallback does. For comparison and diagnosis.
	RowByRow bool
}

// Journal is the group-commit writer: it gathers the changes of many actors
// into one Postgres transaction (a pipelined pgx batch), keeps several such
// transactions in flight, and calls each change's done function after its
// transaction committed. A transaction writes each kind of row (card
// updates, ledger entries, ...) of all its changes with one set-based
// statement (journal_set.go), and falls back to one statement per row to
// find the culprit of an error. When a transaction fails, the change at
// fault is found (the row that failed or matched no row), failed alone, and
// the others are retried without it.
type Journal struct {
	pool     *pgxpool.Pool
	cfg      JournalConfig
	submit   chan *pending
	idle     chan chan []*pending
	finished chan []*pending
	stop     chan struct{}
	wg       sync.WaitGroup

	stats journalCounters

	closeOnce sync.Once
	mu        sync.RWMutex // guards closed against concurrent Submit
	closed    bool
}

type pending struct {
	change writeSet
	done   func(error)
}

// NewJournal starts the journal's dispatcher and workers on pool.
func NewJournal(pool *pgxpool.Pool, cfg JournalConfig) *Journal {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	j := &Journal{
		pool:     pool,
		cfg:      cfg,
		submit:   make(chan *pending, 4*cfg.MaxBatch),
		idle:     make(chan chan []*pending),
		finished: make(chan []*pending, cfg.Workers),
		stop:     make(chan struct{}),
	}
	j.wg.Add(1 + cfg.Workers)
	go j.dispatch()
	for range cfg.Workers {
		go j.work()
	}
	return j
}

// Submit queues c for commit; it implements engine.Journal. done is called
// exactly once, from a journal goroutine, with nil after commit or the
// reason the change was not committed. done must not block for long: actors
// forward it as a message.
func (j *Journal) Submit(c engine.Change, done func(error)) {
	j.submitWrites(writeSet{Stream: c.Stream, Writes: changeWrites(&c)}, done)
}

func (j *Journal) submitWrites(ws writeSet, done func(error)) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		done(ErrClosed)
		return
	}
	j.submit <- &pending{change: ws, done: done}
}

// Commit submits c and waits for its outcome. It is for callers outside the
// actors (recovery, tests, ops tools), which may block.
func (j *Journal) Commit(ctx context.Context, c engine.Change) error {
	res := make(chan error, 1)
	j.Submit(c, func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("journal commit: %w", ctx.Err())
	}
}

// Close stops accepting changes, commits what was submitted, and waits.
func (j *Journal) Close() {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closed = true
		j.mu.Unlock()
		close(j.stop)
		j.wg.Wait()
	})
}

// dispatch hands batches to idle workers, holding back any change whose
// stream already has a change in flight so that a stream commits in order.
func (j *Journal) dispatch() {
	defer j.wg.Done()
	var (
		ready    []*pending
		waiting  = map[string][]*pending{}
		inflight = map[string]bool{}
		workers  []chan []*pending
		stopping bool
		busy     int
		held     int // changes in waiting
	)
	accept := func(p *pending) {
		s := p.change.Stream
		if s == "" {
			ready = append(ready, p)
			return
		}
		if inflight[s] {
			waiting[s] = append(waiting[s], p)
			held++
			return
		}
		inflight[s] = true
		ready = append(ready, p)
	}
	for {
		j.stats.inFlight.Store(int64(busy))
		j.stats.queued.Store(int64(len(ready) + held + len(j.submit)))
		for len(ready) > 0 && len(workers) > 0 {
			n := min(len(ready), j.cfg.MaxBatch)
			batch := make([]*pending, n)
			copy(batch, ready[:n])
			ready = ready[n:]
			w := workers[len(workers)-1]
			workers = workers[:len(workers)-1]
			busy++
			w <- batch
		}
		if stopping && len(ready) == 0 && busy == 0 && len(j.submit) == 0 && len(waiting) == 0 {
			for _, w := range workers {
				close(w)
			}
			for range j.cfg.Workers - len(workers) {
				close(<-j.idle)
			}
			return
		}
		stopCh := j.stop
		if stopping {
			stopCh = nil
		}
		select {
		case p := <-j.submit:
			accept(p)
		case w := <-j.idle:
			workers = append(workers, w)
		case batch := <-j.finished:
			busy--
			for _, p := range batch {
				s := p.change.Stream
				if s == "" {
					continue
				}
				if q := waiting[s]; len(q) > 0 {
					ready = append(ready, q[0])
					held--
					if len(q) == 1 {
						delete(waiting, s)
					} else {
						waiting[s] = q[1:]
					}
				} else {
					delete(inflight, s)
				}
			}
		case <-stopCh:
			stopping = true
		}
	}
}

func (j *Journal) work() {
	defer j.wg.Done()
	in := make(chan []*pending)
	for {
		j.idle <- in
		batch, ok := <-in
		if !ok {
			return
		}
		j.commitBatch(batch)
		j.finished <- batch
	}
}

// commitBatch commits batch, failing only the changes at fault. Every
// change's done is called before it returns.
func (j *Journal) commitBatch(batch []*pending) {
	live := batch
	for len(live) > 0 {
		start := time.Now()
		rows, culprits, err := j.attempt(live)
		if j.cfg.Observer != nil {
			j.cfg.Observer.ObserveBatch(len(live), rows, time.Since(start), err)
		}
		if err == nil {
			for _, p := range live {
				p.done(nil)
			}
			return
		}
		if len(culprits) == 0 {
			// The failure cannot be pinned on a change (connection lost,
			// commit refused): none is known to be committed, so every
			// writer reloads its durable state.
			for _, p := range live {
				p.done(err)
			}
			return
		}
		live = dropCulprits(live, culprits)
	}
}

// culprit is a change that failed by its own fault: it fails alone and the
// rest of its batch is retried without it.
type culprit struct {
	index int // in the batch attempted
	err   error
}

// dropCulprits fails the culprits and returns the rest of live, in order.
func dropCulprits(live []*pending, culprits []culprit) []*pending {
	failed := make(map[int]bool, len(culprits))
	for _, c := range culprits {
		live[c.index].done(c.err)
		failed[c.index] = true
	}
	rest := make([]*pending, 0, len(live)-len(culprits))
	for i, p := range live {
		if !failed[i] {
			rest = append(rest, p)
		}
	}
	return rest
}

// attempt runs one transaction of batch, set-based, and row by row when a
// set statement raised an error (a check constraint, a foreign key, a
// unique constraint other than the key): the per-row path names the change
// at fault. It returns the rows written, and on failure the changes at
// fault, or none when no change is.
func (j *Journal) attempt(batch []*pending) (rows int, culprits []culprit, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("journal: acquire connection: %w", err)
	}
	defer conn.Release()
	j.stats.transactions.Add(1)
	if !j.cfg.RowByRow {
		rows, culprits, err = j.trySet(ctx, conn, batch)
		if !errors.Is(err, errSetFallback) {
			return rows, culprits, err
		}
		j.stats.fallbacks.Add(1)
		j.stats.transactions.Add(1)
	}
	return j.tryRows(ctx, conn, batch)
}

// tryRows runs one transaction of batch, one statement per row. On failure
// it returns the change at fault, when one is.
func (j *Journal) tryRows(ctx context.Context, conn *pgxpool.Conn, batch []*pending) (int, []culprit, error) {
	var b pgx.Batch
	b.Queue("BEGIN")
	owner := make([]int, 0, len(batch)*4)
	for i, p := range batch {
		for _, w := range p.change.Writes {
			b.Queue(w.kind.rowSQL, w.args...)
			owner = append(owner, i)
		}
	}

	// COMMIT is sent only after every write's row count was checked: a
	// fenced write must roll back the whole transaction.
	br := conn.SendBatch(ctx, &b)
	at, err := readRows(br, batch, owner)
	if cerr := br.Close(); err == nil && cerr != nil {
		err, at = fmt.Errorf("journal: batch: %w", cerr), -1
	}
	j.stats.statements.Add(int64(len(owner)))
	if err == nil {
		return j.commit(ctx, conn, len(owner))
	}
	rollback(ctx, conn)
	if at < 0 {
		return 0, nil, err
	}
	return 0, []culprit{{index: at, err: err}}, err
}

// commit ends a transaction whose checks all passed.
func (j *Journal) commit(ctx context.Context, conn *pgxpool.Conn, rows int) (int, []culprit, error) {
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return 0, nil, fmt.Errorf("journal: commit: %w", err)
	}
	j.stats.commits.Add(1)
	j.stats.rows.Add(int64(rows))
	return rows, nil, nil
}

// rollback ends a transaction that is open or aborted, before the
// connection goes back to the pool, or discards the connection.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = conn.Conn().PgConn().Close(ctx)
	}
}

func readRows(br pgx.BatchResults, batch []*pending, owner []int) (culprit int, err error) {
	if _, err := br.Exec(); err != nil {
		return -1, fmt.Errorf("journal: begin: %w", err)
	}
	k := 0
	for i, p := range batch {
		for w, write := range p.change.Writes {
			tag, err := br.Exec()
			if err != nil {
				return owner[k], fmt.Errorf("journal: stream %q write %d (%s): %w", p.change.Stream, w,
					write.kind.name, classify(err))
			}
			if want := write.kind.expect(); want != AnyRows && tag.RowsAffected() != want {
				return i, fmt.Errorf("%w: stream %q write %d (%s) affected %d rows, want %d",
					ErrFenced, p.change.Stream, w, write.kind.name, tag.RowsAffected(), want)
			}
			k++
		}
	}
	return -1, nil
}

// ErrDuplicate wraps a unique violation: the change repeats something that
// is already durable (a ledger entry ref, an operation id). The error is a
// *DuplicateError that names the constraint.
var ErrDuplicate = engine.ErrDuplicate

// DuplicateError is the error of a change that hit a unique constraint; it
// matches errors.Is(err, ErrDuplicate) and names the table and constraint,
// so that the treasury can tell "this funding's reservation already exists"
// (float_reservations_pkey) from a seq collision (float_reservations_seq_key).
type DuplicateError = engine.DuplicateError

func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrUniqueViolation {
		return &DuplicateError{Table: pgErr.TableName, Constraint: pgErr.ConstraintName}
	}
	return err
}

// pgerrUniqueViolation is SQLSTATE unique_violation.
const pgerrUniqueViolation = "23505"

// JournalStats counts the journal's work since it started.
type JournalStats struct {
	Transactions int64 // transactions begun, including those rolled back
	Commits      int64 // transactions committed
	Fallbacks    int64 // set-based transactions redone row by row after an error
	Statements   int64 // write statements sent (BEGIN, COMMIT and ROLLBACK apart)
	Rows         int64 // row writes committed
	Queued       int64 // changes submitted and not yet in a transaction
	InFlight     int64 // transactions in flight
}

type journalCounters struct {
	transactions, commits, fallbacks, statements, rows atomic.Int64
	queued, inFlight                                   atomic.Int64
}

// Stats returns the journal's counters.
func (j *Journal) Stats() JournalStats {
	c := &j.stats
	return JournalStats{Transactions: c.transactions.Load(), Commits: c.commits.Load(),
		Fallbacks: c.fallbacks.Load(), Statements: c.statements.Load(), Rows: c.rows.Load(),
		Queued: c.queued.Load(), InFlight: c.inFlight.Load()}
}
