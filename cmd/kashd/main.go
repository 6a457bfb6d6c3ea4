// Command kashd is the Kash engine server: the REST API for the mobile app
// and ops, provider webhooks, and the actors that run every funding and
// withdrawal.
//
// It is configured from the environment (see config.go and API.md). Without
// KASH_DATABASE_URL it starts a private Postgres under KASH_DATA_DIR and
// leaves it running on exit, so the next start is quick. Without
// KASH_SIM_URL it runs the provider simulator itself on KASH_SIM_ADDR. At
// start it applies the embedded migrations, serves /healthz at once, resumes
// every unfinished saga, and only then reports ready on /readyz. It serves
// until SIGINT or SIGTERM, when it stops accepting requests and drains those
// in flight.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/actors"
	"kash/bench/sim"
	"kash/engine"
	"kash/gateway"
	"kash/metrics"
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
	if err := run(ctx, cfg, os.Getenv, log); err != nil {
		log.Error("kashd failed", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, cfg config, getenv func(string) string, log *slog.Logger) error {
	gwCfg, err := gateway.ConfigFromEnv(getenv, cfg.Dev)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	gwCfg.AdminToken = cfg.AdminToken
	lowWater, err := floatLowWater(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	pool, local, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	m := metrics.New()
	m.Treasury.SetLowWater(lowWater)

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	simCfg, err := sim.ConfigFromEnv()
	if err != nil {
		ln.Close()
		return fmt.Errorf("simulator configuration: %w", err)
	}
	simCfg.WebhookURL, simCfg.WebhookSecret = "http://"+ln.Addr().String(), string(gwCfg.WebhookSecret)
	providerURL, stopSim, err := startSimulator(cfg, simCfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopSim()
	out, err := connectProviders(providerURL, simCfg, m)
	if err != nil {
		ln.Close()
		return err
	}
	instrumentProviders(out, m)
	blobs, err := persistence.NewFileBlobStore(cfg.DataDir + "/kyc")
	if err != nil {
		ln.Close()
		return fmt.Errorf("kyc store: %w", err)
	}

	cmds := &engineCommands{}
	reconciler := newSimReconciler(pool, providerURL)
	gw := gateway.New(gwCfg, gateway.Deps{DB: pool, Commands: cmds, SMS: out.sms, Blobs: blobs,
		Metrics: m.Handler(), Logger: log, Observe: observeHTTP(m), Reconciler: reconciler})
	defer gw.Close()
	server := gw.HTTPServer()
	instrumentServer(m.HTTP, gw, server)
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()

	journal := persistence.NewJournal(pool, persistence.JournalConfig{Observer: m.Journal})
	defer journal.Close()
	store := persistence.NewStateStore(pool)
	started := time.Now()
	eng, err := actors.Start(ctx, actors.Config{}, actors.Deps{Journal: journal, Store: store, Outbox: store,
		Notifiers: out.notifiers, Momo: out.momo, Issuer: out.issuer, Router: out.router,
		Observer: metricsObserver{m: m, final: gw.OperationFinal}})
	if err != nil {
		_ = server.Shutdown()
		return fmt.Errorf("start the engine: %w", err)
	}
	defer eng.Stop()
	cmds.eng.Store(eng)
	if err := openingFloat(ctx, pool, eng, out.issuer); err != nil {
		log.Warn("opening float not recorded", "err", err)
	}
	stopGauges := reportGauges(pool, journal, m)
	defer stopGauges()
	stopWatch := watchEngine(pool, m, reconciler, len(out.momo), log)
	defer stopWatch()
	banner(log, cfg, ln.Addr().String(), providerURL, time.Since(started))

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

// startSimulator runs the provider simulator in process unless an external
// one is configured, and returns the providers' base URL.
func startSimulator(cfg config, simCfg sim.Config, log *slog.Logger) (string, func(), error) {
	if cfg.SimURL != "" {
		return cfg.SimURL, func() {}, nil
	}
	simLn, err := net.Listen("tcp", cfg.SimAddr)
	if err != nil {
		return "", nil, fmt.Errorf("provider simulator: listen on %s: %w", cfg.SimAddr, err)
	}
	simCfg.Logger = log.With("component", "providersim")
	simCfg.StateFile = cfg.DataDir + "/sim-state.json"
	s, err := sim.Open(simCfg)
	if err != nil {
		simLn.Close()
		return "", nil, fmt.Errorf("provider simulator: %w", err)
	}
	go func() {
		if err := s.Serve(simLn); err != nil && !errors.Is(err, sim.ErrClosed) {
			log.Error("provider simulator stopped", "err", err)
		}
	}()
	return "http://" + simLn.Addr().String(), func() { _ = s.Close() }, nil
}

// openingFloat records, once, the float the issuer already holds when the
// ledger has none: the starting balance of a new installation.
func openingFloat(ctx context.Context, pool *pgxpool.Pool, eng *actors.Engine, issuer engine.CardIssuer) error {
	var deposits int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE kind = $1`, engine.KindFloatDeposit).Scan(&deposits); err != nil {
		return fmt.Errorf("look for float deposits: %w", err)
	}
	if deposits > 0 {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	float, err := issuer.FloatBalance(callCtx)
	if err != nil || float.Minor <= 0 {
		return err
	}
	return eng.FloatCredited(ctx, "opening-balance", float)
}

func observeHTTP(m *metrics.Metrics) func(route string, status int, d time.Duration) {
	return func(route string, status int, d time.Duration) {
		method, pattern, ok := strings.Cut(route, " ")
		if !ok {
			method, pattern = "GET", route
		}
		m.HTTP.Observe(pattern, method, status, d)
	}
}

// banner tells a newcomer where everything is.
func banner(log *slog.Logger, cfg config, apiAddr, simURL string, recovery time.Duration) {
	fmt.Fprintf(os.Stderr, `
  Kash engine is ready (recovery took %s)
    API         http://%s   (OpenAPI: /v1/openapi.json, metrics: /metrics)
    simulator   %s   (SMS inbox: /sim/sms?to=PHONE, state: /sim/state)
`, recovery.Round(time.Millisecond), apiAddr, simURL)
	if cfg.AdminTokenIsDefault {
		fmt.Fprintf(os.Stderr, "    ops token   %s   (dev mode only; set KASH_ADMIN_TOKEN otherwise)\n", cfg.AdminToken)
	}
	fmt.Fprintln(os.Stderr)
	log.Info("kashd ready", "addr", apiAddr, "simulator", simURL, "dev", cfg.Dev)
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
