package qosic

import (
	"strings"

	"kash/engine"
)

// The response codes below are the ones the original product met in
// production, plus what QosicBridge documents. Anything else is unknown:
// the caller asks for the status of the same transref later.

// moovFailed are the Moov codes that mean the collection did not happen
// (insufficient balance, wrong PIN, subscriber not found, timeouts on the
// operator side that Moov reports as final, generic failure).
var moovFailed = map[string]bool{
	"8": true, "92": true, "94": true, "95": true, "10": true,
	"91": true, "98": true, "99": true, "-1": true,
}

const (
	codePending  = "01"
	codeMTNShort = "529" // MTN: payer's balance insufficient
	codeFailed   = "-1"
	codeNotFound = "404"
	msgFailed    = "FAILED"
	msgNotFound  = "TRANSACTION NOT FOUND"
)

// isZeroCode reports "0", "00", ... : success, whatever the padding (MTN
// endpoints and status answers say "00", Moov endpoints "0").
func isZeroCode(code string) bool {
	if code == "" {
		return false
	}
	return strings.Trim(code, "0") == ""
}

// isSuccessMessage recognises a success wording. The original product
// tested `"success" in msg`, which also matches "UNSUCCESSFUL": a failure
// would have been booked as paid. Negative wordings are excluded first.
func isSuccessMessage(msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "unsuccess") || strings.Contains(m, "not success") ||
		strings.Contains(m, "fail") || strings.Contains(m, "error") {
		return false
	}
	return strings.Contains(m, "success")
}

// byMessage is the fallback when the code says nothing we know: a clear
// success or failure wording decides, anything else stays unknown.
func byMessage(msg string) engine.Outcome {
	switch {
	case isSuccessMessage(msg):
		return engine.OutcomeSucceeded
	case strings.EqualFold(strings.TrimSpace(msg), msgFailed):
		return engine.OutcomeFailed
	}
	return engine.OutcomeUnknown
}

// statusOutcome maps a gettransactionstatus answer, and the answer of an MTN
// collection (which is a status: "01" while the payer has not approved).
// A known code wins over the message, so that a pending answer worded
// "request successfully sent" is never taken for a payment.
func statusOutcome(code, msg string) engine.Outcome {
	switch {
	case isZeroCode(code):
		return engine.OutcomeSucceeded
	case code == codePending:
		return engine.OutcomePending
	case code == codeMTNShort, code == codeFailed:
		return engine.OutcomeFailed
	}
	return byMessage(msg)
}

// moovCollectOutcome maps a synchronous Moov collection (requestpaymentmv).
func moovCollectOutcome(code, msg string) engine.Outcome {
	switch {
	case isZeroCode(code):
		return engine.OutcomeSucceeded
	case moovFailed[code]:
		return engine.OutcomeFailed
	case code == codePending:
		return engine.OutcomePending
	}
	return byMessage(msg)
}

// payoutOutcome maps deposit, depositmv and settlement answers.
func payoutOutcome(code, msg string) engine.Outcome {
	switch {
	case isZeroCode(code):
		return engine.OutcomeSucceeded
	case code == codePending:
		return engine.OutcomePending
	case code == codeMTNShort, moovFailed[code]:
		return engine.OutcomeFailed
	}
	return byMessage(msg)
}

// isNotFound recognises a status answer for a transref Qosic never recorded.
func isNotFound(code, msg string) bool {
	return code == codeNotFound || strings.EqualFold(strings.TrimSpace(msg), msgNotFound)
}
