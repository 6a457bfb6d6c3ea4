package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
)

// The operations that earn (API.md, earnings); their series exist from the start.
var earningOperations = []string{"issuance", "funding", "withdrawal"}

// Money reports earnings and the results of the ledger check and of the
// reconciliation with the providers. The ledger in Postgres stays the
// record of money; these are for watching.
type Money struct {
	earnings        *prometheus.CounterVec // kash_earnings_total{operation,currency}
	ledgerCheckedAt prometheus.Gauge       // kash_ledger_check_last_timestamp_seconds
	ledgerEntries   prometheus.Gauge       // kash_ledger_check_entries
	imbalances      prometheus.Gauge       // kash_ledger_imbalances
	reconciledAt    prometheus.Gauge       // kash_reconciliation_last_timestamp_seconds
	reconcileDiffs  prometheus.Gauge       // kash_reconciliation_differences
}

func newMoney(m *Metrics) *Money {
	mo := &Money{
		earnings: m.counterVec("kash_earnings_total",
			"Earnings (FX margin and fees) since start, by operation, in major units of currency.",
			"operation", "currency"),
		ledgerCheckedAt: m.gauge("kash_ledger_check_last_timestamp_seconds",
			"Unix time of the last completed ledger check (0 before the first)."),
		ledgerEntries: m.gauge("kash_ledger_check_entries",
			"Journal entries the last ledger check verified."),
		imbalances: m.gauge("kash_ledger_imbalances",
			"Imbalances found by the last ledger check: unbalanced entries and balances that differ from the ledger."),
		reconciledAt: m.gauge("kash_reconciliation_last_timestamp_seconds",
			"Unix time of the last completed reconciliation with the providers (0 before the first)."),
		reconcileDiffs: m.gauge("kash_reconciliation_differences",
			"Differences between the engine and the providers found by the last reconciliation."),
	}
	for _, op := range earningOperations {
		mo.earnings.WithLabelValues(op, string(engine.XOF))
	}
	return mo
}

// Earned adds the earnings (margin and fees) of one operation.
func (mo *Money) Earned(operation string, amount engine.Money) {
	if mo == nil {
		return
	}
	if v, ok := major(amount); ok && v > 0 {
		mo.earnings.WithLabelValues(operation, string(amount.Currency)).Add(v)
	}
}

// LedgerChecked records a completed ledger check.
func (mo *Money) LedgerChecked(at time.Time, entries, imbalances int) {
	if mo == nil {
		return
	}
	mo.ledgerEntries.Set(float64(entries))
	mo.imbalances.Set(float64(imbalances))
	mo.ledgerCheckedAt.Set(unixSeconds(at))
}

// Reconciled records a completed reconciliation.
func (mo *Money) Reconciled(at time.Time, differences int) {
	if mo == nil {
		return
	}
	mo.reconcileDiffs.Set(float64(differences))
	mo.reconciledAt.Set(unixSeconds(at))
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
