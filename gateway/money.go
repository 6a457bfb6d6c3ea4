package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"kash/engine"
)

// postFunding tops up a card: POST /v1/cards/{id}/fundings.
func (s *Server) postFunding(c *call) reply {
	req, aerr := decodeFundingRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	if _, aerr := s.ownCard(c); aerr != nil {
		return errorReply(aerr)
	}
	u, aerr := s.kycUser(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	q, aerr := s.quoteFor(c, u, engine.OpFunding, req)
	if aerr != nil {
		return errorReply(aerr)
	}
	cmd := FundCard{FundingID: c.opID("fnd", "funding"), CardID: c.param(0), UserID: c.userID, Quote: q,
		Phone: req.Phone, Operator: req.Operator}
	var f engine.FundingRecord
	aerr = s.command(cmd.CardID, func(ctx context.Context) error {
		var err error
		f, err = s.deps.Commands.FundCard(ctx, cmd)
		if errors.Is(err, engine.ErrExists) {
			f, err = s.queries.Funding(ctx, cmd.FundingID)
		}
		return err
	})
	if aerr != nil {
		return errorReply(aerr)
	}
	return jsonReply(http.StatusAccepted, fundingOf(f))
}

// postWithdrawal moves card balance to a wallet: POST
// /v1/cards/{id}/withdrawals.
func (s *Server) postWithdrawal(c *call) reply {
	req, aerr := decodeWithdrawalRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	if _, aerr := s.ownCard(c); aerr != nil {
		return errorReply(aerr)
	}
	u, err := s.identity.User(c.context(), c.userID)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	q, aerr := s.quoteFor(c, u, engine.OpWithdrawal, req)
	if aerr != nil {
		return errorReply(aerr)
	}
	cmd := Withdraw{WithdrawalID: c.opID("wdr", "withdrawal"), CardID: c.param(0), UserID: c.userID, Quote: q,
		Phone: req.Phone, Operator: req.Operator}
	var w engine.WithdrawalRecord
	aerr = s.command(cmd.CardID, func(ctx context.Context) error {
		var err error
		w, err = s.deps.Commands.Withdraw(ctx, cmd)
		if errors.Is(err, engine.ErrExists) {
			w, err = s.queries.Withdrawal(ctx, cmd.WithdrawalID)
		}
		return err
	})
	if aerr != nil {
		return errorReply(aerr)
	}
	return jsonReply(http.StatusAccepted, withdrawalOf(w))
}

// listFundings lists a card's fundings: GET /v1/cards/{id}/fundings.
func (s *Server) listFundings(c *call) reply {
	page, aerr := pageParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	if _, aerr := s.ownCard(c); aerr != nil {
		return errorReply(aerr)
	}
	items, next, err := s.queries.CardFundings(c.context(), c.param(0), page)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, list(items, next, fundingOf))
}

// listWithdrawals lists a card's withdrawals: GET /v1/cards/{id}/withdrawals.
func (s *Server) listWithdrawals(c *call) reply {
	page, aerr := pageParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	if _, aerr := s.ownCard(c); aerr != nil {
		return errorReply(aerr)
	}
	items, next, err := s.queries.CardWithdrawals(c.context(), c.param(0), page)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, list(items, next, withdrawalOf))
}

func fundingFinal(status string) bool {
	return status == "succeeded" || status == "failed" || status == "refunded"
}

func withdrawalFinal(status string) bool { return status == "succeeded" || status == "failed" }

// getFunding returns one of the caller's fundings: GET /v1/fundings/{id},
// with ?wait=N a long poll that answers once the funding is final or
// after N seconds.
func (s *Server) getFunding(c *call) reply {
	wait, aerr := waitParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	read := func(ctx context.Context) (engine.FundingRecord, bool, error) {
		f, err := s.queries.Funding(ctx, c.param(0))
		if err == nil && f.UserID != c.userID {
			err = engine.ErrNotFound
		}
		return f, fundingFinal(f.Status), err
	}
	f, err := longPoll(c, waitKey{id: c.param(0)}, wait, read)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, fundingOf(f))
}

// getWithdrawal returns one of the caller's withdrawals, with ?wait= as
// for fundings: GET /v1/withdrawals/{id}.
func (s *Server) getWithdrawal(c *call) reply {
	wait, aerr := waitParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	read := func(ctx context.Context) (engine.WithdrawalRecord, bool, error) {
		w, err := s.queries.Withdrawal(ctx, c.param(0))
		if err == nil && w.UserID != c.userID {
			err = engine.ErrNotFound
		}
		return w, withdrawalFinal(w.Status), err
	}
	w, err := longPoll(c, waitKey{withdrawal: true, id: c.param(0)}, wait, read)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, withdrawalOf(w))
}

// longPoll reads an operation and, when it is not final and the client
// asked to wait, waits for it to become final (or for the wait to pass)
// and reads it again.
func longPoll[T any](c *call, k waitKey, wait time.Duration, read func(context.Context) (T, bool, error)) (T, error) {
	v, final, err := read(c.context())
	if err != nil || final || wait <= 0 {
		return v, err
	}
	c.s.waiter.wait(k, wait)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, _, err = read(ctx)
	return v, err
}
