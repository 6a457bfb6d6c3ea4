package persistence

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
)

// Errors of the identity store. Not-found and wrong-state cases use
// engine.ErrNotFound and engine.ErrInvalidState, as the gateway maps them.
var (
	// ErrRateLimited means too many OTP codes were asked for; the error is
	// a *RateLimitError that says when to retry.
	ErrRateLimited = errors.New("rate limited")
	// ErrInvalidCode means the OTP code is wrong, expired, used, or dead
	// after too many tries.
	ErrInvalidCode = errors.New("invalid code")
	// ErrInvalidToken means a refresh token is unknown, expired or revoked.
	ErrInvalidToken = errors.New("invalid refresh token")
	// ErrTokenReused means an already rotated refresh token was presented:
	// its whole family has been revoked. It matches ErrInvalidToken too.
	ErrTokenReused = fmt.Errorf("%w: reused", ErrInvalidToken)
	// ErrKYCExists means the user already has a pending or approved KYC.
	ErrKYCExists = errors.New("kyc exists")
)

// RateLimitError says which limit refused the request and how long until
// it allows one again. It matches ErrRateLimited.
type RateLimitError struct {
	Limit      string // "phone" or "client"
	RetryAfter time.Duration
}

// Error says which limit refused and when to retry.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited per %s: retry after %s", e.Limit, e.RetryAfter)
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// User is a Kash user as the API shows it.
type User struct {
	ID        string
	Phone     string
	Name      string
	KYCStatus string // none, pending, approved, rejected
	CreatedAt time.Time
}

// Identity stores users and their login (OTP codes, refresh tokens, push
// devices) and KYC submissions. Secrets arrive already hashed: this store
// never sees a code or a token.
type Identity struct {
	pool *pgxpool.Pool
}

// NewIdentity returns the identity store on pool.
func NewIdentity(pool *pgxpool.Pool) *Identity { return &Identity{pool: pool} }

// OTPRequest is one code to record, with the limits it must respect.
type OTPRequest struct {
	Phone      string
	CodeHash   []byte
	ClientAddr netip.Addr
	Now        time.Time
	TTL        time.Duration
	Window     time.Duration // the rate limits' sliding window (an hour)
	PerPhone   int           // codes per phone per window
	PerClient  int           // codes per client address per window
}

// CreateOTP records a new code after checking both rate limits, atomically:
// concurrent requests for one phone or one address are serialised by
// advisory locks, so the limits cannot be overshot by a burst. It returns a
// *RateLimitError when a limit is reached.
func (s *Identity) CreateOTP(ctx context.Context, r OTPRequest) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Phone first, then address, in every transaction: no lock cycle.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('otp:phone:' || $1, 0)),
			pg_advisory_xact_lock(hashtextextended('otp:addr:' || $2::text, 0))`, r.Phone, r.ClientAddr.String()); err != nil {
			return err
		}
		since := r.Now.Add(-r.Window)
		if err := checkOTPLimit(ctx, tx, "phone", `phone = $1`, r.Phone, since, r.PerPhone, r.Now, r.Window); err != nil {
			return err
		}
		if err := checkOTPLimit(ctx, tx, "client", `client_addr = $1::inet`, r.ClientAddr.String(), since, r.PerClient, r.Now, r.Window); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO otp_codes (phone, code_hash, client_addr, expires_at, created_at)
			VALUES ($1, $2, $3::inet, $4, $5) RETURNING id`,
			r.Phone, r.CodeHash, r.ClientAddr.String(), r.Now.Add(r.TTL), r.Now).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("create otp: %w", err)
	}
	return id, nil
}

// checkOTPLimit refuses when `limit` codes matching where were created
// after since; the retry delay is when the oldest of those leaves the window.
func checkOTPLimit(ctx context.Context, tx pgx.Tx, name, where, arg string, since time.Time, limit int, now time.Time, window time.Duration) error {
	var oldest time.Time
	err := tx.QueryRow(ctx, `SELECT created_at FROM otp_codes WHERE `+where+` AND created_at > $2
		ORDER BY created_at DESC OFFSET $3 LIMIT 1`, arg, since, limit-1).Scan(&oldest)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("count codes per %s: %w", name, err)
	}
	wait := oldest.Add(window).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return &RateLimitError{Limit: name, RetryAfter: wait}
}

