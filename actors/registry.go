package actors

import (
	"hash/fnv"
	"maps"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Registry routes messages to card actors by card id through a fixed set of
// shard actors. A shard spawns a card actor on its first message, forwards
// (keeping the sender, so requests can be answered), and passivates idle
// actors without losing a message:
//
//  1. an idle card actor asks its shard to passivate it;
//  2. the shard stops forwarding to it and buffers that card's messages;
//  3. the shard asks the actor to confirm; the actor refuses if work arrived
//     in between (the shard then flushes the buffer to it), or stops;
//  4. when the shard sees it terminated, it spawns a fresh activation for
//     any buffered messages, which loads its state in Started.
//
// protoactor's Stop drops queued messages, so a card actor only stops after
// the shard has stopped sending to it and its own mailbox is drained.
type Registry struct {
	system *actor.ActorSystem
	shards []*actor.PID
}

// envelope carries a message for one card through its shard.
type envelope struct {
	cardID string
	msg    any
}

// passivateRequest is sent by an idle card actor to its shard.
type passivateRequest struct{ cardID string }

// passivateConfirm is sent by the shard to a card actor it is passivating.
type passivateConfirm struct{}

// passivateRefused is the card actor's answer when work arrived meanwhile.
type passivateRefused struct{ cardID string }

// activationCounts asks a shard for its live and passivating actors.
type activationCounts struct{}

type shardCounts struct{ live, passivating int }

func newRegistry(system *actor.ActorSystem, shards int, spawn func(cardID string, shard *actor.PID) *actor.Props, obs ActorObserver) *Registry {
	r := &Registry{system: system, shards: make([]*actor.PID, shards)}
	for i := range r.shards {
		r.shards[i] = system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
			return &shard{spawn: spawn, cards: map[string]*activation{}, obs: obs}
		}))
	}
	return r
}

func (r *Registry) shardFor(cardID string) *actor.PID {
	h := fnv.New32a()
	h.Write([]byte(cardID))
	return r.shards[h.Sum32()%uint32(len(r.shards))]
}

// Send delivers msg to the card actor of cardID, activating it if needed.
func (r *Registry) Send(cardID string, msg any) {
	r.system.Root.Send(r.shardFor(cardID), &envelope{cardID: cardID, msg: msg})
}

// Request sends msg to cardID's actor and returns a future for its answer.
func (r *Registry) Request(cardID string, msg any, timeout time.Duration) *actor.Future {
	return r.system.Root.RequestFuture(r.shardFor(cardID), &envelope{cardID: cardID, msg: msg}, timeout)
}

// Counts returns how many card actors are live and passivating, summed over
// the shards.
func (r *Registry) Counts() (live, passivating int) {
	for _, s := range r.shards {
		res, err := r.system.Root.RequestFuture(s, activationCounts{}, 5*time.Second).Result()
		if err != nil {
			continue
		}
		c := res.(shardCounts)
		live += c.live
		passivating += c.passivating
	}
	return live, passivating
}

type activation struct {
	pid         *actor.PID
	passivating bool
	held        []heldMessage
}

type heldMessage struct {
	msg    any
	sender *actor.PID
}

type shard struct {
	spawn func(cardID string, shard *actor.PID) *actor.Props
	cards map[string]*activation
	byPID map[string]string // pid id → card id
	peak  int               // most activations the maps held since they were last rebuilt
	obs   ActorObserver
}

// shrinkBelow is the size under which a shard's maps are not worth
// rebuilding.
const shrinkBelow = 64

func (s *shard) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *envelope:
		s.deliver(ctx, m.cardID, m.msg, ctx.Sender())
	case *passivateRequest:
		a := s.cards[m.cardID]
		if a == nil || a.passivating {
			return
		}
		a.passivating = true
		ctx.Send(a.pid, passivateConfirm{})
	case *passivateRefused:
		a := s.cards[m.cardID]
		if a == nil || !a.passivating {
			return
		}
		a.passivating = false
		s.flush(ctx, a)
	case *actor.Terminated:
		s.terminated(ctx, m.Who)
	case activationCounts:
		c := shardCounts{}
		for _, a := range s.cards {
			if a.passivating {
				c.passivating++
			} else {
				c.live++
			}
		}
		ctx.Respond(c)
	}
}

func (s *shard) deliver(ctx actor.Context, cardID string, msg any, sender *actor.PID) {
	a := s.cards[cardID]
	if a == nil {
		a = s.activate(ctx, cardID)
	}
	if a.passivating {
		a.held = append(a.held, heldMessage{msg: msg, sender: sender})
		return
	}
	ctx.RequestWithCustomSender(a.pid, msg, sender)
}

func (s *shard) activate(ctx actor.Context, cardID string) *activation {
	// Spawned from the root, watched by the shard, rather than as the
	// shard's child: protoactor's child set (PIDSet.Remove) leaves a stale
	// PID in the slot it vacates, and a PID caches its process, so every
	// passivated card actor, its mailbox and its state would stay
	// reachable. Supervision is the same default strategy either way.
	pid := ctx.ActorSystem().Root.Spawn(s.spawn(cardID, ctx.Self()))
	ctx.Watch(pid)
	a := &activation{pid: pid}
	s.cards[cardID] = a
	if s.byPID == nil {
		s.byPID = map[string]string{}
	}
	s.byPID[pid.Id] = cardID
	s.peak = max(s.peak, len(s.cards))
	if s.obs != nil {
		s.obs.Activated("card")
	}
	return a
}

func (s *shard) flush(ctx actor.Context, a *activation) {
	held := a.held
	a.held = nil
	for _, h := range held {
		ctx.RequestWithCustomSender(a.pid, h.msg, h.sender)
	}
}

func (s *shard) terminated(ctx actor.Context, pid *actor.PID) {
	cardID, ok := s.byPID[pid.Id]
	if !ok {
		return
	}
	delete(s.byPID, pid.Id)
	a := s.cards[cardID]
	delete(s.cards, cardID)
	s.shrink()
	if s.obs != nil {
		s.obs.Passivated("card")
	}
	if a == nil || len(a.held) == 0 {
		return
	}
	// Messages arrived while it passivated (or it crashed): a fresh
	// activation loads durable state and takes them in order.
	n := s.activate(ctx, cardID)
	n.held = a.held
	s.flush(ctx, n)
}

// shrink rebuilds the maps once most of the activations they held are
// gone: a Go map never gives back the buckets it grew, so without this a
// burst of activations would keep its memory after passivation. Rebuilding
// at a quarter of the peak costs O(1) amortized per passivation.
func (s *shard) shrink() {
	if s.peak < shrinkBelow || len(s.cards) > s.peak/4 {
		return
	}
	// maps.Clone would keep the grown table: copy into fresh maps.
	cards, byPID := make(map[string]*activation, len(s.cards)), make(map[string]string, len(s.byPID))
	maps.Copy(cards, s.cards)
	maps.Copy(byPID, s.byPID)
	s.cards, s.byPID, s.peak = cards, byPID, len(cards)
}
