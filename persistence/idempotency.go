package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IdempotencyState is what Begin found for a key.
type IdempotencyState int

// States of an idempotency key, as Begin reports them.
const (
	// IdempotencyNew: the caller now holds the key (first use, an expired
	// key, or a takeover after the previous holder's lease ended) and must
	// Complete or Release it.
	IdempotencyNew IdempotencyState = iota
	// IdempotencyReplay: the first request finished; its response is in
	// the result.
	IdempotencyReplay
	// IdempotencyInProgress: another request holds the key right now.
	IdempotencyInProgress
	// IdempotencyMismatch: the key was used with another request.
	IdempotencyMismatch
)

// IdempotencyResult is the outcome of Begin; Status and Body are the stored
// response of a replay.
type IdempotencyResult struct {
	State  IdempotencyState
	Status int
	Body   []byte
}

// IdempotencyKey identifies a request and what it must match.
type IdempotencyKey struct {
	Scope string // the caller: a user id, "ops", or a client address
	Key   string // the client's Idempotency-Key
	Hash  []byte // SHA-256 of method, path and body
}

// Idempotency stores idempotency keys and the responses they replay.
type Idempotency struct {
	pool *pgxpool.Pool
	// Keep is how long a key is kept (at least 24 hours: the schema
	// enforces it).
	Keep time.Duration
}

// MinIdempotencyKeep is the API's promise: keys are kept at least a day.
const MinIdempotencyKeep = 24 * time.Hour

// NewIdempotency returns the store on pool, keeping keys MinIdempotencyKeep.
func NewIdempotency(pool *pgxpool.Pool) *Idempotency {
	return &Idempotency{pool: pool, Keep: MinIdempotencyKeep}
}

// Begin claims k for a request until now+lease, or reports why it cannot:
// a stored response to replay, another holder, or another request under
// the same key. A key whose holder's lease has ended (it gave up, or its
// process died) is taken over by a request with the same hash.
func (s *Idempotency) Begin(ctx context.Context, k IdempotencyKey, now time.Time, lease time.Duration) (IdempotencyResult, error) {
	keep := s.Keep
	if keep < MinIdempotencyKeep {
		keep = MinIdempotencyKeep
	}
	var res IdempotencyResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, expires_at, locked_until)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING`,
			k.Scope, k.Key, k.Hash, now, now.Add(keep), now.Add(lease))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			res.State = IdempotencyNew
			return nil
		}
		var (
			hash    []byte
			status  string
			code    *int
			body    []byte
			expires time.Time
			locked  *time.Time
		)
		if err := tx.QueryRow(ctx, `SELECT request_hash, status, response_status, response_body, expires_at, locked_until
			FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE`, k.Scope, k.Key).
			Scan(&hash, &status, &code, &body, &expires, &locked); err != nil {
			return err
		}
		switch {
		case !now.Before(expires):
			res.State = IdempotencyNew
			_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET request_hash = $3, status = 'in_progress',
				response_status = NULL, response_body = NULL, created_at = $4, expires_at = $5, locked_until = $6
				WHERE scope = $1 AND key = $2`, k.Scope, k.Key, k.Hash, now, now.Add(keep), now.Add(lease))
			return err
		case !bytes.Equal(hash, k.Hash):
			res.State = IdempotencyMismatch
		case status == "done":
			res.State, res.Status, res.Body = IdempotencyReplay, *code, body
		case locked != nil && now.Before(*locked):
			res.State = IdempotencyInProgress
		default:
			res.State = IdempotencyNew
			_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET locked_until = $3 WHERE scope = $1 AND key = $2`,
				k.Scope, k.Key, now.Add(lease))
			return err
		}
		return nil
	})
	if err != nil {
		return IdempotencyResult{}, fmt.Errorf("begin idempotency key: %w", err)
	}
	return res, nil
}

// ErrNotHeld means Complete found no key in progress to complete.
var ErrNotHeld = errors.New("idempotency key not in progress")

// Complete stores the response of the request that holds k; later
// requests with the same key and hash replay it.
func (s *Idempotency) Complete(ctx context.Context, k IdempotencyKey, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = 'done', response_status = $4,
		response_body = $5, locked_until = NULL
		WHERE scope = $1 AND key = $2 AND request_hash = $3 AND status = 'in_progress'`, k.Scope, k.Key, k.Hash, status, body)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotHeld
	}
	return nil
}

// Release ends the holder's lease without storing a response (the request
// could not finish: its command outlived the deadline, or the engine was
// busy), so that a retry with the same key and body takes the work over at
// once. The key keeps its hash: a retry with another body is still refused.
func (s *Idempotency) Release(ctx context.Context, k IdempotencyKey, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET locked_until = $4
		WHERE scope = $1 AND key = $2 AND request_hash = $3 AND status = 'in_progress'`, k.Scope, k.Key, k.Hash, now); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// Purge deletes keys that expired before now, returning how many.
func (s *Idempotency) Purge(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
