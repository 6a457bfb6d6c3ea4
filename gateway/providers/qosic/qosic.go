// Package qosic is the engine.MomoProvider for Qosic (QosicBridge), the
// mobile-money aggregator Kash collects from and pays out to in Benin:
// MTN collections are asynchronous (the payer approves on the phone, so the
// first answer is pending), Moov collections are synchronous, payouts
// (deposit, depositmv) are synchronous for both, and any transaction's
// status can be read back by its transref.
//
// The engine's payment reference is Qosic's transref: it is sent on every
// call, so a retry under the same reference can never move money twice,
// and an unknown outcome (timeout, transport error, unrecognised answer) is
// resolved with PaymentStatus on that same reference.
package qosic

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"kash/engine"
	"kash/gateway/providers"
)

const basePath = "/QosicBridge/user/"

// Operation names, used as the metric label and in errors.
const (
	opCollect  = "collect"
	opPayout   = "payout"
	opStatus   = "status"
	opSettle   = "settlement"
	providerID = "qosic"
)

// Adapter is one Qosic merchant account. It is safe for concurrent use.
type Adapter struct {
	cfg     Config
	base    string
	auth    providers.Secret
	http    *providers.HTTPClient
	metrics *providers.Metrics
}

var _ engine.MomoProvider = (*Adapter)(nil)

// New builds the adapter for one account. metrics may be nil.
func New(cfg Config, metrics *providers.Metrics) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, err := providers.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("qosic %s: %w", cfg.Name, err)
	}
	creds := base64.StdEncoding.EncodeToString([]byte(cfg.Login + ":" + cfg.Password.Reveal()))
	return &Adapter{
		cfg:     cfg,
		base:    base + basePath,
		auth:    providers.Secret("Basic " + creds),
		http:    providers.NewHTTPClient(cfg.HTTP),
		metrics: metrics,
	}, nil
}

// Name is the account's name (momo:<name> in the ledger).
func (a *Adapter) Name() string { return a.cfg.Name }

// String describes the adapter without credentials.
func (a Adapter) String() string { return "qosic.Adapter{" + a.cfg.Name + "}" }

// GoString is String, so that %#v cannot print credentials either.
func (a Adapter) GoString() string { return a.String() }

// answer is every QosicBridge response body.
type answer struct {
	ResponseCode providers.FlexString `json:"responsecode"`
	ResponseMsg  string               `json:"responsemsg"`
	TransRef     string               `json:"transref"`
	ServiceRef   string               `json:"serviceref"`
	Comment      string               `json:"comment"`
}

