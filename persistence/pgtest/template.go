package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kash/persistence"
)

const (
	testDBPrefix   = "kash_test_"
	templatePrefix = "kash_tpl_"
	// keptTemplates is how many templates of older migration sets survive;
	// other checkouts (another branch, a copy) may still be using them.
	keptTemplates = 4
	// abandonedAfter is the age past which a test database is taken for one
	// left behind by a killed test process (make test's timeout is 30 min).
	abandonedAfter = 24 * time.Hour
	// templateLockKey serialises template builds across processes
	// (pg_advisory_lock key; arbitrary, but fixed).
	templateLockKey = int64(0x6b6173685f747031)
)

// serverURL returns KASH_TEST_DATABASE_URL, or starts (or reuses) the shared
// local test cluster.
func serverURL(ctx context.Context) (string, error) {
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		return u, nil
	}
	dir, err := localDataDir()
	if err != nil {
		return "", err
	}
	srv, err := persistence.StartLocal(ctx, persistence.LocalConfig{
		DataDir: dir,
		Port:    LocalPort,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return "", fmt.Errorf("start the shared test cluster in %s: %w", dir, err)
	}
	return srv.URL(), nil
}

// localDataDir is KASH_TEST_DATA_DIR or $TMPDIR/kash-pgtest-<uid>. The
// default lives in a world-writable directory, so it must be ours: another
// user could otherwise plant a cluster there.
func localDataDir() (string, error) {
	if dir := os.Getenv(EnvDataDir); dir != "" {
		return dir, nil
	}
	dir := filepath.Join(os.TempDir(), "kash-pgtest-"+strconv.Itoa(os.Getuid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", dir, err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !info.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("%s is not a directory owned by uid %d; remove it or set %s", dir, os.Getuid(), EnvDataDir)
	}
	return dir, nil
}

// ensureTemplate returns the name of the template database for the embedded
// migrations, building it if needed. Builders in different processes
// serialise on an advisory lock; the template is built under a temporary
// name and renamed when complete, so a half-built one is never copied.
func ensureTemplate(ctx context.Context, adminURL string) (string, error) {
	digest, err := migrationsDigest()
	if err != nil {
		return "", err
	}
	name := templatePrefix + digest
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to build the template: %w", err)
	}
	// Closing the session releases the advisory lock whatever happens.
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock template build: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template %s: %w", name, err)
	}
	if !exists {
		if err := buildTemplate(ctx, conn, adminURL, name); err != nil {
			return "", err
		}
		pruneTemplates(ctx, conn, name)
	}
	pruneAbandoned(ctx, conn)
	return name, nil
}

func buildTemplate(ctx context.Context, conn *pgx.Conn, adminURL, name string) error {
	building := name + "_building"
	if err := dropDatabase(ctx, conn, building); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(building)+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create %s: %w", building, err)
	}
	if err := migrateDatabase(ctx, adminURL, building); err != nil {
		return err
	}
	// No connections are allowed to a template: CREATE DATABASE ... TEMPLATE
	// fails while anyone is connected to the source.
	for _, sql := range []string{
		"ALTER DATABASE " + ident(building) + " RENAME TO " + ident(name),
		"ALTER DATABASE " + ident(name) + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("finish template %s: %w", name, err)
		}
	}
	return nil
}

func migrateDatabase(ctx context.Context, adminURL, database string) error {
	dbURL, err := withDatabase(adminURL, database)
	if err != nil {
		return err
	}
	pool, err := persistence.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", database, err)
	}
	defer pool.Close()
	if err := persistence.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate template %s: %w", database, err)
	}
	return nil
}

// migrationsDigest names the migration set: the hash of every file's name
// and content.
func migrationsDigest() (string, error) {
	fsys := persistence.MigrationFS()
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(body))
		h.Write(body)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// pruneTemplates drops all but the newest few templates of other migration
// sets. Best effort: a failure leaves a few megabytes behind, nothing worse.
func pruneTemplates(ctx context.Context, conn *pgx.Conn, current string) {
	rows, err := conn.Query(ctx, `
		SELECT datname FROM pg_database
		WHERE datname LIKE $1 AND datname <> $2 AND datname NOT LIKE '%\_building'
		ORDER BY oid DESC OFFSET $3`, templatePrefix+"%", current, keptTemplates)
	if err != nil {
		return
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range stale {
		_, _ = conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE false")
		_ = dropDatabase(ctx, conn, name)
	}
}

// pruneAbandoned drops test databases older than abandonedAfter: their
// test process was killed before its cleanup ran.
func pruneAbandoned(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE $1", testDBPrefix+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		if created, ok := createdAt(name); ok && time.Since(created) > abandonedAfter {
			_ = dropDatabase(ctx, conn, name)
		}
	}
}

// createdAt reads the creation time newDatabaseName put in a name.
func createdAt(name string) (time.Time, bool) {
	rest := strings.TrimPrefix(name, testDBPrefix)
	secs, _, found := strings.Cut(rest, "_")
	if !found {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// execer is what dropDatabase needs from a connection or a pool.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func dropDatabase(ctx context.Context, db execer, name string) error {
	if _, err := db.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
