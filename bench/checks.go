package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/actors/inproc"
	"kash/engine"
)

// checker runs the correctness checks of a settle world after a run; the
// settle and baseline scenarios share them, so both are held to the same
// standard.
type checker struct {
	w      *settleWorld
	pool   *pgxpool.Pool
	issuer *inproc.Issuer
	run    *Run
	checks []Check
}

func (c *checker) add(name string, ok bool, format string, args ...any) {
	c.checks = append(c.checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// verify runs every check and returns them with the final statuses of the
// offered fundings. An error means a check could not run at all.
func (w *settleWorld) verify(ctx context.Context, pool *pgxpool.Pool, issuer *inproc.Issuer, run *Run) ([]Check, map[string]int64, error) {
	c := &checker{w: w, pool: pool, issuer: issuer, run: run}
	for _, f := range []func(context.Context) error{c.ledgerBalances, c.cardsMatchLedgerAndIssuer, c.floatMatchesIssuer,
		c.moneyConserved, c.sagasFinal, c.reservationsSettled} {
		if err := f(ctx); err != nil {
			return nil, nil, err
		}
	}
	completed, _ := run.Recorder.Counts()
	c.add("every offered operation succeeded", completed == run.Offered, "%d of %d", completed, run.Offered)
	statuses, err := c.statuses(ctx)
	return c.checks, statuses, err
}

// ledgerBalances: every journal entry balances in each currency.
func (c *checker) ledgerBalances(ctx context.Context) error {
	var entries, unbalanced int64
	err := c.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_entries),
		(SELECT count(*) FROM (SELECT entry_ref FROM ledger_postings GROUP BY entry_ref, currency
		 HAVING sum(amount_minor) <> 0) x)`).Scan(&entries, &unbalanced)
	if err != nil {
		return fmt.Errorf("ledger balance check: %w", err)
	}
	c.add("ledger: every entry balances per currency", unbalanced == 0, "%d entries, %d unbalanced", entries, unbalanced)
	return nil
}

// cardsMatchLedgerAndIssuer: each card's balance equals its ledger account
// and the issuer's own balance for it.
func (c *checker) cardsMatchLedgerAndIssuer(ctx context.Context) error {
	rows, err := c.pool.Query(ctx, `SELECT c.id, c.balance_minor, coalesce(l.total, 0)::bigint FROM cards c
		LEFT JOIN (SELECT account, sum(amount_minor) AS total FROM ledger_postings WHERE account LIKE 'card:%'
		GROUP BY account) l ON l.account = 'card:' || c.id`)
	if err != nil {
		return fmt.Errorf("card balance check: %w", err)
	}
	defer rows.Close()
	books := c.issuer.Books()
	var cards, offLedger, offIssuer int
	var examples []string
	for rows.Next() {
		var id string
		var balance, ledger int64
		if err := rows.Scan(&id, &balance, &ledger); err != nil {
			return fmt.Errorf("card balance check: %w", err)
		}
		cards++
		issued, known := books.Cards[id]
		if balance != ledger {
			offLedger++
			examples = appendExample(examples, fmt.Sprintf("%s: balance %d, ledger %d", id, balance, ledger))
		}
		if !known || issued != balance {
			offIssuer++
			examples = appendExample(examples, fmt.Sprintf("%s: engine %d, issuer %d (known %v)", id, balance, issued, known))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("card balance check: %w", err)
	}
	c.add("every card balance equals its ledger account", offLedger == 0, "%d cards, %d differ%s", cards, offLedger, exampleText(examples))
	c.add("issuer's books: every card balance equals the engine's", offIssuer == 0 && len(books.Cards) == cards,
		"%d cards at the issuer, %d in the engine, %d differ", len(books.Cards), cards, offIssuer)
	return nil
}

func appendExample(ex []string, s string) []string {
	if len(ex) < 3 {
		return append(ex, s)
	}
	return ex
}

func exampleText(ex []string) string {
	if len(ex) == 0 {
		return ""
	}
	return " (" + strings.Join(ex, "; ") + ")"
}

func (c *checker) ledgerBalance(ctx context.Context, account engine.Account) (int64, error) {
	var total int64
	err := c.pool.QueryRow(ctx, `SELECT coalesce(sum(amount_minor), 0)::bigint FROM ledger_postings WHERE account = $1`,
		account.String()).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("balance of %s: %w", account, err)
	}
	return total, nil
}

// floatMatchesIssuer: the issuer's float equals the ledger's issuer:float.
func (c *checker) floatMatchesIssuer(ctx context.Context) error {
	ledger, err := c.ledgerBalance(ctx, engine.IssuerFloatAccount())
	if err != nil {
		return err
	}
	issuer := c.issuer.Books().Float
	c.add("issuer's books: float equals the ledger's issuer:float", ledger == issuer, "ledger %d, issuer %d", ledger, issuer)
	return nil
}

// moneyConserved: what the succeeded fundings put on cards is what the
// cards hold and what left the float, and the harness saw each of them
// complete exactly once; their earnings were booked once each.
func (c *checker) moneyConserved(ctx context.Context) error {
	var succeeded, credited, expected, earnedRows, earned, onCards int64
	err := c.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM fundings WHERE status = 'succeeded'),
		(SELECT coalesce(sum(card_amount_minor), 0)::bigint FROM fundings WHERE status = 'succeeded'),
		(SELECT coalesce(sum(earnings_minor), 0)::bigint FROM fundings WHERE status = 'succeeded'),
		(SELECT count(*) FROM earnings), (SELECT coalesce(sum(amount_minor), 0)::bigint FROM earnings),
		(SELECT coalesce(sum(balance_minor), 0)::bigint FROM cards)`).
		Scan(&succeeded, &credited, &expected, &earnedRows, &earned, &onCards)
	if err != nil {
		return fmt.Errorf("conservation check: %w", err)
	}
	float, err := c.ledgerBalance(ctx, engine.IssuerFloatAccount())
	if err != nil {
		return err
	}
	left := c.w.float - float
	completed, _ := c.run.Recorder.Counts()
	c.add("conservation: fundings succeeded = sum of card credits = float spent", credited == onCards && credited == left,
		"succeeded fundings %d, on cards %d, float spent %d (USD cents)", credited, onCards, left)
	c.add("conservation: each completion seen once, each success completed", succeeded == completed,
		"%d succeeded in the database, %d completions seen", succeeded, completed)
	c.add("earnings booked once per success", earnedRows == succeeded && earned == expected,
		"%d rows for %d successes, %d XOF booked, %d quoted", earnedRows, succeeded, earned, expected)
	return nil
}

