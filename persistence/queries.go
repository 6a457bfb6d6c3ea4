package persistence

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
)

// ErrBadCursor means a list cursor was not made by this package (or was
// altered): the gateway answers invalid_field for it.
var ErrBadCursor = errors.New("bad cursor")

// Page asks for one page of a list, newest first. Limit is clamped to
// [1, MaxPageLimit] (DefaultPageLimit when zero); Cursor is the next_cursor
// of the previous page, empty for the first.
type Page struct {
	Limit  int
	Cursor string
}

// Page limits of the API.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// Cursor is a keyset position: the (time, id) of the last row returned.
// Lists are ordered by time then id, both descending, so a cursor stays
// valid while rows are added.
type Cursor struct {
	At time.Time
	ID string
}

// endOfTime sorts after every row, so the first page needs no special case.
var endOfTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Encode returns the cursor as an opaque URL-safe string.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMicro(), 10) + "|" + c.ID))
}

// ParseCursor decodes a cursor made by Encode; "" is the start of a list.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{At: endOfTime}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return Cursor{}, ErrBadCursor
	}
	us, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: id}, nil
}

func (p Page) after() (Cursor, error) { return ParseCursor(p.Cursor) }

// keysetBefore is the WHERE clause of a page after the cursor bound to
// parameters $n (time) and $n+1 (id).
func keysetBefore(timeCol, idCol string, n int) string {
	return fmt.Sprintf("(%s, %s) < ($%d, $%d)", timeCol, idCol, n, n+1)
}

// pageOf trims a query result fetched with limit+1 rows to the page and
// returns the next cursor ("" on the last page).
func pageOf[T any](items []T, p Page, pos func(T) Cursor) ([]T, string, error) {
	if len(items) <= p.limit() {
		return items, "", nil
	}
	items = items[:p.limit()]
	return items, pos(items[len(items)-1]).Encode(), nil
}

// Queries are the reads behind the REST API. They read committed state
// straight from Postgres and never go through the actors.
type Queries struct {
	pool *pgxpool.Pool
}

// NewQueries returns the API's read queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

func one[T any](row pgx.Row, scan func(pgx.Row) (T, error), what, id string) (T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("%s %s: %w", what, id, engine.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("%s %s: %w", what, id, err)
	}
	return v, nil
}

