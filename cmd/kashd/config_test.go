package main

import (
	"errors"
	"path/filepath"
	"testing"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigDefaultsToDevModeWithALocalDatabase(t *testing.T) {
	cfg, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:8080" || cfg.DatabaseURL != "" || !cfg.Dev {
		t.Fatalf("defaults: %+v", cfg)
	}
	if !filepath.IsAbs(cfg.DataDir) || filepath.Base(cfg.DataDir) != ".kash" {
		t.Fatalf("data dir %q, want ./.kash made absolute", cfg.DataDir)
	}
	if cfg.AdminToken != devAdminToken || !cfg.AdminTokenIsDefault {
		t.Fatalf("dev admin token not defaulted: %+v", cfg)
	}
}

func TestConfigReadsTheEnvironment(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{
		"KASH_HTTP_ADDR":    "127.0.0.1:9999",
		"KASH_DATABASE_URL": "postgres://db/kash",
		"KASH_DATA_DIR":     "/var/lib/kash-data",
		"KASH_ADMIN_TOKEN":  "s3cret",
		"KASH_SIM_URL":      "http://127.0.0.1:7000/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := config{HTTPAddr: "127.0.0.1:9999", DatabaseURL: "postgres://db/kash", DataDir: "/var/lib/kash-data",
		AdminToken: "s3cret", SimURL: "http://127.0.0.1:7000", SimAddr: "127.0.0.1:8090"}
	if cfg != want {
		t.Fatalf("config %+v, want %+v", cfg, want)
	}
}

func TestConfigRequiresAnAdminTokenOutsideDevMode(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{"KASH_DATABASE_URL": "postgres://db/kash"}))
	if !errors.Is(err, errAdminTokenRequired) {
		t.Fatalf("err = %v, want errAdminTokenRequired", err)
	}
	_, err = loadConfig(envOf(map[string]string{"KASH_DEV": "false"}))
	if !errors.Is(err, errAdminTokenRequired) {
		t.Fatalf("KASH_DEV=false: err = %v, want errAdminTokenRequired", err)
	}
	cfg, err := loadConfig(envOf(map[string]string{"KASH_DATABASE_URL": "postgres://db/kash", "KASH_DEV": "1"}))
	if err != nil || !cfg.Dev || cfg.AdminToken != devAdminToken {
		t.Fatalf("KASH_DEV=1 with a URL: %+v, %v", cfg, err)
	}
}

func TestConfigRejectsABadDevFlag(t *testing.T) {
	if _, err := loadConfig(envOf(map[string]string{"KASH_DEV": "maybe"})); err == nil {
		t.Fatal("KASH_DEV=maybe accepted")
	}
}