// Login checks codeHash against the phone's latest live code and, when it
// matches, consumes the code and returns the phone's user, creating it
// (with newUserID) on first login. A wrong code spends one of maxAttempts
// tries; every failure is ErrInvalidCode, whatever its cause, so that the
// answer tells a guesser nothing.
func (s *Identity) Login(ctx context.Context, phone string, codeHash []byte, newUserID string, now time.Time, maxAttempts int) (User, error) {
	var u User
	matched := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			id       int64
			stored   []byte
			attempts int
			expires  time.Time
		)
		err := tx.QueryRow(ctx, `SELECT id, code_hash, attempts, expires_at FROM otp_codes
			WHERE phone = $1 AND consumed_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE`,
			phone).Scan(&id, &stored, &attempts, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if attempts >= maxAttempts || !now.Before(expires) {
			return nil
		}
		if subtle.ConstantTimeCompare(stored, codeHash) != 1 {
			_, err := tx.Exec(ctx, `UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1`, id)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE otp_codes SET consumed_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		matched = true
		u, err = upsertUser(ctx, tx, phone, newUserID, now)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("login %s: %w", maskPhone(phone), err)
	}
	if !matched {
		return User{}, ErrInvalidCode
	}
	return u, nil
}

func upsertUser(ctx context.Context, tx pgx.Tx, phone, newUserID string, now time.Time) (User, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, phone, created_at, updated_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (phone) DO NOTHING`, newUserID, phone, now); err != nil {
		return User{}, err
	}
	return scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE phone = $1`, phone))
}

// maskPhone keeps a phone number out of error messages but for its end.
func maskPhone(phone string) string {
	if len(phone) <= 4 {
		return "***"
	}
	return "***" + phone[len(phone)-4:]
}

const userColumns = `id, phone, name, kyc_status, created_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Phone, &u.Name, &u.KYCStatus, &u.CreatedAt)
	return u, err
}

// User returns a user by id, or engine.ErrNotFound.
func (s *Identity) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// SetName changes a user's display name: the only user field a user may
// write (kyc_status is written only by KYC review).
func (s *Identity) SetName(ctx context.Context, id, name string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users SET name = $2 WHERE id = $1 RETURNING `+userColumns, id, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("set name of user %s: %w", id, err)
	}
	return u, nil
}

// SetDevice makes deviceID a push target of userID; a device registered by
// another user before moves to this one.
func (s *Identity) SetDevice(ctx context.Context, userID, deviceID string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO devices (device_id, user_id) VALUES ($1, $2)
		ON CONFLICT (device_id) DO UPDATE SET user_id = EXCLUDED.user_id`, deviceID, userID); err != nil {
		return fmt.Errorf("set device of user %s: %w", userID, err)
	}
	return nil
}

// Devices lists a user's push targets, newest first.
func (s *Identity) Devices(ctx context.Context, userID string) ([]string, error) {
	ids, err := collect(ctx, s.pool, func(row pgx.Row) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT device_id FROM devices WHERE user_id = $1 ORDER BY updated_at DESC, device_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("devices of user %s: %w", userID, err)
	}
	return ids, nil
}

// RefreshToken is a new refresh token to store, by hash.
type RefreshToken struct {
	Hash      []byte
	UserID    string
	FamilyID  string
	ExpiresAt time.Time
	Now       time.Time
}

// CreateRefresh stores the first token of a login's family.
func (s *Identity) CreateRefresh(ctx context.Context, t RefreshToken) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5)`, t.Hash, t.UserID, t.FamilyID, t.ExpiresAt, t.Now); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// RotateRefresh exchanges the token with hash old for next (same family):
// the old one is revoked and linked to its successor. Presenting a token
// that was already rotated or revoked revokes its whole family and returns
// ErrTokenReused: either the client or a thief holds a copy. Unknown and
// expired tokens return ErrInvalidToken. next's UserID and FamilyID are
// filled from the old token.
func (s *Identity) RotateRefresh(ctx context.Context, old []byte, next RefreshToken) (RefreshToken, error) {
	reused := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			expires time.Time
			revoked *time.Time
		)
		err := tx.QueryRow(ctx, `SELECT user_id, family_id, expires_at, revoked_at FROM refresh_tokens
			WHERE token_hash = $1 FOR UPDATE`, old).Scan(&next.UserID, &next.FamilyID, &expires, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		if revoked != nil {
			reused = true
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2
				WHERE family_id = $1 AND revoked_at IS NULL`, next.FamilyID, next.Now)
			return err
		}
		if !next.Now.Before(expires) {
			return ErrInvalidToken
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5)`, next.Hash, next.UserID, next.FamilyID, next.ExpiresAt, next.Now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2, replaced_by = $3 WHERE token_hash = $1`,
			old, next.Now, next.Hash)
		return err
	})
	if reused {
		return RefreshToken{}, ErrTokenReused
	}
	if err != nil {
		return RefreshToken{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return next, nil
}

// RevokeFamily revokes every live token of one login (logout).
func (s *Identity) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2
		WHERE family_id = $1 AND revoked_at IS NULL`, familyID, now); err != nil {
		return fmt.Errorf("revoke token family: %w", err)
	}
	return nil
}

