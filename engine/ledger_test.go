package engine_test

import (
	"errors"
	"testing"
	"time"

	"kash/engine"
)

func TestAccountCurrencies(t *testing.T) {
	tests := []struct {
		a    engine.Account
		want engine.Currency
	}{
		{engine.CardAccount("c_1"), engine.USD},
		{engine.IssuerFloatAccount(), engine.USD},
		{engine.MomoAccount("mtn-bj"), engine.XOF},
		{engine.WorldMomoAccount(), engine.XOF},
		{engine.WorldCardAccount(), engine.USD},
		{engine.WorldIssuerAccount(), engine.USD},
		{engine.FXAccount(engine.USD), engine.USD},
		{engine.FXAccount(engine.XOF), engine.XOF},
		{engine.RevenueAccount(engine.OpIssuance), engine.XOF},
		{engine.RevenueAccount(engine.OpWithdrawal), engine.XOF},
		{engine.SuspenseAccount(), engine.XOF},
		{engine.CardAccount(""), ""},
		{engine.CardAccount("a b"), ""},
		{engine.MomoAccount(""), ""},
		{engine.FXAccount("EUR"), ""},
		{engine.RevenueAccount("refund"), ""},
		{"world:moon", ""},
	}
	for _, tt := range tests {
		if got := tt.a.Currency(); got != tt.want {
			t.Errorf("%q.Currency() = %q, want %q", tt.a, got, tt.want)
		}
		_, err := engine.ParseAccount(tt.a.String())
		if (err == nil) != (tt.want != "") || (err != nil && !errors.Is(err, engine.ErrUnknownAccount)) {
			t.Errorf("ParseAccount(%q) = %v", tt.a, err)
		}
	}
}

func TestNormalBalance(t *testing.T) {
	if got := engine.RevenueAccount(engine.OpFunding).NormalBalance(xof(-522)); got != xof(522) {
		t.Errorf("revenue credit of 522 shows %v", got)
	}
	if got := engine.CardAccount("c").NormalBalance(usd(1000)); got != usd(1000) {
		t.Errorf("card debit of 10.00 shows %v", got)
	}
}

func TestEntryBuilderRefuses(t *testing.T) {
	card := engine.CardAccount("c")
	float := engine.IssuerFloatAccount()
	tests := []struct {
		name string
		b    *engine.EntryBuilder
		want error
	}{
		{"no postings", engine.NewEntry("r", "k"), engine.ErrInvalidEntry},
		{"no ref", engine.NewEntry("", "k").Transfer(float, card, usd(1)), engine.ErrInvalidEntry},
		{"no kind", engine.NewEntry("r", "").Transfer(float, card, usd(1)), engine.ErrInvalidEntry},
		{"zero posting", engine.NewEntry("r", "k").Transfer(float, card, usd(0)), engine.ErrInvalidEntry},
		{"negative debit", engine.NewEntry("r", "k").Debit(card, usd(-1)).Credit(float, usd(-1)), engine.ErrInvalidEntry},
		{"currency not the account's", engine.NewEntry("r", "k").Transfer(engine.MomoAccount("p"), card, usd(1)), engine.ErrCurrencyMismatch},
		{"unknown account", engine.NewEntry("r", "k").Transfer("bank", card, usd(1)), engine.ErrUnknownAccount},
		{"one side only", engine.NewEntry("r", "k").Debit(card, usd(1)), engine.ErrUnbalanced},
		{"unbalanced", engine.NewEntry("r", "k").Debit(card, usd(2)).Credit(float, usd(1)), engine.ErrUnbalanced},
		// Balanced in total minor units, but not per currency.
		{"mixed currencies", engine.NewEntry("r", "k").Debit(card, usd(600)).Credit(engine.MomoAccount("p"), xof(600)), engine.ErrUnbalanced},
		{"overflowing sum", engine.NewEntry("r", "k").Debit(card, usd(1<<62)).Debit(card, usd(1<<62)).
			Credit(float, usd(1<<62)).Credit(float, usd(1<<62)), engine.ErrOverflow},
	}
	for _, tt := range tests {
		if e, err := tt.b.Build(); !errors.Is(err, tt.want) {
			t.Errorf("%s: Build() = %+v, %v; want %v", tt.name, e, err, tt.want)
		}
	}
}

