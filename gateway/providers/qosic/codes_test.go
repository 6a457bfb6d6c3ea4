package qosic

import (
	"testing"

	"pgregory.net/rapid"

	"kash/engine"
)

func TestMoovCollectCodes(t *testing.T) {
	cases := map[string]engine.Outcome{
		"0": engine.OutcomeSucceeded, "00": engine.OutcomeSucceeded,
		"8": engine.OutcomeFailed, "92": engine.OutcomeFailed, "94": engine.OutcomeFailed,
		"95": engine.OutcomeFailed, "10": engine.OutcomeFailed, "91": engine.OutcomeFailed,
		"98": engine.OutcomeFailed, "99": engine.OutcomeFailed, "-1": engine.OutcomeFailed,
		"01": engine.OutcomePending,
		"":   engine.OutcomeUnknown, "7": engine.OutcomeUnknown, "529x": engine.OutcomeUnknown,
		"-0": engine.OutcomeUnknown,
	}
	for code, want := range cases {
		if got := moovCollectOutcome(code, "SOMETHING"); got != want {
			t.Errorf("moov code %q: %s, want %s", code, got, want)
		}
	}
}

func TestStatusCodes(t *testing.T) {
	cases := []struct {
		code, msg string
		want      engine.Outcome
	}{
		{"0", "", engine.OutcomeSucceeded},
		{"00", "SUCCESSFUL", engine.OutcomeSucceeded},
		{"", "Transaction Successful", engine.OutcomeSucceeded},
		{"", "SUCCESS", engine.OutcomeSucceeded},
		{"01", "PENDING", engine.OutcomePending},
		// A known code wins over the wording: pending stays pending.
		{"01", "Request successfully sent to the subscriber", engine.OutcomePending},
		{"529", "FAILED", engine.OutcomeFailed},
		{"-1", "FAILED", engine.OutcomeFailed},
		{"-1", "", engine.OutcomeFailed},
		{"", "FAILED", engine.OutcomeFailed},
		{"", "failed", engine.OutcomeFailed},
		// The original product read "UNSUCCESSFUL" as a success.
		{"", "UNSUCCESSFUL", engine.OutcomeUnknown},
		{"", "Transaction not successful", engine.OutcomeUnknown},
		{"", "Payment failed successfully", engine.OutcomeUnknown}, // contradictory: never guess
		{"77", "PROCESSING", engine.OutcomeUnknown},
		{"", "", engine.OutcomeUnknown},
	}
	for _, c := range cases {
		if got := statusOutcome(c.code, c.msg); got != c.want {
			t.Errorf("status %q %q: %s, want %s", c.code, c.msg, got, c.want)
		}
	}
}

func TestPayoutCodes(t *testing.T) {
	cases := map[string]engine.Outcome{
		"00": engine.OutcomeSucceeded, "0": engine.OutcomeSucceeded,
		"01": engine.OutcomePending,
		"-1": engine.OutcomeFailed, "529": engine.OutcomeFailed, "8": engine.OutcomeFailed,
		"3": engine.OutcomeUnknown,
	}
	for code, want := range cases {
		if got := payoutOutcome(code, "X"); got != want {
			t.Errorf("payout code %q: %s, want %s", code, got, want)
		}
	}
}

// TestUnknownCodesAreNeverGuessed: with no success or failure wording, a
// code outside the known set always maps to unknown.
func TestUnknownCodesAreNeverGuessed(t *testing.T) {
	known := map[string]bool{"01": true, "529": true}
	for c := range moovFailed {
		known[c] = true
	}
	rapid.Check(t, func(t *rapid.T) {
		code := rapid.StringMatching(`-?[0-9A-Z]{1,4}`).Draw(t, "code")
		if known[code] || isZeroCode(code) {
			t.Skip()
		}
		for name, f := range map[string]func(string, string) engine.Outcome{
			"status": statusOutcome, "moov": moovCollectOutcome, "payout": payoutOutcome,
		} {
			if got := f(code, "IN PROGRESS"); got != engine.OutcomeUnknown {
				t.Fatalf("%s(%q) = %s, want unknown", name, code, got)
			}
		}
	})
}

func TestMSISDN(t *testing.T) {
	cases := map[string]string{
		"+22990000001": "22990000001", "22990000001": "22990000001",
		" +2290190000001 ": "2290190000001", "+229 90": "", "": "", "+": "",
	}
	for in, want := range cases {
		if got := msisdn(in); got != want {
			t.Errorf("msisdn(%q) = %q, want %q", in, got, want)
		}
	}
}
