package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"kash/persistence/pgtest"
)

// serveOnLoopback serves handler on a real 127.0.0.1 port and returns its
// base URL.
func serveOnLoopback(t *testing.T, handler fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := newServer(handler, slog.New(slog.DiscardHandler))
	go func() { _ = server.Serve(ln) }()
	t.Cleanup(func() { _ = server.Shutdown() })
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestProbesAnswerFromARealDatabase(t *testing.T) {
	pool := pgtest.NewPool(t)
	base := serveOnLoopback(t, newHTTPHandler(pool.Ping))

	if status, ctype, body := get(t, base+"/healthz"); status != 200 || ctype != "application/json" || body != `{"status":"ok"}` {
		t.Fatalf("/healthz: %d %s %s", status, ctype, body)
	}
	if status, _, body := get(t, base+"/readyz"); status != 200 {
		t.Fatalf("/readyz with a live database: %d %s", status, body)
	}
	if status, _, body := get(t, base+"/nope"); status != 404 || !strings.Contains(body, `"not_found"`) {
		t.Fatalf("/nope: %d %s", status, body)
	}
}

func TestReadinessFailsWithoutADatabase(t *testing.T) {
	pool := pgtest.NewPool(t)
	pool.Close() // a closed pool cannot answer
	base := serveOnLoopback(t, newHTTPHandler(pool.Ping))

	status, ctype, body := get(t, base+"/readyz")
	if status != 503 || ctype != "application/json" || !strings.Contains(body, `{"error":{"code":"unavailable"`) {
		t.Fatalf("/readyz with no database: %d %s %s", status, ctype, body)
	}
	if status, _, _ := get(t, base+"/healthz"); status != 200 {
		t.Fatalf("/healthz must not depend on the database: %d", status)
	}
}

// TestRunServesUntilCancelled runs kashd's main loop against a test
// database: it migrates, becomes ready, and returns cleanly when its
// context ends (as on SIGTERM).
func TestRunServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config{HTTPAddr: addr, DatabaseURL: pgtest.NewEmptyURL(t), DataDir: t.TempDir(), AdminToken: "t"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler)) }()

	waitReady(t, "http://"+addr+"/readyz", done)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return after its context ended")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// waitReady polls url until it answers 200, failing if run exits first.
func waitReady(t *testing.T, url string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run exited before becoming ready: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("kashd never became ready")
}
