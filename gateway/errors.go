package gateway

import (
	"context"
	"errors"
	"net/http"

	"kash/engine"
	"kash/persistence"
)

// The API's error codes (API.md, Conventions).
const (
	codeInvalidJSON            = "invalid_json"
	codeIdempotencyKeyRequired = "idempotency_key_required"
	codeInvalidField           = "invalid_field"
	codeInvalidAmount          = "invalid_amount"
	codeAmountTooSmall         = "amount_too_small"
	codeAmountTooLarge         = "amount_too_large"
	codeUnsupportedCurrency    = "unsupported_currency"
	codeInvalidPhone           = "invalid_phone"
	codeUnsupportedOperator    = "unsupported_operator"
	codeInsufficientBalance    = "insufficient_balance"
	codeLimitExceeded          = "limit_exceeded"
	codeIdempotencyKeyReused   = "idempotency_key_reused"
	codeUnauthorized           = "unauthorized"
	codeInvalidCode            = "invalid_code"
	codeForbidden              = "forbidden"
	codeKYCRequired            = "kyc_required"
	codeNotFound               = "not_found"
	codeCardNotActive          = "card_not_active"
	codeInvalidState           = "invalid_state"
	codeKYCExists              = "kyc_exists"
	codeIdempotencyInProgress  = "idempotency_in_progress"
	codePayloadTooLarge        = "payload_too_large"
	codeUnsupportedMediaType   = "unsupported_media_type"
	codeRateLimited            = "rate_limited"
	codeUnavailable            = "unavailable"
	codeInternal               = "internal"
)

// codeStatus is the HTTP status of every code: one code, one status.
var codeStatus = map[string]int{
	codeInvalidJSON:            http.StatusBadRequest,
	codeIdempotencyKeyRequired: http.StatusBadRequest,
	codeInvalidField:           http.StatusUnprocessableEntity,
	codeInvalidAmount:          http.StatusUnprocessableEntity,
	codeAmountTooSmall:         http.StatusUnprocessableEntity,
	codeAmountTooLarge:         http.StatusUnprocessableEntity,
	codeUnsupportedCurrency:    http.StatusUnprocessableEntity,
	codeInvalidPhone:           http.StatusUnprocessableEntity,
	codeUnsupportedOperator:    http.StatusUnprocessableEntity,
	codeInsufficientBalance:    http.StatusUnprocessableEntity,
	codeLimitExceeded:          http.StatusUnprocessableEntity,
	codeIdempotencyKeyReused:   http.StatusUnprocessableEntity,
	codeUnauthorized:           http.StatusUnauthorized,
	codeInvalidCode:            http.StatusUnauthorized,
	codeForbidden:              http.StatusForbidden,
	codeKYCRequired:            http.StatusForbidden,
	codeNotFound:               http.StatusNotFound,
	codeCardNotActive:          http.StatusConflict,
	codeInvalidState:           http.StatusConflict,
	codeKYCExists:              http.StatusConflict,
	codeIdempotencyInProgress:  http.StatusConflict,
	codePayloadTooLarge:        http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType:   http.StatusUnsupportedMediaType,
	codeRateLimited:            http.StatusTooManyRequests,
	codeUnavailable:            http.StatusServiceUnavailable,
	codeInternal:               http.StatusInternalServerError,
}

// apiError is an error the client sees. Its message is written for the
// client and never carries internals; cause (logged for 5xx only) may.
type apiError struct {
	code       string
	message    string
	field      string
	retryAfter int // seconds; for 429 and 503
	cause      error
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// Unwrap returns the internal cause, for logs.
func (e *apiError) Unwrap() error { return e.cause }

func (e *apiError) status() int { return codeStatus[e.code] }

func newError(code, message string) *apiError { return &apiError{code: code, message: message} }

func fieldError(code, field, message string) *apiError {
	return &apiError{code: code, field: field, message: message}
}

func internalError(cause error) *apiError {
	return &apiError{code: codeInternal, message: "Something went wrong on our side; please try again.", cause: cause}
}

func unavailable(message string, cause error) *apiError {
	return &apiError{code: codeUnavailable, message: message, retryAfter: 1, cause: cause}
}

var (
	errNotFound     = newError(codeNotFound, "No such resource.")
	errUnauthorized = newError(codeUnauthorized, "A valid bearer token is required.")
)

// engineError maps an error of the engine or of persistence to the API:
// business-rule sentinels to their codes (naming amountField for amount
// rules), deadlines and backpressure to 503, anything else to 500.
func engineError(err error, amountField string) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, engine.ErrNotFound):
		return errNotFound
	case errors.Is(err, engine.ErrCardNotActive):
		return newError(codeCardNotActive, "The card is not active.")
	case errors.Is(err, engine.ErrInvalidState):
		return newError(codeInvalidState, "The resource is not in a state that allows this.")
	case errors.Is(err, engine.ErrInsufficientBalance):
		return fieldError(codeInsufficientBalance, amountField, "The amount is more than the card's available balance.")
	case errors.Is(err, engine.ErrAmountTooSmall):
		return fieldError(codeAmountTooSmall, amountField, "The amount is below the minimum.")
	case errors.Is(err, engine.ErrAmountTooLarge):
		return fieldError(codeAmountTooLarge, amountField, "The amount is above the maximum.")
	case errors.Is(err, engine.ErrLimitExceeded):
		return fieldError(codeLimitExceeded, amountField, "The amount would exceed your daily or monthly limit.")
	case errors.Is(err, engine.ErrInvalidAmount):
		return fieldError(codeInvalidAmount, amountField, "The amount is not valid.")
	case errors.Is(err, engine.ErrUnsupportedCurrency):
		return fieldError(codeUnsupportedCurrency, "currency", "The currency is not supported here.")
	case errors.Is(err, engine.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		return unavailable("The service is busy; retry the same request (with the same Idempotency-Key) shortly.", err)
	case errors.Is(err, persistence.ErrBadCursor):
		return fieldError(codeInvalidField, "cursor", "The cursor is not valid.")
	}
	return internalError(err)
}
