package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kash/engine"
)

// Channel is a value of the channel label of the outbox metrics.
type Channel string

// The outbox's channels (DESIGN.md, Outbox); their series exist from the start.
const (
	ChannelSMS     Channel = "sms"
	ChannelPush    Channel = "push"
	ChannelOpsChat Channel = "ops_chat"
)

var channels = []Channel{ChannelSMS, ChannelPush, ChannelOpsChat}

// outboxOpsChannel is the ops chat's name in the outbox table.
const outboxOpsChannel = "ops"

// ChannelOf returns the channel label of an outbox channel as the outbox
// table names it (sms, push, ops). The table's "ops" is ChannelOpsChat here,
// so that the backlog of the ops chat lands on the series the dashboard and
// the alerts read, not on a second one.
func ChannelOf(outboxChannel string) Channel {
	if outboxChannel == outboxOpsChannel {
		return ChannelOpsChat
	}
	return Channel(outboxChannel)
}

// Values of the result label of kash_outbox_deliveries_total.
const (
	DeliverySent   = "sent"
	DeliveryFailed = "failed" // the attempt failed; the message stays in the outbox and is retried
)

// Outbox reports messages written with a state change and not yet sent.
type Outbox struct {
	backlog    *prometheus.GaugeVec   // kash_outbox_backlog{channel}
	oldest     *ageGauge              // kash_outbox_oldest_age_seconds{channel}
	deliveries *prometheus.CounterVec // kash_outbox_deliveries_total{channel,result}
}

func newOutbox(m *Metrics, clock engine.Clock) *Outbox {
	o := &Outbox{
		backlog: m.gaugeVec("kash_outbox_backlog",
			"Outbox messages not yet delivered, by channel.", "channel"),
		oldest: newAgeGauge(m, clock, "kash_outbox_oldest_age_seconds",
			"Seconds the oldest undelivered outbox message has waited, by channel (0 when none).", "channel"),
		deliveries: m.counterVec("kash_outbox_deliveries_total",
			"Outbox delivery attempts by channel and result (sent, failed).", "channel", "result"),
	}
	for _, c := range channels {
		o.backlog.WithLabelValues(string(c))
		o.oldest.set(string(c), time.Time{})
		o.deliveries.WithLabelValues(string(c), DeliverySent)
		o.deliveries.WithLabelValues(string(c), DeliveryFailed)
	}
	return o
}

// SetBacklog reports a channel's undelivered messages and when the oldest
// of them was written (zero time when there is none).
func (o *Outbox) SetBacklog(channel Channel, backlog int, oldestWrittenAt time.Time) {
	if o == nil {
		return
	}
	o.backlog.WithLabelValues(string(channel)).Set(float64(backlog))
	o.oldest.set(string(channel), oldestWrittenAt)
}

// Delivered counts one delivery attempt; sent reports whether it succeeded.
func (o *Outbox) Delivered(channel Channel, sent bool) {
	if o == nil {
		return
	}
	result := DeliverySent
	if !sent {
		result = DeliveryFailed
	}
	o.deliveries.WithLabelValues(string(channel), result).Inc()
}