type paymentBody struct {
	MSISDN    string `json:"msisdn"`
	Amount    string `json:"amount"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	TransRef  string `json:"transref"`
	ClientID  string `json:"clientid"`
}

type statusBody struct {
	TransRef string `json:"transref"`
	ClientID string `json:"clientid"`
}

type settlementBody struct {
	TransRef string `json:"transref"`
	Amount   string `json:"amount"`
	ClientID string `json:"clientid"`
}

// Collect asks the payer's wallet for req.Amount. MTN answers pending (the
// payer approves on the phone; the final status comes by webhook or
// PaymentStatus); Moov answers succeeded or failed at once.
func (a *Adapter) Collect(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	start := time.Now()
	res, err := a.collect(ctx, req)
	a.metrics.Observe(a.cfg.Name, opCollect, res.Outcome, start)
	return res, err
}

func (a *Adapter) collect(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	endpoint, mapping := "requestpayment", statusOutcome
	if req.Operator == engine.OperatorMoov {
		endpoint, mapping = "requestpaymentmv", moovCollectOutcome
	}
	return a.pay(ctx, opCollect, endpoint, req, mapping)
}

// Payout sends req.Amount from the account's collection balance to the
// wallet. Both operators answer synchronously.
func (a *Adapter) Payout(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	start := time.Now()
	endpoint := "deposit"
	if req.Operator == engine.OperatorMoov {
		endpoint = "depositmv"
	}
	res, err := a.pay(ctx, opPayout, endpoint, req, payoutOutcome)
	a.metrics.Observe(a.cfg.Name, opPayout, res.Outcome, start)
	return res, err
}

func (a *Adapter) pay(ctx context.Context, op, endpoint string, req engine.PaymentRequest,
	mapping func(code, msg string) engine.Outcome) (engine.Result, error) {
	clientID, err := a.clientID(req.Operator)
	if err != nil {
		return invalid(req.Ref, err), nil
	}
	if err := validatePayment(req); err != nil {
		return invalid(req.Ref, err), nil
	}
	body := paymentBody{
		MSISDN:    msisdn(req.Phone),
		Amount:    req.Amount.String(),
		FirstName: a.cfg.FirstName,
		LastName:  a.cfg.LastName,
		TransRef:  req.Ref,
		ClientID:  clientID,
	}
	return a.exchange(ctx, op, endpoint, req.Ref, body, mapping)
}

// PaymentStatus reads the status of a collection, payout or settlement by
// its transref. A transref Qosic never recorded comes back as
// OutcomeUnknown with an error matching providers.ErrNotFound: resending the
// original request under the same transref is then safe.
func (a *Adapter) PaymentStatus(ctx context.Context, ref string, op engine.Operator) (engine.Result, error) {
	start := time.Now()
	res, err := a.status(ctx, ref, op)
	a.metrics.Observe(a.cfg.Name, opStatus, res.Outcome, start)
	return res, err
}

func (a *Adapter) status(ctx context.Context, ref string, op engine.Operator) (engine.Result, error) {
	clientID, err := a.clientID(op)
	if err != nil {
		return providers.Unknown(ref, a.cfg.Name, opStatus, err)
	}
	resp, err := a.post(ctx, "gettransactionstatus", statusBody{TransRef: ref, ClientID: clientID})
	if err != nil {
		return providers.Unknown(ref, a.cfg.Name, opStatus, err)
	}
	if resp.Status != http.StatusOK {
		return providers.Unknown(ref, a.cfg.Name, opStatus,
			&providers.StatusError{Provider: a.cfg.Name, Operation: opStatus, Status: resp.Status})
	}
	ans, err := decode(resp.Body, ref)
	if err != nil {
		return providers.Unknown(ref, a.cfg.Name, opStatus, err)
	}
	code := ans.ResponseCode.String()
	if isNotFound(code, ans.ResponseMsg) {
		return providers.Unknown(ref, a.cfg.Name, opStatus, providers.ErrNotFound)
	}
	return a.result(ref, opStatus, ans, statusOutcome(code, ans.ResponseMsg))
}

// Settle withdraws amount (XOF) of the account's collected funds to the
// card issuer's funding account: the sweep that turns momo collections into
// issuer float. Simulator extension modelled on the aggregator's
// settlement; answered pending, final status by PaymentStatus (either
// operator) and by the issuer's float webhook.
func (a *Adapter) Settle(ctx context.Context, ref string, amount engine.Money) (engine.Result, error) {
	start := time.Now()
	var res engine.Result
	var err error
	if amount.Currency != engine.XOF || !amount.IsPositive() {
		res = invalid(ref, fmt.Errorf("settlement amount must be positive XOF, got %s %s", amount, amount.Currency))
	} else {
		body := settlementBody{TransRef: ref, Amount: amount.String(), ClientID: a.cfg.MTNClientID}
		res, err = a.exchange(ctx, opSettle, "settlement", ref, body, payoutOutcome)
	}
	a.metrics.Observe(a.cfg.Name, opSettle, res.Outcome, start)
	return res, err
}

// exchange performs a money-moving call and maps its answer. HTTP 200/202
// carry a response code; a 4xx QosicBridge uses for a refused request (bad
// request, credentials, client id, transref reused) means nothing was
// recorded under this transref, hence failed; anything else is unknown.
func (a *Adapter) exchange(ctx context.Context, op, endpoint, ref string, body any,
	mapping func(code, msg string) engine.Outcome) (engine.Result, error) {
	resp, err := a.post(ctx, endpoint, body)
	if err != nil {
		return providers.Unknown(ref, a.cfg.Name, op, err)
	}
	switch resp.Status {
	case http.StatusOK, http.StatusAccepted:
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusNotFound, http.StatusConflict:
		return refused(ref, resp), nil
	default:
		return providers.Unknown(ref, a.cfg.Name, op,
			&providers.StatusError{Provider: a.cfg.Name, Operation: op, Status: resp.Status})
	}
	ans, err := decode(resp.Body, ref)
	if err != nil {
		return providers.Unknown(ref, a.cfg.Name, op, err)
	}
	return a.result(ref, op, ans, mapping(ans.ResponseCode.String(), ans.ResponseMsg))
}

// result turns a mapped answer into a Result; an unrecognised code is an
// unknown outcome and therefore an error.
func (a *Adapter) result(ref, op string, ans answer, outcome engine.Outcome) (engine.Result, error) {
	if outcome == engine.OutcomeUnknown {
		return providers.Unknown(ref, a.cfg.Name, op,
			fmt.Errorf("%w: unrecognised response code %q (%s)", providers.ErrMalformed, ans.ResponseCode, ans.ResponseMsg))
	}
	res := engine.Result{Outcome: outcome, Ref: ref, ProviderRef: ans.ServiceRef}
	if outcome == engine.OutcomeFailed {
		res.Reason = reason(ans)
	}
	return res, nil
}

func (a *Adapter) post(ctx context.Context, endpoint string, body any) (providers.Response, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return providers.Response{}, fmt.Errorf("encode %s request: %w", endpoint, err)
	}
	return a.http.Do(ctx, providers.Request{
		Method: http.MethodPost,
		URL:    a.base + endpoint,
		Header: []providers.Header{{Name: "Authorization", Value: a.auth.Reveal()}},
		Body:   payload,
	})
}

func (a *Adapter) clientID(op engine.Operator) (string, error) {
	switch op {
	case engine.OperatorMTN:
		return a.cfg.MTNClientID, nil
	case engine.OperatorMoov:
		return a.cfg.MoovClientID, nil
	}
	return "", fmt.Errorf("qosic: unsupported operator %q", op)
}

// decode parses an answer and checks that it is about our transref.
func decode(body []byte, ref string) (answer, error) {
	var ans answer
	if err := providers.DecodeJSON(body, &ans); err != nil {
		return answer{}, err
	}
	if ans.TransRef != "" && ans.TransRef != ref {
		return answer{}, fmt.Errorf("%w: answer for transref %q, asked %q", providers.ErrMalformed, ans.TransRef, ref)
	}
	return ans, nil
}

func validatePayment(req engine.PaymentRequest) error {
	switch {
	case req.Ref == "":
		return fmt.Errorf("qosic: empty transref")
	case req.Amount.Currency != engine.XOF || !req.Amount.IsPositive():
		return fmt.Errorf("qosic: amount must be positive XOF, got %s %s", req.Amount, req.Amount.Currency)
	case msisdn(req.Phone) == "":
		return fmt.Errorf("qosic: invalid phone")
	}
	return nil
}

// msisdn turns E.164 (+22990000001) into Qosic's digits-only form; it
// returns "" if anything but digits remains.
func msisdn(phone string) string {
	p := strings.TrimPrefix(strings.TrimSpace(phone), "+")
	if p == "" {
		return ""
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return p
}

// invalid is a request refused before it was sent: definitely not done.
func invalid(ref string, err error) engine.Result {
	return engine.Result{Outcome: engine.OutcomeFailed, Ref: ref, Reason: "invalid request: " + err.Error()}
}

// refused maps a 4xx QosicBridge uses to refuse a request outright.
func refused(ref string, resp providers.Response) engine.Result {
	res := engine.Result{Outcome: engine.OutcomeFailed, Ref: ref, Reason: fmt.Sprintf("HTTP %d", resp.Status)}
	var ans answer
	if providers.DecodeJSON(resp.Body, &ans) == nil && (ans.ResponseMsg != "" || ans.ResponseCode != "") {
		res.Reason = fmt.Sprintf("HTTP %d: %s", resp.Status, reason(ans))
	}
	return res
}

func reason(ans answer) string {
	r := strings.TrimSpace(string(ans.ResponseCode) + " " + ans.ResponseMsg)
	if ans.Comment != "" {
		r += " (" + ans.Comment + ")"
	}
	return r
}
