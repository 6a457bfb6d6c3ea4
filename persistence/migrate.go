package persistence

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// migrationFiles are the schema migrations, NNN_name.sql, applied in order.
// tern runs each file in its own transaction and expands it as a Go
// text/template first, so "{{" must not appear in the SQL.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// VersionTable records the schema version (tern's bookkeeping).
const VersionTable = "public.schema_version"

// MigrationFS returns the embedded migration files, named NNN_name.sql at its
// root.
func MigrationFS() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// fs.Sub fails only for an invalid path, and this one is a constant.
		panic(fmt.Sprintf("persistence: embedded migrations: %v", err))
	}
	return sub
}

// Migrate brings the database's schema up to the newest embedded migration.
// It is safe to call from several processes at once: tern holds a Postgres
// advisory lock while it reads the version and applies migrations, so one
// caller applies them and the others then find nothing left to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	pooled, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: acquire connection: %w", err)
	}
	// The advisory lock is held by the session; if ctx ended halfway the
	// unlock may not have run, so this connection never goes back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	return migrateConn(ctx, conn)
}

func migrateConn(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("migrate: prepare %s: %w", VersionTable, err)
	}
	if err := m.LoadMigrations(MigrationFS()); err != nil {
		return fmt.Errorf("migrate: load embedded migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: apply: %w", err)
	}
	return nil
}

// SchemaVersion reports the number of the last migration applied to the
// database, 0 for none.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int32, error) {
	var v int32
	if err := pool.QueryRow(ctx, "SELECT version FROM "+VersionTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the number of the newest embedded migration.
func LatestSchemaVersion() (int32, error) {
	names, err := migrate.FindMigrations(MigrationFS())
	if err != nil {
		return 0, fmt.Errorf("list embedded migrations: %w", err)
	}
	return int32(len(names)), nil
}
