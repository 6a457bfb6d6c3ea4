package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/metrics"
	"kash/persistence"
)

// gaugeEvery is how often the counted gauges are refreshed from Postgres.
const gaugeEvery = 5 * time.Second

// reportGauges refreshes the gauges that are counts over stored state (work
// in flight, suspense, manual review, pending payments, outbox backlog)
// until the returned function is called.
func reportGauges(pool *pgxpool.Pool, journal *persistence.Journal, m *metrics.Metrics) func() {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(gaugeEvery)
		defer t.Stop()
		for {
			st := journal.Stats()
			m.Journal.SetQueueLength(int(st.Queued))
			m.Journal.SetBatchesInFlight(int(st.InFlight))
			refreshGauges(pool, m)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(stop) }
}

func refreshGauges(pool *pgxpool.Pool, m *metrics.Metrics) {
	ctx, cancel := context.WithTimeout(context.Background(), gaugeEvery)
	defer cancel()
	fundings, err := countBy(ctx, pool, `SELECT status, count(*) FROM fundings
		WHERE status NOT IN ('succeeded','failed','refunded') GROUP BY status`)
	if err == nil {
		m.Sagas.SetFundingsInFlight(fundings)
	}
	withdrawals, err2 := countBy(ctx, pool, `SELECT status, count(*) FROM withdrawals
		WHERE status NOT IN ('succeeded','failed') GROUP BY status`)
	if err2 == nil {
		m.Sagas.SetWithdrawalsInFlight(withdrawals)
	}
	var suspense, review int
	err3 := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM suspense_items WHERE status = 'open'),
		(SELECT count(*) FROM fundings WHERE manual_review) + (SELECT count(*) FROM withdrawals WHERE manual_review)`).
		Scan(&suspense, &review)
	if err3 == nil {
		m.Sagas.SetSuspenseItems(suspense)
		m.Sagas.SetManualReviewItems(review)
	}
	err4 := refreshPending(ctx, pool, m)
	err5 := refreshOutbox(ctx, pool, m)
	for _, e := range []error{err, err2, err3, err4, err5} {
		if e != nil {
			slog.Warn("refresh gauges", "err", e)
			return
		}
	}
}

func countBy(ctx context.Context, pool *pgxpool.Pool, sql string) (map[string]int, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

func refreshPending(ctx context.Context, pool *pgxpool.Pool, m *metrics.Metrics) error {
	rows, err := pool.Query(ctx, `SELECT provider, created_at FROM payments WHERE status = 'pending'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	pending := map[string][]time.Time{}
	for rows.Next() {
		var p string
		var at time.Time
		if err := rows.Scan(&p, &at); err != nil {
			return err
		}
		pending[p] = append(pending[p], at)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	m.Providers.ReplacePending(pending)
	return nil
}

func refreshOutbox(ctx context.Context, pool *pgxpool.Pool, m *metrics.Metrics) error {
	for _, ch := range []string{"sms", "push", "ops"} {
		var n int
		var oldest *time.Time
		if err := pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM outbox WHERE channel = $1 AND sent_at IS NULL`, ch).
			Scan(&n, &oldest); err != nil {
			return err
		}
		var at time.Time
		if oldest != nil {
			at = *oldest
		}
		m.Outbox.SetBacklog(metrics.ChannelOf(ch), n, at)
	}
	return nil
}
