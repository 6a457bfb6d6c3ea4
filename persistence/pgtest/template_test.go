package pgtest

import (
	"testing"
	"time"
)

func TestDatabaseNamesCarryTheirCreationTime(t *testing.T) {
	before := time.Now().Add(-time.Second)
	a, b := newDatabaseName(), newDatabaseName()
	if a == b {
		t.Fatalf("two names alike: %s", a)
	}
	created, ok := createdAt(a)
	if !ok {
		t.Fatalf("no creation time in %s", a)
	}
	if created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Fatalf("creation time %v read from %s is not now", created, a)
	}
	if _, ok := createdAt("kash_test_notatime"); ok {
		t.Fatal("a name without a time parsed")
	}
	if len(a) > 63 {
		t.Fatalf("name %s longer than Postgres's 63-byte identifiers", a)
	}
}

func TestMigrationsDigestIsStable(t *testing.T) {
	a, err := migrationsDigest()
	if err != nil {
		t.Fatal(err)
	}
	b, err := migrationsDigest()
	if err != nil {
		t.Fatal(err)
	}
	if a != b || len(a) != 16 {
		t.Fatalf("digests %q and %q", a, b)
	}
}