// RefreshFamily returns the family and user of a live (unrevoked,
// unexpired) refresh token, or ErrInvalidToken.
func (s *Identity) RefreshFamily(ctx context.Context, hash []byte, now time.Time) (familyID, userID string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT family_id, user_id FROM refresh_tokens
		WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2`, hash, now).Scan(&familyID, &userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", ErrInvalidToken
	}
	if err != nil {
		return "", "", fmt.Errorf("refresh token family: %w", err)
	}
	return familyID, userID, nil
}

// KYC is one KYC submission.
type KYC struct {
	ID                  string
	UserID              string
	Status              string // pending, approved, rejected
	DocumentType        string
	DocumentKey         string
	DocumentContentType string
	SelfieKey           string
	SelfieContentType   string
	RejectionReason     string // empty unless rejected
	ReviewedAt          time.Time
	CreatedAt           time.Time
}

const kycColumns = `id, user_id, status, document_type, document_key, document_content_type, selfie_key,
	selfie_content_type, coalesce(rejection_reason, ''), coalesce(reviewed_at, 'epoch'::timestamptz), created_at`

func scanKYC(row pgx.Row) (KYC, error) {
	var k KYC
	err := row.Scan(&k.ID, &k.UserID, &k.Status, &k.DocumentType, &k.DocumentKey, &k.DocumentContentType,
		&k.SelfieKey, &k.SelfieContentType, &k.RejectionReason, &k.ReviewedAt, &k.CreatedAt)
	if k.ReviewedAt.Equal(time.Unix(0, 0)) {
		k.ReviewedAt = time.Time{}
	}
	return k, err
}

// CreateKYC records a pending submission whose files are already stored,
// sets the user's KYC status to pending and queues the ops notification,
// in one transaction. It returns ErrKYCExists when the user already has a
// pending or approved submission (the database's unique index decides, so
// two concurrent uploads cannot both pass).
func (s *Identity) CreateKYC(ctx context.Context, k KYC, ops engine.OutboxMessage) (KYC, error) {
	var out KYC
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanKYC(tx.QueryRow(ctx, `INSERT INTO kyc_documents (id, user_id, document_type, document_key,
			document_content_type, selfie_key, selfie_content_type, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+kycColumns,
			k.ID, k.UserID, k.DocumentType, k.DocumentKey, k.DocumentContentType, k.SelfieKey, k.SelfieContentType,
			k.CreatedAt))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET kyc_status = 'pending' WHERE id = $1`, k.UserID); err != nil {
			return err
		}
		return insertOutbox(ctx, tx, ops)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "kyc_documents_one_live_per_user" {
		return KYC{}, ErrKYCExists
	}
	if err != nil {
		return KYC{}, fmt.Errorf("create kyc for user %s: %w", k.UserID, err)
	}
	return out, nil
}

func insertOutbox(ctx context.Context, tx pgx.Tx, m engine.OutboxMessage) error {
	_, err := tx.Exec(ctx, `INSERT INTO outbox (channel, dedupe_key, recipient, title, body)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedupe_key) DO NOTHING`, m.Channel, m.DedupeKey, m.Recipient, m.Title, m.Body)
	if err != nil {
		return fmt.Errorf("queue %s notification: %w", m.Channel, err)
	}
	return nil
}

// LatestKYC returns the user's newest submission, or engine.ErrNotFound.
func (s *Identity) LatestKYC(ctx context.Context, userID string) (KYC, error) {
	return s.oneKYC(ctx, `WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, userID)
}