// Card returns a card by id, or engine.ErrNotFound.
func (q *Queries) Card(ctx context.Context, id string) (engine.CardRecord, error) {
	return one(q.pool.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE id = $1`, id), scanCard, "card", id)
}

// UserCards lists a user's cards, newest first.
func (q *Queries) UserCards(ctx context.Context, userID string, p Page) ([]engine.CardRecord, string, error) {
	return listPage(ctx, q.pool, p, scanCard, func(c engine.CardRecord) Cursor { return Cursor{c.CreatedAt, c.ID} },
		`SELECT `+cardColumns+` FROM cards WHERE user_id = $1 AND `+keysetBefore("created_at", "id", 2)+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, userID)
}

// Funding returns a funding by id, or engine.ErrNotFound.
func (q *Queries) Funding(ctx context.Context, id string) (engine.FundingRecord, error) {
	return one(q.pool.QueryRow(ctx, `SELECT `+fundingColumns+` FROM fundings WHERE id = $1`, id), scanFunding, "funding", id)
}

// CardFundings lists a card's fundings (its issuance included), newest first.
func (q *Queries) CardFundings(ctx context.Context, cardID string, p Page) ([]engine.FundingRecord, string, error) {
	return listPage(ctx, q.pool, p, scanFunding, fundingCursor,
		`SELECT `+fundingColumns+` FROM fundings WHERE card_id = $1 AND `+keysetBefore("created_at", "id", 2)+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, cardID)
}

// Fundings lists every funding, optionally of one status, newest first (ops).
func (q *Queries) Fundings(ctx context.Context, status string, p Page) ([]engine.FundingRecord, string, error) {
	return listPage(ctx, q.pool, p, scanFunding, fundingCursor,
		`SELECT `+fundingColumns+` FROM fundings WHERE ($1 = '' OR status = $1) AND `+keysetBefore("created_at", "id", 2)+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, status)
}

func fundingCursor(f engine.FundingRecord) Cursor { return Cursor{f.CreatedAt, f.ID} }

// Withdrawal returns a withdrawal by id, or engine.ErrNotFound.
func (q *Queries) Withdrawal(ctx context.Context, id string) (engine.WithdrawalRecord, error) {
	return one(q.pool.QueryRow(ctx, `SELECT `+withdrawalColumns+` FROM withdrawals WHERE id = $1`, id),
		scanWithdrawal, "withdrawal", id)
}

// CardWithdrawals lists a card's withdrawals, newest first.
func (q *Queries) CardWithdrawals(ctx context.Context, cardID string, p Page) ([]engine.WithdrawalRecord, string, error) {
	return listPage(ctx, q.pool, p, scanWithdrawal, withdrawalCursor,
		`SELECT `+withdrawalColumns+` FROM withdrawals WHERE card_id = $1 AND `+keysetBefore("created_at", "id", 2)+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, cardID)
}

// Withdrawals lists every withdrawal, optionally of one status (ops).
func (q *Queries) Withdrawals(ctx context.Context, status string, p Page) ([]engine.WithdrawalRecord, string, error) {
	return listPage(ctx, q.pool, p, scanWithdrawal, withdrawalCursor,
		`SELECT `+withdrawalColumns+` FROM withdrawals WHERE ($1 = '' OR status = $1) AND `+keysetBefore("created_at", "id", 2)+`
		ORDER BY created_at DESC, id DESC LIMIT $4`, status)
}

func withdrawalCursor(w engine.WithdrawalRecord) Cursor { return Cursor{w.CreatedAt, w.ID} }

// Payments lists every payment, optionally of one status (ops).
func (q *Queries) Payments(ctx context.Context, status string, p Page) ([]engine.PaymentRecord, string, error) {
	return listPage(ctx, q.pool, p, scanPayment, func(r engine.PaymentRecord) Cursor { return Cursor{r.CreatedAt, r.Ref} },
		`SELECT `+paymentColumns+` FROM payments WHERE ($1 = '' OR status = $1) AND `+keysetBefore("created_at", "ref", 2)+`
		ORDER BY created_at DESC, ref DESC LIMIT $4`, status)
}

// PaymentCard returns the card that owns a payment reference ("" for a
// payment of no card, such as a sweep), or engine.ErrNotFound.
func (q *Queries) PaymentCard(ctx context.Context, ref string) (string, error) {
	var cardID string
	err := q.pool.QueryRow(ctx, `SELECT coalesce(card_id, '') FROM payments WHERE ref = $1`, ref).Scan(&cardID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("payment %s: %w", ref, engine.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("payment %s: %w", ref, err)
	}
	return cardID, nil
}

// listPage runs a keyset query whose parameters are args, then the
// cursor's time and id, then the row limit.
func listPage[T any](ctx context.Context, pool *pgxpool.Pool, p Page, scan func(pgx.Row) (T, error), pos func(T) Cursor, sql string, args ...any) ([]T, string, error) {
	after, err := p.after()
	if err != nil {
		return nil, "", err
	}
	items, err := collect(ctx, pool, scan, sql, append(args, after.At, after.ID, p.limit()+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list: %w", err)
	}
	return pageOf(items, p, pos)
}

// Transaction is one line of a card's history: a funding (or the
// issuance), a withdrawal, or a spend or decline at the issuer.
type Transaction struct {
	ID          string
	Type        string // funding, withdrawal, spend, decline, refund
	Amount      engine.Money
	Status      string
	Description string
	CreatedAt   time.Time
}

// Transactions lists a card's history, newest first.
func (q *Queries) Transactions(ctx context.Context, cardID string, p Page) ([]Transaction, string, error) {
	scan := func(row pgx.Row) (Transaction, error) {
		var t Transaction
		var cur string
		err := row.Scan(&t.ID, &t.Type, &t.Amount.Minor, &cur, &t.Status, &t.Description, &t.CreatedAt)
		t.Amount.Currency = engine.Currency(cur)
		return t, err
	}
	return listPage(ctx, q.pool, p, scan, func(t Transaction) Cursor { return Cursor{t.CreatedAt, t.ID} },
		`SELECT id, type, amount, currency, status, description, at FROM (
			SELECT id, CASE WHEN status = 'refunded' THEN 'refund' ELSE 'funding' END AS type,
				card_amount_minor AS amount, 'USD' AS currency, status,
				CASE kind WHEN 'issuance' THEN 'Card issuance' ELSE 'Top-up' END || ' from ' || operator AS description,
				created_at AS at
			FROM fundings WHERE card_id = $1
			UNION ALL
			SELECT id, 'withdrawal', card_amount_minor, 'USD', status,
				CASE purpose WHEN 'termination' THEN 'Balance returned on termination' ELSE 'Withdrawal' END
					|| ' to ' || operator, created_at
			FROM withdrawals WHERE card_id = $1
			UNION ALL
			SELECT id, kind, amount_minor, currency, CASE kind WHEN 'spend' THEN 'succeeded' ELSE 'declined' END,
				CASE WHEN reason = '' THEN merchant ELSE merchant || ' (' || reason || ')' END, at
			FROM card_events WHERE card_id = $1
		) t WHERE `+keysetBefore("at", "id", 2)+` ORDER BY at DESC, id DESC LIMIT $4`, cardID)
}

// Usage sums the card amounts (USD minor) a user moved in one direction
// since the start of the day and of the month: onto cards (issuance and
// funding) when loads, else off them by withdrawals. Operations still in
// flight count; failed and refunded ones do not.
func (q *Queries) Usage(ctx context.Context, userID string, loads bool, day, month time.Time) (today, thisMonth int64, err error) {
	sql := `SELECT coalesce(sum(card_amount_minor) FILTER (WHERE created_at >= $2), 0)::bigint,
			coalesce(sum(card_amount_minor), 0)::bigint
		FROM fundings WHERE user_id = $1 AND created_at >= $3 AND status NOT IN ('failed', 'refunded')`
	if !loads {
		sql = `SELECT coalesce(sum(card_amount_minor) FILTER (WHERE created_at >= $2), 0)::bigint,
				coalesce(sum(card_amount_minor), 0)::bigint
			FROM withdrawals WHERE user_id = $1 AND created_at >= $3 AND status <> 'failed' AND purpose = 'withdrawal'`
	}
	if err := q.pool.QueryRow(ctx, sql, userID, day, month).Scan(&today, &thisMonth); err != nil {
		return 0, 0, fmt.Errorf("usage of user %s: %w", userID, err)
	}
	return today, thisMonth, nil
}

// FinalFundings returns which of ids are fundings in a final status
// (succeeded, failed, refunded): the long poll's batched check.
func (q *Queries) FinalFundings(ctx context.Context, ids []string) ([]string, error) {
	return q.finalOf(ctx, `SELECT id FROM fundings WHERE id = ANY($1) AND status IN ('succeeded','failed','refunded')`, ids)
}

// FinalWithdrawals returns which of ids are withdrawals in a final status.
func (q *Queries) FinalWithdrawals(ctx context.Context, ids []string) ([]string, error) {
	return q.finalOf(ctx, `SELECT id FROM withdrawals WHERE id = ANY($1) AND status IN ('succeeded','failed')`, ids)
}

func (q *Queries) finalOf(ctx context.Context, sql string, ids []string) ([]string, error) {
	out, err := collect(ctx, q.pool, func(row pgx.Row) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, sql, ids)
	if err != nil {
		return nil, fmt.Errorf("final statuses: %w", err)
	}
	return out, nil
}

// Sweep returns a sweep by id, or engine.ErrNotFound.
func (q *Queries) Sweep(ctx context.Context, id string) (engine.SweepRecord, error) {
	return one(q.pool.QueryRow(ctx, `SELECT `+sweepColumns+` FROM sweeps WHERE id = $1`, id), scanSweep, "sweep", id)
}

const sweepColumns = `id, provider, amount_minor, usd_minor, status, reason, version, created_at, updated_at`

// TreasuryView is the issuer float and the collections as the ledger and
// the float reservations have them (committed state).
type TreasuryView struct {
	Float       int64 // USD minor in issuer:float (not on any card)
	Reserved    int64 // USD minor granted to fundings, not yet on their cards
	QueueCount  int
	QueueAmount int64
	OldestQueue time.Time // zero when the queue is empty
	Collections map[string]int64
	Sweeps      []engine.SweepRecord // the newest
}

// Available is the float that new reservations may take.
func (t TreasuryView) Available() int64 { return t.Float - t.Reserved }

// Treasury returns the treasury as committed, with the newest sweeps.
func (q *Queries) Treasury(ctx context.Context, sweeps int) (TreasuryView, error) {
	var v TreasuryView
	var oldest *time.Time
	err := q.pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(sum(p.amount_minor), 0)::bigint FROM ledger_entries e,
			unnest(e.accounts, e.amounts) AS p(account, amount_minor) WHERE p.account = $1),
		(SELECT coalesce(sum(amount_minor), 0)::bigint FROM float_reservations WHERE status = 'granted'),
		(SELECT count(*) FROM float_reservations WHERE status = 'queued'),
		(SELECT coalesce(sum(amount_minor), 0)::bigint FROM float_reservations WHERE status = 'queued'),
		(SELECT min(requested_at) FROM float_reservations WHERE status = 'queued')`,
		engine.IssuerFloatAccount().String()).Scan(&v.Float, &v.Reserved, &v.QueueCount, &v.QueueAmount, &oldest)
	if err != nil {
		return v, fmt.Errorf("treasury: %w", err)
	}
	if oldest != nil {
		v.OldestQueue = *oldest
	}
	if v.Collections, err = NewStateStore(q.pool).CollectionBalances(ctx); err != nil {
		return v, fmt.Errorf("treasury: %w", err)
	}
	if v.Sweeps, err = collect(ctx, q.pool, scanSweep, `SELECT `+sweepColumns+` FROM sweeps
		ORDER BY created_at DESC, id DESC LIMIT $1`, sweeps); err != nil {
		return v, fmt.Errorf("treasury sweeps: %w", err)
	}
	return v, nil
}

