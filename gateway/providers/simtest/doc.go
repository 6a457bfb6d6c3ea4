// Package simtest holds the integration tests of the provider adapters
// against the provider simulator (bench/sim) over real HTTP on loopback:
// the production adapters, unchanged, talking to the sandbox the engine
// uses in development and in the bench. It has no code of its own; keeping
// these tests apart lets each adapter's own tests run even while the
// simulator is being changed.
package simtest
