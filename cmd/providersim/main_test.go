package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kash/bench/sim"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// running is providersim's run in a goroutine.
type running struct {
	base   string
	cancel context.CancelFunc
	done   chan error
}

// start runs providersim with KASH_SIM_STATE_FILE=file and waits until it answers.
func start(t *testing.T, file string) *running {
	t.Helper()
	addr := freeAddr(t)
	t.Setenv("KASH_SIM_ADDR", addr)
	t.Setenv("KASH_SIM_STATE_FILE", file)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{base: "http://" + addr, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, slog.New(slog.DiscardHandler)) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case err := <-r.done:
			t.Fatalf("providersim exited: %v", err)
		default:
		}
		if resp, err := http.Get(r.base + "/sim/state"); err == nil {
			resp.Body.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatal("providersim never answered")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop shuts providersim down as SIGTERM would.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func (r *running) float(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(r.base + "/sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st sim.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Issuer.Float.Amount
}

// Not parallel: t.Setenv.
func TestProvidersimKeepsTheWorldInItsStateFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim-state.json")
	first := start(t, file)
	body, _ := json.Marshal(map[string]string{"amount": "250.00", "currency": "USD"})
	resp, err := http.Post(first.base+"/sim/issuer/float", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deposit: %d %s", resp.StatusCode, out)
	}
	first.stop(t)

	second := start(t, file)
	if got := second.float(t); got != "100250.00" {
		t.Fatalf("float after a restart %s, want 100250.00", got)
	}
	second.stop(t)
}

func TestProvidersimRefusesAnUnusableStateFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim-state.json")
	if err := os.WriteFile(file, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KASH_SIM_ADDR", freeAddr(t))
	t.Setenv("KASH_SIM_STATE_FILE", file)
	if err := run(context.Background(), slog.New(slog.DiscardHandler)); !errors.Is(err, sim.ErrStateFile) {
		t.Fatalf("run returned %v, want ErrStateFile", err)
	}
}
