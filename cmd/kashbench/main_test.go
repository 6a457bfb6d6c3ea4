package main

import (
	"io"
	"slices"
	"testing"
	"time"

	"kash/bench"
)

func TestDefaultsAreTheShortSuite(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.scenarios, []string{"settle", "baseline", "e2e"}) || cfg.duration != 20*time.Second ||
		cfg.concurrency != defaultConcurrency || cfg.rate != 0 || cfg.cards != 0 || cfg.repeat != 1 {
		t.Fatalf("defaults %+v", cfg)
	}
	var o bench.Options
	o.Load.Concurrency, o.Load.Duration = defaultConcurrency, cfg.duration
	cfg.shortE2E(&o)
	if o.Load.Rate != shortE2ERate || o.Load.Concurrency != 0 || o.Load.Duration != shortE2EDuration || o.Cards != shortE2ECards {
		t.Fatalf("short suite's e2e options %+v", o)
	}
}

// Flags given on the command line win over the short suite's e2e defaults,
// and choosing scenarios leaves them as given.
func TestShortE2EKeepsWhatFlagsSay(t *testing.T) {
	cfg, err := parseFlags([]string{"--duration", "5s", "--cards", "50"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := bench.Options{Cards: 50, Load: bench.Load{Concurrency: defaultConcurrency, Duration: 5 * time.Second}}
	cfg.shortE2E(&o)
	if o.Load.Duration != 5*time.Second || o.Cards != 50 || o.Load.Rate != shortE2ERate {
		t.Fatalf("options %+v", o)
	}
	cfg, err = parseFlags([]string{"--scenario", "e2e"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o = bench.Options{Load: bench.Load{Concurrency: defaultConcurrency, Duration: 20 * time.Second}}
	cfg.shortE2E(&o)
	if o.Load.Rate != 0 || o.Load.Duration != 20*time.Second || o.Cards != 0 {
		t.Fatalf("options %+v changed though scenarios were chosen", o)
	}
}

func TestRateMeansOpenLoop(t *testing.T) {
	cfg, err := parseFlags([]string{"--rate", "1000", "--scenario", "settle", "--duration", "5s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rate != 1000 || cfg.concurrency != 0 || !slices.Equal(cfg.scenarios, []string{"settle"}) {
		t.Fatalf("config %+v: want open loop at 1000/s, settle only", cfg)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--rate", "10", "--concurrency", "4"},
		{"--scenario", "nope"},
		{"--scenario", ","},
		{"--duration", "0s"},
		{"--cards", "0"},
		{"--api", "http://127.0.0.1:8080"},
		{"--active", "0"},
		{"--data-dir", "/x", "--database-url", "postgres://u@h/db"},
		{"stray"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestProfilePathNamesTheWindow(t *testing.T) {
	for _, c := range []struct{ in, suffix, want string }{
		{"cpu.prof", "", "cpu.settle.2.prof"},
		{"/tmp/mem.pprof", ".base", "/tmp/mem.settle.2.base.pprof"},
		{"profile", "", "profile.settle.2"},
	} {
		if got := profilePath(c.in, "settle", 2, c.suffix); got != c.want {
			t.Errorf("profilePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
