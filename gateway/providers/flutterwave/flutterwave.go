// Package flutterwave is the engine.CardIssuer for Flutterwave v3 virtual
// cards: create (USD), fund, withdraw, block, unblock, terminate, read a
// card (with PAN and CVV, for one response only), list a card's
// transactions, read the USD wallet that is the issuer float, resolve an
// unknown outcome by our reference, and verify webhooks' verif-hash.
//
// Flutterwave v3 has no idempotency field on card operations; the engine's
// reference travels in a "reference" field (and the engine's card id in
// "card_reference" on create), which the simulator honours and
// deduplicates on, and the references endpoint answers what became of a
// reference. Both are simulator extensions, documented in bench/sim.
//
// In production Flutterwave ignores the reference, so a retried fund or
// withdraw can apply twice, and the references endpoint does not exist:
// OperationStatus then reports unknown with providers.ErrNotFound, which
// for this issuer must send the operation to manual review rather than be
// resent.
package flutterwave

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kash/engine"
	"kash/gateway/providers"
)

// Operation names, used as metric labels and in errors.
const (
	opCreate       = "create"
	opFund         = "fund"
	opWithdraw     = "withdraw"
	opBlock        = "block"
	opUnblock      = "unblock"
	opTerminate    = "terminate"
	opStatus       = "status"
	opDetails      = "details"
	opCard         = "card"
	opTransactions = "transactions"
	opBalance      = "balance"
)

// Adapter is the issuer account. It is safe for concurrent use.
type Adapter struct {
	cfg     Config
	base    string
	auth    providers.Secret
	http    *providers.HTTPClient
	metrics *providers.Metrics
}

var _ engine.CardIssuer = (*Adapter)(nil)

// New builds the adapter. metrics may be nil.
func New(cfg Config, metrics *providers.Metrics) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if cfg.SecretKey.IsZero() {
		return nil, fmt.Errorf("flutterwave %s: secret key is required", cfg.Name)
	}
	base, err := providers.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("flutterwave %s: %w", cfg.Name, err)
	}
	return &Adapter{
		cfg:     cfg,
		base:    base + "/v3",
		auth:    providers.Secret("Bearer " + cfg.SecretKey.Reveal()),
		http:    providers.NewHTTPClient(cfg.HTTP),
		metrics: metrics,
	}, nil
}

// Name is the issuer account's name.
func (a *Adapter) Name() string { return a.cfg.Name }

// String describes the adapter without credentials.
func (a Adapter) String() string { return "flutterwave.Adapter{" + a.cfg.Name + "}" }

// GoString is String, so that %#v cannot print credentials either.
func (a Adapter) GoString() string { return a.String() }

// CreateCard creates a USD card loaded with req.Amount from the float.
func (a *Adapter) CreateCard(ctx context.Context, req engine.CreateCardRequest) (engine.Result, engine.IssuedCard, error) {
	start := time.Now()
	res, issued, err := a.createCard(ctx, req)
	a.metrics.Observe(a.cfg.Name, opCreate, res.Outcome, start)
	return res, issued, err
}

func (a *Adapter) createCard(ctx context.Context, req engine.CreateCardRequest) (engine.Result, engine.IssuedCard, error) {
	amount, err := usdNumber(req.Amount)
	if err != nil {
		return invalid(req.Ref, err), engine.IssuedCard{}, nil
	}
	if req.Ref == "" || req.CardID == "" {
		return invalid(req.Ref, fmt.Errorf("reference and card id are required")), engine.IssuedCard{}, nil
	}
	first, last := splitName(req.HolderName)
	body := createBody{
		Currency: string(engine.USD), Amount: amount, DebitCurrency: a.cfg.DebitCurrency,
		BillingName: req.HolderName, FirstName: first, LastName: last,
		BillingAddress: a.cfg.BillingAddress, BillingCity: a.cfg.BillingCity, BillingState: a.cfg.BillingState,
		BillingPostalCode: a.cfg.BillingPostalCode, BillingCountry: a.cfg.BillingCountry,
		CallbackURL: a.cfg.CallbackURL, Reference: req.Ref, CardReference: req.CardID,
	}
	env, res, err := a.move(ctx, opCreate, http.MethodPost, "/virtual-cards", req.Ref, body)
	if err != nil || res.Outcome != engine.OutcomeSucceeded {
		return res, engine.IssuedCard{}, err
	}
	// The card exists from here on: an answer we cannot read is unknown, not
	// failed, and OperationStatus will return the card again.
	var c card
	if err := providers.DecodeJSON(env.Data, &c); err != nil {
		r, e := providers.Unknown(req.Ref, a.cfg.Name, opCreate, err)
		return r, engine.IssuedCard{}, e
	}
	issued, err := c.issued()
	if err != nil {
		r, e := providers.Unknown(req.Ref, a.cfg.Name, opCreate, err)
		return r, engine.IssuedCard{}, e
	}
	res.ProviderRef = issued.IssuerCardID
	return res, issued, nil
}

