package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"kash/engine"
	"kash/gateway/providers/webhooksig"
)

// webhookProviders are the paths of POST /v1/webhooks/{provider}.
var webhookProviders = map[string]bool{"qosic": true, "flutterwave": true}

// envelope is every provider event's outer shape (bench/sim/doc.go,
// "Webhooks to the engine"). Provider payloads are read leniently, unlike
// client requests: a provider adding a field must not make us drop its
// events.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

type paymentStatusData struct {
	Transref   string `json:"transref"`
	Serviceref string `json:"serviceref"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
}

type cardEventData struct {
	CardID        string `json:"card_id"`
	CardReference string `json:"card_reference"`
	TransactionID string `json:"transaction_id"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Merchant      string `json:"merchant"`
	Reason        string `json:"reason"`
}

type floatCreditedData struct {
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
}

// postWebhook takes a provider event: POST /v1/webhooks/{provider}. The
// signature is checked on the raw body before anything is parsed; a
// duplicate event id is acknowledged and changes nothing; an event the
// engine could not take now is answered 503, so the provider delivers it
// again. The event is recorded as handled only after the engine took it.
func (s *Server) postWebhook(c *call) reply {
	provider := c.param(0)
	if !webhookProviders[provider] {
		return errorReply(errNotFound)
	}
	if !webhooksig.Verify(s.cfg.WebhookSecret, c.body, string(c.ctx.Request.Header.Peek(webhooksig.Header))) {
		return errorReply(newError(codeUnauthorized, "The webhook signature is missing or wrong."))
	}
	ev, aerr := decodeEnvelope(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	seen, err := s.webhooks.Seen(c.context(), provider, ev.ID)
	if err != nil {
		return errorReply(unavailable("Retry the delivery later.", err))
	}
	if seen {
		return jsonReply(http.StatusOK, map[string]string{"status": "duplicate"})
	}
	status, aerr := s.dispatch(ev)
	if aerr != nil {
		return errorReply(aerr)
	}
	if _, err := s.webhooks.Record(c.context(), provider, ev.ID, c.body, c.now); err != nil {
		// The engine has the event and is idempotent by its id: a
		// redelivery is harmless, so say so rather than fail it.
		s.log.Warn("record webhook event", "provider", provider, "event", ev.ID, "err", err)
	}
	return jsonReply(http.StatusOK, map[string]string{"status": status})
}

func decodeEnvelope(body []byte) (envelope, *apiError) {
	var ev envelope
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, errInvalidJSON
	}
	if ev.ID == "" || len(ev.ID) > 200 {
		return ev, fieldError(codeInvalidField, "id", "The event has no valid id.")
	}
	if ev.Type == "" {
		return ev, fieldError(codeInvalidField, "type", "The event has no type.")
	}
	return ev, nil
}

// dispatch hands an event to the engine and says what became of it.
func (s *Server) dispatch(ev envelope) (string, *apiError) {
	switch ev.Type {
	case "payment.status":
		return s.paymentStatus(ev)
	case "card.spend", "card.decline":
		return s.cardEvent(ev)
	case "issuer.float_credited":
		return s.floatCredited(ev)
	}
	// An event type we do not use: acknowledged, so it is not redelivered.
	return "ignored", nil
}

func (s *Server) paymentStatus(ev envelope) (string, *apiError) {
	var d paymentStatusData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.Transref == "" {
		return "", fieldError(codeInvalidField, "data", "The payment event is malformed.")
	}
	res := engine.Result{Ref: d.Transref, ProviderRef: d.Serviceref, Reason: d.Reason}
	switch d.Status {
	case "succeeded":
		res.Outcome = engine.OutcomeSucceeded
	case "failed":
		res.Outcome = engine.OutcomeFailed
	case "pending":
		return "ignored", nil
	default:
		return "", fieldError(codeInvalidField, "data", "The payment status is unknown.")
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	cardID, err := s.queries.PaymentCard(ctx, d.Transref)
	if errors.Is(err, engine.ErrNotFound) || (err == nil && cardID == "") {
		// Not a card's payment (or not ours): the engine learns sweeps'
		// outcomes by polling.
		return "ignored", nil
	}
	if err != nil {
		return "", unavailable("Retry the delivery later.", err)
	}
	if aerr := s.command(cardID, func(ctx context.Context) error {
		return s.deps.Commands.PaymentUpdate(ctx, cardID, d.Transref, res)
	}); aerr != nil {
		return s.webhookError(ev, aerr)
	}
	return "processed", nil
}

func (s *Server) cardEvent(ev envelope) (string, *apiError) {
	var d cardEventData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.CardReference == "" {
		return "", fieldError(codeInvalidField, "data", "The card event is malformed.")
	}
	amount, aerr := parseAmount("amount", d.Amount, engine.USD)
	if aerr != nil || d.Currency != string(engine.USD) {
		return "", fieldError(codeInvalidField, "data", "The card event's amount is not valid.")
	}
	kind := "spend"
	if ev.Type == "card.decline" {
		kind = "decline"
	}
	at := ev.CreatedAt
	if at.IsZero() {
		at = s.cfg.Now()
	}
	ce := CardEvent{EventID: ev.ID, CardID: d.CardReference, IssuerCardID: d.CardID, Kind: kind, Amount: amount,
		Merchant: d.Merchant, Reason: d.Reason, At: at.UTC()}
	err := s.command(d.CardReference, func(ctx context.Context) error { return s.deps.Commands.CardEvent(ctx, ce) })
	if err == errNotFound {
		return "ignored", nil
	}
	if err != nil {
		return s.webhookError(ev, err)
	}
	return "processed", nil
}

func (s *Server) floatCredited(ev envelope) (string, *apiError) {
	var d floatCreditedData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", fieldError(codeInvalidField, "data", "The float event is malformed.")
	}
	amount, aerr := parseAmount("amount", d.Amount, engine.USD)
	if aerr != nil || d.Currency != string(engine.USD) {
		return "", fieldError(codeInvalidField, "data", "The float event's amount is not valid.")
	}
	// The issuer's reference names the deposit itself: the same deposit
	// reported twice under two event ids still counts once.
	id := d.Reference
	if id == "" {
		id = ev.ID
	}
	if err := s.command("", func(ctx context.Context) error { return s.deps.Commands.FloatCredited(ctx, id, amount) }); err != nil {
		return s.webhookError(ev, err)
	}
	return "processed", nil
}

// webhookError keeps the engine's business refusals (an event for a card
// that no longer takes it) from being redelivered for ever: those are
// acknowledged as "rejected" and recorded; only "retry later" answers (429,
// 5xx) make the provider deliver again.
func (s *Server) webhookError(ev envelope, e *apiError) (string, *apiError) {
	if e.status() >= http.StatusInternalServerError || e.status() == http.StatusTooManyRequests {
		return "", e
	}
	s.log.Warn("webhook event refused by the engine", "event", ev.ID, "type", ev.Type, "code", e.code)
	return "rejected", nil
}
