package engine_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"kash/engine"
)

// bookKeeper books entries made by the domain constructors into a test
// ledger and keeps, beside it, a model of what the balances must be.
type bookKeeper struct {
	t        *rapid.T
	rates    engine.Rates
	balances map[engine.Account]int64
	entries  int
	cards    map[string]int64           // card id → USD cents
	earned   map[engine.Operation]int64 // XOF, from the quotes of completed operations
	owed     int64                      // XOF paid by wallets for fundings still in flight
}

func (b *bookKeeper) book(e engine.Entry, err error) {
	if err != nil {
		b.t.Fatalf("entry constructor: %v", err)
	}
	if err := e.Validate(); err != nil {
		b.t.Fatalf("entry %s does not validate: %v", e.Ref, err)
	}
	sums := map[engine.Currency]int64{}
	for _, p := range e.Postings {
		if p.Amount.Currency != p.Account.Currency() {
			b.t.Fatalf("entry %s posts %s to %s", e.Ref, p.Amount.Currency, p.Account)
		}
		sums[p.Amount.Currency] += p.Amount.Minor
		b.balances[p.Account] += p.Amount.Minor
	}
	for c, s := range sums {
		if s != 0 {
			b.t.Fatalf("entry %s is off by %d in %s", e.Ref, s, c)
		}
	}
	b.entries++
}

func (b *bookKeeper) normal(a engine.Account) int64 {
	return a.NormalBalance(engine.NewMoney(b.balances[a], a.Currency())).Minor
}

var providers = []string{"mtn-bj", "moov-bj"}

func (b *bookKeeper) funding(id string) {
	t := b.t
	op := rapid.SampledFrom([]engine.Operation{engine.OpIssuance, engine.OpFunding}).Draw(t, "op")
	q, err := engine.QuoteFromCard(op, b.rates, usd(rapid.Int64Range(5_00, 2_500_00).Draw(t, "card")), t0, time.Minute)
	if err != nil {
		allowedQuoteError(t, err)
		return
	}
	card := rapid.SampledFrom([]string{"c1", "c2", "c3"}).Draw(t, "card_id")
	p := rapid.SampledFrom(providers).Draw(t, "provider")
	switch rapid.SampledFrom([]string{"credited", "refunded", "in_flight", "late_refunded", "late_applied", "unpaid"}).Draw(t, "outcome") {
	case "credited":
		b.book(engine.CollectionEntry(id, p, q.MomoAmount))
		b.book(engine.CardCreditEntry(id, card, q))
		b.credit(card, q)
	case "refunded":
		b.book(engine.CollectionEntry(id, p, q.MomoAmount))
		b.book(engine.RefundEntry(id, p, q.MomoAmount))
	case "in_flight":
		b.book(engine.CollectionEntry(id, p, q.MomoAmount))
		b.owed += q.MomoAmount.Minor
	case "late_refunded":
		b.book(engine.CollectionEntry(id, p, q.MomoAmount))
		b.book(engine.SuspenseInEntry("pay-"+id, q.MomoAmount))
		b.book(engine.SuspenseOutEntry("pay-"+id, q.MomoAmount))
		b.book(engine.RefundEntry(id, p, q.MomoAmount))
	case "late_applied":
		b.book(engine.CollectionEntry(id, p, q.MomoAmount))
		b.book(engine.SuspenseInEntry("pay-"+id, q.MomoAmount))
		b.book(engine.SuspenseOutEntry("pay-"+id, q.MomoAmount))
		b.book(engine.CardCreditEntry(id, card, q))
		b.credit(card, q)
	}
}

func (b *bookKeeper) credit(card string, q engine.Quote) {
	b.cards[card] += q.CardAmount.Minor
	b.earned[q.Operation] += q.Earnings.Minor
}