// FundCard moves op.Amount from the float onto the card.
func (a *Adapter) FundCard(ctx context.Context, op engine.CardOperation) (engine.Result, error) {
	return a.moveMoney(ctx, opFund, op, a.cfg.DebitCurrency)
}

// WithdrawCard moves op.Amount from the card back to the float.
func (a *Adapter) WithdrawCard(ctx context.Context, op engine.CardOperation) (engine.Result, error) {
	return a.moveMoney(ctx, opWithdraw, op, "")
}

func (a *Adapter) moveMoney(ctx context.Context, name string, op engine.CardOperation, debitCurrency string) (engine.Result, error) {
	start := time.Now()
	var res engine.Result
	var err error
	amount, aerr := usdNumber(op.Amount)
	switch {
	case aerr != nil:
		res = invalid(op.Ref, aerr)
	case op.Ref == "" || op.IssuerCardID == "":
		res = invalid(op.Ref, fmt.Errorf("reference and issuer card id are required"))
	default:
		path := "/virtual-cards/" + providers.PathEscape(op.IssuerCardID) + "/" + name
		body := moveBody{Amount: amount, DebitCurrency: debitCurrency, Reference: op.Ref}
		_, res, err = a.move(ctx, name, http.MethodPost, path, op.Ref, body)
		res.ProviderRef = op.IssuerCardID
	}
	a.metrics.Observe(a.cfg.Name, name, res.Outcome, start)
	return res, err
}

// BlockCard freezes the card: spends are declined until UnblockCard.
// Blocking a blocked card succeeds.
func (a *Adapter) BlockCard(ctx context.Context, ref, issuerCardID string) (engine.Result, error) {
	return a.setState(ctx, opBlock, "/status/block", ref, issuerCardID, "blocked previously")
}

// UnblockCard lifts a block. Unblocking an active card succeeds.
func (a *Adapter) UnblockCard(ctx context.Context, ref, issuerCardID string) (engine.Result, error) {
	return a.setState(ctx, opUnblock, "/status/unblock", ref, issuerCardID, "unblocked previously")
}

// TerminateCard closes the card for good; any balance left returns to the
// float (withdraw it first to pay it out). Terminating a terminated card
// succeeds.
func (a *Adapter) TerminateCard(ctx context.Context, ref, issuerCardID string) (engine.Result, error) {
	return a.setState(ctx, opTerminate, "/terminate", ref, issuerCardID, "has been terminated")
}

// setState performs block, unblock or terminate. Flutterwave answers a
// repeat with an error ("Card has been blocked previously"); the card is in
// the state asked for, so for an idempotent caller that is a success.
func (a *Adapter) setState(ctx context.Context, name, suffix, ref, issuerCardID, alreadyDone string) (engine.Result, error) {
	start := time.Now()
	var res engine.Result
	var err error
	if issuerCardID == "" {
		res = invalid(ref, fmt.Errorf("issuer card id is required"))
	} else {
		path := "/virtual-cards/" + providers.PathEscape(issuerCardID) + suffix
		var env envelope
		env, res, err = a.move(ctx, name, http.MethodPut, path, ref, refBody{Reference: ref})
		if res.Outcome == engine.OutcomeFailed && strings.Contains(strings.ToLower(env.Message), alreadyDone) {
			res = engine.Result{Outcome: engine.OutcomeSucceeded, Ref: ref}
		}
		res.ProviderRef = issuerCardID
	}
	a.metrics.Observe(a.cfg.Name, name, res.Outcome, start)
	return res, err
}

