package engine

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// ErrInvalidQuote means a quote's fields do not hang together (wrong
// currencies, negative amounts, earnings larger than the payment): it was
// not made by this package, or was altered on the way.
var ErrInvalidQuote = errors.New("invalid quote")

// Quote prices one operation at a locked rate until ExpiresAt. For issuance
// and funding, MomoAmount is what the wallet pays (fees included) and
// CardAmount what the card receives; for a withdrawal, CardAmount leaves the
// card and MomoAmount reaches the wallet.
type Quote struct {
	ID         string // chosen by the caller
	Operation  Operation
	CardAmount Money           // USD
	MomoAmount Money           // XOF
	Fees       Money           // XOF, included in MomoAmount (issuance fee; zero otherwise)
	Rate       decimal.Decimal // XOF per USD shown to the user: charged or withdrawal rate
	CostRate   decimal.Decimal // XOF per USD the float costs, locked with the quote
	ExpiresAt  time.Time
	// Earnings (XOF) is what the house keeps against the cost rate: for
	// issuance and funding MomoAmount − ⌈CardAmount × CostRate⌉ (fees
	// included), for a withdrawal ⌊CardAmount × CostRate⌋ − MomoAmount.
	// Both round so that earnings are never overstated, and both are ≥ 0.
	Earnings Money
}

// Expired reports whether the quote can no longer be used at now.
func (q Quote) Expired(now time.Time) bool { return !now.Before(q.ExpiresAt) }

// CostAmount is the XOF value of CardAmount at the cost rate, as the ledger
// books it against the FX position: MomoAmount − Earnings for issuance and
// funding (rounded up), MomoAmount + Earnings for a withdrawal (rounded
// down).
func (q Quote) CostAmount() Money {
	if q.Operation.Loads() {
		return Money{Minor: q.MomoAmount.Minor - q.Earnings.Minor, Currency: XOF}
	}
	return Money{Minor: q.MomoAmount.Minor + q.Earnings.Minor, Currency: XOF}
}

// Validate checks the quote's internal consistency; the ledger's entry
// constructors call it before booking a quote. Errors wrap ErrInvalidQuote.
func (q Quote) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidQuote, fmt.Sprintf(format, args...))
	}
	switch {
	case !q.Operation.Valid():
		return bad("unknown operation %q", q.Operation)
	case q.CardAmount.Currency != USD || !q.CardAmount.IsPositive():
		return bad("card amount %s %s must be a positive USD amount", q.CardAmount, q.CardAmount.Currency)
	case q.MomoAmount.Currency != XOF || !q.MomoAmount.IsPositive():
		return bad("momo amount %s %s must be a positive XOF amount", q.MomoAmount, q.MomoAmount.Currency)
	case q.Fees.Currency != XOF || q.Fees.Minor < 0:
		return bad("fees %s %s must be a non-negative XOF amount", q.Fees, q.Fees.Currency)
	case q.Earnings.Currency != XOF || q.Earnings.Minor < 0:
		return bad("earnings %s %s must be a non-negative XOF amount", q.Earnings, q.Earnings.Currency)
	case q.Operation.Loads() && q.Earnings.Minor >= q.MomoAmount.Minor:
		return bad("earnings %s must be less than the momo amount %s", q.Earnings, q.MomoAmount)
	case !q.Operation.Loads() && q.Earnings.Minor > math.MaxInt64-q.MomoAmount.Minor:
		return bad("earnings %s overflow", q.Earnings)
	}
	return nil
}

// QuoteFromCard prices op for a card amount (USD) given by the user.
// Issuance and funding charge ⌈card × charged rate⌉ plus the fee; a
// withdrawal pays ⌊card × withdrawal rate⌋. The ID is left empty.
func QuoteFromCard(op Operation, rates Rates, card Money, now time.Time, ttl time.Duration) (Quote, error) {
	if err := checkQuoteInputs(op, rates, card, USD, ttl); err != nil {
		return Quote{}, err
	}
	rate := rates.rateFor(op)
	fee := rates.feeFor(op)
	mode := RoundDown
	if op.Loads() {
		mode = RoundUp
	}
	converted, err := FromDecimal(card.Decimal().Mul(rate), XOF, mode)
	if err != nil {
		return Quote{}, fmt.Errorf("%w: %s USD: %w", ErrAmountTooLarge, card, err)
	}
	momo, err := converted.Add(fee)
	if err != nil {
		return Quote{}, fmt.Errorf("%w: %s USD: %w", ErrAmountTooLarge, card, err)
	}
	if !momo.IsPositive() {
		return Quote{}, fmt.Errorf("%w: %s USD pays out nothing at %s XOF per USD", ErrAmountTooSmall, card, rate)
	}
	return finishQuote(op, rates, card, momo, fee, rate, now, ttl)
}

