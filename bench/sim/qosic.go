package sim

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/valyala/fasthttp"
)

// Qosic response codes (see the package documentation).
const (
	qosicOK          = "00"
	qosicOKMoov      = "0"
	qosicPending     = "01"
	qosicMoovShort   = "8"
	qosicMTNFailed   = "529"
	qosicFailed      = "-1"
	qosicNotFound    = "404"
	qosicUnavailable = "503"
)

const injectedFailure = "simulated provider failure"

type qosicRequest struct {
	MSISDN    string     `json:"msisdn"`
	Amount    flexString `json:"amount"`
	FirstName string     `json:"firstname"`
	LastName  string     `json:"lastname"`
	TransRef  string     `json:"transref"`
	ClientID  string     `json:"clientid"`
	phone     uint64     // MSISDN, validated
}

type qosicResponse struct {
	ResponseCode string `json:"responsecode"`
	ResponseMsg  string `json:"responsemsg"`
	TransRef     string `json:"transref,omitempty"`
	ServiceRef   string `json:"serviceref,omitempty"`
	Comment      string `json:"comment,omitempty"`
}

// qosicEndpoint describes one QosicBridge operation.
type qosicEndpoint struct {
	kind     txKind   // 0 for the status query
	operator operator // operatorAny when either clientid is accepted
	target   string
}

var qosicEndpoints = map[string]qosicEndpoint{
	"requestpayment":         {kindCollection, operatorMTN, TargetMomoCollect},
	"requestpaymentmv":       {kindCollection, operatorMoov, TargetMomoCollect},
	"deposit":                {kindPayout, operatorMTN, TargetMomoPayout},
	"depositmv":              {kindPayout, operatorMoov, TargetMomoPayout},
	"gettransactionstatus":   {0, operatorAny, TargetMomoStatus},
	"gettransactionstatusmv": {0, operatorAny, TargetMomoStatus},
	"settlement":             {kindSettlement, operatorAny, TargetMomoPayout},
}