// move performs a call that changes state at the issuer and classifies the
// answer: 2xx "success" succeeded; an "error" envelope with 2xx or a 4xx the
// API uses for refusals (bad request, credentials, unknown card, reference
// reused) failed; anything else — 5xx, 429, no answer, unreadable — unknown.
func (a *Adapter) move(ctx context.Context, name, method, path, ref string, body any) (envelope, engine.Result, error) {
	resp, err := a.call(ctx, method, path, body)
	if err != nil {
		r, e := providers.Unknown(ref, a.cfg.Name, name, err)
		return envelope{}, r, e
	}
	var env envelope
	decodeErr := providers.DecodeJSON(resp.Body, &env)
	switch {
	case resp.Status >= 200 && resp.Status < 300 && decodeErr == nil && env.Status == statusSuccess:
		return env, engine.Result{Outcome: engine.OutcomeSucceeded, Ref: ref}, nil
	case resp.Status >= 200 && resp.Status < 300 && decodeErr == nil && env.Status == statusError,
		refusal(resp.Status):
		return env, failed(ref, resp.Status, env.Message), nil
	case resp.Status >= 200 && resp.Status < 300:
		if decodeErr == nil {
			decodeErr = fmt.Errorf("%w: status %q", providers.ErrMalformed, env.Status)
		}
		r, e := providers.Unknown(ref, a.cfg.Name, name, decodeErr)
		return env, r, e
	}
	r, e := providers.Unknown(ref, a.cfg.Name, name,
		&providers.StatusError{Provider: a.cfg.Name, Operation: name, Status: resp.Status})
	return env, r, e
}

