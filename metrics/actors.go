package metrics

import "github.com/prometheus/client_golang/prometheus"

// ActorKind names a kind of actor in the kind label. The constants are the
// kinds whose series exist from the start; another kind is allowed but must
// be one of a few fixed names, never an actor id.
type ActorKind string

// The actor kinds of kashd (DESIGN.md, Actors).
const (
	KindCard            ActorKind = "card"
	KindTreasury        ActorKind = "treasury"
	KindProviderAccount ActorKind = "provider_account"
	KindOutbox          ActorKind = "outbox_dispatcher"
	KindRegistry        ActorKind = "registry" // the parents that own get-or-spawn and passivation
)

var actorKinds = []ActorKind{KindCard, KindTreasury, KindProviderAccount, KindOutbox, KindRegistry}

// Actors reports actor lifecycles and mailbox depth by kind.
type Actors struct {
	live         *prometheus.GaugeVec     // kash_actors_live{kind}
	activations  *prometheus.CounterVec   // kash_actor_activations_total{kind}
	passivations *prometheus.CounterVec   // kash_actor_passivations_total{kind}
	restarts     *prometheus.CounterVec   // kash_actor_restarts_total{kind}
	mailbox      *prometheus.HistogramVec // kash_actor_mailbox_depth{kind}
}

// mailboxBuckets: 0 means the actor was idle when a message arrived; the
// high end is where a card actor is badly behind.
var mailboxBuckets = append([]float64{0}, prometheus.ExponentialBuckets(1, 2, 13)...)

func newActors(m *Metrics) *Actors {
	a := &Actors{
		live: m.gaugeVec("kash_actors_live",
			"Actors currently activated, by kind.", "kind"),
		activations: m.counterVec("kash_actor_activations_total",
			"Actor activations (state loaded and started), by kind.", "kind"),
		passivations: m.counterVec("kash_actor_passivations_total",
			"Actor passivations (stopped while idle to free memory), by kind.", "kind"),
		restarts: m.counterVec("kash_actor_restarts_total",
			"Actor restarts after a panic or a failed write (state reloaded from Postgres), by kind.", "kind"),
		mailbox: m.histogramVec("kash_actor_mailbox_depth",
			"Messages waiting in an actor's mailbox, sampled as each message is taken, by kind.",
			mailboxBuckets, "kind"),
	}
	for _, k := range actorKinds {
		a.live.WithLabelValues(string(k))
		a.activations.WithLabelValues(string(k))
		a.passivations.WithLabelValues(string(k))
		a.restarts.WithLabelValues(string(k))
		a.mailbox.WithLabelValues(string(k))
	}
	return a
}

// Activated counts an activation and one more live actor of kind.
func (a *Actors) Activated(kind ActorKind) {
	if a == nil {
		return
	}
	a.activations.WithLabelValues(string(kind)).Inc()
	a.live.WithLabelValues(string(kind)).Inc()
}

// Passivated counts a passivation (or a final stop) and one live actor
// fewer of kind. Call it once per Activated.
func (a *Actors) Passivated(kind ActorKind) {
	if a == nil {
		return
	}
	a.passivations.WithLabelValues(string(kind)).Inc()
	a.live.WithLabelValues(string(kind)).Dec()
}

// Restarted counts a restart; the actor stays live, so the live gauge does
// not move.
func (a *Actors) Restarted(kind ActorKind) {
	if a == nil {
		return
	}
	a.restarts.WithLabelValues(string(kind)).Inc()
}

// ObserveMailbox samples the mailbox depth of one actor of kind.
func (a *Actors) ObserveMailbox(kind ActorKind, depth int) {
	if a == nil {
		return
	}
	a.mailbox.WithLabelValues(string(kind)).Observe(float64(depth))
}
