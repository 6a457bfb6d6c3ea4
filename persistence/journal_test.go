package persistence_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

func card(id string, version, balance int64) engine.CardRecord {
	now := time.Now().UTC()
	return engine.CardRecord{ID: id, UserID: "u1", Status: "active", Balance: balance, Version: version,
		CreatedAt: now, UpdatedAt: now}
}

func commitAll(t *testing.T, j *persistence.Journal, changes []engine.Change) []error {
	t.Helper()
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	for i, c := range changes {
		wg.Add(1)
		j.Submit(c, func(err error) { errs[i] = err; wg.Done() })
	}
	wg.Wait()
	return errs
}

func TestJournalCommitsAndFences(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	ctx := context.Background()

	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("c1", 1, 0)}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	// Two activations both saw version 1; only the first write may land.
	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("c1", 2, 100)}}); err != nil {
		t.Fatalf("first update: %v", err)
	}
	err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("c1", 2, 999)}})
	if !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("stale update: got %v, want ErrFenced", err)
	}
	var balance, version int64
	if err := pool.QueryRow(ctx, `SELECT balance_minor, version FROM cards WHERE id = 'c1'`).Scan(&balance, &version); err != nil {
		t.Fatal(err)
	}
	if balance != 100 || version != 2 {
		t.Fatalf("card = (%d, v%d), want (100, v2): a fenced write leaked", balance, version)
	}
}

func TestJournalFailsOnlyTheChangeAtFault(t *testing.T) {
	pool := pgtest.NewPool(t)
	// One worker and a big batch so that every change lands in one transaction.
	j := persistence.NewJournal(pool, persistence.JournalConfig{Workers: 1, MaxBatch: 1000})
	defer j.Close()
	ctx := context.Background()
	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("dup", 1, 0)}}); err != nil {
		t.Fatal(err)
	}
	var changes []engine.Change
	for i := range 50 {
		changes = append(changes, engine.Change{Cards: []engine.CardRecord{card(fmt.Sprintf("ok%d", i), 1, 0)}})
	}
	changes[10] = engine.Change{Cards: []engine.CardRecord{card("dup", 1, 0)}}     // duplicate insert
	changes[30] = engine.Change{Cards: []engine.CardRecord{card("missing", 7, 0)}} // fenced update
	changes[40] = engine.Change{Cards: []engine.CardRecord{card("neg", 1, -5)}}    // check constraint
	errs := commitAll(t, j, changes)
	for i, err := range errs {
		switch i {
		case 10:
			if !errors.Is(err, engine.ErrDuplicate) {
				t.Errorf("change 10: got %v, want ErrDuplicate", err)
			}
		case 30:
			if !errors.Is(err, engine.ErrFenced) {
				t.Errorf("change 30: got %v, want ErrFenced", err)
			}
		case 40:
			if err == nil {
				t.Errorf("change 40: negative balance committed")
			}
		default:
			if err != nil {
				t.Errorf("change %d: %v (an innocent change failed)", i, err)
			}
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM cards WHERE id LIKE 'ok%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 47 {
		t.Fatalf("%d innocent cards committed, want 47", n)
	}
}

func TestJournalKeepsStreamOrder(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{Workers: 4, MaxBatch: 8})
	defer j.Close()
	// Each version depends on the one before: out of order, a write would be fenced.
	var changes []engine.Change
	for v := int64(1); v <= 200; v++ {
		changes = append(changes, engine.Change{Stream: "card:s", Cards: []engine.CardRecord{card("s", v, v)}})
	}
	for i, err := range commitAll(t, j, changes) {
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	var balance int64
	if err := pool.QueryRow(context.Background(), `SELECT balance_minor FROM cards WHERE id = 's'`).Scan(&balance); err != nil {
		t.Fatal(err)
	}
	if balance != 200 {
		t.Fatalf("balance %d, want 200", balance)
	}
}

func TestJournalUnderConcurrentWriters(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 2000)
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				errs <- j.Commit(context.Background(), engine.Change{Cards: []engine.CardRecord{card(fmt.Sprintf("w%d-%d", w, i), 1, 0)}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM cards`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Fatalf("%d cards, want 2000", n)
	}
}

func TestJournalFenceByEpoch(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	store := persistence.NewStateStore(pool)
	ctx := context.Background()
	old, err := store.ClaimEpoch(ctx, "treasury")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimEpoch(ctx, "treasury"); err != nil {
		t.Fatal(err)
	}
	err = j.Commit(ctx, engine.Change{Fence: &engine.Fence{ActorID: "treasury", Epoch: old},
		Cards: []engine.CardRecord{card("x", 1, 0)}})
	if !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("write under a stale epoch: got %v, want ErrFenced", err)
	}
}
