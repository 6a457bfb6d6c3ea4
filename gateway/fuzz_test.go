package gateway

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"kash/engine"
)

// The request decoders take any bytes a client sends. These fuzz targets
// check that none panics and that whatever a decoder accepts obeys the
// API's rules. Seeds are in testdata/fuzz/<FuzzName>/; run one with
// go test -fuzz=FuzzDecodeIssueRequest ./gateway/.

func checkError(t *testing.T, e *apiError) {
	t.Helper()
	if e == nil {
		return
	}
	if _, ok := codeStatus[e.code]; !ok {
		t.Fatalf("unknown error code %q", e.code)
	}
	if e.message == "" || !utf8.ValidString(e.message) {
		t.Fatalf("bad message %q", e.message)
	}
}

func checkPayment(t *testing.T, r paymentRequest, currencies ...engine.Currency) {
	t.Helper()
	ok := false
	for _, c := range currencies {
		ok = ok || r.Amount.Currency == c
	}
	if !ok || !r.Amount.IsPositive() {
		t.Fatalf("accepted amount %v", r.Amount)
	}
	if !validPhone(r.Phone) {
		t.Fatalf("accepted phone %q", r.Phone)
	}
	if r.Operator != engine.OperatorMTN && r.Operator != engine.OperatorMoov {
		t.Fatalf("accepted operator %q", r.Operator)
	}
	if utf8.RuneCountInString(r.Nickname) > 50 || !utf8.ValidString(r.Nickname) {
		t.Fatalf("accepted nickname %q", r.Nickname)
	}
	// What was accepted round-trips through the engine's own parser.
	again, err := engine.ParseAmount(r.Amount.String(), r.Amount.Currency)
	if err != nil || again != r.Amount {
		t.Fatalf("amount %v does not round-trip: %v %v", r.Amount, again, err)
	}
}

func FuzzParseObject(f *testing.F) {
	f.Add([]byte(`{"a":"b","c":[1,2,{"d":null}]}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{} []`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseObject(body, true)
		checkError(t, err)
		if err != nil {
			return
		}
		if len(o.order) != len(o.fields) {
			t.Fatalf("order %v and fields %v differ", o.order, o.fields)
		}
		for _, v := range o.fields {
			if !json.Valid(v) {
				t.Fatalf("field value %q is not JSON", v)
			}
		}
		if err := o.allow(); err != nil && (len(o.order) == 0 || err.field != o.order[0]) {
			t.Fatalf("allow() named %q for fields %v", err.field, o.order)
		}
	})
}

func FuzzDecodeIssueRequest(f *testing.F) {
	f.Add([]byte(`{"nickname":"Travel","amount":"25.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`))
	f.Add([]byte(`{"amount":"20000","currency":"XOF","phone":"+2290190000001","operator":"moov-bj","quote_id":"qt_1"}`))
	f.Add([]byte(`{"amount":25,"currency":"USD"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeIssueRequest(body)
		checkError(t, err)
		if err == nil {
			checkPayment(t, r, engine.USD, engine.XOF)
		}
	})
}

func FuzzDecodeWithdrawalRequest(f *testing.F) {
	f.Add([]byte(`{"amount":"0.01","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`))
	f.Add([]byte(`{"amount":"1000","currency":"XOF","phone":"+22990000001","operator":"mtn-bj"}`))
	f.Add([]byte(`{"amount":"-1.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeWithdrawalRequest(body)
		checkError(t, err)
		if err == nil {
			checkPayment(t, r, engine.USD)
			if r.Nickname != "" {
				t.Fatal("a withdrawal accepted a nickname")
			}
		}
	})
}

func FuzzDecodeQuoteRequest(f *testing.F) {
	f.Add([]byte(`{"operation":"issuance","amount":"10.00","currency":"USD"}`))
	f.Add([]byte(`{"operation":"withdrawal","amount":"5760","currency":"XOF"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeQuoteRequest(body)
		checkError(t, err)
		if err == nil && (!r.Operation.Valid() || !r.Amount.IsPositive() || !r.Amount.Currency.Valid()) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzDecodeRates(f *testing.F) {
	f.Add([]byte(`{"cost_rate":"600","funding_margin":"0.08","withdrawal_spread":"0.04"}`))
	f.Add([]byte(`{"cost_rate":600,"funding_margin":0.08,"withdrawal_spread":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRates(body, engine.DefaultRates())
		checkError(t, err)
		if err == nil {
			if verr := r.Validate(); verr != nil {
				t.Fatalf("accepted invalid rates: %v", verr)
			}
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(paymentEvent("evt_1", "pay-1", "succeeded")))
	f.Add([]byte(`{"id":"evt_3","type":"card.spend","data":{"card_reference":"crd_1","amount":"2.50","currency":"USD"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodeEnvelope(body)
		checkError(t, err)
		if err == nil && (ev.ID == "" || ev.Type == "") {
			t.Fatalf("accepted %+v", ev)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"5.00", "0.01", "1500", "0", "-1", "1e3", "00.1", "999999999999999.99", "1.", ".5"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, dollars bool) {
		cur := engine.XOF
		if dollars {
			cur = engine.USD
		}
		m, err := parseAmount("amount", s, cur)
		checkError(t, err)
		if err == nil {
			if !m.IsPositive() || m.Currency != cur || m.String() != normalise(s, cur) {
				t.Fatalf("%q parsed as %v", s, m)
			}
		}
	})
}

// normalise pads s to the currency's digits, as Money.String prints it.
func normalise(s string, c engine.Currency) string {
	if c.Digits() == 0 {
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			for len(s)-i-1 < int(c.Digits()) {
				s += "0"
			}
			return s
		}
	}
	return s + ".00"
}
