package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"kash/bench/apiclient"
	"kash/engine"
)

func init() {
	Register(Registration{Name: "starved",
		Summary: "issuer float too small: fundings queue for float, then top-ups and sweeps drain the queue in FIFO order",
		New:     func(o Options) Scenario { return NewStarved(o) }})
}

// Starved's world: cards bought at the minimum, and an issuer float that
// covers those purchases and starvedSpareCents more: every funding of the
// window has to wait for float.
const (
	starvedDefaultCards = 200
	starvedSetupCents   = 5_00
	starvedSpareCents   = 20_00
	starvedMinCents     = 10_00
	starvedSpanCents    = 20_00
	// starvedTick is how often the drainer looks at the queue.
	starvedTick = 500 * time.Millisecond
	// starvedTopUpCents is the smallest top-up; larger queues get a
	// quarter of their amount at a time.
	starvedTopUpCents = 50_00
	// xofPerUSDCent is the simulator's sweep rate (600 XOF per USD).
	xofPerUSDCent = 6
)

// Starved offers moov-bj fundings (paid at once) to a treasury without
// float: they queue (queued_for_float). An ops drainer, as a human on the
// treasury page would, alternately tops the float up at the issuer (POST
// /sim/issuer/float) and sweeps collections to it (POST
// /v1/admin/treasury/sweeps); the queue must drain in FIFO order.
type Starved struct {
	apiRun
	opts    Options
	facts   []Fact
	drainer *drainer
	passed  bool
}

// NewStarved returns the starved scenario.
func NewStarved(o Options) *Starved { return &Starved{opts: o} }

// Setup implements Scenario.
func (s *Starved) Setup(ctx context.Context, env Env) error {
	users, perUser := worldSize(s.opts, starvedDefaultCards, 2)
	float := int64(users*perUser)*starvedSetupCents + starvedSpareCents
	s.w = newAPIWorld(s.opts, apiWorldConfig{scenario: "starved", issuerFloat: usdText(float)})
	if err := step(env.Log, "starved", fmt.Sprintf("simulator (issuer float %s USD) and kashd started", usdText(float)),
		func() error { return s.w.start(ctx, env) }); err != nil {
		return err
	}
	err := step(env.Log, "starved", fmt.Sprintf("%d users, %d cards of %s USD", users, users*perUser, usdText(starvedSetupCents)),
		func() error { return s.w.populate(ctx, users, perUser, starvedSetupCents) })
	if err != nil {
		return err
	}
	s.facts = append(s.w.facts(),
		fact("float", "the issuer float covered the cards' purchase and %s USD more; fundings of %s–%s USD (moov-bj) then queue",
			usdText(starvedSpareCents), usdText(starvedMinCents), usdText(starvedMinCents+starvedSpanCents)),
		fact("drainer", "every %s while fundings queue: alternately a top-up at the issuer (a quarter of the queue, at least %s USD) or a sweep of the largest collection (at most the queue's worth)",
			starvedTick, usdText(starvedTopUpCents)))
	return nil
}

// Capacity implements Scenario.
func (s *Starved) Capacity() int { return 0 }

// ShapeLoad implements LoadShaper: queued fundings wait for the drainer.
func (s *Starved) ShapeLoad(l *Load) { l.Drain = max(l.Drain, 3*time.Minute) }

// Measure implements Scenario: the drainer starts with the window.
func (s *Starved) Measure() {
	s.open()
	s.w.startSampler()
	s.drainer = startDrainer(s.w)
}

// Op implements Scenario: a funding that must wait for float.
func (s *Starved) Op(ctx context.Context, i int) error {
	r := splitmix(uint64(s.opts.Seed)*0x9e3779b97f4a7c15 ^ uint64(i))
	card := s.w.cards[r%uint64(len(s.w.cards))]
	cents := starvedMinCents + int64(r>>32)%(starvedSpanCents+1)
	_, err := s.w.run(ctx, &s.st, sagaOp{kind: kindFunding, labels: []string{"funding (queued for float)"},
		path: "/v1/cards/" + card.id + "/fundings", token: s.w.users[card.user].token, key: s.w.nonce + "-" + strconv.Itoa(i),
		body: moneyBody(cents, s.w.phone(phonePayer, i), "moov-bj"), intended: IntendedFrom(ctx)})
	return err
}

