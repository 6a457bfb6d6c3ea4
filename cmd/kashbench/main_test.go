package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestDefaultsAreTheShortSuite(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.scenarios, []string{"settle", "baseline"}) || cfg.duration != 20*time.Second ||
		cfg.concurrency != defaultConcurrency || cfg.rate != 0 || cfg.cards != 10_000 || cfg.repeat != 1 {
		t.Fatalf("defaults %+v", cfg)
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
