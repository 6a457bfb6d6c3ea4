package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"kash/persistence"
	"kash/persistence/pgtest"
)

func TestEachPoolHasItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.NewPool(t), pgtest.NewPool(t)
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (v int); INSERT INTO users (id, phone) VALUES ('u1', '+22990000001')"); err != nil {
		t.Fatal(err)
	}
	var tableInB bool
	if err := b.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&tableInB); err != nil {
		t.Fatal(err)
	}
	if tableInB {
		t.Fatal("a table created in one test database is visible in another")
	}
	var usersInB int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&usersInB); err != nil {
		t.Fatal(err)
	}
	if usersInB != 0 {
		t.Fatalf("%d users in b, want 0", usersInB)
	}
}

func TestDatabasesComeMigrated(t *testing.T) {
	pool := pgtest.NewPool(t)
	got, err := persistence.SchemaVersion(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	want, err := persistence.LatestSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("schema version %d, want %d", got, want)
	}
}

func TestEmptyDatabasesHaveNoSchema(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewEmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("%d tables in an empty database", tables)
	}
}

// TestParallelTestsGetDistinctDatabases creates databases from parallel
// subtests (goroutines) at once, the way packages with t.Parallel use it.
func TestParallelTestsGetDistinctDatabases(t *testing.T) {
	const n = 8
	var mu sync.Mutex
	seen := map[string]bool{}
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				pool := pgtest.NewPool(t)
				if _, err := pool.Exec(ctx, "INSERT INTO webhook_events (provider, event_id, payload) VALUES ('sim', 'same-id', '{}')"); err != nil {
					t.Fatalf("insert into a fresh database: %v", err)
				}
				var name string
				if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[name] {
					t.Errorf("database %s handed out twice", name)
				}
				seen[name] = true
			})
		}
	})
	if len(seen) != n {
		t.Fatalf("%d distinct databases, want %d", len(seen), n)
	}
}

func TestDatabasesAreDroppedWhenTheTestEnds(t *testing.T) {
	var dbURL string
	t.Run("user", func(t *testing.T) { dbURL = pgtest.NewURL(t) })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}
