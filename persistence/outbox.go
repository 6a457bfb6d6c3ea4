package persistence

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kash/engine"
)

var _ engine.OutboxStore = (*StateStore)(nil)

// DueOutbox implements engine.OutboxStore: unsent messages whose next
// attempt is due, oldest first.
func (s *StateStore) DueOutbox(ctx context.Context, now time.Time, limit int) ([]engine.OutboxItem, error) {
	items, err := collect(ctx, s.pool, func(row pgx.Row) (engine.OutboxItem, error) {
		var it engine.OutboxItem
		err := row.Scan(&it.ID, &it.Channel, &it.DedupeKey, &it.Recipient, &it.Title, &it.Body, &it.Attempts, &it.CreatedAt)
		return it, err
	}, `SELECT id, channel, dedupe_key, recipient, title, body, attempts, created_at FROM outbox
		WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due outbox: %w", err)
	}
	return items, nil
}

// MarkOutboxSent implements engine.OutboxStore.
func (s *StateStore) MarkOutboxSent(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL
		WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("mark outbox %d sent: %w", id, err)
	}
	return nil
}

// MarkOutboxFailed implements engine.OutboxStore.
func (s *StateStore) MarkOutboxFailed(ctx context.Context, id int64, reason string, next time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
		WHERE id = $1`, id, reason, next); err != nil {
		return fmt.Errorf("mark outbox %d failed: %w", id, err)
	}
	return nil
}
