package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

func init() {
	Register(Registration{Name: "contention", FixedWork: true,
		Summary: "many concurrent withdrawals and spends on a few cards: no overdraft, exact counts",
		New:     func(o Options) Scenario { return NewContention(o) }})
}

// Contention's world: a few cards, each loaded once, then drained by far
// more withdrawals (through the API) and spends (at the issuer) than it
// can pay, all at once.
const (
	contentionDefaultCards = 4
	contentionStartCents   = 100_00
	contentionUnitCents    = 1_00
	// contentionDemand is how many times its balance each card is asked for.
	contentionDemand = 2.5
)

// Contention races withdrawals and spends on a few cards. kashd runs with a
// per-card in-flight bound of 256 (KASH_MAX_IN_FLIGHT_PER_CARD) instead of
// 4, so that the engine, not the gateway's admission control, decides.
type Contention struct {
	apiRun
	opts   Options
	facts  []Fact
	ops    int
	passed bool
}

// NewContention returns the contention scenario.
func NewContention(o Options) *Contention { return &Contention{opts: o} }

// Setup implements Scenario.
func (c *Contention) Setup(ctx context.Context, env Env) error {
	cards := contentionDefaultCards
	if c.opts.Cards > 0 {
		cards = c.opts.Cards
	}
	users := c.opts.Users
	if users <= 0 {
		users = cards
	}
	perUser := max((cards+users-1)/users, 1)
	c.w = newAPIWorld(c.opts, apiWorldConfig{scenario: "contention", env: []string{"KASH_MAX_IN_FLIGHT_PER_CARD=256"}})
	if err := step(env.Log, "contention", "simulator and kashd started", func() error { return c.w.start(ctx, env) }); err != nil {
		return err
	}
	err := step(env.Log, "contention", fmt.Sprintf("%d users, %d cards of %s USD", users, users*perUser, usdText(contentionStartCents)),
		func() error { return c.w.populate(ctx, users, perUser, contentionStartCents) })
	if err != nil {
		return err
	}
	c.ops = int(float64(len(c.w.cards)) * contentionDemand * contentionStartCents / contentionUnitCents)
	c.facts = append(c.w.facts(),
		fact("contention", "%d operations of %s USD, half withdrawals through the API (mtn-bj and moov-bj payouts), half spends at the issuer, round-robin over the cards: %.1f× what the cards hold",
			c.ops, usdText(contentionUnitCents), contentionDemand),
		fact("gateway bound per card", "256 commands in flight (KASH_MAX_IN_FLIGHT_PER_CARD; default 4)"))
	return nil
}

// Capacity implements Scenario: the demand is fixed.
func (c *Contention) Capacity() int { return c.ops }

// ShapeLoad implements LoadShaper: the run lasts until the demand is
// offered, whatever --duration says.
func (c *Contention) ShapeLoad(l *Load) { l.Duration = max(l.Duration, 10*time.Minute) }

// Measure implements Scenario.
func (c *Contention) Measure() {
	c.open()
}

// Op implements Scenario: a withdrawal or a spend of one unit on card i
// mod cards.
func (c *Contention) Op(ctx context.Context, i int) error {
	card := c.w.cards[i%len(c.w.cards)]
	intended := IntendedFrom(ctx)
	r := splitmix(uint64(c.opts.Seed)*0x9e3779b97f4a7c15 ^ uint64(i))
	if r&1 == 0 {
		approved, err := c.w.spendAt(ctx, card.id, contentionUnitCents)
		c.st.record("spend at the simulator", intended, err)
		switch {
		case err != nil:
			return opErr(errorCode(err), err)
		case !approved:
			return opErr("spend declined", nil)
		}
		return nil
	}
	operator := "moov-bj"
	if r>>1&1 == 0 {
		operator = "mtn-bj"
	}
	_, err := c.w.run(ctx, &c.st, sagaOp{kind: kindWithdrawal, labels: []string{"withdrawal"},
		path: "/v1/cards/" + card.id + "/withdrawals", token: c.w.users[card.user].token,
		key: c.w.nonce + "-" + strconv.Itoa(i), body: moneyBody(contentionUnitCents, c.w.phone(phoneWallet, i), operator),
		intended: intended})
	return err
}