// KYC returns one submission by id, or engine.ErrNotFound.
func (s *Identity) KYC(ctx context.Context, id string) (KYC, error) {
	return s.oneKYC(ctx, `WHERE id = $1`, id)
}

func (s *Identity) oneKYC(ctx context.Context, where, arg string) (KYC, error) {
	k, err := scanKYC(s.pool.QueryRow(ctx, `SELECT `+kycColumns+` FROM kyc_documents `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return KYC{}, fmt.Errorf("kyc: %w", engine.ErrNotFound)
	}
	if err != nil {
		return KYC{}, fmt.Errorf("kyc: %w", err)
	}
	return k, nil
}

// ListKYC lists submissions, newest first, optionally of one status.
func (s *Identity) ListKYC(ctx context.Context, status string, page Page) ([]KYC, string, error) {
	after, err := page.after()
	if err != nil {
		return nil, "", err
	}
	items, err := collect(ctx, s.pool, scanKYC, `SELECT `+kycColumns+` FROM kyc_documents
		WHERE ($1 = '' OR status = $1) AND `+keysetBefore("created_at", "id", 2)+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, status, after.At, after.ID, page.limit()+1)
	if err != nil {
		return nil, "", fmt.Errorf("list kyc: %w", err)
	}
	return pageOf(items, page, func(k KYC) Cursor { return Cursor{At: k.CreatedAt, ID: k.ID} })
}

// KYCReview is ops' decision on a pending submission.
type KYCReview struct {
	ID      string
	Approve bool
	Reason  string // required to reject
	Actor   string // who decided, for the audit log
	Now     time.Time
	// Push is the notification to the user (Recipient and DedupeKey are
	// filled in here).
	Push engine.OutboxMessage
}

// ReviewKYC approves or rejects a pending submission and sets the user's
// KYC status to match, writes the audit log and queues the user's push,
// in one transaction. It returns engine.ErrNotFound for an unknown id and
// engine.ErrInvalidState unless the submission is pending.
func (s *Identity) ReviewKYC(ctx context.Context, r KYCReview) (KYC, error) {
	status, reason := "approved", any(nil)
	if !r.Approve {
		status, reason = "rejected", r.Reason
	}
	var out KYC
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var current string
		if err := tx.QueryRow(ctx, `SELECT status FROM kyc_documents WHERE id = $1 FOR UPDATE`, r.ID).Scan(&current); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return engine.ErrNotFound
			}
			return err
		}
		if current != "pending" {
			return fmt.Errorf("%w: kyc is %s", engine.ErrInvalidState, current)
		}
		var err error
		out, err = scanKYC(tx.QueryRow(ctx, `UPDATE kyc_documents SET status = $2, rejection_reason = $3, reviewed_at = $4
			WHERE id = $1 RETURNING `+kycColumns, r.ID, status, reason, r.Now))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET kyc_status = $2 WHERE id = $1`, out.UserID, status); err != nil {
			return err
		}
		if err := audit(ctx, tx, r.Actor, "kyc."+status, out.ID, map[string]any{"user_id": out.UserID, "reason": reason}); err != nil {
			return err
		}
		push := r.Push
		push.Channel, push.Recipient, push.DedupeKey = "push", out.UserID, "kyc:"+out.ID+":"+status
		return insertOutbox(ctx, tx, push)
	})
	if err != nil {
		return KYC{}, fmt.Errorf("review kyc %s: %w", r.ID, err)
	}
	return out, nil
}

// audit appends one row to the ops audit log.
func audit(ctx context.Context, tx pgx.Tx, actor, action, target string, detail map[string]any) error {
	if _, err := tx.Exec(ctx, `INSERT INTO admin_audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)`,
		actor, action, target, detail); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// PurgeOTP deletes codes created before before (they no longer count
// towards any limit nor can be used), returning how many.
func (s *Identity) PurgeOTP(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM otp_codes WHERE created_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("purge otp codes: %w", err)
	}
	return tag.RowsAffected(), nil
}
