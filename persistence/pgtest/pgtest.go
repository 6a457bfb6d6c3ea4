// Package pgtest gives each test its own real Postgres database, so that
// every package's tests can run in parallel against Postgres and leave
// nothing behind.
//
// The server is KASH_TEST_DATABASE_URL when set (a postgres:// URL whose role
// may CREATE DATABASE; its database name is ignored). Otherwise it is a
// private cluster shared by all test processes of this user, started or
// reused through persistence.StartLocal in KASH_TEST_DATA_DIR, default
// $TMPDIR/kash-pgtest-<uid>, on port 54339 or the next free one. A
// directory outside the repository lets every checkout, and every package's
// test binary of `go test ./...` running at once, share one cluster; the
// file lock in StartLocal makes sure only one of them starts it. The
// cluster is left running for the next test run.
//
// Each NewPool or NewURL call creates a database by copying a template that
// already holds the migrated schema. There is one template per set of
// migrations (named after their hash), built once under an advisory lock,
// so a changed migration is picked up without any cleaning. Each database
// is dropped (WITH (FORCE)) when its test ends; databases left by killed
// test processes are dropped a day later by a later run.
//
// When no Postgres can be reached or started, tests fail with the reason:
// they are never skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/persistence"
)

// Environment variables that choose the server.
const (
	EnvDatabaseURL = "KASH_TEST_DATABASE_URL"
	EnvDataDir     = "KASH_TEST_DATA_DIR"
)

// LocalPort is the port the shared test cluster tries first; it differs
// from persistence.DefaultLocalPort so that tests and a running kashd don't
// fight over one port.
const LocalPort = 54339

// setupTimeout bounds the first use in a process, which may run initdb and
// build the template.
const setupTimeout = 3 * time.Minute

// opTimeout bounds creating or dropping one database.
const opTimeout = time.Minute

// NewPool returns a pool connected to a fresh database holding the full
// migrated schema. The pool is closed and the database dropped when t ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := NewURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := persistence.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewURL returns the URL of a fresh database holding the full migrated
// schema, dropped when t ends. Use it to test code that opens its own
// connections (a child process, kashd's startup).
func NewURL(t testing.TB) string {
	t.Helper()
	s := sharedServer(t)
	return s.createDatabase(t, s.template)
}

// NewEmptyURL returns the URL of a fresh database with no schema at all,
// dropped when t ends: for testing migrations themselves.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	s := sharedServer(t)
	return s.createDatabase(t, "template0")
}

// server is the process-wide state: one admin pool on the maintenance
// database and the name of the current template.
type server struct {
	adminURL string
	admin    *pgxpool.Pool
	template string
}

var (
	sharedOnce  sync.Once
	shared      *server
	errShared   error
	nameCounter struct {
		sync.Mutex
		n int
	}
)

func sharedServer(t testing.TB) *server {
	t.Helper()
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		shared, errShared = setUp(ctx)
	})
	if errShared != nil {
		t.Fatalf("pgtest: no Postgres for tests: %v\n"+
			"Set %s to a server that allows CREATE DATABASE, or install the server binaries with `make postgres`.",
			errShared, EnvDatabaseURL)
	}
	return shared
}

func setUp(ctx context.Context) (*server, error) {
	baseURL, err := serverURL(ctx)
	if err != nil {
		return nil, err
	}
	adminURL, err := withDatabase(baseURL, "postgres")
	if err != nil {
		return nil, err
	}
	admin, err := persistence.Open(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the maintenance database: %w", err)
	}
	template, err := ensureTemplate(ctx, adminURL)
	if err != nil {
		admin.Close()
		return nil, err
	}
	return &server{adminURL: adminURL, admin: admin, template: template}, nil
}

// createDatabase copies from into a new database, registers its drop, and
// returns its URL.
func (s *server) createDatabase(t testing.TB, from string) string {
	t.Helper()
	name := newDatabaseName()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{from}.Sanitize()
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: create database %s from %s: %v", name, from, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := dropDatabase(ctx, s.admin, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dbURL, err := withDatabase(s.adminURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// newDatabaseName embeds the creation time so that a later run can tell a
// database abandoned by a killed test process from one still in use.
func newDatabaseName() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	nameCounter.Lock()
	nameCounter.n++
	n := nameCounter.n
	nameCounter.Unlock()
	return fmt.Sprintf("%s%d_%s%d", testDBPrefix, time.Now().Unix(), hex.EncodeToString(b[:]), n)
}

func withDatabase(serverURL, database string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("server URL must be a postgres:// URL (keyword=value strings are not supported)")
	}
	u.Path = "/" + database
	u.RawPath = ""
	return u.String(), nil
}