// Finish implements Scenario.
func (s *Starved) Finish(ctx context.Context, run *Run) (Outcome, error) {
	s.drainer.stop()
	s.w.stopSampler()
	out := Outcome{Facts: append(s.facts, s.w.sampledFacts()...), Stages: s.st.summaries(),
		Journal: s.w.scrape().journalSince(s.metricsFirst, time.Since(s.window))}
	d := s.drainer.report()
	out.Facts = append(out.Facts, fact("drained by", "%d top-ups (%s USD) and %d sweeps (%d XOF)", d.topUps, usdText(d.topUpCents),
		d.sweeps, d.sweptXOF))
	res, err := s.w.verify(ctx, time.Minute, true)
	if err != nil {
		return out, err
	}
	out.Checks, out.Statuses, out.Notes = res.checks, res.statuses, append(res.notes, d.errs...)
	peak := s.w.sampler.peak()
	out.Checks = append(out.Checks, Check{Name: "fundings queued for float, visible in GET /v1/admin/treasury",
		OK: peak > 0, Detail: fmt.Sprintf("peak queue %d fundings", peak)})
	if s.w.pool != nil {
		fifo, err := s.fifoCheck(ctx, d)
		if err != nil {
			return out, err
		}
		out.Checks = append(out.Checks, fifo)
		var completedSweeps int64
		if err := s.w.pool.QueryRow(ctx, `SELECT count(*) FROM sweeps WHERE status = 'completed'`).Scan(&completedSweeps); err != nil {
			return out, fmt.Errorf("count sweeps: %w", err)
		}
		out.Checks = append(out.Checks, Check{Name: "both top-ups and sweeps fed the float",
			OK: d.topUps > 0 && completedSweeps > 0, Detail: fmt.Sprintf("%d top-ups, %d sweeps completed", d.topUps, completedSweeps)})
	}
	s.passed = allOK(out.Checks)
	return out, nil
}

// fifoCheck reads the treasury's decisions back: ordered by seq (the
// order the fundings asked), the times at which reservations were decided
// (granted, or expired) never go back. A grant that overtook an earlier
// reservation still queued would show as a decision earlier than one
// before it. The drainer's snapshots show that there was a queue.
func (s *Starved) fifoCheck(ctx context.Context, d drainReport) (Check, error) {
	rows, err := s.w.pool.Query(ctx, `SELECT seq FROM (
		SELECT seq, decided_at, max(decided_at) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier
		FROM float_reservations WHERE decided_at IS NOT NULL) x
		WHERE decided_at < earlier ORDER BY seq`)
	if err != nil {
		return Check{}, fmt.Errorf("fifo check: %w", err)
	}
	defer rows.Close()
	var overtaken int
	var examples []string
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return Check{}, fmt.Errorf("fifo check: %w", err)
		}
		overtaken++
		if len(examples) < 3 {
			examples = append(examples, fmt.Sprintf("seq %d decided before a reservation that asked earlier", seq))
		}
	}
	if err := rows.Err(); err != nil {
		return Check{}, fmt.Errorf("fifo check: %w", err)
	}
	return Check{Name: "the queue drained in FIFO order: by seq, the treasury's decisions (grant or expiry) never go back in time",
		OK: overtaken == 0 && d.waited > 0 && d.snapshots > 0,
		Detail: fmt.Sprintf("%d snapshots, %d reservations seen queued, %d decided out of order%s", d.snapshots, d.waited, overtaken,
			exampleText(examples))}, nil
}

// Close implements Scenario.
func (s *Starved) Close() {
	if s.drainer != nil {
		s.drainer.stop()
	}
	if s.w != nil {
		s.w.close(!s.passed)
	}
}

