package gateway

import (
	"context"
	"errors"
	"net/http"
	"sort"

	"kash/engine"
	"kash/persistence"
)

type treasuryView struct {
	Float struct {
		Available moneyView `json:"available"`
		Reserved  moneyView `json:"reserved"`
	} `json:"float"`
	Queue struct {
		Count         int       `json:"count"`
		Amount        moneyView `json:"amount"`
		OldestSeconds int64     `json:"oldest_seconds"`
	} `json:"queue"`
	Collections []collectionView `json:"collections"`
	Sweeps      []sweepView      `json:"sweeps"`
}

type collectionView struct {
	Provider string    `json:"provider"`
	Balance  moneyView `json:"balance"`
}

// recentSweeps is how many sweeps the treasury view shows.
const recentSweeps = 20

// getTreasury shows the issuer float, the queue of fundings waiting for
// float, the collections and the latest sweeps: GET /v1/admin/treasury.
func (s *Server) getTreasury(c *call) reply {
	t, err := s.queries.Treasury(c.context(), recentSweeps)
	if err != nil {
		return errorReply(internalError(err))
	}
	var v treasuryView
	v.Float.Available, v.Float.Reserved = usd(max(t.Available(), 0)), usd(t.Reserved)
	v.Queue.Count, v.Queue.Amount = t.QueueCount, usd(t.QueueAmount)
	if !t.OldestQueue.IsZero() {
		v.Queue.OldestSeconds = max(int64(c.now.Sub(t.OldestQueue).Seconds()), 0)
	}
	v.Collections = make([]collectionView, 0, len(t.Collections))
	for p, bal := range t.Collections {
		v.Collections = append(v.Collections, collectionView{Provider: p, Balance: xof(bal)})
	}
	sort.Slice(v.Collections, func(i, j int) bool { return v.Collections[i].Provider < v.Collections[j].Provider })
	v.Sweeps = make([]sweepView, 0, len(t.Sweeps))
	for _, sw := range t.Sweeps {
		v.Sweeps = append(v.Sweeps, sweepOf(sw))
	}
	return jsonReply(http.StatusOK, v)
}

// postSweep moves collected XOF to the issuer float:
// POST /v1/admin/treasury/sweeps.
func (s *Server) postSweep(c *call) reply {
	req, aerr := decodeSweepRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	id := c.opID("swp", "sweep")
	var sw engine.SweepRecord
	aerr = s.command("", func(ctx context.Context) error {
		var err error
		sw, err = s.deps.Commands.StartSweep(ctx, id, req.Provider, req.Amount)
		if errors.Is(err, engine.ErrExists) {
			sw, err = s.queries.Sweep(ctx, id)
		}
		return err
	})
	if aerr != nil {
		if aerr == errNotFound {
			aerr = fieldError(codeInvalidField, "provider", "No such provider account.")
		}
		return errorReply(aerr)
	}
	if err := persistence.Audit(c.context(), s.deps.DB, "ops", "treasury.sweep", sw.ID, map[string]any{
		"provider": req.Provider, "amount_minor": req.Amount.Minor}); err != nil {
		s.log.Warn("audit sweep", "sweep", sw.ID, "err", err)
	}
	return jsonReply(http.StatusAccepted, sweepOf(sw))
}

type ratesView struct {
	Current rateSetView   `json:"current"`
	History []rateSetView `json:"history"`
}

// rateHistory is how many past rate sets GET /v1/admin/rates shows.
const rateHistory = 50

// getRates shows the current rates and their history: GET /v1/admin/rates.
func (s *Server) getRates(c *call) reply {
	current, err := s.rates.get(c.context())
	if err != nil {
		return errorReply(internalError(err))
	}
	history, err := s.prices.RatesHistory(c.context(), rateHistory)
	if err != nil {
		return errorReply(internalError(err))
	}
	return jsonReply(http.StatusOK, ratesView{Current: rateSetOf(current), History: list(history, "", rateSetOf).Data})
}

// postRates sets new rates (audited): POST /v1/admin/rates. Quotes already
// given keep theirs.
func (s *Server) postRates(c *call) reply {
	current, err := s.rates.get(c.context())
	if err != nil {
		return errorReply(internalError(err))
	}
	r, aerr := decodeRates(c.body, current.Rates)
	if aerr != nil {
		return errorReply(aerr)
	}
	set, err := s.prices.SetRates(c.context(), r, "ops", c.now)
	if err != nil {
		return errorReply(internalError(err))
	}
	s.rates.set(set)
	return jsonReply(http.StatusCreated, rateSetOf(set))
}

type earningsView struct {
	Data []earningView `json:"data"`
}

type earningView struct {
	Key    string    `json:"key"`
	Amount moneyView `json:"amount"`
	Count  int64     `json:"count"`
}

