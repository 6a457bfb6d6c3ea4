package persistence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
)

// RateSet is one row of the rates history.
type RateSet struct {
	ID        int64
	Rates     engine.Rates
	CreatedAt time.Time
	CreatedBy string
}

// Pricing stores the rate sets ops choose (append-only: the newest is
// current) and the quotes given to users.
type Pricing struct {
	pool *pgxpool.Pool
}

// NewPricing returns the rates and quotes store on pool.
func NewPricing(pool *pgxpool.Pool) *Pricing { return &Pricing{pool: pool} }

const rateColumns = `id, cost_rate, funding_margin, withdrawal_spread, issuance_fee_minor, issuance_fee_currency,
	created_at, created_by`

func scanRateSet(row pgx.Row) (RateSet, error) {
	var r RateSet
	var cur string
	err := row.Scan(&r.ID, &r.Rates.CostRate, &r.Rates.FundingMargin, &r.Rates.WithdrawalSpread,
		&r.Rates.IssuanceFee.Minor, &cur, &r.CreatedAt, &r.CreatedBy)
	r.Rates.IssuanceFee.Currency = engine.Currency(cur)
	return r, err
}

// CurrentRates returns the newest rate set; found is false while ops have
// never set one (the caller then uses engine.DefaultRates).
func (s *Pricing) CurrentRates(ctx context.Context) (r RateSet, found bool, err error) {
	r, err = scanRateSet(s.pool.QueryRow(ctx, `SELECT `+rateColumns+` FROM rates ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		return RateSet{}, false, nil
	}
	if err != nil {
		return RateSet{}, false, fmt.Errorf("current rates: %w", err)
	}
	return r, true, nil
}

// RatesHistory returns the newest rate sets first, at most limit.
func (s *Pricing) RatesHistory(ctx context.Context, limit int) ([]RateSet, error) {
	rs, err := collect(ctx, s.pool, scanRateSet, `SELECT `+rateColumns+` FROM rates ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("rates history: %w", err)
	}
	return rs, nil
}

// SetRates makes r the current rate set and writes the audit log, in one
// transaction. r must be valid (engine.Rates.Validate).
func (s *Pricing) SetRates(ctx context.Context, r engine.Rates, actor string, now time.Time) (RateSet, error) {
	if err := r.Validate(); err != nil {
		return RateSet{}, fmt.Errorf("set rates: %w", err)
	}
	var out RateSet
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanRateSet(tx.QueryRow(ctx, `INSERT INTO rates (cost_rate, funding_margin, withdrawal_spread,
			issuance_fee_minor, issuance_fee_currency, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+rateColumns,
			r.CostRate, r.FundingMargin, r.WithdrawalSpread, r.IssuanceFee.Minor, string(r.IssuanceFee.Currency), now, actor))
		if err != nil {
			return err
		}
		return audit(ctx, tx, actor, "rates.set", fmt.Sprintf("rates:%d", out.ID), map[string]any{
			"cost_rate": r.CostRate.String(), "funding_margin": r.FundingMargin.String(),
			"withdrawal_spread": r.WithdrawalSpread.String(), "issuance_fee_minor": r.IssuanceFee.Minor,
		})
	})
	if err != nil {
		return RateSet{}, fmt.Errorf("set rates: %w", err)
	}
	return out, nil
}

// StoredQuote is a quote with its owner and the currency the user priced
// in.
type StoredQuote struct {
	engine.Quote
	UserID        string
	InputCurrency engine.Currency
	CreatedAt     time.Time
}

// InputAmount is the amount the user asked for, in the currency asked.
func (q StoredQuote) InputAmount() engine.Money {
	if q.InputCurrency == engine.XOF {
		return q.MomoAmount
	}
	return q.CardAmount
}

// SaveQuote stores a quote so that a later money request can hold it.
func (s *Pricing) SaveQuote(ctx context.Context, q StoredQuote) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO quotes (id, user_id, operation, input_currency, card_amount_minor,
		momo_amount_minor, fees_minor, earnings_minor, rate, cost_rate, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		q.ID, q.UserID, string(q.Operation), string(q.InputCurrency), q.CardAmount.Minor, q.MomoAmount.Minor,
		q.Fees.Minor, q.Earnings.Minor, q.Rate, q.CostRate, q.ExpiresAt, q.CreatedAt); err != nil {
		return fmt.Errorf("save quote %s: %w", q.ID, err)
	}
	return nil
}

// Quote returns a stored quote by id, or engine.ErrNotFound.
func (s *Pricing) Quote(ctx context.Context, id string) (StoredQuote, error) {
	var q StoredQuote
	var op, cur string
	err := s.pool.QueryRow(ctx, `SELECT id, user_id, operation, input_currency, card_amount_minor, momo_amount_minor,
		fees_minor, earnings_minor, rate, cost_rate, expires_at, created_at FROM quotes WHERE id = $1`, id).
		Scan(&q.ID, &q.UserID, &op, &cur, &q.CardAmount.Minor, &q.MomoAmount.Minor, &q.Fees.Minor, &q.Earnings.Minor,
			&q.Rate, &q.CostRate, &q.ExpiresAt, &q.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, fmt.Errorf("quote %s: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return q, fmt.Errorf("quote %s: %w", id, err)
	}
	q.Operation, q.InputCurrency = engine.Operation(op), engine.Currency(cur)
	q.CardAmount.Currency, q.MomoAmount.Currency = engine.USD, engine.XOF
	q.Fees.Currency, q.Earnings.Currency = engine.XOF, engine.XOF
	return q, nil
}

// Audit appends one row to the ops audit log on its own, for ops actions
// whose effect another component records (a sweep the treasury starts).
func Audit(ctx context.Context, pool *pgxpool.Pool, actor, action, target string, detail map[string]any) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return audit(ctx, tx, actor, action, target, detail) })
}

// PurgeQuotes deletes quotes that expired before before, returning how many.
func (s *Pricing) PurgeQuotes(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM quotes WHERE expires_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("purge quotes: %w", err)
	}
	return tag.RowsAffected(), nil
}
