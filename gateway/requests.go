package gateway

import (
	"github.com/shopspring/decimal"

	"kash/engine"
)

var one = decimal.NewFromInt(1)

// The request bodies of the API, each decoded by a pure function so that
// the decoders can be fuzzed on their own.

type otpRequest struct{ Phone string }

func decodeOTPRequest(body []byte) (otpRequest, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return otpRequest{}, err
	}
	if err := o.allow("phone"); err != nil {
		return otpRequest{}, err
	}
	phone, err := o.phone("phone")
	return otpRequest{Phone: phone}, err
}

type tokenRequest struct{ Phone, Code string }

func decodeTokenRequest(body []byte) (tokenRequest, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return tokenRequest{}, err
	}
	if err := o.allow("phone", "code"); err != nil {
		return tokenRequest{}, err
	}
	phone, err := o.phone("phone")
	if err != nil {
		return tokenRequest{}, err
	}
	code, _, err := o.str("code", true, codeInvalidField)
	if err != nil {
		return tokenRequest{}, err
	}
	if !sixDigits(code) {
		// A malformed code is a wrong code: the same answer for every guess.
		return tokenRequest{}, newError(codeInvalidCode, "The code is wrong or has expired.")
	}
	return tokenRequest{Phone: phone, Code: code}, nil
}

func sixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodeRefreshToken reads {"refresh_token"}; optional allows an empty
// body (logout).
func decodeRefreshToken(body []byte, optional bool) (string, *apiError) {
	o, err := parseObject(body, optional)
	if err != nil {
		return "", err
	}
	if err := o.allow("refresh_token"); err != nil {
		return "", err
	}
	tok, _, err := o.str("refresh_token", !optional, codeInvalidField)
	if err != nil {
		return "", err
	}
	if len(tok) > 512 {
		return "", fieldError(codeInvalidField, "refresh_token", "The refresh token is not valid.")
	}
	return tok, nil
}

func decodeProfile(body []byte) (string, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return "", err
	}
	if err := o.allow("name"); err != nil {
		return "", err
	}
	return o.text("name", true, 100)
}

func decodeDevice(body []byte) (string, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return "", err
	}
	if err := o.allow("device_id"); err != nil {
		return "", err
	}
	return o.text("device_id", true, 512)
}

type quoteRequest struct {
	Operation engine.Operation
	Amount    engine.Money
}

func decodeQuoteRequest(body []byte) (quoteRequest, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return quoteRequest{}, err
	}
	if err := o.allow("operation", "amount", "currency"); err != nil {
		return quoteRequest{}, err
	}
	op, err := o.oneOf("operation", true, codeInvalidField, "issuance", "funding", "withdrawal")
	if err != nil {
		return quoteRequest{}, err
	}
	amount, err := o.money(engine.USD, engine.XOF)
	return quoteRequest{Operation: engine.Operation(op), Amount: amount}, err
}

// paymentRequest is the body of the money POSTs: an amount to move and the
// wallet that pays or is paid.
type paymentRequest struct {
	Nickname string
	Amount   engine.Money
	Phone    string
	Operator engine.Operator
	QuoteID  string
}

func decodeIssueRequest(body []byte) (paymentRequest, *apiError) {
	return decodePayment(body, true, engine.USD, engine.XOF)
}

func decodeFundingRequest(body []byte) (paymentRequest, *apiError) {
	return decodePayment(body, false, engine.USD, engine.XOF)
}

func decodeWithdrawalRequest(body []byte) (paymentRequest, *apiError) {
	return decodePayment(body, false, engine.USD)
}

func decodePayment(body []byte, nickname bool, currencies ...engine.Currency) (paymentRequest, *apiError) {
	var r paymentRequest
	o, err := parseObject(body, false)
	if err != nil {
		return r, err
	}
	allowed := []string{"amount", "currency", "phone", "operator", "quote_id"}
	if nickname {
		allowed = append(allowed, "nickname")
	}
	if err := o.allow(allowed...); err != nil {
		return r, err
	}
	if nickname {
		if r.Nickname, err = o.text("nickname", false, 50); err != nil {
			return r, err
		}
	}
	if r.Amount, err = o.money(currencies...); err != nil {
		return r, err
	}
	if r.Phone, err = o.phone("phone"); err != nil {
		return r, err
	}
	if r.Operator, err = o.operator("operator"); err != nil {
		return r, err
	}
	r.QuoteID, err = o.text("quote_id", false, 64)
	return r, err
}

type walletRequest struct {
	Phone    string
	Operator engine.Operator
}

func decodeTerminateRequest(body []byte) (walletRequest, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return walletRequest{}, err
	}
	if err := o.allow("phone", "operator"); err != nil {
		return walletRequest{}, err
	}
	phone, err := o.phone("phone")
	if err != nil {
		return walletRequest{}, err
	}
	op, err := o.operator("operator")
	return walletRequest{Phone: phone, Operator: op}, err
}

// decodeEmpty accepts an empty body or {} (approve, freeze, unfreeze).
func decodeEmpty(body []byte) *apiError {
	o, err := parseObject(body, true)
	if err != nil {
		return err
	}
	return o.allow()
}

func decodeRejection(body []byte) (string, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return "", err
	}
	if err := o.allow("reason"); err != nil {
		return "", err
	}
	return o.text("reason", true, 500)
}

type sweepRequest struct {
	Provider string
	Amount   engine.Money
}

func decodeSweepRequest(body []byte) (sweepRequest, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return sweepRequest{}, err
	}
	if err := o.allow("provider", "amount", "currency"); err != nil {
		return sweepRequest{}, err
	}
	provider, err := o.text("provider", true, 64)
	if err != nil {
		return sweepRequest{}, err
	}
	if !engine.MomoAccount(provider).Valid() {
		return sweepRequest{}, fieldError(codeInvalidField, "provider", "The provider is not a valid account name.")
	}
	amount, err := o.money(engine.XOF)
	return sweepRequest{Provider: provider, Amount: amount}, err
}

// decodeRates reads a new rate set; the issuance fee stays what it was.
func decodeRates(body []byte, current engine.Rates) (engine.Rates, *apiError) {
	o, err := parseObject(body, false)
	if err != nil {
		return engine.Rates{}, err
	}
	if err := o.allow("cost_rate", "funding_margin", "withdrawal_spread"); err != nil {
		return engine.Rates{}, err
	}
	r := current
	if r.CostRate, err = o.decimalField("cost_rate"); err != nil {
		return engine.Rates{}, err
	}
	if r.FundingMargin, err = o.decimalField("funding_margin"); err != nil {
		return engine.Rates{}, err
	}
	if r.WithdrawalSpread, err = o.decimalField("withdrawal_spread"); err != nil {
		return engine.Rates{}, err
	}
	if verr := r.Validate(); verr != nil {
		field := "cost_rate"
		switch {
		case r.FundingMargin.IsNegative() || !r.FundingMargin.LessThan(one):
			field = "funding_margin"
		case r.WithdrawalSpread.IsNegative() || !r.WithdrawalSpread.LessThan(one):
			field = "withdrawal_spread"
		}
		return engine.Rates{}, fieldError(codeInvalidField, field, "The rates are not valid: cost_rate must be positive, "+
			"funding_margin and withdrawal_spread in [0, 1).")
	}
	return r, nil
}
