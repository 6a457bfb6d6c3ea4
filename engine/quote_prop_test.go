package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"kash/engine"
)

// genRates draws valid rate sets, from absurd to realistic: cost rates from
// 0.000001 to 5000 XOF per USD, margins and spreads from 0 to 99.99%, kept
// only when Validate accepts them (it refuses a withdrawal rate of zero).
func genRates() *rapid.Generator[engine.Rates] {
	return rapid.Custom(func(t *rapid.T) engine.Rates {
		return engine.Rates{
			CostRate:         decimal.New(rapid.Int64Range(1, 5_000_000_000).Draw(t, "cost_micro"), -6),
			FundingMargin:    decimal.New(rapid.Int64Range(0, 9999).Draw(t, "margin_bp"), -4),
			WithdrawalSpread: decimal.New(rapid.Int64Range(0, 9999).Draw(t, "spread_bp"), -4),
			IssuanceFee:      xof(rapid.Int64Range(0, 10_000).Draw(t, "fee")),
		}
	}).Filter(func(r engine.Rates) bool { return r.Validate() == nil })
}

var genOp = rapid.SampledFrom(engine.Operations())

// checkQuote asserts that q never loses money at the cost rate and that its
// rounding went the house's way, by exact decimal arithmetic.
func checkQuote(t *rapid.T, r engine.Rates, q engine.Quote) {
	if err := q.Validate(); err != nil {
		t.Fatalf("quote does not validate: %v (%+v)", err, q)
	}
	card := q.CardAmount.Decimal()
	momo := q.MomoAmount.Decimal()
	atCost := card.Mul(r.CostRate)
	if q.Operation.Loads() {
		paidForCard := momo.Sub(q.Fees.Decimal())
		if paidForCard.LessThan(atCost) {
			t.Fatalf("house loses: %s XOF paid for %s USD costing %s", paidForCard, card, atCost)
		}
		if paidForCard.LessThan(card.Mul(r.ChargedRate())) {
			t.Fatalf("undercharged: %s XOF for %s USD at %s", paidForCard, card, r.ChargedRate())
		}
		if q.Fees != r.IssuanceFee && q.Operation == engine.OpIssuance {
			t.Fatalf("issuance fee %s, want %s", q.Fees, r.IssuanceFee)
		}
		want := momo.Sub(atCost).Floor()
		if !q.Earnings.Decimal().Equal(want) {
			t.Fatalf("earnings %s, want ⌊%s − %s⌋ = %s", q.Earnings, momo, atCost, want)
		}
	} else {
		if momo.GreaterThan(atCost) {
			t.Fatalf("house loses: pays %s XOF for %s USD worth %s", momo, card, atCost)
		}
		if momo.GreaterThan(card.Mul(r.WithdrawalRate())) {
			t.Fatalf("overpaid: %s XOF for %s USD at %s", momo, card, r.WithdrawalRate())
		}
		want := atCost.Sub(momo).Floor()
		if !q.Earnings.Decimal().Equal(want) {
			t.Fatalf("earnings %s, want ⌊%s − %s⌋ = %s", q.Earnings, atCost, momo, want)
		}
	}
	if q.Earnings.Minor < 0 {
		t.Fatalf("negative earnings %s", q.Earnings)
	}
}

func allowedQuoteError(t *rapid.T, err error) {
	if !errors.Is(err, engine.ErrAmountTooSmall) && !errors.Is(err, engine.ErrAmountTooLarge) {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestPropQuoteFromCardNeverLoses(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRates().Draw(t, "rates")
		op := genOp.Draw(t, "op")
		card := usd(rapid.Int64Range(1, 10_000_000_000).Draw(t, "card"))
		q, err := engine.QuoteFromCard(op, r, card, t0, time.Minute)
		if err != nil {
			allowedQuoteError(t, err)
			return
		}
		if q.CardAmount != card {
			t.Fatalf("card amount %s, want the given %s", q.CardAmount, card)
		}
		checkQuote(t, r, q)
	})
}

func TestPropQuoteFromMomoNeverLoses(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRates().Draw(t, "rates")
		op := genOp.Draw(t, "op")
		momo := xof(rapid.Int64Range(1, 1_000_000_000_000).Draw(t, "momo"))
		q, err := engine.QuoteFromMomo(op, r, momo, t0, time.Minute)
		if err != nil {
			allowedQuoteError(t, err)
			return
		}
		if q.MomoAmount != momo {
			t.Fatalf("momo amount %s, want the given %s", q.MomoAmount, momo)
		}
		checkQuote(t, r, q)
		// The rounding takes at most a cent from the user.
		cent := decimal.New(1, -2)
		if op.Loads() {
			more := q.CardAmount.Decimal().Add(cent).Mul(r.ChargedRate())
			if more.LessThanOrEqual(momo.Decimal().Sub(q.Fees.Decimal())) {
				t.Fatalf("%s XOF could have bought %s USD + 0.01", momo, q.CardAmount)
			}
		} else {
			less := q.CardAmount.Decimal().Sub(cent).Mul(r.WithdrawalRate())
			if less.GreaterThanOrEqual(momo.Decimal()) {
				t.Fatalf("%s USD − 0.01 would have paid %s XOF", q.CardAmount, momo)
			}
		}
	})
}

// A user who funds a card and withdraws the same card amount never gets
// more XOF back than they paid.
func TestPropRoundTripNeverPaysMoreThanPaid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRates().Draw(t, "rates")
		op := rapid.SampledFrom([]engine.Operation{engine.OpIssuance, engine.OpFunding}).Draw(t, "op")
		var in engine.Quote
		var err error
		if rapid.Bool().Draw(t, "given_usd") {
			in, err = engine.QuoteFromCard(op, r, usd(rapid.Int64Range(1, 10_000_000_000).Draw(t, "card")), t0, time.Minute)
		} else {
			in, err = engine.QuoteFromMomo(op, r, xof(rapid.Int64Range(1, 1_000_000_000_000).Draw(t, "momo")), t0, time.Minute)
		}
		if err != nil {
			allowedQuoteError(t, err)
			return
		}
		out, err := engine.QuoteFromCard(engine.OpWithdrawal, r, in.CardAmount, t0, time.Minute)
		if err != nil {
			allowedQuoteError(t, err)
			return
		}
		if out.MomoAmount.Minor > in.MomoAmount.Minor {
			t.Fatalf("paid %s XOF for %s USD, withdrew it for %s XOF", in.MomoAmount, in.CardAmount, out.MomoAmount)
		}
	})
}
