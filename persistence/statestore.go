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

// StateStore loads the durable state of actors; it implements
// engine.StateStore. It only reads: actors write through the Journal.
type StateStore struct {
	pool *pgxpool.Pool
}

// NewStateStore returns a StateStore on pool.
func NewStateStore(pool *pgxpool.Pool) *StateStore { return &StateStore{pool: pool} }

var _ engine.StateStore = (*StateStore)(nil)

const cardColumns = `id, user_id, nickname, status, coalesce(issuer_card_id,''), coalesce(last4,''),
	coalesce(expiry_month,0), coalesce(expiry_year,0), balance_minor, held_minor, version, created_at, updated_at`

func scanCard(row pgx.Row) (engine.CardRecord, error) {
	var c engine.CardRecord
	err := row.Scan(&c.ID, &c.UserID, &c.Nickname, &c.Status, &c.IssuerCardID, &c.Last4, &c.ExpiryMonth,
		&c.ExpiryYear, &c.Balance, &c.Held, &c.Version, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

const fundingColumns = `id, card_id, user_id, kind, status, card_amount_minor, momo_amount_minor, fees_minor,
	earnings_minor, rate, cost_rate, phone, operator, provider, coalesce(quote_id,''), coalesce(failure_reason,''),
	manual_review, payment_deadline, version, created_at, updated_at`

func scanFunding(row pgx.Row) (engine.FundingRecord, error) {
	var f engine.FundingRecord
	var op string
	err := row.Scan(&f.ID, &f.CardID, &f.UserID, &f.Kind, &f.Status, &f.CardAmount, &f.MomoAmount, &f.Fees,
		&f.Earnings, &f.Rate, &f.CostRate, &f.Phone, &op, &f.Provider, &f.QuoteID, &f.FailureReason,
		&f.ManualReview, &f.PaymentDeadline, &f.Version, &f.CreatedAt, &f.UpdatedAt)
	f.Operator = engine.Operator(op)
	return f, err
}

const withdrawalColumns = `id, card_id, user_id, status, card_amount_minor, momo_amount_minor, fees_minor,
	earnings_minor, rate, cost_rate, phone, operator, provider, purpose, coalesce(failure_reason,''),
	manual_review, creditback_attempt, version, created_at, updated_at`

func scanWithdrawal(row pgx.Row) (engine.WithdrawalRecord, error) {
	var w engine.WithdrawalRecord
	var op string
	err := row.Scan(&w.ID, &w.CardID, &w.UserID, &w.Status, &w.CardAmount, &w.MomoAmount, &w.Fees, &w.Earnings,
		&w.Rate, &w.CostRate, &w.Phone, &op, &w.Provider, &w.Purpose, &w.FailureReason, &w.ManualReview,
		&w.CreditBackAttempt, &w.Version, &w.CreatedAt, &w.UpdatedAt)
	w.Operator = engine.Operator(op)
	return w, err
}

const paymentColumns = `ref, kind, owner_kind, owner_id, coalesce(card_id,''), provider, operator, phone,
	amount_minor, currency, status, coalesce(provider_ref,''), coalesce(reason,''), attempts,
	coalesce(next_check_at, 'epoch'::timestamptz), version, created_at, updated_at`

func scanPayment(row pgx.Row) (engine.PaymentRecord, error) {
	var p engine.PaymentRecord
	var op, cur string
	err := row.Scan(&p.Ref, &p.Kind, &p.OwnerKind, &p.OwnerID, &p.CardID, &p.Provider, &op, &p.Phone, &p.Amount,
		&cur, &p.Status, &p.ProviderRef, &p.Reason, &p.Attempts, &p.NextCheckAt, &p.Version, &p.CreatedAt, &p.UpdatedAt)
	p.Operator, p.Currency = engine.Operator(op), engine.Currency(cur)
	if p.NextCheckAt.Equal(time.Unix(0, 0)) {
		p.NextCheckAt = time.Time{}
	}
	return p, err
}

// LoadCard implements engine.StateStore.
func (s *StateStore) LoadCard(ctx context.Context, cardID string) (engine.CardSnapshot, error) {
	var snap engine.CardSnapshot
	c, err := scanCard(s.pool.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE id = $1`, cardID))
	if errors.Is(err, pgx.ErrNoRows) {
		return snap, nil
	}
	if err != nil {
		return snap, fmt.Errorf("load card %s: %w", cardID, err)
	}
	snap.Found, snap.Card = true, c
	if snap.Fundings, err = collect(ctx, s.pool, scanFunding, `SELECT `+fundingColumns+` FROM fundings
		WHERE card_id = $1 AND (status NOT IN ('succeeded','failed','refunded')
		   OR id IN (SELECT owner_id FROM payments WHERE card_id = $1 AND status = 'pending'))
		ORDER BY created_at, id`, cardID); err != nil {
		return snap, fmt.Errorf("load fundings of card %s: %w", cardID, err)
	}
	if snap.Withdrawals, err = collect(ctx, s.pool, scanWithdrawal, `SELECT `+withdrawalColumns+` FROM withdrawals
		WHERE card_id = $1 AND status NOT IN ('succeeded','failed') ORDER BY created_at, id`, cardID); err != nil {
		return snap, fmt.Errorf("load withdrawals of card %s: %w", cardID, err)
	}
	if snap.Payments, err = collect(ctx, s.pool, scanPayment, `SELECT `+paymentColumns+` FROM payments p
		WHERE card_id = $1 AND (status = 'pending'
		   OR owner_id IN (SELECT id FROM fundings WHERE card_id = $1 AND status NOT IN ('succeeded','failed','refunded'))
		   OR owner_id IN (SELECT id FROM withdrawals WHERE card_id = $1 AND status NOT IN ('succeeded','failed')))
		ORDER BY created_at, ref`, cardID); err != nil {
		return snap, fmt.Errorf("load payments of card %s: %w", cardID, err)
	}
	return snap, nil
}

// LoadTreasury implements engine.StateStore. It reads in one snapshot: a
// funding that commits between two reads would otherwise have its float
// counted both as available (not yet debited) and as no longer reserved.
func (s *StateStore) LoadTreasury(ctx context.Context) (engine.TreasurySnapshot, error) {
	var snap engine.TreasurySnapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var err error
			snap, err = loadTreasury(ctx, tx)
			return err
		})
	return snap, err
}

func loadTreasury(ctx context.Context, q querier) (engine.TreasurySnapshot, error) {
	var snap engine.TreasurySnapshot
	err := q.QueryRow(ctx, `SELECT coalesce(sum(p.amount_minor), 0)::bigint FROM ledger_entries e,
		unnest(e.accounts, e.amounts) AS p(account, amount_minor) WHERE p.account = $1`,
		engine.IssuerFloatAccount().String()).Scan(&snap.Float)
	if err != nil {
		return snap, fmt.Errorf("load issuer float: %w", err)
	}
	snap.Reservations, err = collect(ctx, q, scanReservation, `SELECT `+reservationColumns+`
		FROM float_reservations WHERE status IN ('queued','granted') ORDER BY seq`)
	if err != nil {
		return snap, fmt.Errorf("load reservations: %w", err)
	}
	if err := q.QueryRow(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM float_reservations`).Scan(&snap.NextSeq); err != nil {
		return snap, fmt.Errorf("load reservation seq: %w", err)
	}
	snap.Sweeps, err = collect(ctx, q, scanSweep, `SELECT id, provider, amount_minor, usd_minor, status, reason,
		version, created_at, updated_at FROM sweeps WHERE status NOT IN ('completed','failed') ORDER BY created_at`)
	if err != nil {
		return snap, fmt.Errorf("load sweeps: %w", err)
	}
	snap.Collections, err = collectionBalances(ctx, q)
	return snap, err
}

// CollectionBalances returns the ledger balance of each momo provider
// account, by provider name, in XOF minor units.
func (s *StateStore) CollectionBalances(ctx context.Context) (map[string]int64, error) {
	return collectionBalances(ctx, s.pool)
}

func collectionBalances(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT substr(p.account, 6), sum(p.amount_minor)::bigint FROM ledger_entries e,
		unnest(e.accounts, e.amounts) AS p(account, amount_minor) WHERE p.account LIKE 'momo:%' GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("collection balances: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var bal int64
		if err := rows.Scan(&name, &bal); err != nil {
			return nil, fmt.Errorf("collection balances: %w", err)
		}
		out[name] = bal
	}
	return out, rows.Err()
}

// LoadReservation implements engine.StateStore.
func (s *StateStore) LoadReservation(ctx context.Context, fundingID string) (engine.ReservationRecord, bool, error) {
	r, err := scanReservation(s.pool.QueryRow(ctx, `SELECT `+reservationColumns+` FROM float_reservations
		WHERE funding_id = $1`, fundingID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("load reservation of %s: %w", fundingID, err)
	}
	return r, true, nil
}

const reservationColumns = `funding_id, card_id, seq, amount_minor, status, requested_at, deadline,
	coalesce(decided_at, 'epoch'::timestamptz), version`

func scanReservation(row pgx.Row) (engine.ReservationRecord, error) {
	var r engine.ReservationRecord
	err := row.Scan(&r.FundingID, &r.CardID, &r.Seq, &r.Amount, &r.Status, &r.RequestedAt, &r.Deadline,
		&r.DecidedAt, &r.Version)
	if r.DecidedAt.Equal(time.Unix(0, 0)) {
		r.DecidedAt = time.Time{}
	}
	return r, err
}

func scanSweep(row pgx.Row) (engine.SweepRecord, error) {
	var s engine.SweepRecord
	err := row.Scan(&s.ID, &s.Provider, &s.Amount, &s.USD, &s.Status, &s.Reason, &s.Version, &s.CreatedAt, &s.UpdatedAt)
	return s, err
}

// ClaimEpoch implements engine.StateStore. The update waits for every
// in-flight transaction that still holds the old epoch (they lock it FOR
// SHARE), so once it returns no older activation can commit.
func (s *StateStore) ClaimEpoch(ctx context.Context, actorID string) (int64, error) {
	var epoch int64
	err := s.pool.QueryRow(ctx, `INSERT INTO actor_epochs (actor_id, epoch) VALUES ($1, 1)
		ON CONFLICT (actor_id) DO UPDATE SET epoch = actor_epochs.epoch + 1, updated_at = now()
		RETURNING epoch`, actorID).Scan(&epoch)
	if err != nil {
		return 0, fmt.Errorf("claim epoch of %s: %w", actorID, err)
	}
	return epoch, nil
}

// CardsWithOpenSagas implements engine.StateStore.
func (s *StateStore) CardsWithOpenSagas(ctx context.Context) ([]string, error) {
	ids, err := collect(ctx, s.pool, func(row pgx.Row) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, `SELECT card_id FROM fundings WHERE status NOT IN ('succeeded','failed','refunded')
		UNION SELECT card_id FROM withdrawals WHERE status NOT IN ('succeeded','failed')
		UNION SELECT card_id FROM payments WHERE status = 'pending' AND card_id IS NOT NULL
		UNION SELECT id FROM cards WHERE status IN ('pending','terminating')`)
	if err != nil {
		return nil, fmt.Errorf("cards with open sagas: %w", err)
	}
	return ids, nil
}

// DuePayments implements engine.StateStore.
func (s *StateStore) DuePayments(ctx context.Context, now time.Time, limit int) ([]engine.PaymentRecord, error) {
	ps, err := collect(ctx, s.pool, scanPayment, `SELECT `+paymentColumns+` FROM payments
		WHERE status = 'pending' AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due payments: %w", err)
	}
	return ps, nil
}

// querier is what reads need: a pool, or a transaction for one snapshot.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func collect[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
