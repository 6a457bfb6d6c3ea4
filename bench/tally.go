package bench

import "sync"

// Kinds of saga the harness follows through the API.
const (
	kindFunding    = "funding"
	kindWithdrawal = "withdrawal"
)

// tally is the harness's own account of what the API and the simulator
// acknowledged: each saga accepted (by id, under the Idempotency-Key that
// created it), each seen final, every approved spend. The checks hold the
// engine's books against it: nothing acknowledged may be missing, nothing
// unacknowledged may exist, nothing may count twice.
type tally struct {
	mu sync.Mutex
	// ids by kind: id → Idempotency-Key
	ids map[string]map[string]string
	// keys: Idempotency-Key → the id it was answered with first
	keys map[string]string
	// keyConflicts counts keys answered with two different ids.
	keyConflicts int
	finals       map[string]int // "kind/id" → times seen final
	cards        map[string]bool
	spent        map[string]int64 // card → cents of approved spends
	spends       int
	declined     int
	abandoned    int // operations given up before an answer (their outcome is unknown to the harness)
	unfollowed   int // sagas accepted whose wait for a final status failed (counted in the errors)
}

func newTally() tally {
	return tally{ids: map[string]map[string]string{kindFunding: {}, kindWithdrawal: {}}, keys: map[string]string{},
		finals: map[string]int{}, cards: map[string]bool{}, spent: map[string]int64{}}
}

func (t *tally) accepted(kind, id, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids[kind][id] = key
	if first, ok := t.keys[kind+"/"+key]; ok && first != id {
		t.keyConflicts++
		return
	}
	t.keys[kind+"/"+key] = id
}

func (t *tally) final(kind, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finals[kind+"/"+id]++
}

func (t *tally) cardIssued(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cards[id] = true
}

func (t *tally) spend(card string, cents int64, approved bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if approved {
		t.spent[card] += cents
		t.spends++
	} else {
		t.declined++
	}
}

func (t *tally) unfollow() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unfollowed++
}

func (t *tally) abandon() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.abandoned++
}

// snapshot copies what the checks need.
func (t *tally) snapshot() tallySnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := tallySnapshot{ids: map[string]map[string]bool{}, finals: map[string]int{}, spent: map[string]int64{},
		keyConflicts: t.keyConflicts, spends: t.spends, declined: t.declined, abandoned: t.abandoned,
		unfollowed: t.unfollowed}
	for kind, ids := range t.ids {
		s.ids[kind] = make(map[string]bool, len(ids))
		for id := range ids {
			s.ids[kind][id] = true
		}
	}
	for k, v := range t.finals {
		s.finals[k] = v
	}
	for k, v := range t.spent {
		s.spent[k] = v
	}
	return s
}

type tallySnapshot struct {
	ids                                       map[string]map[string]bool
	finals                                    map[string]int
	spent                                     map[string]int64
	keyConflicts, spends, declined, abandoned int
	unfollowed                                int
}
