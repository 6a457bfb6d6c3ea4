package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"kash/persistence"
)

// PostgresConfig says which server a suite runs against.
type PostgresConfig struct {
	// DatabaseURL is an existing server (its role must be allowed to
	// CREATE DATABASE; the database named in it is used only to connect).
	DatabaseURL string
	// DataDir holds a private cluster (persistence.StartLocal), left running
	// for the next run. With neither field set, a throw-away cluster is
	// started in a temporary directory and removed by Close.
	DataDir string
}

// Postgres is the server of a suite. Every scenario run gets its own fresh
// database on it, so runs never see each other's rows or statistics.
type Postgres struct {
	adminURL string
	local    *persistence.LocalServer
	tempDir  string
	// DataDir is the cluster's data directory ("" when unknown or remote):
	// the harness finds the server's processes from its postmaster.pid.
	DataDir string
	// Describe says what the server is, for the report.
	Describe string
}

var databaseCounter atomic.Int64

// StartPostgres connects to, or starts, the suite's server.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	p := &Postgres{}
	switch {
	case cfg.DatabaseURL != "":
		p.adminURL, p.Describe = cfg.DatabaseURL, "given by --database-url"
	default:
		dir := cfg.DataDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "kashbench-")
			if err != nil {
				return nil, fmt.Errorf("temporary data dir: %w", err)
			}
			// The server runs as the postgres account, which must traverse it.
			if err := os.Chmod(tmp, 0o755); err != nil {
				_ = os.RemoveAll(tmp)
				return nil, fmt.Errorf("temporary data dir: %w", err)
			}
			dir, p.tempDir = tmp, tmp
		}
		local, err := persistence.StartLocal(ctx, persistence.LocalConfig{DataDir: dir,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			p.removeTemp()
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		p.local, p.adminURL = local, local.URLFor("postgres")
		p.DataDir = local.ClusterDir()
		p.Describe = "private cluster in " + local.ClusterDir()
		if p.tempDir != "" {
			p.Describe = "throw-away cluster in " + local.ClusterDir()
		}
	}
	conn, err := pgx.Connect(ctx, p.adminURL)
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	var version, dataDir string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&version); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("postgres version: %w", err)
	}
	p.Describe = "PostgreSQL " + version + ", " + p.Describe
	if p.DataDir == "" && conn.QueryRow(ctx, "SELECT current_setting('data_directory')").Scan(&dataDir) == nil {
		p.DataDir = dataDir // readable only by superusers; remote servers give a path we cannot read
	}
	return p, nil
}

// Close stops and removes a throw-away cluster; a private cluster in a
// given data dir and a given server are left running.
func (p *Postgres) Close() error {
	var err error
	if p.local != nil && p.tempDir != "" {
		err = p.local.Stop()
	}
	p.removeTemp()
	return err
}

func (p *Postgres) removeTemp() {
	if p.tempDir != "" {
		_ = os.RemoveAll(p.tempDir)
		p.tempDir = ""
	}
}

// Database is one fresh, migrated database.
type Database struct {
	Name string
	URL  string
	drop func(context.Context) error
}

// Drop removes the database (connections still open are cut).
func (d *Database) Drop(ctx context.Context) error {
	if d.drop == nil {
		return nil
	}
	return d.drop(ctx)
}

// NewDatabase creates a database named after label and migrates it.
func (p *Postgres) NewDatabase(ctx context.Context, label string) (*Database, error) {
	name := fmt.Sprintf("kashbench_%s_%d_%d", sanitizeLabel(label), time.Now().Unix(), databaseCounter.Add(1))
	dbURL, err := withDatabase(p.adminURL, name)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, p.adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	db := &Database{Name: name, URL: dbURL, drop: func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, p.adminURL)
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}}
	pool, err := persistence.Open(ctx, dbURL)
	if err == nil {
		err = persistence.Migrate(ctx, pool)
		pool.Close()
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("prepare database %s: %w", name, err), db.Drop(ctx))
	}
	return db, nil
}

func sanitizeLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(s))
}

func withDatabase(serverURL, database string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("database URL must be a postgres:// URL")
	}
	u.Path = "/" + database
	u.RawPath = ""
	return u.String(), nil
}
