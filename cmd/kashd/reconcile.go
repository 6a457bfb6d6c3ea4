package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
	"kash/gateway"
)

// simReconciler compares the engine's books with the provider simulator's
// own (GET /sim/state): every card's balance, the issuer float and each
// momo account's collections. Whatever has an operation in flight is left
// out, since the two sides legitimately differ until it settles.
type simReconciler struct {
	pool   *pgxpool.Pool
	simURL string
	http   *http.Client
}

type simMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type simState struct {
	Issuer struct {
		Float simMoney `json:"float"`
		Cards []struct {
			Card    string   `json:"card"`
			Balance simMoney `json:"balance"`
		} `json:"cards"`
	} `json:"issuer"`
	Momo struct {
		Providers []struct {
			Provider string   `json:"provider"`
			Balance  simMoney `json:"balance"`
		} `json:"providers"`
	} `json:"momo"`
}

func newSimReconciler(pool *pgxpool.Pool, simURL string) *simReconciler {
	return &simReconciler{pool: pool, simURL: simURL, http: &http.Client{Timeout: 10 * time.Second}}
}

// Reconcile implements gateway.Reconciler.
func (r *simReconciler) Reconcile(ctx context.Context) (gateway.Reconciliation, error) {
	st, err := r.state(ctx)
	if err != nil {
		return gateway.Reconciliation{}, err
	}
	var diffs []gateway.Difference
	cards, err := r.cardDiffs(ctx, st)
	if err != nil {
		return gateway.Reconciliation{}, err
	}
	diffs = append(diffs, cards...)
	accounts, err := r.accountDiffs(ctx, st)
	if err != nil {
		return gateway.Reconciliation{}, err
	}
	diffs = append(diffs, accounts...)
	return gateway.Reconciliation{OK: len(diffs) == 0, Differences: diffs}, nil
}

func (r *simReconciler) state(ctx context.Context) (simState, error) {
	var st simState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.simURL+"/sim/state", nil)
	if err != nil {
		return st, err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("reconcile: read the providers' books: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("reconcile: decode the providers' books: %w", err)
	}
	return st, nil
}

// cardDiffs compares settled cards (no operation in flight).
func (r *simReconciler) cardDiffs(ctx context.Context, st simState) ([]gateway.Difference, error) {
	provider := map[string]string{}
	for _, c := range st.Issuer.Cards {
		provider[c.Card] = c.Balance.Amount
	}
	rows, err := r.pool.Query(ctx, `SELECT id, balance_minor FROM cards c WHERE issuer_card_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM fundings f WHERE f.card_id = c.id AND f.status IN ('funding_card'))
		AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.card_id = c.id AND w.status NOT IN ('succeeded','failed'))`)
	if err != nil {
		return nil, fmt.Errorf("reconcile cards: %w", err)
	}
	defer rows.Close()
	var diffs []gateway.Difference
	for rows.Next() {
		var id string
		var bal int64
		if err := rows.Scan(&id, &bal); err != nil {
			return nil, err
		}
		theirs, err := engine.ParseAmount(valueOr(provider[id], "0"), engine.USD)
		if err != nil {
			return nil, fmt.Errorf("reconcile card %s: %w", id, err)
		}
		if theirs.Minor != bal {
			diffs = append(diffs, gateway.Difference{Kind: "card", Subject: id, Engine: engine.NewMoney(bal, engine.USD),
				Provider: theirs, Detail: "card balance differs from the issuer's"})
		}
	}
	return diffs, rows.Err()
}

// accountDiffs compares the issuer float and each momo account's
// collections, when no operation that moves them is in flight.
func (r *simReconciler) accountDiffs(ctx context.Context, st simState) ([]gateway.Difference, error) {
	var inFlight int
	if err := r.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM fundings WHERE status IN ('funding_card','refunding'))
		+ (SELECT count(*) FROM withdrawals WHERE status NOT IN ('succeeded','failed'))
		+ (SELECT count(*) FROM payments WHERE status = 'pending' AND created_at > now() - interval '1 day')
		+ (SELECT count(*) FROM sweeps WHERE status NOT IN ('completed','failed'))`).Scan(&inFlight); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	if inFlight > 0 {
		return nil, nil
	}
	ledger := map[string]int64{}
	rows, err := r.pool.Query(ctx, `SELECT account, sum(amount_minor)::bigint FROM ledger_postings
		WHERE account = 'issuer:float' OR account LIKE 'momo:%' GROUP BY account`)
	if err != nil {
		return nil, fmt.Errorf("reconcile ledger: %w", err)
	}
	for rows.Next() {
		var acc string
		var bal int64
		if err := rows.Scan(&acc, &bal); err != nil {
			rows.Close()
			return nil, err
		}
		ledger[acc] = bal
	}
	rows.Close()
	var diffs []gateway.Difference
	compare := func(kind, account, amount string, cur engine.Currency) error {
		theirs, err := engine.ParseAmount(valueOr(amount, "0"), cur)
		if err != nil {
			return fmt.Errorf("reconcile %s: %w", account, err)
		}
		if ours := ledger[account]; ours != theirs.Minor {
			diffs = append(diffs, gateway.Difference{Kind: kind, Subject: account, Engine: engine.NewMoney(ours, cur),
				Provider: theirs, Detail: "ledger balance differs from the provider's"})
		}
		return nil
	}
	if err := compare("float", "issuer:float", st.Issuer.Float.Amount, engine.USD); err != nil {
		return nil, err
	}
	for _, p := range st.Momo.Providers {
		if err := compare("collection", "momo:"+p.Provider, p.Balance.Amount, engine.XOF); err != nil {
			return nil, err
		}
	}
	return diffs, nil
}