// EarningsRow is the earnings of one group: an operation or a day.
type EarningsRow struct {
	Key    string
	Amount int64 // XOF minor
	Count  int64
}

// Earnings sums earnings (XOF) by operation (groupBy "operation") or by
// UTC day ("day", keys YYYY-MM-DD), over [from, to) — a zero bound is open.
func (q *Queries) Earnings(ctx context.Context, groupBy string, from, to time.Time) ([]EarningsRow, error) {
	key := `operation`
	if groupBy == "day" {
		key = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
	} else if groupBy != "operation" {
		return nil, fmt.Errorf("earnings: unknown grouping %q", groupBy)
	}
	rows, err := collect(ctx, q.pool, func(row pgx.Row) (EarningsRow, error) {
		var r EarningsRow
		return r, row.Scan(&r.Key, &r.Amount, &r.Count)
	}, `SELECT `+key+` AS k, sum(amount_minor)::bigint, count(*) FROM earnings
		WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
		GROUP BY k ORDER BY k`, optionalTime(from), optionalTime(to))
	if err != nil {
		return nil, fmt.Errorf("earnings: %w", err)
	}
	return rows, nil
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Imbalance is one finding of the ledger check.
type Imbalance struct {
	Kind     string // unbalanced_entry, card_balance, negative_balance, reserved_exceeds_float
	Subject  string // the entry ref or the account
	Currency engine.Currency
	Expected int64 // minor units
	Actual   int64
}

// LedgerCheck is the result of CheckLedger.
type LedgerCheck struct {
	Entries    int64
	Imbalances []Imbalance
}

// OK reports whether the check found nothing.
func (c LedgerCheck) OK() bool { return len(c.Imbalances) == 0 }

// maxImbalances bounds the report: a systematic fault would otherwise list
// every row.
const maxImbalances = 1000

// CheckLedger verifies the books: every entry sums to zero per currency
// and uses its accounts' currency; every card's balance equals its ledger
// account (and no ledger card account lacks its card); the issuer float and
// every collection account are non-negative; and float reserved for
// fundings does not exceed the float.
func (q *Queries) CheckLedger(ctx context.Context) (LedgerCheck, error) {
	var c LedgerCheck
	if err := q.pool.QueryRow(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&c.Entries); err != nil {
		return c, fmt.Errorf("ledger check: %w", err)
	}
	scan := func(row pgx.Row) (Imbalance, error) {
		var im Imbalance
		var cur string
		err := row.Scan(&im.Kind, &im.Subject, &cur, &im.Expected, &im.Actual)
		im.Currency = engine.Currency(cur)
		return im, err
	}
	checks := []string{
		// Entries that do not sum to zero in some currency.
		`SELECT 'unbalanced_entry', e.ref, p.currency, 0::bigint, sum(p.amount_minor)::bigint
		 FROM ledger_entries e, unnest(e.currencies, e.amounts) AS p(currency, amount_minor)
		 GROUP BY e.id, e.ref, p.currency HAVING sum(p.amount_minor) <> 0`,
		// Postings whose currency is not their account's (cards and float are USD, momo XOF).
		`SELECT 'currency_mismatch', e.ref || ' ' || p.account, p.currency, 0::bigint, p.amount_minor
		 FROM ledger_entries e, unnest(e.accounts, e.currencies, e.amounts) AS p(account, currency, amount_minor)
		 WHERE (p.account LIKE 'card:%' OR p.account = 'issuer:float') AND p.currency <> 'USD'
		    OR p.account LIKE 'momo:%' AND p.currency <> 'XOF'`,
		// Cards whose balance is not their ledger balance, either side missing.
		`SELECT 'card_balance', 'card:' || coalesce(c.id, l.id), 'USD', coalesce(l.sum, 0)::bigint, coalesce(c.balance_minor, 0)
		 FROM cards c FULL JOIN (
		   SELECT substr(p.account, 6) AS id, sum(p.amount_minor) AS sum
		   FROM ledger_entries e, unnest(e.accounts, e.amounts) AS p(account, amount_minor)
		   WHERE p.account LIKE 'card:%' GROUP BY p.account) l ON l.id = c.id
		 WHERE coalesce(c.balance_minor, 0) <> coalesce(l.sum, 0)`,
		// The float and the collections can never be negative at the providers.
		`SELECT 'negative_balance', p.account, min(p.currency), 0::bigint, sum(p.amount_minor)::bigint
		 FROM ledger_entries e, unnest(e.accounts, e.currencies, e.amounts) AS p(account, currency, amount_minor)
		 WHERE p.account = 'issuer:float' OR p.account LIKE 'momo:%'
		 GROUP BY p.account HAVING sum(p.amount_minor) < 0`,
		// Granted reservations are float set aside: never more than the float.
		`SELECT 'reserved_exceeds_float', 'issuer:float', 'USD', f.sum, r.sum FROM
		 (SELECT coalesce(sum(p.amount_minor), 0)::bigint AS sum FROM ledger_entries e,
		   unnest(e.accounts, e.amounts) AS p(account, amount_minor) WHERE p.account = 'issuer:float') f,
		 (SELECT coalesce(sum(amount_minor), 0)::bigint AS sum FROM float_reservations WHERE status = 'granted') r
		 WHERE r.sum > f.sum`,
	}
	for _, sql := range checks {
		found, err := collect(ctx, q.pool, scan, sql+` LIMIT `+strconv.Itoa(maxImbalances))
		if err != nil {
			return c, fmt.Errorf("ledger check: %w", err)
		}
		c.Imbalances = append(c.Imbalances, found...)
	}
	return c, nil
}
