package sim

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Card statuses at the issuer.
const (
	cardActive     = "active"
	cardBlocked    = "blocked"
	cardTerminated = "terminated"
)

// Card transaction types (the "type" extension of the transactions list).
const (
	txnCreation    = "creation"
	txnFunding     = "funding"
	txnWithdrawal  = "withdrawal"
	txnSpend       = "spend"
	txnDecline     = "decline"
	txnTermination = "termination"
)

// Spend decline reasons, as /sim/spend and card.decline report them.
const (
	declineInsufficient = "insufficient_funds"
	declineBlocked      = "card_blocked"
	declineTerminated   = "card_terminated"
)

type cardTxn struct {
	id        int64
	amount    int64 // cents
	reference string
	narration string
	credit    bool
	typ       string
	ok        bool
	at        time.Time
}

// card is one virtual card at the issuer; mu guards everything mutable.
type card struct {
	mu         sync.Mutex
	seq        uint64
	id         string // the issuer's id
	ref        string // the engine's card id (card_reference)
	reference  string // the creating operation's reference
	pan        string
	cvv        string
	expiration string
	name       string
	createdAt  time.Time
	balance    int64
	status     string
	txns       []cardTxn
}

func (c *card) record(t cardTxn) { c.txns = append(c.txns, t) }

// issuerOp is the outcome of one issuer operation, kept by reference.
type issuerOp struct {
	reference  string
	operation  string
	ok         bool
	httpStatus int
	message    string
	cardID     string
	cardRef    string
	amount     int64
}

func (op *issuerOp) fail(status int, message string) {
	op.ok, op.httpStatus, op.message = false, status, message
}

type cardShard struct {
	mu sync.Mutex
	m  map[string]*card
}

type opShard struct {
	mu sync.Mutex
	m  map[string]*issuerOp
}

// issuerBooks are the card side of the world, in USD cents: the float,
// the cards, and what flowed in (deposits, sweeps) and out (spends).
type issuerBooks struct {
	float        atomic.Int64
	initialFloat int64
	deposits     atomic.Int64
	sweptIn      atomic.Int64
	spent        atomic.Int64
	seq          atomic.Uint64
	byID         [shardCount]cardShard
	byRef        [shardCount]cardShard // card_reference → the latest card created for it
	ops          [shardCount]opShard
}

func newIssuerBooks(floatCents int64) *issuerBooks {
	b := &issuerBooks{initialFloat: floatCents}
	b.float.Store(floatCents)
	for i := 0; i < shardCount; i++ {
		b.byID[i].m = make(map[string]*card)
		b.byRef[i].m = make(map[string]*card)
		b.ops[i].m = make(map[string]*issuerOp)
	}
	return b
}

// creditFloat adds cents to the float and to the inflow counter, and
// returns the new float.
func (b *issuerBooks) creditFloat(cents int64, inflow *atomic.Int64) int64 {
	inflow.Add(cents)
	return b.float.Add(cents)
}

func (b *issuerBooks) insert(c *card) {
	for _, idx := range []struct {
		shards *[shardCount]cardShard
		key    string
	}{{&b.byID, c.id}, {&b.byRef, c.ref}} {
		sh := &idx.shards[shardIndex(idx.key)]
		sh.mu.Lock()
		sh.m[idx.key] = c
		sh.mu.Unlock()
	}
}

func lookupCard(shards *[shardCount]cardShard, key string) *card {
	sh := &shards[shardIndex(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[key]
}

// cardByID finds a card by the issuer's id.
func (b *issuerBooks) cardByID(id string) *card { return lookupCard(&b.byID, id) }

// cardByEither finds a card by the engine's id, else by the issuer's id.
func (b *issuerBooks) cardByEither(key string) *card {
	if c := lookupCard(&b.byRef, key); c != nil {
		return c
	}
	return lookupCard(&b.byID, key)
}

// cards returns every card in creation order.
func (b *issuerBooks) cards() []*card {
	var out []*card
	for i := range b.byID {
		sh := &b.byID[i]
		sh.mu.Lock()
		for _, c := range sh.m {
			out = append(out, c)
		}
		sh.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// runOp performs operation under reference once. A known reference returns
// its first outcome (conflict when it named another operation or card);
// otherwise run decides the outcome, under the reference's lock so that a
// concurrent duplicate waits for it.
func (b *issuerBooks) runOp(reference, operation, cardID string, run func(op *issuerOp)) (op issuerOp, conflict bool) {
	sh := &b.ops[shardIndex(reference)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[reference]; ok {
		return *old, old.operation != operation || (cardID != "" && old.cardID != cardID)
	}
	o := &issuerOp{reference: reference, operation: operation, cardID: cardID, ok: true}
	run(o)
	sh.m[reference] = o
	return *o, false
}

// lookupOp returns the outcome recorded under reference.
func (b *issuerBooks) lookupOp(reference string) (issuerOp, bool) {
	sh := &b.ops[shardIndex(reference)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	o, ok := sh.m[reference]
	if !ok {
		return issuerOp{}, false
	}
	return *o, true
}
