// Package actors runs the engine's state machines on protoactor-go actors,
// one per card, one treasury per issuer account, one per provider account,
// and an outbox dispatcher. It owns serialization (each actor's mailbox),
// activation and passivation, the sagas of fundings, withdrawals, refunds,
// terminations and sweeps, and recovery after a crash.
//
// The actors decide with the pure functions of package engine and make
// every decision durable through the engine.Journal port before they
// acknowledge it or let money move (DESIGN.md, durability rules). They reach
// providers only through the engine ports, asynchronously: a provider call
// never blocks a mailbox, and its result comes back as a message.
//
// Activation goes through shards (see Registry): a shard owns get-or-spawn
// for its card ids and holds the messages of a card whose actor is
// passivating, so that no message is lost and no card ever has two live
// activations in one process. Across processes, versioned writes fence a
// stale activation (persistence rejects its write).
package actors