func TestEntryBuilderBuildsBalancedEntries(t *testing.T) {
	e, err := engine.NewEntry("r1", "test").
		Transfer(engine.IssuerFloatAccount(), engine.CardAccount("c"), usd(500)).
		Debit(engine.WorldMomoAccount(), xof(3261)).
		Credit(engine.FXAccount(engine.XOF), xof(3000)).
		Credit(engine.RevenueAccount(engine.OpFunding), xof(261)).Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Posting{
		{Account: engine.IssuerFloatAccount(), Amount: usd(-500)},
		{Account: engine.CardAccount("c"), Amount: usd(500)},
		{Account: engine.WorldMomoAccount(), Amount: xof(3261)},
		{Account: engine.FXAccount(engine.XOF), Amount: xof(-3000)},
		{Account: engine.RevenueAccount(engine.OpFunding), Amount: xof(-261)},
	}
	if e.Ref != "r1" || e.Kind != "test" || len(e.Postings) != len(want) {
		t.Fatalf("entry = %+v", e)
	}
	for i := range want {
		if e.Postings[i] != want[i] {
			t.Errorf("posting %d = %+v, want %+v", i, e.Postings[i], want[i])
		}
	}
}

func TestEntryValidateCatchesTampering(t *testing.T) {
	e, err := engine.SpendEntry("ev1", "c", usd(100))
	if err != nil {
		t.Fatal(err)
	}
	e.Postings[0].Amount.Minor--
	if err := e.Validate(); !errors.Is(err, engine.ErrUnbalanced) {
		t.Errorf("Validate of a tampered entry = %v, want ErrUnbalanced", err)
	}
}

// ledger is a test ledger: the balances (debits minus credits) that a
// sequence of entries leaves.
type ledger map[engine.Account]int64

// poster returns a function that books what an entry constructor returns,
// failing the test on an error.
func (l ledger) poster(t *testing.T) func(engine.Entry, error) {
	return func(e engine.Entry, err error) {
		t.Helper()
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range e.Postings {
			l[p.Account] += p.Amount.Minor
		}
	}
}

func (l ledger) normal(a engine.Account) int64 {
	return a.NormalBalance(engine.NewMoney(l[a], a.Currency())).Minor
}

