package persistence

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns is the pool size when neither KASH_DB_MAX_CONNS nor the
// URL's pool_max_conns says otherwise. The group-commit journal needs only a
// few connections, since it batches many actors' writes per transaction;
// the rest serve reads.
const DefaultMaxConns = 16

// EnvMaxConns overrides the pool size.
const EnvMaxConns = "KASH_DB_MAX_CONNS"

// pingTimeout bounds Open's first round trip, so a wrong URL fails fast.
const pingTimeout = 10 * time.Second

// Open connects a pool to databaseURL and checks that the database answers.
//
// The pool size comes from KASH_DB_MAX_CONNS when set, else from the URL's
// pool_max_conns, else DefaultMaxConns.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := poolConfig(databaseURL, os.Getenv(EnvMaxConns))
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

func poolConfig(databaseURL, maxConnsEnv string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	switch {
	case maxConnsEnv != "":
		n, err := strconv.ParseInt(maxConnsEnv, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: want a positive integer", EnvMaxConns, maxConnsEnv)
		}
		cfg.MaxConns = int32(n)
	case !strings.Contains(databaseURL, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "kash"
	}
	return cfg, nil
}
