package sim

import (
	"fmt"
	"strconv"
	"sync/atomic"
)

// idSource hands out the simulator's own identifiers. Counters make them
// unique and ordered; the seed makes generated card data reproducible.
type idSource struct {
	seed    uint64
	event   atomic.Uint64
	service atomic.Uint64
	card    atomic.Uint64
	txn     atomic.Uint64
	deposit atomic.Uint64
	message atomic.Uint64
}

func newIDSource(seed uint64) idSource { return idSource{seed: seed} }

func (g *idSource) eventID() string     { return "evt_" + pad12(g.event.Add(1)) }
func (g *idSource) nextService() uint64 { return g.service.Add(1) }

// serviceRef formats a service sequence as the provider's reference.
func serviceRef(n uint64) string       { return "QS" + pad12(n) }
func (g *idSource) depositRef() string { return "dep_" + pad12(g.deposit.Add(1)) }
func (g *idSource) cardTxnID() int64   { return int64(7000 + g.txn.Add(1)) }

// messageID returns a 32-hex-digit id, as MessageBird and OneSignal use.
func (g *idSource) messageID() string {
	n := g.message.Add(1)
	return fmt.Sprintf("%016x%016x", splitmix(g.seed^0x6d657373), n)
}

// notificationID returns a UUID-shaped id for OneSignal.
func (g *idSource) notificationID() string { return uuidFrom(g.seed^0x70757368, g.message.Add(1)) }

// newCardData returns a fresh issuer card id, a Luhn-valid 16-digit VISA
// PAN and a CVV, derived from the seed and a counter.
func (g *idSource) newCardData() (id, pan, cvv string) {
	n := g.card.Add(1)
	id = uuidFrom(g.seed, n)
	r := splitmix(g.seed ^ (n * 0x9e3779b97f4a7c15))
	body := "418745" + fmt.Sprintf("%09d", r%1_000_000_000)
	pan = body + strconv.Itoa(luhnCheckDigit(body))
	cvv = fmt.Sprintf("%03d", (r>>32)%1000)
	return id, pan, cvv
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
