package sim

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"
)

const injectedIssuerFailure = "simulated issuer failure"

// Flutterwave answer messages (see the package documentation).
const (
	msgInsufficientFloat = "Insufficient wallet balance"
	msgInsufficientCard  = "Insufficient card balance"
	msgTerminated        = "Card has been terminated"
	msgCardNotFound      = "Card not found"
)

type flwResponse struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func flwOK(ctx *fasthttp.RequestCtx, message string, data any) {
	writeJSON(ctx, fasthttp.StatusOK, flwResponse{Status: "success", Message: message, Data: data})
}

func flwError(ctx *fasthttp.RequestCtx, status int, message string) {
	writeJSON(ctx, status, flwResponse{Status: "error", Message: message})
}

type flwCard struct {
	ID            string  `json:"id"`
	AccountID     int     `json:"account_id"`
	Amount        string  `json:"amount"`
	Currency      string  `json:"currency"`
	CardHash      string  `json:"card_hash"`
	CardPAN       string  `json:"card_pan"`
	MaskedPAN     string  `json:"masked_pan"`
	City          string  `json:"city"`
	State         string  `json:"state"`
	Address1      string  `json:"address_1"`
	Address2      *string `json:"address_2"`
	ZipCode       string  `json:"zip_code"`
	CVV           string  `json:"cvv"`
	Expiration    string  `json:"expiration"`
	SendTo        *string `json:"send_to"`
	BinCheckName  *string `json:"bin_check_name"`
	CardType      string  `json:"card_type"`
	NameOnCard    string  `json:"name_on_card"`
	CreatedAt     string  `json:"created_at"`
	IsActive      bool    `json:"is_active"`
	Status        string  `json:"status"`
	CallbackURL   *string `json:"callback_url"`
	Reference     string  `json:"reference"`
	CardReference string  `json:"card_reference"`
}

const flwAccountID = 118468

func cardObject(c *card) flwCard {
	c.mu.Lock()
	defer c.mu.Unlock()
	return flwCard{
		ID: c.id, AccountID: flwAccountID, Amount: usd(c.balance), Currency: "USD", CardHash: c.id,
		CardPAN: c.pan, MaskedPAN: c.pan[:6] + "*******" + c.pan[len(c.pan)-4:],
		City: "Lekki", State: "Lagos", Address1: "19, Olubunmi Rotimi", ZipCode: "23401",
		CVV: c.cvv, Expiration: c.expiration, CardType: "visa", NameOnCard: c.name,
		CreatedAt: c.createdAt.Format(rfc3339), IsActive: c.status == cardActive, Status: c.status,
		Reference: c.reference, CardReference: c.ref,
	}
}

const rfc3339 = "2006-01-02T15:04:05Z07:00"

func (s *Sim) serveFlutterwave(ctx *fasthttp.RequestCtx, path string) {
	want := "Bearer " + s.cfg.Flutterwave.SecretKey
	if subtle.ConstantTimeCompare(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization), []byte(want)) != 1 {
		flwError(ctx, fasthttp.StatusUnauthorized, "Invalid authorization key")
		return
	}
	seg := splitPath(path)
	method := string(ctx.Method())
	switch {
	case len(seg) == 2 && seg[0] == "balances" && method == fasthttp.MethodGet:
		s.flwBalance(ctx, seg[1])
	case len(seg) == 1 && seg[0] == "virtual-cards" && method == fasthttp.MethodPost:
		s.flwCreate(ctx)
	case len(seg) == 3 && seg[0] == "virtual-cards" && seg[1] == "references" && method == fasthttp.MethodGet:
		s.flwOperation(ctx, seg[2])
	case len(seg) >= 2 && seg[0] == "virtual-cards":
		s.flwCardRoute(ctx, method, seg[1], seg[2:])
	default:
		flwError(ctx, fasthttp.StatusNotFound, "Route not found")
	}
}