func (s *Sim) serveQosic(ctx *fasthttp.RequestCtx, op string) {
	ep, ok := qosicEndpoints[op]
	if !ok {
		writeQosic(ctx, fasthttp.StatusNotFound, qosicResponse{ResponseCode: qosicFailed, ResponseMsg: "NOT FOUND"})
		return
	}
	if !ctx.IsPost() {
		writeQosic(ctx, fasthttp.StatusMethodNotAllowed, qosicResponse{ResponseCode: qosicFailed, ResponseMsg: "METHOD NOT ALLOWED"})
		return
	}
	acct := s.momo.authenticate(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
	if acct == nil {
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Basic realm="QosicBridge"`)
		writeQosic(ctx, fasthttp.StatusUnauthorized, qosicResponse{ResponseCode: qosicFailed, ResponseMsg: "UNAUTHORIZED"})
		return
	}
	req, ok := parseQosic(ctx, acct, ep)
	if !ok {
		return
	}
	if ep.kind == 0 {
		s.qosicStatus(ctx, acct, req)
		return
	}
	s.qosicWrite(ctx, acct, ep, req)
}

// parseQosic decodes and validates a request; on failure it has answered.
func parseQosic(ctx *fasthttp.RequestCtx, acct *momoAccount, ep qosicEndpoint) (qosicRequest, bool) {
	var req qosicRequest
	invalid := func(why string) (qosicRequest, bool) {
		writeQosic(ctx, fasthttp.StatusBadRequest, qosicResponse{ResponseCode: qosicFailed, ResponseMsg: "INVALID REQUEST", TransRef: req.TransRef, Comment: why})
		return req, false
	}
	if err := decodeQosic(ctx, &req); err != nil {
		return invalid(err.Error())
	}
	if !acct.ownsClientID(req.ClientID, ep.operator) {
		writeQosic(ctx, fasthttp.StatusNotFound, qosicResponse{ResponseCode: qosicFailed, ResponseMsg: "INVALID CLIENT ID", TransRef: req.TransRef})
		return req, false
	}
	if req.TransRef == "" || len(req.TransRef) > 128 {
		return invalid("transref is required (at most 128 characters)")
	}
	if ep.kind == 0 {
		return req, true
	}
	if _, err := parseXOF(req.Amount); err != nil {
		return invalid(err.Error())
	}
	if ep.kind != kindSettlement {
		phone, ok := parseMSISDN(req.MSISDN)
		if !ok {
			return invalid(fmt.Sprintf("msisdn %q is not a Benin phone number", req.MSISDN))
		}
		req.phone = phone
	}
	return req, true
}

// qosicWrite runs a collection, payout or settlement with its fault.
func (s *Sim) qosicWrite(ctx *fasthttp.RequestCtx, acct *momoAccount, ep qosicEndpoint, req qosicRequest) {
	_, known := acct.lookup(req.TransRef)
	d := s.drawFault(ep.target, known)
	if d.kind == faultTimeout {
		if d.applied {
			s.momoApply(acct, ep, req, false)
		}
		s.hang(ctx)
		return
	}
	tx, fresh, conflict := s.momoApply(acct, ep, req, d.kind == faultFail)
	if conflict {
		writeQosic(ctx, fasthttp.StatusConflict, qosicResponse{ResponseCode: qosicFailed, ResponseMsg: "DUPLICATE TRANSREF", TransRef: req.TransRef})
		return
	}
	status := fasthttp.StatusOK
	if fresh && tx.status == statusPending {
		status = fasthttp.StatusAccepted
	}
	writeQosic(ctx, status, s.renderTx(tx, ep.operator == operatorMoov))
}

// momoApply records and performs the operation under req.TransRef unless
// the reference is known, in which case it returns the known transaction.
// conflict reports a known reference of another kind.
func (s *Sim) momoApply(acct *momoAccount, ep qosicEndpoint, req qosicRequest, injectFail bool) (tx momoTx, fresh, conflict bool) {
	s.beginChange()
	tx, fresh, conflict = s.momoRecord(acct, ep, req, injectFail)
	s.endChange()
	if fresh && !injectFail {
		s.schedule(acct, tx)
	}
	return tx, fresh, conflict
}

// momoRecord is momoApply's change to the books.
func (s *Sim) momoRecord(acct *momoAccount, ep qosicEndpoint, req qosicRequest, injectFail bool) (tx momoTx, fresh, conflict bool) {
	sh := acct.shard(req.TransRef)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[req.TransRef]; ok {
		return *old, false, old.kind != ep.kind
	}
	amount, _ := parseXOF(req.Amount) // validated by parseQosic
	t := &momoTx{
		kind: ep.kind, operator: ep.operator, transref: req.TransRef, service: s.ids.nextService(),
		msisdn: req.phone, amount: amount, status: statusPending,
	}
	if injectFail {
		t.fail(outcomeInjected)
	} else {
		s.perform(acct, t)
	}
	sh.m[req.TransRef] = t
	return *t, true, false
}

// perform moves the money of a new transaction, or leaves it pending for
// later; it runs under the transaction's shard lock.
func (s *Sim) perform(acct *momoAccount, t *momoTx) {
	switch {
	case t.kind == kindCollection && t.operator == operatorMoov:
		if s.momo.wallets.debit(t.msisdn, t.amount) {
			acct.collected.Add(t.amount)
			t.status = statusSucceeded
		} else {
			t.fail(outcomeMoovShort)
		}
	case t.kind == kindPayout:
		if tryDebit(&acct.collected, t.amount) {
			s.momo.wallets.credit(t.msisdn, t.amount)
			t.status = statusSucceeded
		} else {
			t.fail(outcomeMerchantShort)
		}
	case t.kind == kindSettlement:
		s.startSettlement(acct, t)
	}
}

// schedule arranges what happens later to a pending transaction: an MTN
// payer's approval, or a settlement's arrival at the issuer.
func (s *Sim) schedule(acct *momoAccount, tx momoTx) {
	if tx.status != statusPending {
		return
	}
	delay, complete := s.cfg.SweepDelay, s.completeSettlement
	if tx.kind == kindCollection {
		if tx.msisdn%10000 == neverApproves {
			return // the payer never answers; the engine gives up on its own
		}
		delay, complete = s.cfg.AsyncDelay, s.approveMTN
	}
	s.scheduled.Add(1)
	s.after(delay, func() {
		defer s.scheduled.Add(-1)
		complete(acct, tx.transref)
	})
}

// approveMTN is the payer's answer to an MTN collection.
func (s *Sim) approveMTN(acct *momoAccount, ref string) {
	if tx, done := s.payerAnswers(acct, ref); done {
		s.hooks.paymentStatus(acct, tx)
	}
}

// payerAnswers debits the payer of a pending MTN collection, or fails it
// when the wallet is short. After Close it does nothing: the collection
// stays pending in the saved world, and the next start resumes it.
func (s *Sim) payerAnswers(acct *momoAccount, ref string) (momoTx, bool) {
	s.beginChange()
	defer s.endChange()
	if s.closed.Load() {
		return momoTx{}, false
	}
	sh := acct.shard(ref)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t, ok := sh.m[ref]
	if !ok || t.status != statusPending {
		return momoTx{}, false
	}
	if s.momo.wallets.debit(t.msisdn, t.amount) {
		acct.collected.Add(t.amount)
		t.status = statusSucceeded
	} else {
		t.fail(outcomeMTNShort)
	}
	return *t, true
}

// startSettlement debits the collection balance of a new settlement.
func (s *Sim) startSettlement(acct *momoAccount, t *momoTx) {
	cents := xofToUSDCents(t.amount, s.cfg.CostRate)
	t.usdCents = cents
	if cents <= 0 {
		t.fail(outcomeBelowCent)
		return
	}
	if !tryDebit(&acct.collected, t.amount) {
		t.fail(outcomeMerchantShort)
		return
	}
	s.momo.settled.Add(t.amount)
}

// completeSettlement credits the issuer float with a settlement's USD.
func (s *Sim) completeSettlement(acct *momoAccount, ref string) {
	tx, balance, done := s.settlementArrives(acct, ref)
	if !done {
		return
	}
	s.hooks.floatCredited(floatCredit{
		cents: tx.usdCents, balance: balance, source: "sweep", reference: tx.transref,
		account: acct.Name, xof: tx.amount, rate: s.cfg.CostRate,
	})
}

// settlementArrives marks a pending settlement done and credits the float;
// after Close it does nothing, as payerAnswers.
func (s *Sim) settlementArrives(acct *momoAccount, ref string) (tx momoTx, balance int64, done bool) {
	s.beginChange()
	defer s.endChange()
	if s.closed.Load() {
		return momoTx{}, 0, false
	}
	sh := acct.shard(ref)
	sh.mu.Lock()
	t, ok := sh.m[ref]
	if !ok || t.status != statusPending {
		sh.mu.Unlock()
		return momoTx{}, 0, false
	}
	t.status = statusSucceeded
	tx = *t
	sh.mu.Unlock()
	return tx, s.issuer.creditFloat(tx.usdCents, &s.issuer.sweptIn), true
}

// xofToUSDCents converts at rate XOF per USD, rounding down to the cent.
func xofToUSDCents(xof int64, rate decimal.Decimal) int64 {
	return decimal.NewFromInt(xof).Mul(decimal.NewFromInt(100)).Div(rate).Floor().IntPart()
}

// decodeQosic reads a request body: by hand for the usual flat object, by
// encoding/json for anything else.
func decodeQosic(ctx *fasthttp.RequestCtx, req *qosicRequest) error {
	err := scanFlatObject(ctx.PostBody(), func(key, val []byte, quoted bool) {
		v := scalarText(val, quoted)
		switch string(key) {
		case "msisdn":
			req.MSISDN = v
		case "amount":
			req.Amount = flexString(v)
		case "transref":
			req.TransRef = v
		case "clientid":
			req.ClientID = v
		}
	})
	if errors.Is(err, errNotFlat) {
		*req = qosicRequest{}
		return decodeJSON(ctx, req)
	}
	return err
}

// scalarText is a scalar's text, with null as "".
func scalarText(val []byte, quoted bool) string {
	if !quoted && string(val) == "null" {
		return ""
	}
	return string(val)
}

// writeQosic answers a Qosic response without reflection.
func writeQosic(ctx *fasthttp.RequestCtx, status int, r qosicResponse) {
	var arr [256]byte
	b := append(arr[:0], `{"responsecode":`...)
	b = appendJSONString(b, r.ResponseCode)
	b = append(b, `,"responsemsg":`...)
	b = appendJSONString(b, r.ResponseMsg)
	for _, f := range [...]struct{ name, value string }{{"transref", r.TransRef}, {"serviceref", r.ServiceRef}, {"comment", r.Comment}} {
		if f.value != "" {
			b = append(b, ',', '"')
			b = append(b, f.name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, f.value)
		}
	}
	b = append(b, '}')
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.SetBody(b)
}

func (t *momoTx) fail(why outcome) {
	t.status = statusFailed
	t.outcome = why
}

// qosicStatus answers gettransactionstatus(mv).
func (s *Sim) qosicStatus(ctx *fasthttp.RequestCtx, acct *momoAccount, req qosicRequest) {
	switch s.drawFault(TargetMomoStatus, false).kind {
	case faultTimeout:
		s.hang(ctx)
		return
	case faultFail:
		writeQosic(ctx, fasthttp.StatusServiceUnavailable, qosicResponse{ResponseCode: qosicUnavailable, ResponseMsg: "SERVICE UNAVAILABLE"})
		return
	}
	tx, ok := acct.lookup(req.TransRef)
	if !ok {
		writeQosic(ctx, fasthttp.StatusOK, qosicResponse{ResponseCode: qosicNotFound, ResponseMsg: "TRANSACTION NOT FOUND", TransRef: req.TransRef})
		return
	}
	writeQosic(ctx, fasthttp.StatusOK, s.renderTx(tx, false))
}

func (a *momoAccount) lookup(ref string) (momoTx, bool) {
	sh := a.shard(ref)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t, ok := sh.m[ref]
	if !ok {
		return momoTx{}, false
	}
	return *t, true
}

// renderTx answers with a transaction's current status; moov selects the
// Moov endpoints' success code "0".
func (s *Sim) renderTx(tx momoTx, moov bool) qosicResponse {
	r := qosicResponse{TransRef: tx.transref, ServiceRef: serviceRef(tx.service), Comment: tx.outcome.reason()}
	if tx.kind == kindSettlement && tx.status != statusFailed {
		r.Comment = usd(tx.usdCents) + " USD at " + s.cfg.CostRate.String()
	}
	switch tx.status {
	case statusSucceeded:
		r.ResponseCode, r.ResponseMsg = qosicOK, "SUCCESSFUL"
		if moov {
			r.ResponseCode = qosicOKMoov
		}
	case statusPending:
		r.ResponseCode, r.ResponseMsg = qosicPending, "PENDING"
	default:
		r.ResponseCode, r.ResponseMsg = tx.outcome.code(), "FAILED"
	}
	return r
}