// getEarnings sums earnings by operation or by day:
// GET /v1/admin/earnings?from=&to=&group_by=.
func (s *Server) getEarnings(c *call) reply {
	groupBy, aerr := queryEnum(c, "group_by", "operation", "day")
	if aerr != nil {
		return errorReply(aerr)
	}
	if groupBy == "" {
		groupBy = "operation"
	}
	from, aerr := timeParam(c, "from", false)
	if aerr != nil {
		return errorReply(aerr)
	}
	to, aerr := timeParam(c, "to", true)
	if aerr != nil {
		return errorReply(aerr)
	}
	rows, err := s.queries.Earnings(c.context(), groupBy, from, to)
	if err != nil {
		return errorReply(internalError(err))
	}
	v := earningsView{Data: make([]earningView, 0, len(rows))}
	for _, r := range rows {
		v.Data = append(v.Data, earningView{Key: r.Key, Amount: xof(r.Amount), Count: r.Count})
	}
	return jsonReply(http.StatusOK, v)
}

// adminList serves the ops lists of fundings, withdrawals and payments by
// status: GET /v1/admin/fundings?status= and the others.
func adminList[R, V any](s *Server, statuses []string, fetch func(context.Context, string, persistence.Page) ([]R, string, error), view func(R) V) func(*call) reply {
	return func(c *call) reply {
		status, aerr := queryEnum(c, "status", statuses...)
		if aerr != nil {
			return errorReply(aerr)
		}
		page, aerr := pageParam(c)
		if aerr != nil {
			return errorReply(aerr)
		}
		items, next, err := fetch(c.context(), status, page)
		if err != nil {
			return errorReply(engineError(err, ""))
		}
		return jsonReply(http.StatusOK, list(items, next, view))
	}
}

var (
	fundingStatuses = []string{"awaiting_payment", "paid", "queued_for_float", "funding_card", "succeeded",
		"failed", "refunding", "refunded"}
	withdrawalStatuses = []string{"pending", "card_debited", "succeeded", "failed"}
	paymentStatuses    = []string{"pending", "succeeded", "failed"}
)

type imbalanceView struct {
	Kind     string    `json:"kind"`
	Subject  string    `json:"subject"`
	Expected moneyView `json:"expected"`
	Actual   moneyView `json:"actual"`
}

type ledgerCheckView struct {
	OK         bool            `json:"ok"`
	Entries    int64           `json:"entries"`
	Imbalances []imbalanceView `json:"imbalances"`
}

// getLedgerCheck verifies the books: GET /v1/admin/ledger/check.
func (s *Server) getLedgerCheck(c *call) reply {
	ctx, cancel := context.WithTimeout(context.Background(), 2*requestTimeout)
	defer cancel()
	lc, err := s.queries.CheckLedger(ctx)
	if err != nil {
		return errorReply(internalError(err))
	}
	v := ledgerCheckView{OK: lc.OK(), Entries: lc.Entries, Imbalances: make([]imbalanceView, 0, len(lc.Imbalances))}
	for _, im := range lc.Imbalances {
		cur := im.Currency
		if !cur.Valid() {
			cur = engine.XOF // an unknown currency in the ledger is itself the finding
		}
		v.Imbalances = append(v.Imbalances, imbalanceView{Kind: im.Kind, Subject: im.Subject,
			Expected: money(engine.NewMoney(im.Expected, cur)), Actual: money(engine.NewMoney(im.Actual, cur))})
	}
	return jsonReply(http.StatusOK, v)
}

type differenceView struct {
	Kind     string    `json:"kind"`
	Subject  string    `json:"subject"`
	Engine   moneyView `json:"engine"`
	Provider moneyView `json:"provider"`
	Detail   string    `json:"detail"`
}

type reconciliationView struct {
	OK          bool             `json:"ok"`
	Differences []differenceView `json:"differences"`
}

// getReconciliation compares the engine's books with the providers':
// GET /v1/admin/reconciliation.
func (s *Server) getReconciliation(c *call) reply {
	if s.deps.Reconciler == nil {
		return errorReply(unavailable("Reconciliation is not configured on this server.", nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*requestTimeout)
	defer cancel()
	r, err := s.deps.Reconciler.Reconcile(ctx)
	if err != nil {
		return errorReply(unavailable("The providers could not be reached; retry shortly.", err))
	}
	v := reconciliationView{OK: r.OK, Differences: make([]differenceView, 0, len(r.Differences))}
	for _, d := range r.Differences {
		v.Differences = append(v.Differences, differenceView{Kind: d.Kind, Subject: d.Subject, Engine: money(d.Engine),
			Provider: money(d.Provider), Detail: d.Detail})
	}
	return jsonReply(http.StatusOK, v)
}
