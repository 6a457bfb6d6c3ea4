// Package bench is the load harness behind cmd/kashbench: it is how the
// project measures the engine, honestly and repeatably (shared/BENCH.md).
//
// A Scenario sets up its own world (a fresh database, seeded state, the
// engine or a conventional implementation to compare against), then the
// harness offers it load, either open-loop at a fixed arrival rate, with
// each latency measured from the operation's intended send time so that a
// stalled system cannot hide its queueing (no coordinated omission), or
// closed-loop with a fixed number of workers. Latencies go into
// HdrHistograms, overall and per second.
//
// Around the measured window the harness samples the CPU and memory of
// this process and of the Postgres server, and the database's own
// statistics (commits, rows written, WAL), so that a report says what a
// figure cost as well as the figure. Every run ends with the scenario's
// correctness checks (the ledger balances, the providers' books equal the
// engine's, money is conserved, every saga is final): a run whose checks
// fail is a failed run, whatever its speed.
//
// Scenarios register themselves by name (Register). settle, baseline and
// memory drive the engine in this process. The HTTP scenarios (e2e,
// contention, starved, chaos) run kashd as a child process on the run's
// database, with the provider simulator in this process over real HTTP,
// and drive the REST API with fasthttp's client as apps do; their checks
// hold the engine's books against the simulator's and against the
// harness's own tally of what the API acknowledged. Results render as
// Markdown, as JSON, and as an SVG chart of latency over time.
package bench
