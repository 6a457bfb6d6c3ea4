package engine

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Errors of journal entries.
var (
	// ErrUnbalanced means an entry's postings do not sum to zero in some
	// currency.
	ErrUnbalanced = errors.New("unbalanced entry")
	// ErrInvalidEntry means an entry is malformed: no reference or kind, no
	// postings, a zero or negative amount given to Debit or Credit, or a
	// posting in another currency than its account's.
	ErrInvalidEntry = errors.New("invalid entry")
)

// Posting is one line of a journal entry. Amount is signed: positive is a
// debit (money into the account), negative a credit (money out of it).
type Posting struct {
	Account Account
	Amount  Money
}

// Entry is a journal entry: postings that sum to zero in each currency.
// Ref is its idempotency key (for example "funding:f_1:credit"): storage
// keeps one entry per Ref, so replaying a step cannot book it twice. Kind
// says which money movement it is (the Kind* constants).
type Entry struct {
	Ref      string
	Kind     string
	Postings []Posting
}

// Validate checks everything Build checks; use it on entries read back from
// storage or made by hand.
func (e Entry) Validate() error {
	if e.Ref == "" || e.Kind == "" {
		return fmt.Errorf("%w: an entry needs a ref and a kind (ref %q, kind %q)", ErrInvalidEntry, e.Ref, e.Kind)
	}
	if len(e.Postings) == 0 {
		return fmt.Errorf("%w: entry %s has no postings", ErrInvalidEntry, e.Ref)
	}
	sums := make(map[Currency]int64, 2)
	for _, p := range e.Postings {
		if err := checkPosting(p); err != nil {
			return fmt.Errorf("entry %s: %w", e.Ref, err)
		}
		s := sums[p.Amount.Currency]
		if (p.Amount.Minor > 0 && s > math.MaxInt64-p.Amount.Minor) ||
			(p.Amount.Minor < 0 && s < math.MinInt64-p.Amount.Minor) {
			return fmt.Errorf("entry %s: %w", e.Ref, ErrOverflow)
		}
		sums[p.Amount.Currency] = s + p.Amount.Minor
	}
	for _, c := range sortedCurrencies(sums) {
		if sums[c] != 0 {
			return fmt.Errorf("%w: entry %s is off by %s %s", ErrUnbalanced, e.Ref, Money{Minor: sums[c], Currency: c}, c)
		}
	}
	return nil
}

func checkPosting(p Posting) error {
	cur := p.Account.Currency()
	switch {
	case cur == "":
		return fmt.Errorf("%w: %w: %q", ErrInvalidEntry, ErrUnknownAccount, p.Account)
	case p.Amount.Currency != cur:
		return fmt.Errorf("%w: %w: %s is %s, posting is %q", ErrInvalidEntry, ErrCurrencyMismatch,
			p.Account, cur, p.Amount.Currency)
	case p.Amount.IsZero():
		return fmt.Errorf("%w: zero posting to %s", ErrInvalidEntry, p.Account)
	}
	return nil
}

func sortedCurrencies(m map[Currency]int64) []Currency {
	cs := make([]Currency, 0, len(m))
	for c := range m {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
	return cs
}

// EntryBuilder assembles an entry posting by posting; Build refuses it
// unless it is well formed and balanced. Debit and Credit take positive
// amounts; the sign is theirs to set.
type EntryBuilder struct {
	entry Entry
	err   error
}

// NewEntry starts an entry with its idempotency key and kind.
func NewEntry(ref, kind string) *EntryBuilder {
	return &EntryBuilder{entry: Entry{Ref: ref, Kind: kind}}
}

// Debit adds amount (positive) into a.
func (b *EntryBuilder) Debit(a Account, amount Money) *EntryBuilder {
	return b.post(a, amount, 1)
}

// Credit takes amount (positive) out of a.
func (b *EntryBuilder) Credit(a Account, amount Money) *EntryBuilder {
	return b.post(a, amount, -1)
}

// Transfer moves amount (positive) from one account to another of the same
// currency: a credit to from and a debit to to.
func (b *EntryBuilder) Transfer(from, to Account, amount Money) *EntryBuilder {
	return b.Credit(from, amount).Debit(to, amount)
}

func (b *EntryBuilder) post(a Account, amount Money, sign int64) *EntryBuilder {
	if b.err != nil {
		return b
	}
	if !amount.IsPositive() {
		b.err = fmt.Errorf("%w: entry %s: amount %s %s to %s must be positive", ErrInvalidEntry, b.entry.Ref,
			amount, amount.Currency, a)
		return b
	}
	b.entry.Postings = append(b.entry.Postings, Posting{Account: a, Amount: Money{Minor: sign * amount.Minor, Currency: amount.Currency}})
	return b
}

// Build returns the entry, or an error wrapping ErrInvalidEntry,
// ErrUnbalanced or ErrOverflow. The builder should not be reused.
func (b *EntryBuilder) Build() (Entry, error) {
	if b.err != nil {
		return Entry{}, b.err
	}
	if err := b.entry.Validate(); err != nil {
		return Entry{}, err
	}
	return b.entry, nil
}
