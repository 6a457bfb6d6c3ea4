package persistence_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kash/persistence"
	"kash/persistence/pgtest"
)

func TestIdempotencyLifecycle(t *testing.T) {
	store := persistence.NewIdempotency(pgtest.NewPool(t))
	ctx, now := context.Background(), time.Now()
	k := persistence.IdempotencyKey{Scope: "user:u1", Key: "k1", Hash: []byte("h1")}
	state := func(k persistence.IdempotencyKey, at time.Time) persistence.IdempotencyResult {
		t.Helper()
		r, err := store.Begin(ctx, k, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := state(k, now); r.State != persistence.IdempotencyNew {
		t.Fatalf("first: %v", r.State)
	}
	if r := state(k, now); r.State != persistence.IdempotencyInProgress {
		t.Fatalf("while held: %v", r.State)
	}
	other := k
	other.Hash = []byte("h2")
	if r := state(other, now); r.State != persistence.IdempotencyMismatch {
		t.Fatalf("other body: %v", r.State)
	}
	// A holder that gives up frees the key for a retry of the same request.
	if err := store.Release(ctx, k, now); err != nil {
		t.Fatal(err)
	}
	if r := state(k, now.Add(time.Millisecond)); r.State != persistence.IdempotencyNew {
		t.Fatalf("after release: %v", r.State)
	}
	if err := store.Complete(ctx, k, 202, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if r := state(k, now); r.State != persistence.IdempotencyReplay || r.Status != 202 || string(r.Body) != `{"ok":true}` {
		t.Fatalf("replay: %+v", r)
	}
	if err := store.Complete(ctx, k, 500, nil); !errors.Is(err, persistence.ErrNotHeld) {
		t.Fatalf("complete twice: %v", err)
	}
	// A crashed holder's lease runs out.
	k2 := persistence.IdempotencyKey{Scope: "user:u1", Key: "k2", Hash: []byte("h")}
	state(k2, now)
	if r := state(k2, now.Add(2*time.Minute)); r.State != persistence.IdempotencyNew {
		t.Fatalf("after the lease: %v", r.State)
	}
	// Scopes are separate.
	if r := state(persistence.IdempotencyKey{Scope: "user:u2", Key: "k1", Hash: []byte("zz")}, now); r.State != persistence.IdempotencyNew {
		t.Fatalf("other scope: %v", r.State)
	}
	// Kept at least a day; after that the key is free for anything.
	if r := state(other, now.Add(23*time.Hour)); r.State != persistence.IdempotencyMismatch {
		t.Fatalf("within a day: %v", r.State)
	}
	if r := state(other, now.Add(25*time.Hour)); r.State != persistence.IdempotencyNew {
		t.Fatalf("after a day: %v", r.State)
	}
	n, err := store.Purge(ctx, now.Add(50*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("purged %d, %v", n, err)
	}
}
