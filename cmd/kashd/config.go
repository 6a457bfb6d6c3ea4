package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// devAdminToken is the admin token in dev mode when KASH_ADMIN_TOKEN is
// unset. It is public (printed at start), so dev mode binds to loopback.
const devAdminToken = "kash-dev-admin-token"

// errAdminTokenRequired is returned outside dev mode without KASH_ADMIN_TOKEN.
var errAdminTokenRequired = errors.New("KASH_ADMIN_TOKEN is required outside dev mode (KASH_DEV=false)")

// config is kashd's configuration, read from the environment.
type config struct {
	// HTTPAddr is where the API listens (KASH_HTTP_ADDR).
	HTTPAddr string
	// DatabaseURL is the Postgres to use (KASH_DATABASE_URL); empty means a
	// private cluster started under DataDir.
	DatabaseURL string
	// DataDir is kash's directory on disk (KASH_DATA_DIR), absolute.
	DataDir string
	// Dev relaxes what production requires (KASH_DEV); it defaults to true
	// exactly when no database URL is given.
	Dev bool
	// AdminToken authenticates the ops API (KASH_ADMIN_TOKEN).
	AdminToken string
	// AdminTokenIsDefault says AdminToken is devAdminToken, to be announced.
	AdminTokenIsDefault bool
	// SimURL is an external provider simulator (KASH_SIM_URL); empty means
	// kashd runs the simulator itself on SimAddr (KASH_SIM_ADDR).
	SimURL  string
	SimAddr string
	// PprofAddr, when set, serves Go's profiles there (KASH_PPROF_ADDR).
	PprofAddr string
}

// loadConfig reads the configuration through getenv (os.Getenv in main).
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		HTTPAddr:    valueOr(getenv("KASH_HTTP_ADDR"), "127.0.0.1:8080"),
		DatabaseURL: getenv("KASH_DATABASE_URL"),
		AdminToken:  getenv("KASH_ADMIN_TOKEN"),
		SimURL:      strings.TrimRight(getenv("KASH_SIM_URL"), "/"),
		SimAddr:     valueOr(getenv("KASH_SIM_ADDR"), "127.0.0.1:8090"),
		PprofAddr:   getenv("KASH_PPROF_ADDR"),
	}
	dataDir, err := filepath.Abs(valueOr(getenv("KASH_DATA_DIR"), ".kash"))
	if err != nil {
		return config{}, fmt.Errorf("KASH_DATA_DIR: %w", err)
	}
	cfg.DataDir = dataDir
	cfg.Dev = cfg.DatabaseURL == ""
	if raw := getenv("KASH_DEV"); raw != "" {
		if cfg.Dev, err = strconv.ParseBool(raw); err != nil {
			return config{}, fmt.Errorf("KASH_DEV=%q: want true or false", raw)
		}
	}
	if cfg.AdminToken == "" {
		if !cfg.Dev {
			return config{}, errAdminTokenRequired
		}
		cfg.AdminToken, cfg.AdminTokenIsDefault = devAdminToken, true
	}
	return cfg, nil
}

func valueOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}