// sagasFinal: every offered funding is final; the others were not touched.
func (c *checker) sagasFinal(ctx context.Context) error {
	bound := c.w.fundingID(int(c.run.Offered))
	var open, touched int64
	err := c.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM fundings WHERE id < $1 AND status NOT IN ('succeeded','failed','refunded')),
		(SELECT count(*) FROM fundings WHERE id >= $1 AND (status <> 'paid' OR version <> 1))`, bound).Scan(&open, &touched)
	if err != nil {
		return fmt.Errorf("saga check: %w", err)
	}
	c.add("every offered saga is final", open == 0, "%d of %d offered are not final", open, c.run.Offered)
	c.add("fundings not offered are untouched", touched == 0, "%d of %d changed", touched, int64(c.w.fundings)-c.run.Offered)
	return nil
}

// reservationsSettled: no float is left reserved or queued, and every
// success committed its reservation.
func (c *checker) reservationsSettled(ctx context.Context) error {
	var open, committed, succeeded int64
	err := c.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM float_reservations WHERE status IN ('queued','granted')),
		(SELECT count(*) FROM float_reservations WHERE status = 'committed' AND funding_id LIKE 'bf\_%'),
		(SELECT count(*) FROM fundings WHERE status = 'succeeded')`).Scan(&open, &committed, &succeeded)
	if err != nil {
		return fmt.Errorf("reservation check: %w", err)
	}
	c.add("float reservations: none left open, one committed per success (history apart)", open == 0 && committed == succeeded,
		"%d open, %d committed, %d succeeded", open, committed, succeeded)
	return nil
}

func (c *checker) statuses(ctx context.Context) (map[string]int64, error) {
	rows, err := c.pool.Query(ctx, `SELECT CASE WHEN id < $1 THEN status ELSE 'not offered: ' || status END, count(*)
		FROM fundings GROUP BY 1`, c.w.fundingID(int(c.run.Offered)))
	if err != nil {
		return nil, fmt.Errorf("final statuses: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("final statuses: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}
