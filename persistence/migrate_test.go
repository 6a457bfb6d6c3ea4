package persistence_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/persistence"
	"kash/persistence/pgtest"
)

func openPool(t *testing.T, dbURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := persistence.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func latestVersion(t *testing.T) int32 {
	t.Helper()
	v, err := persistence.LatestSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v < 1 {
		t.Fatalf("latest schema version %d: no migrations embedded", v)
	}
	return v
}

var identityTables = []string{
	"users", "otp_codes", "refresh_tokens", "devices", "kyc_documents", "rates",
	"idempotency_keys", "webhook_events", "admin_audit_log",
}

func TestMigrateAppliesEveryMigrationAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	pool := openPool(t, pgtest.NewEmptyURL(t))
	if _, err := persistence.SchemaVersion(ctx, pool); err == nil {
		t.Fatal("an empty database reported a schema version")
	}
	for round := 1; round <= 2; round++ {
		if err := persistence.Migrate(ctx, pool); err != nil {
			t.Fatalf("Migrate round %d: %v", round, err)
		}
		v, err := persistence.SchemaVersion(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		if want := latestVersion(t); v != want {
			t.Fatalf("round %d: schema version %d, want %d", round, v, want)
		}
	}
	for _, table := range identityTables {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			t.Errorf("table %s missing after Migrate", table)
		}
	}
}

// TestConcurrentMigrationsApplyEachOnce runs Migrate from several pools at
// once on one empty database, as several kashd processes starting together
// would. A migration applied twice would fail its CREATE TABLE.
func TestConcurrentMigrationsApplyEachOnce(t *testing.T) {
	dbURL := pgtest.NewEmptyURL(t)
	const migrators = 4
	pools := make([]*pgxpool.Pool, migrators)
	for i := range pools {
		pools[i] = openPool(t, dbURL)
	}
	errs := make([]error, migrators)
	var wg sync.WaitGroup
	for i, pool := range pools {
		wg.Go(func() { errs[i] = persistence.Migrate(context.Background(), pool) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	v, err := persistence.SchemaVersion(context.Background(), pools[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := latestVersion(t); v != want {
		t.Fatalf("schema version %d, want %d", v, want)
	}
}

// pgCode returns the SQLSTATE of err, "" if it is not a Postgres error.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

const (
	checkViolation  = "23514"
	uniqueViolation = "23505"
)

func TestIdentitySchemaEnforcesItsRules(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	mustExec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	wantCode := func(code, sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		if got := pgCode(err); got != code {
			t.Errorf("%s: error %v (SQLSTATE %q), want SQLSTATE %s", sql, err, got, code)
		}
	}

	mustExec(`INSERT INTO users (id, phone) VALUES ('u1', '+22990000001')`)
	wantCode(checkViolation, `UPDATE users SET kyc_status = 'verified' WHERE id = 'u1'`)
	wantCode(checkViolation, `INSERT INTO users (id, phone) VALUES ('u2', '22990000002')`)
	wantCode(uniqueViolation, `INSERT INTO users (id, phone) VALUES ('u3', '+22990000001')`)

	const kyc = `INSERT INTO kyc_documents (id, user_id, document_type, document_key, document_content_type,
		selfie_key, selfie_content_type) VALUES ($1, 'u1', 'passport', 'd', 'image/png', 's', 'image/jpeg')`
	mustExec(kyc, "k1")
	wantCode(uniqueViolation, kyc, "k2") // a second live submission: 409 kyc_exists
	wantCode(checkViolation, `UPDATE kyc_documents SET status = 'rejected', reviewed_at = now() WHERE id = 'k1'`)
	mustExec(`UPDATE kyc_documents SET status = 'rejected', reviewed_at = now(), rejection_reason = 'blurry' WHERE id = 'k1'`)
	mustExec(kyc, "k2") // allowed again once the first is rejected

	const idem = `INSERT INTO idempotency_keys (scope, key, request_hash, status, response_status, expires_at)
		VALUES ('u1', $1, '\x00', $2, $3, now() + $4::interval)`
	mustExec(idem, "a", "in_progress", nil, "24 hours")
	wantCode(uniqueViolation, idem, "a", "in_progress", nil, "24 hours")
	wantCode(checkViolation, idem, "b", "done", nil, "24 hours")
	wantCode(checkViolation, idem, "c", "in_progress", nil, "1 hour")

	const event = `INSERT INTO webhook_events (provider, event_id, payload) VALUES ('sim', 'e1', '{}')`
	mustExec(event)
	wantCode(uniqueViolation, event)

	const rate = `INSERT INTO rates (cost_rate, funding_margin, withdrawal_spread, issuance_fee_minor, created_by)
		VALUES ($1, $2, 0.04, 1000, 'ops')`
	mustExec(rate, "600", "0.08")
	mustExec(rate, "610", "0.07")
	wantCode(checkViolation, rate, "600", "1.5")
	var current string
	if err := pool.QueryRow(ctx, `SELECT cost_rate::text FROM rates ORDER BY id DESC LIMIT 1`).Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != "610" {
		t.Errorf("current cost rate %s, want the newest (610)", current)
	}
}

func TestUpdatedAtFollowsUpdates(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	// now() is the transaction's start time: backdate the row instead of sleeping.
	if _, err := pool.Exec(ctx, `INSERT INTO users (id, phone, created_at, updated_at)
		VALUES ('u1', '+22990000001', now() - interval '1 day', now() - interval '1 day')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE users SET name = 'Ada' WHERE id = 'u1'`); err != nil {
		t.Fatal(err)
	}
	var fresh bool
	if err := pool.QueryRow(ctx, `SELECT updated_at > created_at + interval '1 hour' FROM users WHERE id = 'u1'`).Scan(&fresh); err != nil {
		t.Fatal(err)
	}
	if !fresh {
		t.Fatal("updated_at did not move on UPDATE")
	}
}