// flwCardRoute serves /v3/virtual-cards/{id}/...
func (s *Sim) flwCardRoute(ctx *fasthttp.RequestCtx, method, id string, rest []string) {
	action := method
	for _, r := range rest {
		action += "/" + r
	}
	switch action {
	case "GET":
		s.flwGet(ctx, id)
	case "GET/transactions":
		s.flwTransactions(ctx, id)
	case "POST/fund":
		s.flwMove(ctx, id, "fund")
	case "POST/withdraw":
		s.flwMove(ctx, id, "withdraw")
	case "PUT/status/block":
		s.flwStatus(ctx, id, "block")
	case "PUT/status/unblock":
		s.flwStatus(ctx, id, "unblock")
	case "PUT/terminate":
		s.flwStatus(ctx, id, "terminate")
	default:
		flwError(ctx, fasthttp.StatusNotFound, "Route not found")
	}
}

type flwCreateRequest struct {
	Currency      string     `json:"currency"`
	Amount        flexString `json:"amount"`
	BillingName   string     `json:"billing_name"`
	DebitCurrency string     `json:"debit_currency"`
	Reference     string     `json:"reference"`
	CardReference string     `json:"card_reference"`
}

func (s *Sim) flwCreate(ctx *fasthttp.RequestCtx) {
	var req flwCreateRequest
	if err := decodeJSON(ctx, &req); err != nil {
		flwError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	amount, err := parseUSD(req.Amount)
	switch {
	case req.Currency != "USD":
		flwError(ctx, fasthttp.StatusBadRequest, "Only USD cards are supported")
		return
	case err != nil:
		flwError(ctx, fasthttp.StatusBadRequest, "Invalid amount: "+err.Error())
		return
	case req.BillingName == "":
		flwError(ctx, fasthttp.StatusBadRequest, "billing_name is required")
		return
	case req.Reference == "" || req.CardReference == "":
		flwError(ctx, fasthttp.StatusBadRequest, "reference and card_reference are required")
		return
	}
	_, known := s.issuer.lookupOp(req.Reference)
	d := s.drawFault(TargetIssuerCreate, known)
	if d.kind == faultTimeout {
		if d.applied {
			s.runIssuerOp(req.Reference, "create", "", s.createRun(req, amount, false))
		}
		s.hang(ctx)
		return
	}
	op, conflict := s.runIssuerOp(req.Reference, "create", "", s.createRun(req, amount, d.kind == faultFail))
	conflict = conflict || op.cardRef != req.CardReference
	s.flwAnswerCreate(ctx, op, conflict)
}

// runIssuerOp runs an issuer operation once per reference (issuerBooks.runOp)
// as one change to the books.
func (s *Sim) runIssuerOp(reference, operation, cardID string, run func(op *issuerOp)) (issuerOp, bool) {
	s.beginChange()
	defer s.endChange()
	return s.issuer.runOp(reference, operation, cardID, run)
}

// createRun returns the operation that creates a card.
func (s *Sim) createRun(req flwCreateRequest, amount int64, injectFail bool) func(*issuerOp) {
	return func(op *issuerOp) {
		op.cardRef, op.amount = req.CardReference, amount
		if injectFail {
			op.fail(fasthttp.StatusBadRequest, injectedIssuerFailure)
			return
		}
		s.createCard(op, req)
	}
}

// createCard moves the amount from the float onto a new card.
func (s *Sim) createCard(op *issuerOp, req flwCreateRequest) {
	if !tryDebit(&s.issuer.float, op.amount) {
		op.fail(fasthttp.StatusBadRequest, msgInsufficientFloat)
		return
	}
	id, pan, cvv := s.ids.newCardData()
	now := s.now()
	c := &card{
		seq: s.issuer.seq.Add(1), id: id, ref: req.CardReference, reference: req.Reference,
		pan: pan, cvv: cvv, expiration: now.AddDate(3, 0, 0).Format("2006-01"), name: req.BillingName,
		createdAt: now, balance: op.amount, status: cardActive,
	}
	c.record(cardTxn{id: s.ids.cardTxnID(), amount: op.amount, reference: req.Reference, narration: "Card creation", credit: true, typ: txnCreation, ok: true, at: now})
	s.issuer.insert(c)
	op.cardID = id
}

func (s *Sim) flwAnswerCreate(ctx *fasthttp.RequestCtx, op issuerOp, conflict bool) {
	switch {
	case conflict:
		flwError(ctx, fasthttp.StatusConflict, "Reference already used")
	case !op.ok:
		flwError(ctx, op.httpStatus, op.message)
	default:
		flwOK(ctx, "Card created successfully", cardObject(s.issuer.cardByID(op.cardID)))
	}
}

func (s *Sim) flwBalance(ctx *fasthttp.RequestCtx, currency string) {
	if currency != "USD" {
		flwError(ctx, fasthttp.StatusBadRequest, "Unsupported currency")
		return
	}
	f := usdNumber(s.issuer.float.Load())
	flwOK(ctx, "Wallet balance fetched", map[string]any{"currency": "USD", "available_balance": f, "ledger_balance": f})
}

func (s *Sim) flwGet(ctx *fasthttp.RequestCtx, id string) {
	c := s.issuer.cardByID(id)
	if c == nil {
		flwError(ctx, fasthttp.StatusNotFound, msgCardNotFound)
		return
	}
	flwOK(ctx, "Card fetched successfully", cardObject(c))
}

type flwTxn struct {
	ID                      int64     `json:"id"`
	Amount                  usdNumber `json:"amount"`
	Fee                     int       `json:"fee"`
	Product                 string    `json:"product"`
	GatewayReference        string    `json:"gateway_reference"`
	Reference               string    `json:"reference"`
	ResponseCode            string    `json:"response_code"`
	GatewayReferenceDetails string    `json:"gateway_reference_details"`
	AmountConfirmed         usdNumber `json:"amount_confirmed"`
	Narration               string    `json:"narration"`
	Indicator               string    `json:"indicator"`
	CreatedAt               string    `json:"created_at"`
	Status                  string    `json:"status"`
	Currency                string    `json:"currency"`
	Type                    string    `json:"type"`
}

func (s *Sim) flwTransactions(ctx *fasthttp.RequestCtx, id string) {
	c := s.issuer.cardByID(id)
	if c == nil {
		flwError(ctx, fasthttp.StatusNotFound, msgCardNotFound)
		return
	}
	index := queryInt(ctx, "index", 1)
	size := queryInt(ctx, "size", 20)
	if index < 1 || size < 1 || size > 100 {
		flwError(ctx, fasthttp.StatusBadRequest, "index must be at least 1 and size within 1..100")
		return
	}
	c.mu.Lock()
	txns := make([]cardTxn, len(c.txns))
	copy(txns, c.txns)
	c.mu.Unlock()
	out := []flwTxn{}
	start := (index - 1) * size
	for i := len(txns) - 1 - start; i >= 0 && len(out) < size; i-- {
		out = append(out, renderCardTxn(txns[i]))
	}
	flwOK(ctx, "Card transactions fetched successfully", out)
}

func renderCardTxn(t cardTxn) flwTxn {
	r := flwTxn{
		ID: t.id, Amount: usdNumber(t.amount), Product: "Card Transactions", GatewayReference: "FLW-" + strconv.FormatInt(t.id, 10),
		Reference: t.reference, ResponseCode: "00", GatewayReferenceDetails: t.narration, AmountConfirmed: usdNumber(t.amount),
		Narration: t.narration, Indicator: "D", CreatedAt: t.at.Format(rfc3339), Status: "Successful", Currency: "USD", Type: t.typ,
	}
	if t.credit {
		r.Indicator = "C"
	}
	if !t.ok {
		r.Status, r.ResponseCode, r.AmountConfirmed = "Failed", "51", 0
	}
	return r
}

func queryInt(ctx *fasthttp.RequestCtx, name string, def int) int {
	v := ctx.QueryArgs().Peek(name)
	if len(v) == 0 {
		return def
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return -1
	}
	return n
}

type flwMoveRequest struct {
	Amount    flexString `json:"amount"`
	Reference string     `json:"reference"`
}

// decodeMove reads a fund or withdraw body, by hand when it is flat.
func decodeMove(ctx *fasthttp.RequestCtx, req *flwMoveRequest) error {
	err := scanFlatObject(ctx.PostBody(), func(key, val []byte, quoted bool) {
		switch string(key) {
		case "amount":
			req.Amount = flexString(scalarText(val, quoted))
		case "reference":
			req.Reference = scalarText(val, quoted)
		}
	})
	if errors.Is(err, errNotFlat) {
		*req = flwMoveRequest{}
		return decodeJSON(ctx, req)
	}
	return err
}

// flwMove serves fund and withdraw.
func (s *Sim) flwMove(ctx *fasthttp.RequestCtx, id, operation string) {
	var req flwMoveRequest
	if err := decodeMove(ctx, &req); err != nil {
		flwError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	amount, err := parseUSD(req.Amount)
	if err != nil {
		flwError(ctx, fasthttp.StatusBadRequest, "Invalid amount: "+err.Error())
		return
	}
	if req.Reference == "" {
		flwError(ctx, fasthttp.StatusBadRequest, "reference is required")
		return
	}
	c := s.issuer.cardByID(id)
	if c == nil {
		flwError(ctx, fasthttp.StatusNotFound, msgCardNotFound)
		return
	}
	target, success := TargetIssuerFund, "Card funded successfully"
	if operation == "withdraw" {
		target, success = TargetIssuerWithdraw, "Card withdrawal successful"
	}
	_, known := s.issuer.lookupOp(req.Reference)
	d := s.drawFault(target, known)
	if d.kind == faultTimeout {
		if d.applied {
			s.runIssuerOp(req.Reference, operation, id, s.moveRun(c, operation, amount, req.Reference, false))
		}
		s.hang(ctx)
		return
	}
	op, conflict := s.runIssuerOp(req.Reference, operation, id, s.moveRun(c, operation, amount, req.Reference, d.kind == faultFail))
	s.flwAnswer(ctx, op, conflict, success)
}

// moveRun returns the operation that funds or withdraws from card c.
func (s *Sim) moveRun(c *card, operation string, amount int64, reference string, injectFail bool) func(*issuerOp) {
	return func(op *issuerOp) {
		op.cardRef, op.amount = c.ref, amount
		if injectFail {
			op.fail(fasthttp.StatusBadRequest, injectedIssuerFailure)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.status == cardTerminated {
			op.fail(fasthttp.StatusBadRequest, msgTerminated)
			return
		}
		t := cardTxn{id: s.ids.cardTxnID(), amount: amount, reference: reference, ok: true, at: s.now()}
		if operation == "fund" {
			if !tryDebit(&s.issuer.float, amount) {
				op.fail(fasthttp.StatusBadRequest, msgInsufficientFloat)
				return
			}
			c.balance += amount
			t.credit, t.typ, t.narration = true, txnFunding, "Card funding"
		} else {
			if c.balance < amount {
				op.fail(fasthttp.StatusBadRequest, msgInsufficientCard)
				return
			}
			c.balance -= amount
			s.issuer.float.Add(amount)
			t.typ, t.narration = txnWithdrawal, "Card withdrawal"
		}
		c.record(t)
	}
}

func (s *Sim) flwAnswer(ctx *fasthttp.RequestCtx, op issuerOp, conflict bool, success string) {
	switch {
	case conflict:
		flwError(ctx, fasthttp.StatusConflict, "Reference already used")
	case !op.ok:
		flwError(ctx, op.httpStatus, op.message)
	default:
		flwOK(ctx, success, nil)
	}
}

// flwStatus serves block, unblock and terminate; they are idempotent by
// nature, and by reference when the optional body names one.
func (s *Sim) flwStatus(ctx *fasthttp.RequestCtx, id, operation string) {
	var req struct {
		Reference string `json:"reference"`
	}
	if err := decodeJSON(ctx, &req); err != nil {
		flwError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	c := s.issuer.cardByID(id)
	if c == nil {
		flwError(ctx, fasthttp.StatusNotFound, msgCardNotFound)
		return
	}
	run := func(op *issuerOp) { s.changeStatus(c, operation, op) }
	var op issuerOp
	conflict := false
	if req.Reference != "" {
		op, conflict = s.runIssuerOp(req.Reference, operation, id, run)
	} else {
		op = issuerOp{operation: operation, cardID: id, ok: true}
		s.beginChange()
		run(&op)
		s.endChange()
	}
	messages := map[string]string{
		"block": "Card blocked successfully", "unblock": "Card unblocked successfully", "terminate": "Card terminated successfully",
	}
	s.flwAnswer(ctx, op, conflict, messages[operation])
}

func (s *Sim) changeStatus(c *card, operation string, op *issuerOp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	op.cardRef = c.ref
	if c.status == cardTerminated {
		if operation != "terminate" {
			op.fail(fasthttp.StatusBadRequest, msgTerminated)
		}
		return
	}
	switch operation {
	case "block":
		c.status = cardBlocked
	case "unblock":
		c.status = cardActive
	case "terminate":
		if c.balance > 0 {
			s.issuer.float.Add(c.balance)
			c.record(cardTxn{id: s.ids.cardTxnID(), amount: c.balance, reference: op.reference, narration: "Card termination refund", typ: txnTermination, ok: true, at: s.now()})
			op.amount = c.balance
			c.balance = 0
		}
		c.status = cardTerminated
	}
}

type flwOperation struct {
	Reference     string   `json:"reference"`
	Operation     string   `json:"operation"`
	Status        string   `json:"status"`
	Message       string   `json:"message"`
	CardID        string   `json:"card_id"`
	CardReference string   `json:"card_reference"`
	Amount        string   `json:"amount"`
	Currency      string   `json:"currency"`
	Card          *flwCard `json:"card,omitempty"`
}

// flwOperation serves the status-by-reference extension.
func (s *Sim) flwOperation(ctx *fasthttp.RequestCtx, reference string) {
	switch s.drawFault(TargetIssuerStatus, false).kind {
	case faultTimeout:
		s.hang(ctx)
		return
	case faultFail:
		flwError(ctx, fasthttp.StatusServiceUnavailable, "Service temporarily unavailable")
		return
	}
	op, ok := s.issuer.lookupOp(reference)
	if !ok {
		flwError(ctx, fasthttp.StatusNotFound, "No operation with this reference")
		return
	}
	out := flwOperation{
		Reference: op.reference, Operation: op.operation, Status: "successful", CardID: op.cardID,
		CardReference: op.cardRef, Amount: usd(op.amount), Currency: "USD",
	}
	if !op.ok {
		out.Status, out.Message = "failed", op.message
	}
	if op.ok && op.operation == "create" {
		if c := s.issuer.cardByID(op.cardID); c != nil {
			obj := cardObject(c)
			out.Card = &obj
		}
	}
	flwOK(ctx, "Operation fetched", out)
}

// spend is a purchase at a merchant, authorised or declined by the issuer.
func (s *Sim) spend(key string, cents int64, merchant string) (approved bool, reason string, err error) {
	c := s.issuer.cardByEither(key)
	if c == nil {
		return false, "", fmt.Errorf("card %q: %w", key, errNotFound)
	}
	s.beginChange()
	c.mu.Lock()
	switch {
	case c.status == cardBlocked:
		reason = declineBlocked
	case c.status == cardTerminated:
		reason = declineTerminated
	case c.balance < cents:
		reason = declineInsufficient
	}
	t := cardTxn{id: s.ids.cardTxnID(), amount: cents, narration: merchant, typ: txnSpend, ok: reason == "", at: s.now()}
	if reason == "" {
		c.balance -= cents
		s.issuer.spent.Add(cents)
	} else {
		t.typ = txnDecline
	}
	c.record(t)
	ev := cardEvent{cardID: c.id, cardRef: c.ref, txnID: t.id, cents: cents, merchant: merchant, balance: c.balance, reason: reason}
	c.mu.Unlock()
	s.endChange()
	s.hooks.cardEvent(ev)
	return reason == "", reason, nil
}