// Finish implements Scenario: the world's checks, then the overdraft and
// exact-count checks of each card.
func (c *Contention) Finish(ctx context.Context, run *Run) (Outcome, error) {
	out := Outcome{Facts: c.facts, Stages: c.st.summaries(),
		Journal: c.w.scrape().journalSince(c.metricsFirst, time.Since(c.window))}
	res, err := c.w.verify(ctx, time.Minute, false)
	if err != nil {
		return out, err
	}
	out.Checks, out.Statuses, out.Notes = res.checks, res.statuses, res.notes
	if c.w.pool != nil {
		checks, facts, err := c.cardChecks(ctx)
		if err != nil {
			return out, err
		}
		out.Checks, out.Facts = append(out.Checks, checks...), append(out.Facts, facts...)
	}
	c.passed = allOK(out.Checks)
	return out, nil
}

// cardChecks: on each card, the engine never accepted more withdrawals
// than the card held, what left it (withdrawals that succeeded and spends
// the issuer approved) never exceeded what it held, and what remains is
// exactly the difference.
func (c *Contention) cardChecks(ctx context.Context) ([]Check, []Fact, error) {
	rows, err := c.w.pool.Query(ctx, `SELECT c.id, c.balance_minor,
		(SELECT count(*) FROM withdrawals w WHERE w.card_id = c.id),
		(SELECT count(*) FROM withdrawals w WHERE w.card_id = c.id AND w.status = 'succeeded'),
		(SELECT coalesce(sum(amount_minor), 0)::bigint FROM card_events e WHERE e.card_id = c.id AND e.kind = 'spend')
		FROM cards c`)
	if err != nil {
		return nil, nil, fmt.Errorf("contention check: %w", err)
	}
	type cardRow struct {
		ID                                  string
		Balance, Accepted, Succeeded, Spent int64
	}
	cards, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cardRow])
	if err != nil {
		return nil, nil, fmt.Errorf("contention check: %w", err)
	}
	snap := c.w.tally.snapshot()
	var overAccepted, overdrawn, inexact int
	var accepted, succeeded, spent int64
	var ex []string
	for _, r := range cards {
		approved := snap.spent[r.ID]
		accepted, succeeded, spent = accepted+r.Accepted, succeeded+r.Succeeded, spent+approved
		if r.Accepted*contentionUnitCents > contentionStartCents {
			overAccepted++
			ex = appendExample(ex, fmt.Sprintf("%s: %d withdrawals accepted", r.ID, r.Accepted))
		}
		out := r.Succeeded*contentionUnitCents + approved
		if out > contentionStartCents {
			overdrawn++
			ex = appendExample(ex, fmt.Sprintf("%s: %d cents left it", r.ID, out))
		}
		if r.Balance != contentionStartCents-out || r.Spent != approved {
			inexact++
			ex = appendExample(ex, fmt.Sprintf("%s: balance %d, expected %d; spends recorded %d, approved %d",
				r.ID, r.Balance, contentionStartCents-out, r.Spent, approved))
		}
	}
	checks := []Check{
		{Name: "no overdraft: on every card, accepted withdrawals × amount ≤ starting balance", OK: overAccepted == 0,
			Detail: fmt.Sprintf("%d cards over%s", overAccepted, exampleText(ex))},
		{Name: "no overdraft: on every card, succeeded withdrawals × amount + approved spends ≤ starting balance", OK: overdrawn == 0,
			Detail: fmt.Sprintf("%d cards over", overdrawn)},
		{Name: "exact: every card's balance = start − succeeded withdrawals − approved spends, and the engine recorded each approved spend",
			OK: inexact == 0, Detail: fmt.Sprintf("%d cards off", inexact)},
	}
	facts := []Fact{fact("outcome", "%d withdrawals accepted (202), %d succeeded; %d spends approved (%s USD), %d declined; %s USD of %s USD left the cards",
		accepted, succeeded, snap.spends, usdText(spent), snap.declined,
		usdText(succeeded*contentionUnitCents+spent), usdText(int64(len(cards))*contentionStartCents))}
	return checks, facts, nil
}

// Close implements Scenario.
func (c *Contention) Close() {
	if c.w != nil {
		c.w.close(!c.passed)
	}
}
