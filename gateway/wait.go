package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"kash/persistence"
)

// waiter serves the long polls (?wait=N) of fundings and withdrawals. The
// engine wakes them as soon as an operation's final status is committed
// (Server.OperationFinal); as a fallback for what the engine does not tell
// (another process, a missed call), one goroutine checks every waited-on
// operation in one query per kind every PollEvery, however many clients
// wait: the database sees two small queries per tick instead of one per
// waiting client.
type waiter struct {
	queries *persistence.Queries
	every   time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	waiting map[waitKey][]chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

type waitKey struct {
	withdrawal bool
	id         string
}

func newWaiter(q *persistence.Queries, every time.Duration, log *slog.Logger) *waiter {
	w := &waiter{queries: q, every: every, log: log, waiting: map[waitKey][]chan struct{}{},
		done: make(chan struct{}), stopped: make(chan struct{})}
	go w.run()
	return w
}

func (w *waiter) close() {
	close(w.done)
	<-w.stopped
}

// wait returns when the operation is seen final, when timeout passes, or
// when the server closes, whichever is first. The caller then reads the
// operation and answers with whatever status it has.
func (w *waiter) wait(k waitKey, timeout time.Duration) {
	ch := make(chan struct{})
	w.mu.Lock()
	w.waiting[k] = append(w.waiting[k], ch)
	w.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return
	case <-t.C:
	case <-w.done:
	}
	w.forget(k, ch)
}

func (w *waiter) forget(k waitKey, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	chans := w.waiting[k]
	for i, c := range chans {
		if c == ch {
			chans = append(chans[:i], chans[i+1:]...)
			break
		}
	}
	if len(chans) == 0 {
		delete(w.waiting, k)
	} else {
		w.waiting[k] = chans
	}
}

func (w *waiter) run() {
	defer close(w.stopped)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
			w.check()
		}
	}
}

// check looks up every waited-on operation once and wakes those final.
func (w *waiter) check() {
	w.mu.Lock()
	var fundings, withdrawals []string
	for k := range w.waiting {
		if k.withdrawal {
			withdrawals = append(withdrawals, k.id)
		} else {
			fundings = append(fundings, k.id)
		}
	}
	w.mu.Unlock()
	if len(fundings)+len(withdrawals) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.wake(ctx, fundings, false, w.queries.FinalFundings)
	w.wake(ctx, withdrawals, true, w.queries.FinalWithdrawals)
}

func (w *waiter) wake(ctx context.Context, ids []string, withdrawal bool, final func(context.Context, []string) ([]string, error)) {
	if len(ids) == 0 {
		return
	}
	done, err := final(ctx, ids)
	if err != nil {
		w.log.Warn("long poll check", "err", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range done {
		w.release(waitKey{withdrawal: withdrawal, id: id})
	}
}

// finished wakes the waiters of an operation that became final.
func (w *waiter) finished(k waitKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.release(k)
}

// release wakes k's waiters; w.mu is held.
func (w *waiter) release(k waitKey) {
	for _, ch := range w.waiting[k] {
		close(ch)
	}
	delete(w.waiting, k)
}

// OperationFinal tells the long polls that a funding (or, with withdrawal
// set, a withdrawal) reached a final status, once that status is committed:
// its waiters answer at once instead of at the next database check.
func (s *Server) OperationFinal(withdrawal bool, id string) {
	s.waiter.finished(waitKey{withdrawal: withdrawal, id: id})
}