func (b *bookKeeper) withdrawal(id string) {
	t := b.t
	card := rapid.SampledFrom([]string{"c1", "c2", "c3"}).Draw(t, "card_id")
	if b.cards[card] < 1 {
		return
	}
	q, err := engine.QuoteFromCard(engine.OpWithdrawal, b.rates, usd(rapid.Int64Range(1, b.cards[card]).Draw(t, "amount")), t0, time.Minute)
	if err != nil {
		allowedQuoteError(t, err) // a rate so low that a cent pays out nothing
		return
	}
	p := rapid.SampledFrom(providers).Draw(t, "provider")
	b.book(engine.WithdrawalDebitEntry(id, card, q.CardAmount))
	// A provider cannot pay out more than it holds: such a payout fails.
	short := b.balances[engine.MomoAccount(p)] < q.MomoAmount.Minor
	if short || rapid.Bool().Draw(t, "payout_fails") {
		b.book(engine.CreditBackEntry(id, card, q.CardAmount))
		return
	}
	b.book(engine.PayoutEntry(id, p, q))
	b.cards[card] -= q.CardAmount.Minor
	b.earned[engine.OpWithdrawal] += q.Earnings.Minor
}

func (b *bookKeeper) spend(id string) {
	card := rapid.SampledFrom([]string{"c1", "c2", "c3"}).Draw(b.t, "card_id")
	if b.cards[card] < 1 {
		return
	}
	amount := rapid.Int64Range(1, b.cards[card]).Draw(b.t, "amount")
	b.book(engine.SpendEntry(id, card, usd(amount)))
	b.cards[card] -= amount
	if rapid.Bool().Draw(b.t, "reversed") {
		b.book(engine.SpendReversalEntry(id, card, usd(amount)))
		b.cards[card] += amount
	}
}

func (b *bookKeeper) sweep(id string) {
	p := rapid.SampledFrom(providers).Draw(b.t, "provider")
	have := b.balances[engine.MomoAccount(p)]
	if have < 1 {
		return
	}
	xofOut := rapid.Int64Range(1, have).Draw(b.t, "xof")
	b.book(engine.SweepPayoutEntry(id, p, xof(xofOut)))
	if usdIn := xofOut * 100 / 610; usdIn > 0 && rapid.Bool().Draw(b.t, "arrived") {
		b.book(engine.SweepDepositEntry(id, usd(usdIn)))
	}
}

// TestPropLedgerBalances books random sequences of every money movement and
// checks that each entry balances per currency and that the balances are
// what the operations say: cards hold what was put on them, revenue equals
// the earnings of the quotes, world:momo what is owed to payers.
func TestPropLedgerBalances(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := &bookKeeper{t: t, rates: genRates().Draw(t, "rates"), balances: map[engine.Account]int64{},
			cards: map[string]int64{}, earned: map[engine.Operation]int64{}}
		b.book(engine.FloatDepositEntry("d0", usd(1_000_000_00)))
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for i := range steps {
			id := fmt.Sprint("op", i)
			switch rapid.IntRange(0, 4).Draw(t, "kind") {
			case 0, 1:
				b.funding(id)
			case 2:
				b.withdrawal(id)
			case 3:
				b.spend(id)
			case 4:
				b.sweep(id)
			}
		}
		b.checkInvariants()
	})
}

func (b *bookKeeper) checkInvariants() {
	t := b.t
	total := map[engine.Currency]int64{}
	for a, bal := range b.balances {
		total[a.Currency()] += bal
	}
	for c, s := range total {
		if s != 0 {
			t.Fatalf("the ledger is off by %d %s", s, c)
		}
	}
	for card, want := range b.cards {
		if got := b.normal(engine.CardAccount(card)); got != want {
			t.Fatalf("card %s holds %d, want %d", card, got, want)
		}
	}
	for _, op := range engine.Operations() {
		if got := b.normal(engine.RevenueAccount(op)); got != b.earned[op] || got < 0 {
			t.Fatalf("revenue:%s = %d, quotes earned %d", op, got, b.earned[op])
		}
	}
	if got := b.normal(engine.WorldMomoAccount()); got != b.owed {
		t.Fatalf("world:momo = %d, want %d owed to payers of fundings in flight", got, b.owed)
	}
	if got := b.normal(engine.SuspenseAccount()); got != 0 {
		t.Fatalf("suspense = %d after every late payment was resolved", got)
	}
	for _, p := range providers {
		if got := b.normal(engine.MomoAccount(p)); got < 0 {
			t.Fatalf("momo:%s = %d", p, got)
		}
	}
}
