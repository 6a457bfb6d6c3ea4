package persistence_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"kash/persistence"
	"kash/persistence/pgtest"
)

func TestOpenSizesThePoolFromTheEnvironment(t *testing.T) {
	dbURL := pgtest.NewURL(t)
	t.Setenv(persistence.EnvMaxConns, "3")
	if got := openPool(t, dbURL).Config().MaxConns; got != 3 {
		t.Fatalf("MaxConns = %d with %s=3", got, persistence.EnvMaxConns)
	}
	t.Setenv(persistence.EnvMaxConns, "")
	if got := openPool(t, dbURL).Config().MaxConns; got != persistence.DefaultMaxConns {
		t.Fatalf("MaxConns = %d by default, want %d", got, persistence.DefaultMaxConns)
	}
	if got := openPool(t, dbURL+"&pool_max_conns=5").Config().MaxConns; got != 5 {
		t.Fatalf("MaxConns = %d with pool_max_conns=5 in the URL", got)
	}
}

func TestOpenRejectsABadPoolSize(t *testing.T) {
	for _, bad := range []string{"0", "-1", "many"} {
		t.Setenv(persistence.EnvMaxConns, bad)
		if pool, err := persistence.Open(context.Background(), "postgres://kash@127.0.0.1:1/kash"); err == nil {
			pool.Close()
			t.Errorf("%s=%q accepted", persistence.EnvMaxConns, bad)
		}
	}
}

func TestOpenFailsWhenNothingAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // now nothing listens there
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := persistence.Open(ctx, "postgres://kash@127.0.0.1:"+strconv.Itoa(port)+"/kash?sslmode=disable")
	if err == nil {
		pool.Close()
		t.Fatal("Open succeeded with nothing listening")
	}
}
