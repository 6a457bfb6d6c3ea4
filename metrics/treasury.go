package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
)

// Treasury reports the issuer float and the queue of fundings waiting for
// it. The treasury actor owns these numbers and sets them after each change.
type Treasury struct {
	available    *prometheus.GaugeVec   // kash_treasury_float_available{currency}
	reserved     *prometheus.GaugeVec   // kash_treasury_float_reserved{currency}
	lowWater     *prometheus.GaugeVec   // kash_treasury_float_low_water{currency}
	committed    *prometheus.CounterVec // kash_treasury_float_committed_total{currency}
	queueLength  prometheus.Gauge       // kash_treasury_float_queue_length
	queueAmount  *prometheus.GaugeVec   // kash_treasury_float_queue_amount{currency}
	queueOldest  *ageGauge              // kash_treasury_float_queue_oldest_age_seconds
	queueExpired prometheus.Counter     // kash_treasury_float_queue_expired_total
	sweeps       prometheus.Gauge       // kash_treasury_sweeps_in_flight
}

func newTreasury(m *Metrics, clock engine.Clock) *Treasury {
	t := &Treasury{
		available: m.gaugeVec("kash_treasury_float_available",
			"Issuer float free to reserve, in major units of currency.", "currency"),
		reserved: m.gaugeVec("kash_treasury_float_reserved",
			"Issuer float reserved for fundings in progress, in major units of currency.", "currency"),
		lowWater: m.gaugeVec("kash_treasury_float_low_water",
			"Configured low-water mark of the issuer float, in major units of currency; alerts compare the available float to it.", "currency"),
		committed: m.counterVec("kash_treasury_float_committed_total",
			"Issuer float committed to cards (spent by issuances and fundings), in major units of currency; its rate is the float burn rate.", "currency"),
		queueLength: m.gauge("kash_treasury_float_queue_length",
			"Fundings waiting in the FIFO queue for float."),
		queueAmount: m.gaugeVec("kash_treasury_float_queue_amount",
			"Float the queued fundings wait for, in major units of currency.", "currency"),
		queueOldest: newAgeGauge(m, clock, "kash_treasury_float_queue_oldest_age_seconds",
			"Seconds the oldest queued funding has waited for float (0 when the queue is empty).", ""),
		queueExpired: m.counter("kash_treasury_float_queue_expired_total",
			"Queued fundings that waited past the bound and went to refund."),
		sweeps: m.gauge("kash_treasury_sweeps_in_flight",
			"Sweeps from momo collections to the issuer float started and not yet settled."),
	}
	// The float is in USD (engine: issuer:float); its series exist from the start.
	usd := string(engine.USD)
	t.available.WithLabelValues(usd)
	t.reserved.WithLabelValues(usd)
	t.lowWater.WithLabelValues(usd)
	t.committed.WithLabelValues(usd)
	t.queueAmount.WithLabelValues(usd)
	return t
}

// SetFloat reports the float as the treasury knows it after a change.
// Amounts without a supported currency are ignored.
func (t *Treasury) SetFloat(available, reserved engine.Money) {
	if t == nil {
		return
	}
	if v, ok := major(available); ok {
		t.available.WithLabelValues(string(available.Currency)).Set(v)
	}
	if v, ok := major(reserved); ok {
		t.reserved.WithLabelValues(string(reserved.Currency)).Set(v)
	}
}

// SetLowWater exports the configured low-water mark of the float.
func (t *Treasury) SetLowWater(mark engine.Money) {
	if t == nil {
		return
	}
	if v, ok := major(mark); ok {
		t.lowWater.WithLabelValues(string(mark.Currency)).Set(v)
	}
}

// FloatCommitted counts float committed to a card. Alerts project the float
// runway from its recent rate.
func (t *Treasury) FloatCommitted(amount engine.Money) {
	if t == nil {
		return
	}
	if v, ok := major(amount); ok && v > 0 {
		t.committed.WithLabelValues(string(amount.Currency)).Add(v)
	}
}

// SetQueue reports the float queue: its length, the float its fundings
// wait for, and when the oldest of them was queued (zero time when empty).
func (t *Treasury) SetQueue(length int, amount engine.Money, oldestQueuedAt time.Time) {
	if t == nil {
		return
	}
	t.queueLength.Set(float64(length))
	if v, ok := major(amount); ok {
		t.queueAmount.WithLabelValues(string(amount.Currency)).Set(v)
	}
	t.queueOldest.set("", oldestQueuedAt)
}

// QueueExpired counts a queued funding that waited past the bound.
func (t *Treasury) QueueExpired() {
	if t == nil {
		return
	}
	t.queueExpired.Inc()
}

// SetSweepsInFlight reports how many sweeps are started and not settled.
func (t *Treasury) SetSweepsInFlight(n int) {
	if t == nil {
		return
	}
	t.sweeps.Set(float64(n))
}
