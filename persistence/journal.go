package persistence

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// AnyRows is the Expect value of a write whose row count does not matter.
const AnyRows = -1

// Write is one SQL statement of a Change. Expect is the number of rows it
// must affect (or return, for SELECT); a mismatch fails the change with
// ErrFenced. Versioned updates say Expect: 1.
type Write struct {
	SQL    string
	Args   []any
	Expect int64
}

// writeSet is the atomic unit of the journal: the statements of one
// engine.Change, committed together or not at all. Sets with the same
// stream commit in the order they were submitted.
type writeSet struct {
	Stream string
	Writes []Write
}

// JournalObserver receives one call per attempted batch, for metrics.
type JournalObserver interface {
	ObserveBatch(items, rows int, took time.Duration, err error)
}

// JournalConfig tunes the journal. Zero values take the defaults.
type JournalConfig struct {
	MaxBatch int             // changes per transaction (default 512)
	Workers  int             // transactions in flight at once (default 4)
	Observer JournalObserver // optional
}

// Journal is the group-commit writer: it gathers the changes of many actors
// into one Postgres transaction (a pipelined pgx batch), keeps several such
// transactions in flight, and calls each change's done function after its
// transaction committed. When a transaction fails, the change at fault is
// found (the statement that failed or matched the wrong number of rows),
// failed alone, and the others are retried without it.
type Journal struct {
	pool     *pgxpool.Pool
	cfg      JournalConfig
	submit   chan *pending
	idle     chan chan []*pending
	finished chan []*pending
	stop     chan struct{}
	wg       sync.WaitGroup

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
	)
	accept := func(p *pending) {
		s := p.change.Stream
		if s == "" {
			ready = append(ready, p)
			return
		}
		if inflight[s] {
			waiting[s] = append(waiting[s], p)
			return
		}
		inflight[s] = true
		ready = append(ready, p)
	}
	for {
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
		rows, culprit, err := j.try(live)
		if j.cfg.Observer != nil {
			j.cfg.Observer.ObserveBatch(len(live), rows, time.Since(start), err)
		}
		if err == nil {
			for _, p := range live {
				p.done(nil)
			}
			return
		}
		if culprit < 0 {
			// The failure cannot be pinned on one change (connection lost,
			// commit refused): none is known to be committed, so every
			// writer reloads its durable state.
			for _, p := range live {
				p.done(err)
			}
			return
		}
		live[culprit].done(err)
		live = append(live[:culprit:culprit], live[culprit+1:]...)
	}
}

// try runs one transaction. It returns the rows written, and on failure the
// index of the change at fault, or -1 when no single change is.
func (j *Journal) try(batch []*pending) (rows int, culprit int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		return 0, -1, fmt.Errorf("journal: acquire connection: %w", err)
	}
	defer conn.Release()

	var b pgx.Batch
	b.Queue("BEGIN")
	owner := make([]int, 0, len(batch)*4)
	for i, p := range batch {
		for _, w := range p.change.Writes {
			b.Queue(w.SQL, w.Args...)
			owner = append(owner, i)
		}
	}

	// COMMIT is sent only after every write's row count was checked: a
	// fenced write must roll back the whole transaction.
	br := conn.SendBatch(ctx, &b)
	culprit, err = readBatch(br, batch, owner)
	if cerr := br.Close(); err == nil && cerr != nil {
		err, culprit = fmt.Errorf("journal: batch: %w", cerr), -1
	}
	if err == nil {
		if _, err = conn.Exec(ctx, "COMMIT"); err != nil {
			return 0, -1, fmt.Errorf("journal: commit: %w", err)
		}
		return len(owner), -1, nil
	}
	// The transaction is open or aborted: roll it back before the
	// connection goes back to the pool, or discard the connection.
	if _, rerr := conn.Exec(ctx, "ROLLBACK"); rerr != nil {
		_ = conn.Conn().PgConn().Close(ctx)
	}
	return 0, culprit, err
}

func readBatch(br pgx.BatchResults, batch []*pending, owner []int) (culprit int, err error) {
	if _, err := br.Exec(); err != nil {
		return -1, fmt.Errorf("journal: begin: %w", err)
	}
	k := 0
	for i, p := range batch {
		for w, write := range p.change.Writes {
			tag, err := br.Exec()
			if err != nil {
				return owner[k], fmt.Errorf("journal: stream %q write %d: %w", p.change.Stream, w, classify(err))
			}
			if write.Expect != AnyRows && tag.RowsAffected() != write.Expect {
				return i, fmt.Errorf("%w: stream %q write %d affected %d rows, want %d",
					ErrFenced, p.change.Stream, w, tag.RowsAffected(), write.Expect)
			}
			k++
		}
	}
	return -1, nil
}

// ErrDuplicate wraps a unique violation: the change repeats something that
// is already durable (a ledger entry ref, an operation id).
var ErrDuplicate = engine.ErrDuplicate

func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrDuplicate, pgErr.ConstraintName)
	}
	return err
}
