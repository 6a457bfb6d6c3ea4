// Package persistence is Kash's storage layer on PostgreSQL through pgx/v5.
//
// It holds everything that talks to the database, so that the engine stays
// pure and the actors never build SQL themselves:
//
//   - the versioned SQL migrations, embedded in the binary and applied at
//     start with jackc/tern (Migrate, MigrationFS);
//   - the group-commit journal through which the actors make their state
//     changes durable, several actors' writes per transaction;
//   - the read queries behind the REST API;
//   - the idempotency store and the outbox;
//   - the connection pool (Open);
//   - the local Postgres bootstrap (StartLocal): when no database URL is
//     given, kashd and the tests start a private cluster from the installed
//     server binaries and reuse it on the next start.
//
// Tests get a fresh, migrated database each from the pgtest subpackage.
//
// Dependencies point inward: persistence may import engine, never actors
// or gateway.
package persistence
