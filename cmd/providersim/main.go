// Command providersim runs the provider simulator (package kash/bench/sim)
// on its own, for a kashd started with KASH_SIM_URL or for load tests that
// keep the outside world in a separate process.
//
// Configuration is the environment: KASH_SIM_ADDR (default 127.0.0.1:8090),
// KASH_SIM_ISSUER_FLOAT, KASH_SIM_ASYNC_DELAY_MS, KASH_WEBHOOK_URL,
// KASH_WEBHOOK_SECRET, KASH_SIM_STATE_FILE (where the simulated world
// survives restarts; unset, every start is a fresh world) and the other
// KASH_SIM_* variables documented in package sim. SIGINT or SIGTERM shut it
// down gracefully, saving the world to the state file. A state file that
// cannot be loaded stops the start with an error.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"kash/bench/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "providersim:", err)
		os.Exit(1)
	}
}

// run serves the simulator configured by the environment until ctx ends.
func run(ctx context.Context, logger *slog.Logger) error {
	cfg, err := sim.ConfigFromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	cfg.Logger = logger
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		logger.Warn("KASH_WEBHOOK_SECRET is empty: webhooks are signed with an empty key")
	}
	s, err := sim.Open(cfg)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}

	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe(cfg.Addr) }()
	logger.Info("provider simulator listening", "addr", cfg.Addr, "webhooks", cfg.WebhookURL, "state_file", cfg.StateFile)

	select {
	case err := <-served:
		_ = s.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	if err := s.Close(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, sim.ErrClosed) {
		return err
	}
	return nil
}
