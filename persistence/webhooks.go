package persistence

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Webhooks records provider events already handled, so that a redelivered
// or duplicated event (same provider and event id) changes nothing.
type Webhooks struct {
	pool *pgxpool.Pool
}

// NewWebhooks returns the webhook event store on pool.
func NewWebhooks(pool *pgxpool.Pool) *Webhooks { return &Webhooks{pool: pool} }

// Seen reports whether the event was already handled.
func (s *Webhooks) Seen(ctx context.Context, provider, eventID string) (bool, error) {
	var seen bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2)`,
		provider, eventID).Scan(&seen); err != nil {
		return false, fmt.Errorf("webhook event %s/%s: %w", provider, eventID, err)
	}
	return seen, nil
}

// Record marks the event handled, keeping its payload for audit; it
// reports false when it was already recorded. payload must be a JSON value.
func (s *Webhooks) Record(ctx context.Context, provider, eventID string, payload []byte, now time.Time) (bool, error) {
	if !json.Valid(payload) {
		return false, fmt.Errorf("webhook event %s/%s: payload is not JSON", provider, eventID)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO webhook_events (provider, event_id, received_at, payload)
		VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (provider, event_id) DO NOTHING`, provider, eventID, now, string(payload))
	if err != nil {
		return false, fmt.Errorf("record webhook event %s/%s: %w", provider, eventID, err)
	}
	return tag.RowsAffected() == 1, nil
}
