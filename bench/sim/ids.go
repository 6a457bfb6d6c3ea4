package sim

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// idSource hands out the simulator's own identifiers.
//
// The engine keeps them in unique columns and dedupe tables (issuer card
// ids, webhook event ids, card transaction ids) that outlive a simulator
// restart, so an id must never repeat one an earlier run handed out, even
// when that run's state file was lost. String ids therefore carry a tag
// drawn from crypto/rand at every start. Numeric ids (card transaction ids,
// numbers on the wire, and the serviceref sequence, kept as a number in
// every transaction and formatted when answered) count up from the start
// time in microseconds, about 1.8e15 and exact in a JSON number: a run
// continues above any number an earlier run used unless that run averaged
// more than a million of them a second. The counters keep ids ordered
// within a run and are saved with the world. The seed only drives what
// tests may want reproducible: card PAN and CVV.
type idSource struct {
	tag     string // random per start; part of every string id
	inst    uint64 // random per start; behind card UUIDs and message ids
	seed    uint64
	event   atomic.Uint64
	service atomic.Uint64
	card    atomic.Uint64
	txn     atomic.Uint64
	deposit atomic.Uint64
	message atomic.Uint64
}

// newIDSource returns the ids of a run that starts at start.
func newIDSource(seed uint64, start time.Time) *idSource {
	g := &idSource{tag: randomTag(), inst: randomUint64(), seed: seed}
	g.service.Store(uint64(start.UnixMicro()))
	g.txn.Store(uint64(start.UnixMicro()))
	return g
}

// randomUint64 draws from crypto/rand, which never fails on supported
// platforms (it aborts the program instead).
func randomUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// randomTag is 8 lowercase base32 characters (40 random bits): short enough
// to keep ids readable, wide enough that two starts practically never share it.
func randomTag() string { return strings.ToLower(rand.Text()[:8]) }

// randomSeed is a non-zero seed for a start whose Config.Seed is unset.
func randomSeed() uint64 {
	for {
		if s := randomUint64(); s != 0 {
			return s
		}
	}
}

func (g *idSource) eventID() string     { return "evt_" + g.tag + "_" + pad12(g.event.Add(1)) }
func (g *idSource) nextService() uint64 { return g.service.Add(1) }

// serviceRef formats a service sequence as the provider's reference.
func serviceRef(n uint64) string       { return "QS" + pad12(n) }
func (g *idSource) depositRef() string { return "dep_" + g.tag + "_" + pad12(g.deposit.Add(1)) }

// cardTxnID numbers a card transaction (the issuer's transaction id).
func (g *idSource) cardTxnID() int64 { return int64(g.txn.Add(1)) }

// messageID returns a 32-hex-digit id, as MessageBird and OneSignal use.
func (g *idSource) messageID() string {
	n := g.message.Add(1)
	return fmt.Sprintf("%016x%016x", splitmix(g.inst^0x6d657373), n)
}

// notificationID returns a UUID-shaped id for OneSignal.
func (g *idSource) notificationID() string { return uuidFrom(g.inst^0x70757368, g.message.Add(1)) }

// newCardData returns a fresh issuer card id, a Luhn-valid 16-digit VISA
// PAN and a CVV. The id is unique to this run; PAN and CVV follow from the
// seed and the card counter.
func (g *idSource) newCardData() (id, pan, cvv string) {
	n := g.card.Add(1)
	id = uuidFrom(g.inst, n)
	r := splitmix(g.seed ^ (n * 0x9e3779b97f4a7c15))
	body := "418745" + fmt.Sprintf("%09d", r%1_000_000_000)
	pan = body + strconv.Itoa(luhnCheckDigit(body))
	cvv = fmt.Sprintf("%03d", (r>>32)%1000)
	return id, pan, cvv
}

// savedIDs are the id counters as the state file keeps them.
type savedIDs struct {
	Event   uint64 `json:"event"`
	Service uint64 `json:"service"`
	Card    uint64 `json:"card"`
	Txn     uint64 `json:"card_transaction"`
	Deposit uint64 `json:"deposit"`
	Message uint64 `json:"message"`
}

func (g *idSource) save() savedIDs {
	return savedIDs{
		Event: g.event.Load(), Service: g.service.Load(), Card: g.card.Load(),
		Txn: g.txn.Load(), Deposit: g.deposit.Load(), Message: g.message.Load(),
	}
}

// restore continues the saved counters; the time-based ones keep whichever
// is higher, the saved one or this start's time, so that a clock set back
// cannot make them repeat.
func (g *idSource) restore(s savedIDs) {
	g.event.Store(s.Event)
	g.service.Store(max(g.service.Load(), s.Service))
	g.card.Store(s.Card)
	g.txn.Store(max(g.txn.Load(), s.Txn))
	g.deposit.Store(s.Deposit)
	g.message.Store(s.Message)
}

func uuidFrom(seed, n uint64) string {
	a := splitmix(seed ^ n)
	b := splitmix(a ^ n)
	// Version 4 and RFC 4122 variant bits, so the ids look like the real ones.
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		uint32(a>>32), uint16(a>>16), uint16(a)&0x0fff, (uint16(b>>48)&0x3fff)|0x8000, b&0xffffffffffff)
}

// splitmix is the SplitMix64 finaliser: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func luhnCheckDigit(digits string) int {
	sum := 0
	double := true // the check digit will be appended to the right
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

func pad12(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) >= 12 {
		return s
	}
	return "000000000000"[len(s):] + s
}
