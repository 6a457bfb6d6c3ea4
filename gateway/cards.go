package gateway

import (
	"context"
	"errors"
	"net/http"

	"kash/engine"
	"kash/persistence"
)

// ownCard reads a card of the caller; another user's card is 404, like a
// missing one.
func (s *Server) ownCard(c *call) (engine.CardRecord, *apiError) {
	card, err := s.queries.Card(c.context(), c.param(0))
	if err != nil {
		return card, engineError(err, "")
	}
	if card.UserID != c.userID {
		return engine.CardRecord{}, errNotFound
	}
	return card, nil
}

var errKYCRequired = newError(codeKYCRequired, "Cards need an approved KYC.")

// kycUser reads the caller and requires an approved KYC.
func (s *Server) kycUser(c *call) (persistence.User, *apiError) {
	u, err := s.identity.User(c.context(), c.userID)
	if err != nil {
		return u, engineError(err, "")
	}
	if u.KYCStatus != "approved" {
		return u, errKYCRequired
	}
	return u, nil
}

type issuedView struct {
	Card    cardView    `json:"card"`
	Funding fundingView `json:"funding"`
}

// postCard buys a card: POST /v1/cards. The card and its issuance funding
// get ids derived from the Idempotency-Key, so a retry after a timeout
// reaches the same card instead of buying a second one.
func (s *Server) postCard(c *call) reply {
	req, aerr := decodeIssueRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	u, aerr := s.kycUser(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	q, aerr := s.quoteFor(c, u, engine.OpIssuance, req)
	if aerr != nil {
		return errorReply(aerr)
	}
	cmd := IssueCard{CardID: c.opID("crd", "card"), FundingID: c.opID("fnd", "issuance"), UserID: c.userID,
		Nickname: req.Nickname, Quote: q, Phone: req.Phone, Operator: req.Operator}
	var (
		card engine.CardRecord
		f    engine.FundingRecord
	)
	aerr = s.command(cmd.CardID, func(ctx context.Context) error {
		var err error
		card, f, err = s.deps.Commands.IssueCard(ctx, cmd)
		if errors.Is(err, engine.ErrExists) {
			card, f, err = s.existingIssuance(ctx, c.userID, cmd.CardID, cmd.FundingID)
		}
		return err
	})
	if aerr != nil {
		return errorReply(aerr)
	}
	return jsonReply(http.StatusAccepted, issuedView{Card: cardOf(card), Funding: fundingOf(f)})
}

// existingIssuance reads back an issuance that a previous try created.
func (s *Server) existingIssuance(ctx context.Context, userID, cardID, fundingID string) (engine.CardRecord, engine.FundingRecord, error) {
	card, err := s.queries.Card(ctx, cardID)
	if err != nil {
		return card, engine.FundingRecord{}, err
	}
	f, err := s.queries.Funding(ctx, fundingID)
	if err != nil {
		return card, f, err
	}
	if card.UserID != userID || f.CardID != cardID {
		return card, f, engine.ErrInvalidState
	}
	return card, f, nil
}

// listCards lists the caller's cards: GET /v1/cards.
func (s *Server) listCards(c *call) reply {
	page, aerr := pageParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	cards, next, err := s.queries.UserCards(c.context(), c.userID, page)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, list(cards, next, cardOf))
}

// getCard returns one of the caller's cards: GET /v1/cards/{id}.
func (s *Server) getCard(c *call) reply {
	card, aerr := s.ownCard(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	return jsonReply(http.StatusOK, cardOf(card))
}

type sensitiveView struct {
	PAN         string `json:"pan"`
	CVV         string `json:"cvv"`
	ExpiryMonth int    `json:"expiry_month"`
	ExpiryYear  int    `json:"expiry_year"`
}

// getSensitive reads the card's PAN and CVV live from the issuer for this
// response only (no-store): GET /v1/cards/{id}/sensitive.
func (s *Server) getSensitive(c *call) reply {
	if _, aerr := s.ownCard(c); aerr != nil {
		return errorReply(aerr)
	}
	var sc engine.SensitiveCard
	aerr := s.command(c.param(0), func(ctx context.Context) error {
		var err error
		sc, err = s.deps.Commands.SensitiveCard(ctx, c.userID, c.param(0))
		return err
	})
	if aerr != nil {
		return errorReply(aerr)
	}
	return jsonReply(http.StatusOK, sensitiveView{PAN: sc.PAN, CVV: sc.CVV, ExpiryMonth: sc.ExpiryMonth, ExpiryYear: sc.ExpiryYear})
}

// postFreeze blocks or unblocks the card at the issuer before answering:
// POST /v1/cards/{id}/freeze and .../unfreeze.
func (s *Server) postFreeze(freeze bool) func(*call) reply {
	return func(c *call) reply {
		if aerr := decodeEmpty(c.body); aerr != nil {
			return errorReply(aerr)
		}
		if _, aerr := s.ownCard(c); aerr != nil {
			return errorReply(aerr)
		}
		var card engine.CardRecord
		aerr := s.command(c.param(0), func(ctx context.Context) error {
			var err error
			if freeze {
				card, err = s.deps.Commands.Freeze(ctx, c.userID, c.param(0))
			} else {
				card, err = s.deps.Commands.Unfreeze(ctx, c.userID, c.param(0))
			}
			return err
		})
		if aerr != nil {
			return errorReply(aerr)
		}
		return jsonReply(http.StatusOK, cardOf(card))
	}
}

// postTerminate closes a card, first paying its balance out to the given
// wallet: POST /v1/cards/{id}/terminate.
func (s *Server) postTerminate(c *call) reply {
	req, aerr := decodeTerminateRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	card, aerr := s.ownCard(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	cmd := Terminate{CardID: card.ID, UserID: c.userID, WithdrawalID: c.opID("wdr", "termination"),
		Phone: req.Phone, Operator: req.Operator}
	if card.Balance > 0 && (card.Status == "active" || card.Status == "frozen") {
		p, err := s.pricing(c.context())
		if err != nil {
			return errorReply(internalError(err))
		}
		// The whole balance leaves, whatever the withdrawal limits say.
		if cmd.Quote, err = engine.QuoteFromCard(engine.OpWithdrawal, p.Rates, engine.NewMoney(card.Balance, engine.USD),
			c.now, p.TTL); err != nil {
			return errorReply(engineError(err, "amount"))
		}
	}
	aerr = s.command(card.ID, func(ctx context.Context) error {
		var err error
		card, err = s.deps.Commands.Terminate(ctx, cmd)
		return err
	})
	if aerr != nil {
		return errorReply(aerr)
	}
	return jsonReply(http.StatusAccepted, cardOf(card))
}

// listTransactions lists a card's history: GET /v1/cards/{id}/transactions.
func (s *Server) listTransactions(c *call) reply {
	page, aerr := pageParam(c)
	if aerr != nil {
		return errorReply(aerr)
	}
	if _, aerr := s.ownCard(c); aerr != nil {
		return errorReply(aerr)
	}
	items, next, err := s.queries.Transactions(c.context(), c.param(0), page)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, list(items, next, transactionOf))
}
