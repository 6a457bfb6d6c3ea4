package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// StatusNew is the from label of a saga's first transition (its creation).
const StatusNew = "new"

// The non-final statuses of the API (API.md): their in-flight series exist
// from the start and are reset to 0 when a snapshot omits them.
var (
	fundingInFlightStatuses    = []string{"awaiting_payment", "paid", "queued_for_float", "funding_card", "refunding"}
	withdrawalInFlightStatuses = []string{"pending", "card_debited"}
)

// RefundOutcome is a value of the outcome label of kash_refunds_total.
type RefundOutcome string

// Refund outcomes: a failed attempt is retried; manual_review is a refund
// that gave up retrying and waits for ops.
const (
	RefundSucceeded    RefundOutcome = "succeeded"
	RefundFailed       RefundOutcome = "failed"
	RefundManualReview RefundOutcome = "manual_review"
)

// Sagas reports fundings and withdrawals: transitions as they happen (from
// the card actors) and how many sit in each non-final status (a snapshot,
// set by whichever component counts them).
type Sagas struct {
	fundingsInFlight      *statusGauge           // kash_fundings_in_flight{status}
	fundingTransitions    *prometheus.CounterVec // kash_funding_transitions_total{from,to}
	withdrawalsInFlight   *statusGauge           // kash_withdrawals_in_flight{status}
	withdrawalTransitions *prometheus.CounterVec // kash_withdrawal_transitions_total{from,to}
	refunds               *prometheus.CounterVec // kash_refunds_total{outcome}
	suspense              prometheus.Gauge       // kash_suspense_items
	manualReview          prometheus.Gauge       // kash_manual_review_items
}

func newSagas(m *Metrics) *Sagas {
	s := &Sagas{
		fundingsInFlight: newStatusGauge(m.gaugeVec("kash_fundings_in_flight",
			"Fundings and issuances in a non-final status, by status.", "status"), fundingInFlightStatuses),
		fundingTransitions: m.counterVec("kash_funding_transitions_total",
			"Funding status changes, by previous and new status (from=\"new\" on creation).", "from", "to"),
		withdrawalsInFlight: newStatusGauge(m.gaugeVec("kash_withdrawals_in_flight",
			"Withdrawals in a non-final status, by status.", "status"), withdrawalInFlightStatuses),
		withdrawalTransitions: m.counterVec("kash_withdrawal_transitions_total",
			"Withdrawal status changes, by previous and new status (from=\"new\" on creation).", "from", "to"),
		refunds: m.counterVec("kash_refunds_total",
			"Refund attempts of paid fundings, by outcome (failed attempts are retried).", "outcome"),
		suspense: m.gauge("kash_suspense_items",
			"Payments received that no live operation could take (in suspense, to refund or apply)."),
		manualReview: m.gauge("kash_manual_review_items",
			"Operations waiting for ops in the manual-review queue."),
	}
	for _, o := range []RefundOutcome{RefundSucceeded, RefundFailed, RefundManualReview} {
		s.refunds.WithLabelValues(string(o))
	}
	return s
}

// FundingTransition counts a funding's status change. A repeated status is
// not a change: callers count only real transitions.
func (s *Sagas) FundingTransition(from, to string) {
	if s == nil {
		return
	}
	s.fundingTransitions.WithLabelValues(orNew(from), to).Inc()
}

// WithdrawalTransition counts a withdrawal's status change.
func (s *Sagas) WithdrawalTransition(from, to string) {
	if s == nil {
		return
	}
	s.withdrawalTransitions.WithLabelValues(orNew(from), to).Inc()
}

// SetFundingsInFlight replaces the in-flight counts by status; statuses
// missing from counts drop to 0.
func (s *Sagas) SetFundingsInFlight(counts map[string]int) {
	if s == nil {
		return
	}
	s.fundingsInFlight.set(counts)
}

// SetWithdrawalsInFlight replaces the in-flight withdrawal counts by status.
func (s *Sagas) SetWithdrawalsInFlight(counts map[string]int) {
	if s == nil {
		return
	}
	s.withdrawalsInFlight.set(counts)
}

// Refund counts a refund attempt's outcome.
func (s *Sagas) Refund(outcome RefundOutcome) {
	if s == nil {
		return
	}
	s.refunds.WithLabelValues(string(outcome)).Inc()
}

// SetSuspenseItems reports how many items are in suspense.
func (s *Sagas) SetSuspenseItems(n int) {
	if s == nil {
		return
	}
	s.suspense.Set(float64(n))
}

// SetManualReviewItems reports the length of the manual-review queue.
func (s *Sagas) SetManualReviewItems(n int) {
	if s == nil {
		return
	}
	s.manualReview.Set(float64(n))
}

func orNew(from string) string {
	if from == "" {
		return StatusNew
	}
	return from
}

// statusGauge is a gauge vector set from whole snapshots, so that a status
// that emptied out reads 0 instead of keeping its last count.
type statusGauge struct {
	vec  *prometheus.GaugeVec
	mu   sync.Mutex
	seen map[string]bool
}

func newStatusGauge(vec *prometheus.GaugeVec, known []string) *statusGauge {
	g := &statusGauge{vec: vec, seen: map[string]bool{}}
	for _, s := range known {
		g.seen[s] = true
		vec.WithLabelValues(s)
	}
	return g
}

func (g *statusGauge) set(counts map[string]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for status := range g.seen {
		if _, ok := counts[status]; !ok {
			g.vec.WithLabelValues(status).Set(0)
		}
	}
	for status, n := range counts {
		g.seen[status] = true
		g.vec.WithLabelValues(status).Set(float64(n))
	}
}