// QuoteFromMomo prices op for a momo amount (XOF) given by the user.
//
// For issuance and funding the user pays exactly momo; the card gets
// ⌊(momo − fee) / charged rate⌋ to the cent, and the house keeps the
// sub-cent remainder (it shows in Earnings): the user asked to pay this
// much, so the amount is not changed behind their back.
//
// For a withdrawal the wallet gets exactly momo, and the card gives
// ⌈momo / withdrawal rate⌉ to the cent.
func QuoteFromMomo(op Operation, rates Rates, momo Money, now time.Time, ttl time.Duration) (Quote, error) {
	if err := checkQuoteInputs(op, rates, momo, XOF, ttl); err != nil {
		return Quote{}, err
	}
	rate := rates.rateFor(op)
	fee := rates.feeFor(op)
	net, err := momo.Sub(fee)
	if err != nil || !net.IsPositive() {
		return Quote{}, fmt.Errorf("%w: %s XOF does not cover the %s XOF fee", ErrAmountTooSmall, momo, fee)
	}
	card, err := usdFor(net, rate, !op.Loads())
	if err != nil {
		return Quote{}, fmt.Errorf("%w: %s XOF: %w", ErrAmountTooLarge, momo, err)
	}
	if !card.IsPositive() {
		return Quote{}, fmt.Errorf("%w: %s XOF buys less than 0.01 USD at %s XOF per USD", ErrAmountTooSmall, momo, rate)
	}
	return finishQuote(op, rates, card, momo, fee, rate, now, ttl)
}

// usdFor converts xof at rate into USD cents, exactly: rounded up when the
// card pays (withdrawal), down when the card receives.
func usdFor(xof Money, rate decimal.Decimal, roundUp bool) (Money, error) {
	// QuoRem truncates at the cent exactly, where Div would round at its
	// division precision and could overshoot by a cent.
	q, r := xof.Decimal().QuoRem(rate, USD.Digits())
	if roundUp && !r.IsZero() {
		q = q.Add(decimal.New(1, -USD.Digits()))
	}
	return FromDecimal(q, USD, RoundDown)
}

func checkQuoteInputs(op Operation, rates Rates, amount Money, want Currency, ttl time.Duration) error {
	if !op.Valid() {
		return fmt.Errorf("%w: %q", ErrUnknownOperation, op)
	}
	if err := rates.Validate(); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: quote ttl %s must be positive", ErrInvalidRates, ttl)
	}
	if amount.Currency != want {
		return fmt.Errorf("%w: amount is %q, want %s", ErrCurrencyMismatch, amount.Currency, want)
	}
	if !amount.IsPositive() {
		return fmt.Errorf("%w: %s %s must be positive", ErrAmountTooSmall, amount, amount.Currency)
	}
	return nil
}

// finishQuote computes the earnings of a priced operation and assembles it.
func finishQuote(op Operation, rates Rates, card, momo, fee Money, rate decimal.Decimal, now time.Time, ttl time.Duration) (Quote, error) {
	atCost := card.Decimal().Mul(rates.CostRate)
	var earnings Money
	if op.Loads() {
		cost, err := FromDecimal(atCost, XOF, RoundUp)
		if err != nil {
			return Quote{}, fmt.Errorf("%w: %w", ErrAmountTooLarge, err)
		}
		earnings = Money{Minor: momo.Minor - cost.Minor, Currency: XOF}
	} else {
		cost, err := FromDecimal(atCost, XOF, RoundDown)
		if err != nil {
			return Quote{}, fmt.Errorf("%w: %w", ErrAmountTooLarge, err)
		}
		earnings = Money{Minor: cost.Minor - momo.Minor, Currency: XOF}
	}
	return Quote{
		Operation:  op,
		CardAmount: card,
		MomoAmount: momo,
		Fees:       fee,
		Rate:       rate,
		CostRate:   rates.CostRate,
		ExpiresAt:  now.Add(ttl),
		Earnings:   earnings,
	}, nil
}

// DefaultQuoteTTL is how long a quote holds its rate: long enough to read it
// and confirm, short enough that a rate change applies within minutes.
const DefaultQuoteTTL = 5 * time.Minute

// Pricing is everything a quote needs: the current rates, the limits that
// bound the card amount, and how long a quote holds.
type Pricing struct {
	Rates  Rates
	Limits Limits
	TTL    time.Duration
}

// DefaultPricing returns DefaultRates, DefaultLimits and DefaultQuoteTTL.
func DefaultPricing() Pricing {
	return Pricing{Rates: DefaultRates(), Limits: DefaultLimits(), TTL: DefaultQuoteTTL}
}

// Quote prices op for amount given in either currency (USD: the card side,
// XOF: the momo side, as the API's POST /v1/quotes takes them), names the
// quote id, and checks the card amount against the per-operation limits
// (ErrAmountTooSmall, ErrAmountTooLarge). Per-user usage limits need the
// user's history and are checked by the caller with Limits.CheckUsage.
func (p Pricing) Quote(id string, op Operation, amount Money, now time.Time) (Quote, error) {
	var (
		q   Quote
		err error
	)
	switch amount.Currency {
	case USD:
		q, err = QuoteFromCard(op, p.Rates, amount, now, p.TTL)
	case XOF:
		q, err = QuoteFromMomo(op, p.Rates, amount, now, p.TTL)
	default:
		return Quote{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, amount.Currency)
	}
	if err != nil {
		return Quote{}, fmt.Errorf("quote %s of %s %s: %w", op, amount, amount.Currency, err)
	}
	if err := p.Limits.CheckOperation(op, q.CardAmount); err != nil {
		return Quote{}, fmt.Errorf("quote %s of %s %s: %w", op, amount, amount.Currency, err)
	}
	q.ID = id
	return q, nil
}
