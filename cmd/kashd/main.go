// Command kashd is the Kash engine server: the REST API for the mobile app
// and ops, provider webhooks, and the actors that run every funding and
// withdrawal.
//
// It is configured from the environment (see config.go and API.md). Without
// KASH_DATABASE_URL it starts a private Postgres under KASH_DATA_DIR and
// leaves it running on exit, so the next start is quick. At start it applies
// the embedded migrations, then serves on KASH_HTTP_ADDR until SIGINT or
// SIGTERM, when it stops accepting requests and drains those in flight.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"kash/persistence"
)

// shutdownTimeout bounds the drain of requests in flight (long polls wait
// up to 30 s).
const shutdownTimeout = 35 * time.Second

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Error("bad configuration", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("kashd failed", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.AdminTokenIsDefault {
		log.Warn("dev mode: KASH_ADMIN_TOKEN unset, using the public dev token", "admin_token", cfg.AdminToken)
	}
	pool, local, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	server := newServer(newHTTPHandler(pool.Ping), log)
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()
	log.Info("kashd serving", "addr", ln.Addr().String(), "dev", cfg.Dev)

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", cfg.HTTPAddr, err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.ShutdownWithContext(shutdownCtx); err != nil {
		return fmt.Errorf("shut down HTTP server: %w", err)
	}
	if local != nil {
		log.Info("local postgres left running for the next start",
			"cluster_dir", local.ClusterDir(), "port", local.Port(), "stop_with", local.StopCommand())
	}
	log.Info("kashd stopped")
	return nil
}

// openDatabase connects to KASH_DATABASE_URL, or to a private cluster it
// starts (or finds running) under the data dir, and migrates the schema.
func openDatabase(ctx context.Context, cfg config, log *slog.Logger) (*pgxpool.Pool, *persistence.LocalServer, error) {
	dbURL := cfg.DatabaseURL
	var local *persistence.LocalServer
	if dbURL == "" {
		var err error
		local, err = persistence.StartLocal(ctx, persistence.LocalConfig{DataDir: cfg.DataDir, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("no KASH_DATABASE_URL, and the local postgres did not start: %w", err)
		}
		dbURL = local.URL()
	}
	pool, err := persistence.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	if err := persistence.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	version, err := persistence.SchemaVersion(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	log.Info("database ready", "schema_version", version)
	return pool, local, nil
}

func newServer(handler fasthttp.RequestHandler, log *slog.Logger) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            handler,
		Name:               "kashd",
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       40 * time.Second, // above the 30 s long poll of ?wait=
		IdleTimeout:        2 * time.Minute,
		MaxRequestBodySize: 13 << 20, // multipart KYC uploads (12 MiB) plus headroom
		Logger:             fasthttpLogger{log},
	}
}

// fasthttpLogger routes fasthttp's own messages (accept errors and the
// like) into the structured log.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}
