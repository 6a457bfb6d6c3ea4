package gateway

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"kash/engine"
	"kash/persistence"
)

// rateCache keeps the current rate set for a few seconds: every quote and
// money POST needs it, and it changes a few times a day. Setting rates
// through this gateway refreshes it at once; other nodes see a change
// within rateCacheTTL.
type rateCache struct {
	store *persistence.Pricing
	now   func() time.Time

	mu      sync.Mutex
	current persistence.RateSet
	fetched time.Time
}

const rateCacheTTL = 2 * time.Second

func newRateCache(store *persistence.Pricing, now func() time.Time) *rateCache {
	return &rateCache{store: store, now: now}
}

// get returns the current rate set; ops' newest, else the defaults (ID 0).
func (r *rateCache) get(ctx context.Context) (persistence.RateSet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.fetched.IsZero() && now.Sub(r.fetched) < rateCacheTTL && now.After(r.fetched) {
		return r.current, nil
	}
	set, found, err := r.store.CurrentRates(ctx)
	if err != nil {
		return persistence.RateSet{}, err
	}
	if !found {
		set = persistence.RateSet{Rates: engine.DefaultRates()}
	}
	r.current, r.fetched = set, now
	return set, nil
}

func (r *rateCache) set(s persistence.RateSet) {
	r.mu.Lock()
	r.current, r.fetched = s, r.now()
	r.mu.Unlock()
}

func (s *Server) pricing(ctx context.Context) (engine.Pricing, error) {
	set, err := s.rates.get(ctx)
	if err != nil {
		return engine.Pricing{}, err
	}
	return engine.Pricing{Rates: set.Rates, Limits: s.cfg.Limits, TTL: s.cfg.QuoteTTL}, nil
}

// postQuote prices an operation and keeps the quote, so that a money POST
// can hold its rate by quote_id: POST /v1/quotes.
func (s *Server) postQuote(c *call) reply {
	req, aerr := decodeQuoteRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	p, err := s.pricing(c.context())
	if err != nil {
		return errorReply(internalError(err))
	}
	q, err := p.Quote(randomID("qt"), req.Operation, req.Amount, c.now)
	if err != nil {
		return errorReply(engineError(err, "amount"))
	}
	if err := s.prices.SaveQuote(c.context(), persistence.StoredQuote{Quote: q, UserID: c.userID,
		InputCurrency: req.Amount.Currency, CreatedAt: c.now}); err != nil {
		return errorReply(internalError(err))
	}
	return jsonReply(http.StatusCreated, quoteOf(q))
}

// quoteFor prices a money POST for user u: the stored quote named by
// quote_id when given (it must be the user's, for this operation and this
// amount, and unexpired), else a fresh one at the current rates. The
// user's daily and monthly usage limits apply either way.
func (s *Server) quoteFor(c *call, u persistence.User, op engine.Operation, req paymentRequest) (engine.Quote, *apiError) {
	var q engine.Quote
	if req.QuoteID != "" {
		stored, aerr := s.heldQuote(c, op, req)
		if aerr != nil {
			return q, aerr
		}
		q = stored
	} else {
		p, err := s.pricing(c.context())
		if err != nil {
			return q, internalError(err)
		}
		if q, err = p.Quote("", op, req.Amount, c.now); err != nil {
			return q, engineError(err, "amount")
		}
	}
	day := c.now.UTC().Truncate(24 * time.Hour)
	month := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	today, thisMonth, err := s.queries.Usage(c.context(), u.ID, op.Loads(), day, month)
	if err != nil {
		return q, internalError(err)
	}
	if err := s.cfg.Limits.CheckUsage(engine.TierBasic, op, q.CardAmount, engine.NewMoney(today, engine.USD),
		engine.NewMoney(thisMonth, engine.USD)); err != nil {
		return q, engineError(err, "amount")
	}
	return q, nil
}

func (s *Server) heldQuote(c *call, op engine.Operation, req paymentRequest) (engine.Quote, *apiError) {
	bad := func(msg string) (engine.Quote, *apiError) {
		return engine.Quote{}, fieldError(codeInvalidField, "quote_id", msg)
	}
	stored, err := s.prices.Quote(c.context(), req.QuoteID)
	switch {
	case errors.Is(err, engine.ErrNotFound), err == nil && stored.UserID != c.userID:
		return bad("No such quote.")
	case err != nil:
		return engine.Quote{}, internalError(err)
	case stored.Operation != op:
		return bad("The quote is for another operation.")
	case stored.Expired(c.now):
		return bad("The quote has expired; ask for a new one.")
	case stored.InputAmount() != req.Amount:
		return bad("The quote is for another amount.")
	}
	return stored.Quote, nil
}
