package actors

import (
	"context"
	"log/slog"
	"time"
)

// dispatchOutbox sends due outbox messages through their channel's notifier:
// at least once, with the row's dedupe key as the message reference so the
// far side can drop repeats. A failed send is retried with backoff.
func (e *Engine) dispatchOutbox() {
	ctx, cancel := context.WithTimeout(e.d.ctx, 30*time.Second)
	defer cancel()
	items, err := e.outbox.DueOutbox(ctx, e.d.clock.Now(), 200)
	if err != nil {
		slog.Warn("outbox: load", "err", err)
		return
	}
	for _, it := range items {
		n := e.notify[it.Channel]
		if n == nil {
			continue
		}
		callCtx, cancelCall := context.WithTimeout(ctx, e.d.cfg.CallTimeout)
		err := n.Send(callCtx, it.Message())
		cancelCall()
		now := e.d.clock.Now()
		if err != nil {
			backoff := time.Duration(1<<min(it.Attempts, 10)) * time.Second
			if err := e.outbox.MarkOutboxFailed(ctx, it.ID, err.Error(), now.Add(backoff)); err != nil {
				slog.Warn("outbox: mark failed", "id", it.ID, "err", err)
			}
			continue
		}
		if err := e.outbox.MarkOutboxSent(ctx, it.ID, now); err != nil {
			slog.Warn("outbox: mark sent", "id", it.ID, "err", err)
		}
	}
}
