package engine

import (
	"errors"
	"fmt"
)

// Errors of limits. The gateway maps them to amount_too_small,
// amount_too_large and limit_exceeded.
var (
	ErrAmountTooSmall = errors.New("amount too small")
	ErrAmountTooLarge = errors.New("amount too large")
	ErrLimitExceeded  = errors.New("limit exceeded")
	ErrUnknownTier    = errors.New("unknown KYC tier")
)

// Tier is a user's KYC tier; it selects their usage limits.
type Tier string

// KYC tiers. Every user whose KYC ops approved is TierBasic; TierVerified is
// for users ops have checked further (proof of address, source of funds).
const (
	TierBasic    Tier = "basic"
	TierVerified Tier = "verified"
)

// TierLimits bounds one tier's card amounts in USD. Each direction counts
// separately: issuance and funding (money onto cards) against one set of
// totals, withdrawals (money off cards) against another, with the same
// bounds.
type TierLimits struct {
	PerOperation Money
	PerDay       Money
	PerMonth     Money
}

// Limits is the rule set on card amounts (USD), as data so ops can change it.
type Limits struct {
	// MinFunding is the least a card may receive from an issuance or funding.
	MinFunding Money
	// MinWithdrawal is the least a withdrawal may take off a card.
	MinWithdrawal Money
	// MaxPerOperation bounds any single operation, whatever the tier.
	MaxPerOperation Money
	// Tiers gives the per-tier bounds.
	Tiers map[Tier]TierLimits
}

func usd(minor int64) Money { return Money{Minor: minor, Currency: USD} }

// DefaultLimits returns the defaults: 5 USD minimum per issuance or funding,
// 0.01 USD minimum per withdrawal, 2,500 USD maximum per operation, and per
// direction 500/1,000/3,000 USD per operation/day/month for basic users and
// 2,500/5,000/20,000 USD for verified ones.
func DefaultLimits() Limits {
	return Limits{
		MinFunding:      usd(5_00),
		MinWithdrawal:   usd(1),
		MaxPerOperation: usd(2_500_00),
		Tiers: map[Tier]TierLimits{
			TierBasic:    {PerOperation: usd(500_00), PerDay: usd(1_000_00), PerMonth: usd(3_000_00)},
			TierVerified: {PerOperation: usd(2_500_00), PerDay: usd(5_000_00), PerMonth: usd(20_000_00)},
		},
	}
}

// LimitError says which limit an amount broke. It matches ErrAmountTooSmall,
// ErrAmountTooLarge or ErrLimitExceeded (Err) with errors.Is.
type LimitError struct {
	Err       error     // ErrAmountTooSmall, ErrAmountTooLarge or ErrLimitExceeded
	Limit     string    // which: "min_funding", "min_withdrawal", "max_per_operation", "per_operation", "per_day", "per_month"
	Operation Operation // the operation asked for
	Tier      Tier      // empty for limits that do not depend on the tier
	Bound     Money     // the limit
	Amount    Money     // what was asked; for per_day and per_month, usage plus the request
}

func (e *LimitError) Error() string {
	tier := ""
	if e.Tier != "" {
		tier = " for tier " + string(e.Tier)
	}
	return fmt.Sprintf("%s: %s %s %s breaks %s %s USD%s", e.Err, e.Operation, e.Amount, e.Amount.Currency,
		e.Limit, e.Bound, tier)
}

// Unwrap returns the sentinel the error matches.
func (e *LimitError) Unwrap() error { return e.Err }

// Validate checks that the limits are coherent: USD amounts, positive
// minimums not above the maximum, and per tier operation ≤ day ≤ month.
func (l Limits) Validate() error {
	for _, m := range []Money{l.MinFunding, l.MinWithdrawal, l.MaxPerOperation} {
		if m.Currency != USD || !m.IsPositive() {
			return fmt.Errorf("limits: %s %s must be a positive USD amount", m, m.Currency)
		}
	}
	if l.MinFunding.Minor > l.MaxPerOperation.Minor || l.MinWithdrawal.Minor > l.MaxPerOperation.Minor {
		return fmt.Errorf("limits: minimums must not exceed the maximum %s USD", l.MaxPerOperation)
	}
	for tier, t := range l.Tiers {
		for _, m := range []Money{t.PerOperation, t.PerDay, t.PerMonth} {
			if m.Currency != USD || !m.IsPositive() {
				return fmt.Errorf("limits: tier %s: %s %s must be a positive USD amount", tier, m, m.Currency)
			}
		}
		if t.PerOperation.Minor > t.PerDay.Minor || t.PerDay.Minor > t.PerMonth.Minor {
			return fmt.Errorf("limits: tier %s: want per operation ≤ per day ≤ per month", tier)
		}
	}
	return nil
}

// CheckOperation checks a card amount (USD) against the limits that hold
// for everyone: the minimum of op and MaxPerOperation.
func (l Limits) CheckOperation(op Operation, amount Money) error {
	if !op.Valid() {
		return fmt.Errorf("%w: %q", ErrUnknownOperation, op)
	}
	if amount.Currency != USD {
		return fmt.Errorf("limits: %w: card amount is %q, want USD", ErrCurrencyMismatch, amount.Currency)
	}
	limit, minimum := "min_withdrawal", l.MinWithdrawal
	if op.Loads() {
		limit, minimum = "min_funding", l.MinFunding
	}
	if amount.Minor < minimum.Minor {
		return &LimitError{Err: ErrAmountTooSmall, Limit: limit, Operation: op, Bound: minimum, Amount: amount}
	}
	if amount.Minor > l.MaxPerOperation.Minor {
		return &LimitError{Err: ErrAmountTooLarge, Limit: "max_per_operation", Operation: op,
			Bound: l.MaxPerOperation, Amount: amount}
	}
	return nil
}

// CheckUsage checks a card amount (USD) of op for a user of tier, given what
// that user already moved in the same direction (see TierLimits) today and
// this month, both including operations still in flight. It applies
// CheckOperation first.
func (l Limits) CheckUsage(tier Tier, op Operation, amount, usedToday, usedThisMonth Money) error {
	if err := l.CheckOperation(op, amount); err != nil {
		return err
	}
	t, ok := l.Tiers[tier]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTier, tier)
	}
	if amount.Minor > t.PerOperation.Minor {
		return &LimitError{Err: ErrAmountTooLarge, Limit: "per_operation", Operation: op, Tier: tier,
			Bound: t.PerOperation, Amount: amount}
	}
	for _, c := range []struct {
		limit string
		used  Money
		bound Money
	}{{"per_day", usedToday, t.PerDay}, {"per_month", usedThisMonth, t.PerMonth}} {
		total, err := c.used.Add(amount)
		if err != nil {
			return fmt.Errorf("limits: %s usage: %w", c.limit, err)
		}
		if total.Minor > c.bound.Minor {
			return &LimitError{Err: ErrLimitExceeded, Limit: c.limit, Operation: op, Tier: tier,
				Bound: c.bound, Amount: total}
		}
	}
	return nil
}