// drainer feeds the float while fundings queue, as ops would.
type drainer struct {
	w        *apiWorld
	done     chan struct{}
	finished chan struct{}
	once     sync.Once

	mu         sync.Mutex
	topUps     int
	topUpCents int64
	sweeps     int
	sweptXOF   int64
	errs       []string
	// The queue as the database's snapshots saw it.
	snapshots  int
	queuedSeen map[int64]bool
}

type drainReport struct {
	topUps, sweeps       int
	topUpCents, sweptXOF int64
	errs                 []string
	snapshots, waited    int
}

func startDrainer(w *apiWorld) *drainer {
	d := &drainer{w: w, done: make(chan struct{}), finished: make(chan struct{}), queuedSeen: map[int64]bool{}}
	go func() {
		defer close(d.finished)
		t := time.NewTicker(starvedTick)
		defer t.Stop()
		for tick := 0; ; tick++ {
			select {
			case <-d.done:
				return
			case <-t.C:
				d.feed(tick)
			}
		}
	}()
	return d
}

// feed tops up or sweeps once, when fundings queue, after a look at the
// queue's order.
func (d *drainer) feed(tick int) {
	if d.w.pool != nil {
		if err := d.snapshotQueue(); err != nil {
			d.fail(err)
		}
	}
	t, err := d.w.client.Treasury()
	if err != nil {
		d.fail(fmt.Errorf("treasury: %w", err))
		return
	}
	queued, err := engine.ParseAmount(t.Queue.Amount.Amount, engine.USD)
	if err != nil || t.Queue.Count == 0 {
		return
	}
	if tick%2 == 1 && d.sweep(t, queued.Minor) {
		return
	}
	cents := max(queued.Minor/4, starvedTopUpCents)
	if err := d.w.client.DepositFloat(usdText(cents)); err != nil {
		d.fail(fmt.Errorf("top-up: %w", err))
		return
	}
	d.mu.Lock()
	d.topUps++
	d.topUpCents += cents
	d.mu.Unlock()
}

// sweep sweeps the largest collection, at most the queue's worth, unless
// a sweep is in flight; it reports whether it swept.
func (d *drainer) sweep(t apiclient.Treasury, queuedCents int64) bool {
	for _, sw := range t.Sweeps {
		if sw.Status != "completed" && sw.Status != "failed" {
			return false
		}
	}
	var provider string
	var best int64
	for _, c := range t.Collections {
		bal, err := engine.ParseAmount(c.Balance.Amount, engine.XOF)
		if err == nil && bal.Minor > best {
			provider, best = c.Provider, bal.Minor
		}
	}
	xof := min(best, queuedCents*xofPerUSDCent)
	if provider == "" || xof < 600 {
		return false
	}
	d.mu.Lock()
	key := fmt.Sprintf("%s-sweep-%d", d.w.nonce, d.sweeps)
	d.mu.Unlock()
	if _, err := d.w.client.StartSweep(key, provider, strconv.FormatInt(xof, 10)); err != nil {
		d.fail(fmt.Errorf("sweep: %w", err))
		return false
	}
	d.mu.Lock()
	d.sweeps++
	d.sweptXOF += xof
	d.mu.Unlock()
	return true
}

// snapshotQueue records which reservations the database shows queued.
func (d *drainer) snapshotQueue() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var queued []int64
	err := d.w.pool.QueryRow(ctx, `SELECT coalesce(array_agg(seq), '{}') FROM float_reservations WHERE status = 'queued'`).Scan(&queued)
	if err != nil {
		return fmt.Errorf("queue snapshot: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.snapshots++
	for _, seq := range queued {
		d.queuedSeen[seq] = true
	}
	return nil
}

func (d *drainer) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.errs) < 5 {
		d.errs = append(d.errs, "drainer: "+err.Error())
	}
}

func (d *drainer) stop() {
	d.once.Do(func() { close(d.done) })
	<-d.finished
}

func (d *drainer) report() drainReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	return drainReport{topUps: d.topUps, sweeps: d.sweeps, topUpCents: d.topUpCents, sweptXOF: d.sweptXOF,
		errs: append([]string(nil), d.errs...), snapshots: d.snapshots, waited: len(d.queuedSeen)}
}