// TestLedgerFlows runs every movement of DESIGN.md through the entry
// constructors and checks the balances they leave.
func TestLedgerFlows(t *testing.T) {
	r := engine.DefaultRates()
	l := ledger{}
	post := l.poster(t)
	const p = "mtn-bj"
	momo, card := engine.MomoAccount(p), engine.CardAccount("c1")

	post(engine.FloatDepositEntry("dep1", usd(100_00)))

	// An issuance of 10 USD: paid, then credited.
	iss, _ := engine.QuoteFromCard(engine.OpIssuance, r, usd(10_00), t0, time.Minute)
	post(engine.CollectionEntry("f1", p, iss.MomoAmount))
	if l.normal(engine.WorldMomoAccount()) != iss.MomoAmount.Minor {
		t.Errorf("a paid funding is not owed to its payer: world:momo = %d", l.normal(engine.WorldMomoAccount()))
	}
	post(engine.CardCreditEntry("f1", "c1", iss))

	// A funding of 20 USD that the issuer refused: refunded in full.
	fail, _ := engine.QuoteFromCard(engine.OpFunding, r, usd(20_00), t0, time.Minute)
	post(engine.CollectionEntry("f2", p, fail.MomoAmount))
	post(engine.RefundEntry("f2", p, fail.MomoAmount))

	// A late payment: set aside, then refunded.
	post(engine.CollectionEntry("f3", p, xof(4000)))
	post(engine.SuspenseInEntry("pay-f3", xof(4000)))
	if l.normal(engine.SuspenseAccount()) != 4000 || l[engine.WorldMomoAccount()] != 0 {
		t.Errorf("late payment not in suspense: %v", l)
	}
	post(engine.SuspenseOutEntry("pay-f3", xof(4000)))
	post(engine.RefundEntry("f3", p, xof(4000)))

	// A withdrawal of 3 USD that is paid, and one of 1 USD whose payout fails.
	wd, _ := engine.QuoteFromCard(engine.OpWithdrawal, r, usd(3_00), t0, time.Minute)
	post(engine.WithdrawalDebitEntry("w1", "c1", wd.CardAmount))
	post(engine.PayoutEntry("w1", p, wd))
	post(engine.WithdrawalDebitEntry("w2", "c1", usd(1_00)))
	post(engine.CreditBackEntry("w2", "c1", usd(1_00)))

	// A spend and a sweep.
	post(engine.SpendEntry("ev1", "c1", usd(2_00)))
	post(engine.SweepPayoutEntry("s1", p, xof(6000)))
	post(engine.SweepDepositEntry("s1", usd(10_00)))

	checks := []struct {
		name string
		a    engine.Account
		want int64
	}{
		{"card", card, 10_00 - 3_00 - 2_00},
		{"float", engine.IssuerFloatAccount(), 100_00 - 10_00 + 3_00 + 10_00},
		{"momo", momo, iss.MomoAmount.Minor - wd.MomoAmount.Minor - 6000},
		{"issuance revenue", engine.RevenueAccount(engine.OpIssuance), iss.Earnings.Minor},
		{"funding revenue", engine.RevenueAccount(engine.OpFunding), 0},
		{"withdrawal revenue", engine.RevenueAccount(engine.OpWithdrawal), wd.Earnings.Minor},
		{"nothing owed to wallets", engine.WorldMomoAccount(), 0},
		{"suspense", engine.SuspenseAccount(), 0},
		{"fx:xof: cost of float used, swept, returned", engine.FXAccount(engine.XOF), -iss.CostAmount().Minor + 6000 + wd.CostAmount().Minor},
		{"spent", engine.WorldCardAccount(), 2_00},
	}
	for _, c := range checks {
		if got := l.normal(c.a); got != c.want {
			t.Errorf("%s (%s) = %d, want %d", c.name, c.a, got, c.want)
		}
	}
	// With nothing in flight, the house's XOF (collections, plus the float
	// it has pre-paid or still owes at cost) is exactly its earnings.
	house := l.normal(momo) + l.normal(engine.FXAccount(engine.XOF))
	if earned := iss.Earnings.Minor + wd.Earnings.Minor; house != earned {
		t.Errorf("house XOF %d, earnings %d", house, earned)
	}
}

func TestEntryConstructorsRefuseBadInput(t *testing.T) {
	r := engine.DefaultRates()
	fund, _ := engine.QuoteFromCard(engine.OpFunding, r, usd(10_00), t0, time.Minute)
	wd, _ := engine.QuoteFromCard(engine.OpWithdrawal, r, usd(10_00), t0, time.Minute)
	bad := fund
	bad.Earnings = xof(-1)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"card credit of a withdrawal quote", second(engine.CardCreditEntry("f", "c", wd)), engine.ErrInvalidQuote},
		{"payout of a funding quote", second(engine.PayoutEntry("w", "p", fund)), engine.ErrInvalidQuote},
		{"card credit of a broken quote", second(engine.CardCreditEntry("f", "c", bad)), engine.ErrInvalidQuote},
		{"collection in USD", second(engine.CollectionEntry("f", "p", usd(100))), engine.ErrCurrencyMismatch},
		{"debit in XOF", second(engine.WithdrawalDebitEntry("w", "c", xof(100))), engine.ErrCurrencyMismatch},
		{"zero spend", second(engine.SpendEntry("e", "c", usd(0))), engine.ErrInvalidEntry},
		{"card with no id", second(engine.CardCreditEntry("f", "", fund)), engine.ErrUnknownAccount},
		{"provider with no name", second(engine.RefundEntry("f", "", xof(10))), engine.ErrUnknownAccount},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
}

func second(_ engine.Entry, err error) error { return err }
