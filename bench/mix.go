package bench

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Operation kinds of the e2e mix.
const (
	opFunding    = "funding"
	opWithdrawal = "withdrawal"
	opIssuance   = "issuance"
	opRead       = "read"
	opSpend      = "spend"
)

// DefaultMix is e2e's realistic mix: mostly top-ups (both operators,
// half each), then reads of a card, withdrawals, card purchases and spends
// at merchants.
const DefaultMix = "funding=60,read=20,withdrawal=10,issuance=5,spend=5"

// ErrBadMix is returned for a mix that cannot be parsed.
var ErrBadMix = errors.New("bad mix")

// mix draws operation kinds with fixed weights.
type mix struct {
	kinds []string
	cum   []uint64 // cumulative weights
	total uint64
}

// parseMix reads "kind=weight,...", e.g. "funding=60,read=40".
func parseMix(s string) (mix, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultMix
	}
	known := map[string]bool{opFunding: true, opWithdrawal: true, opIssuance: true, opRead: true, opSpend: true}
	weights := map[string]uint64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return mix{}, fmt.Errorf("%w: %q is not kind=weight", ErrBadMix, part)
		}
		if !known[k] {
			return mix{}, fmt.Errorf("%w: unknown kind %q (funding, withdrawal, issuance, read, spend)", ErrBadMix, k)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return mix{}, fmt.Errorf("%w: weight of %s: %v", ErrBadMix, k, err)
		}
		weights[k] += n
	}
	var m mix
	kinds := make([]string, 0, len(weights))
	for k := range weights {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		if weights[k] == 0 {
			continue
		}
		m.total += weights[k]
		m.kinds = append(m.kinds, k)
		m.cum = append(m.cum, m.total)
	}
	if m.total == 0 {
		return mix{}, fmt.Errorf("%w: every weight is zero", ErrBadMix)
	}
	return m, nil
}

// pick maps a random number to a kind.
func (m mix) pick(r uint64) string {
	x := r % m.total
	for i, c := range m.cum {
		if x < c {
			return m.kinds[i]
		}
	}
	return m.kinds[len(m.kinds)-1]
}

// String is the mix as parseMix reads it.
func (m mix) String() string {
	parts := make([]string, len(m.kinds))
	prev := uint64(0)
	for i, k := range m.kinds {
		parts[i] = fmt.Sprintf("%s=%d", k, m.cum[i]-prev)
		prev = m.cum[i]
	}
	return strings.Join(parts, ",")
}

// has reports whether the mix draws kind at all.
func (m mix) has(kind string) bool {
	for _, k := range m.kinds {
		if k == kind {
			return true
		}
	}
	return false
}