// refusal reports the 4xx statuses that mean the request was refused and
// nothing was done. 408 and 429 are not among them: the request may be
// retried under the same reference.
func refusal(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// OperationStatus resolves an unknown outcome by our reference. For a
// creation that succeeded the card is returned again. A reference the
// issuer has no record of comes back as OutcomeUnknown with an error
// matching providers.ErrNotFound: resending under the same reference is
// then safe with the simulator, not in production (see the package doc).
func (a *Adapter) OperationStatus(ctx context.Context, ref string) (engine.Result, engine.IssuedCard, error) {
	start := time.Now()
	res, issued, err := a.operationStatus(ctx, ref)
	a.metrics.Observe(a.cfg.Name, opStatus, res.Outcome, start)
	return res, issued, err
}

func (a *Adapter) operationStatus(ctx context.Context, ref string) (engine.Result, engine.IssuedCard, error) {
	var op operation
	if err := a.read(ctx, opStatus, "/virtual-cards/references/"+providers.PathEscape(ref), &op); err != nil {
		r, e := providers.Unknown(ref, a.cfg.Name, opStatus, err)
		return r, engine.IssuedCard{}, e
	}
	if op.Reference != "" && op.Reference != ref {
		r, e := providers.Unknown(ref, a.cfg.Name, opStatus,
			fmt.Errorf("%w: answer for reference %q", providers.ErrMalformed, op.Reference))
		return r, engine.IssuedCard{}, e
	}
	res := engine.Result{Ref: ref, ProviderRef: op.CardID}
	switch strings.ToLower(op.Status) {
	case "successful", "success", "completed":
		res.Outcome = engine.OutcomeSucceeded
	case "failed", "error":
		res.Outcome, res.Reason = engine.OutcomeFailed, op.Message
		return res, engine.IssuedCard{}, nil
	case "pending", "processing":
		res.Outcome = engine.OutcomePending
		return res, engine.IssuedCard{}, nil
	default:
		r, e := providers.Unknown(ref, a.cfg.Name, opStatus,
			fmt.Errorf("%w: operation status %q", providers.ErrMalformed, op.Status))
		return r, engine.IssuedCard{}, e
	}
	if op.Operation != opCreate {
		return res, engine.IssuedCard{}, nil
	}
	issued := engine.IssuedCard{IssuerCardID: op.CardID}
	if op.Card != nil {
		full, err := op.Card.issued()
		if err != nil {
			r, e := providers.Unknown(ref, a.cfg.Name, opStatus, err)
			return r, engine.IssuedCard{}, e
		}
		issued = full
		res.ProviderRef = full.IssuerCardID
	}
	return res, issued, nil
}

// CardDetails reads the card's PAN, CVV and expiry live from the issuer.
// The result is for one response: never store, log or cache it.
func (a *Adapter) CardDetails(ctx context.Context, issuerCardID string) (engine.SensitiveCard, error) {
	start := time.Now()
	c, err := a.getCard(ctx, opDetails, issuerCardID)
	var out engine.SensitiveCard
	if err == nil {
		out, err = sensitive(c)
	}
	a.metrics.Observe(a.cfg.Name, opDetails, providers.OutcomeOf(err), start)
	return out, err
}

func sensitive(c card) (engine.SensitiveCard, error) {
	month, year, err := parseExpiration(c.Expiration)
	if err != nil {
		return engine.SensitiveCard{}, err
	}
	if c.CardPAN == "" || c.CVV == "" {
		return engine.SensitiveCard{}, fmt.Errorf("%w: card without PAN or CVV", providers.ErrMalformed)
	}
	return engine.SensitiveCard{PAN: c.CardPAN, CVV: c.CVV, ExpiryMonth: month, ExpiryYear: year}, nil
}

// Card is what the issuer says of a card, without its PAN or CVV (for
// reconciliation and ops).
type Card struct {
	IssuerCardID  string
	CardReference string
	Last4         string
	ExpiryMonth   int
	ExpiryYear    int
	Balance       engine.Money
	// Status is active, blocked or terminated where the issuer says so,
	// else derived from is_active (active or inactive).
	Status string
}

// Card reads a card's balance and status.
func (a *Adapter) Card(ctx context.Context, issuerCardID string) (Card, error) {
	start := time.Now()
	c, err := a.getCard(ctx, opCard, issuerCardID)
	var out Card
	if err == nil {
		out, err = publicCard(c)
	}
	a.metrics.Observe(a.cfg.Name, opCard, providers.OutcomeOf(err), start)
	return out, err
}

func publicCard(c card) (Card, error) {
	issued, err := c.issued()
	if err != nil {
		return Card{}, err
	}
	bal, err := parseUSD(c.Amount)
	if err != nil {
		return Card{}, err
	}
	status := c.Status
	if status == "" {
		status = "inactive"
		if c.IsActive {
			status = "active"
		}
	}
	return Card{
		IssuerCardID: issued.IssuerCardID, CardReference: c.CardReference, Last4: issued.Last4,
		ExpiryMonth: issued.ExpiryMonth, ExpiryYear: issued.ExpiryYear, Balance: bal, Status: status,
	}, nil
}

func (a *Adapter) getCard(ctx context.Context, name, issuerCardID string) (card, error) {
	var c card
	if issuerCardID == "" {
		return c, fmt.Errorf("flutterwave %s: issuer card id is required", name)
	}
	if err := a.read(ctx, name, "/virtual-cards/"+providers.PathEscape(issuerCardID), &c); err != nil {
		return card{}, fmt.Errorf("flutterwave %s card %s: %w", name, issuerCardID, err)
	}
	return c, nil
}

// CardTransaction is one line of a card's statement.
type CardTransaction struct {
	ID        string
	Amount    engine.Money
	Fee       engine.Money
	Indicator string // C: credit to the card, D: debit
	Status    string // Successful, Failed, ...
	// Type is creation, funding, withdrawal, spend, decline or termination
	// where the issuer says so (simulator extension); Product otherwise.
	Type      string
	Product   string
	Reference string
	Narration string
	CreatedAt time.Time
}

// Transactions lists a card's transactions between from and to (dates,
// inclusive), newest first, one page of size (1-based page index).
func (a *Adapter) Transactions(ctx context.Context, issuerCardID string, from, to time.Time, page, size int) ([]CardTransaction, error) {
	start := time.Now()
	out, err := a.transactions(ctx, issuerCardID, from, to, page, size)
	a.metrics.Observe(a.cfg.Name, opTransactions, providers.OutcomeOf(err), start)
	return out, err
}

func (a *Adapter) transactions(ctx context.Context, issuerCardID string, from, to time.Time, page, size int) ([]CardTransaction, error) {
	if issuerCardID == "" {
		return nil, fmt.Errorf("flutterwave transactions: issuer card id is required")
	}
	if page < 1 {
		page = 1
	}
	if size < 1 {
		size = 20
	}
	q := url.Values{}
	q.Set("from", from.UTC().Format(time.DateOnly))
	q.Set("to", to.UTC().Format(time.DateOnly))
	q.Set("index", strconv.Itoa(page))
	q.Set("size", strconv.Itoa(size))
	var raw []transaction
	path := "/virtual-cards/" + providers.PathEscape(issuerCardID) + "/transactions?" + q.Encode()
	if err := a.read(ctx, opTransactions, path, &raw); err != nil {
		return nil, fmt.Errorf("flutterwave transactions of %s: %w", issuerCardID, err)
	}
	out := make([]CardTransaction, 0, len(raw))
	for _, t := range raw {
		ct, err := t.convert()
		if err != nil {
			return nil, fmt.Errorf("flutterwave transactions of %s: %w", issuerCardID, err)
		}
		out = append(out, ct)
	}
	return out, nil
}

func (t transaction) convert() (CardTransaction, error) {
	amount, err := parseUSD(t.Amount)
	if err != nil {
		return CardTransaction{}, err
	}
	fee := engine.NewMoney(0, engine.USD)
	if t.Fee != "" {
		if fee, err = parseUSD(t.Fee); err != nil {
			return CardTransaction{}, err
		}
	}
	return CardTransaction{
		ID: t.ID.String(), Amount: amount, Fee: fee, Indicator: t.Indicator, Status: t.Status,
		Type: t.Type, Product: t.Product, Reference: t.Reference, Narration: t.Narration,
		CreatedAt: parseTime(t.CreatedAt),
	}, nil
}

// FloatBalance is the available balance of the USD wallet that funds cards.
func (a *Adapter) FloatBalance(ctx context.Context) (engine.Money, error) {
	start := time.Now()
	out, err := a.floatBalance(ctx)
	a.metrics.Observe(a.cfg.Name, opBalance, providers.OutcomeOf(err), start)
	return out, err
}

func (a *Adapter) floatBalance(ctx context.Context) (engine.Money, error) {
	var b balance
	if err := a.read(ctx, opBalance, "/balances/"+string(engine.USD), &b); err != nil {
		return engine.Money{}, fmt.Errorf("flutterwave balance: %w", err)
	}
	if b.Currency != "" && b.Currency != string(engine.USD) {
		return engine.Money{}, fmt.Errorf("flutterwave balance: %w: currency %q", providers.ErrMalformed, b.Currency)
	}
	m, err := parseUSD(b.AvailableBalance)
	if err != nil {
		return engine.Money{}, fmt.Errorf("flutterwave balance: %w", err)
	}
	return m, nil
}

// read performs a GET and decodes the data of a "success" envelope into
// out. 404 wraps providers.ErrNotFound; any other failure wraps the
// matching providers error.
func (a *Adapter) read(ctx context.Context, name, path string, out any) error {
	resp, err := a.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	var env envelope
	decodeErr := providers.DecodeJSON(resp.Body, &env)
	switch {
	case resp.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %s", providers.ErrNotFound, env.Message)
	case resp.Status != http.StatusOK:
		return &providers.StatusError{Provider: a.cfg.Name, Operation: name, Status: resp.Status}
	case decodeErr != nil:
		return decodeErr
	case env.Status != statusSuccess:
		return fmt.Errorf("%w: status %q: %s", providers.ErrMalformed, env.Status, env.Message)
	}
	return providers.DecodeJSON(env.Data, out)
}

func (a *Adapter) call(ctx context.Context, method, path string, body any) (providers.Response, error) {
	req := providers.Request{
		Method: method,
		URL:    a.base + path,
		Header: []providers.Header{{Name: "Authorization", Value: a.auth.Reveal()}},
	}
	if body != nil {
		payload, err := json.Marshal(body)
		if err != nil {
			return providers.Response{}, fmt.Errorf("encode request: %w", err)
		}
		req.Body = payload
	}
	return a.http.Do(ctx, req)
}

// VerifyWebhook checks a webhook's verif-hash header against the
// configured secret hash, in constant time.
func (a *Adapter) VerifyWebhook(verifHashHeader string) bool {
	return VerifyHash(verifHashHeader, a.cfg.VerifHash.Reveal())
}

// VerifyHash reports whether a webhook's verif-hash header equals the
// secret hash, in constant time. An empty secret never verifies: an
// unconfigured secret must not accept unsigned webhooks.
func VerifyHash(header, secret string) bool {
	if secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(header), []byte(secret)) == 1
}

func invalid(ref string, err error) engine.Result {
	return engine.Result{Outcome: engine.OutcomeFailed, Ref: ref, Reason: "invalid request: " + err.Error()}
}

func failed(ref string, status int, message string) engine.Result {
	reason := message
	if reason == "" {
		reason = fmt.Sprintf("HTTP %d", status)
	}
	return engine.Result{Outcome: engine.OutcomeFailed, Ref: ref, Reason: reason}
}
