package gateway

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputNeverCrashes sends malformed and hostile bodies to the money
// routes: each gets its precise error, nothing is created, and the server
// keeps serving.
func TestBadInputNeverCrashes(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000061")
	card := activeCard(e, f, token, "c", "20.00")
	valid := `"amount":"10.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"`
	cases := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"empty", ``, 400, "invalid_json", ""},
		{"malformed", `{"amount":`, 400, "invalid_json", ""},
		{"array", `[` + "{" + valid + "}" + `]`, 400, "invalid_json", ""},
		{"string", `"hello"`, 400, "invalid_json", ""},
		{"null", `null`, 400, "invalid_json", ""},
		{"trailing data", `{` + valid + `} {}`, 400, "invalid_json", ""},
		{"duplicate key", `{` + valid + `,"amount":"11.00"}`, 400, "invalid_json", "amount"},
		{"invalid utf-8", "{\"nickname\":\"\xff\xfe\"," + valid + "}", 400, "invalid_json", ""},
		{"unknown field", `{` + valid + `,"admin":true}`, 422, "invalid_field", "admin"},
		{"field case", `{"Amount":"10.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_field", "Amount"},
		{"number amount", `{"amount":10,"currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"float amount", `{"amount":10.5,"currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"bool amount", `{"amount":true,"currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"negative", `{"amount":"-10.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"zero", `{"amount":"0.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"too many decimals", `{"amount":"10.001","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"xof decimals", `{"amount":"1000.5","currency":"XOF","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"exponent", `{"amount":"1e3","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"spaces", `{"amount":" 10.00","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"huge", `{"amount":"999999999999999999999.99","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "amount_too_large", "amount"},
		{"big but parseable", `{"amount":"99999999999999.99","currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "amount_too_large", "amount"},
		{"missing amount", `{"currency":"USD","phone":"+22990000001","operator":"mtn-bj"}`, 422, "invalid_amount", "amount"},
		{"euro", `{"amount":"10.00","currency":"EUR","phone":"+22990000001","operator":"mtn-bj"}`, 422, "unsupported_currency", "currency"},
		{"lower-case currency", `{"amount":"10.00","currency":"usd","phone":"+22990000001","operator":"mtn-bj"}`, 422, "unsupported_currency", "currency"},
		{"number currency", `{"amount":"10.00","currency":840,"phone":"+22990000001","operator":"mtn-bj"}`, 422, "unsupported_currency", "currency"},
		{"french phone", `{"amount":"10.00","currency":"USD","phone":"+33612345678","operator":"mtn-bj"}`, 422, "invalid_phone", "phone"},
		{"9 digits", `{"amount":"10.00","currency":"USD","phone":"+229900000011","operator":"mtn-bj"}`, 422, "invalid_phone", "phone"},
		{"no plus", `{"amount":"10.00","currency":"USD","phone":"22990000001","operator":"mtn-bj"}`, 422, "invalid_phone", "phone"},
		{"number phone", `{"amount":"10.00","currency":"USD","phone":22990000001,"operator":"mtn-bj"}`, 422, "invalid_phone", "phone"},
		{"operator", `{"amount":"10.00","currency":"USD","phone":"+22990000001","operator":"orange-ci"}`, 422, "unsupported_operator", "operator"},
		{"missing operator", `{"amount":"10.00","currency":"USD","phone":"+22990000001"}`, 422, "unsupported_operator", "operator"},
		{"nickname too long", `{"nickname":"` + strings.Repeat("n", 51) + `",` + valid + `}`, 422, "invalid_field", "nickname"},
		{"nickname number", `{"nickname":7,` + valid + `}`, 422, "invalid_field", "nickname"},
		{"nickname control", `{"nickname":"a\u0000b",` + valid + `}`, 422, "invalid_field", "nickname"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(request{method: "POST", path: "/v1/cards", token: token, body: []byte(c.body),
				headers: map[string]string{"Idempotency-Key": "bad-" + string(rune('A'+i))}})
			if c.field != "" {
				r.wantError(t, c.status, c.code, c.field)
			} else {
				r.wantError(t, c.status, c.code)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		e.do(request{method: "POST", path: "/v1/cards", token: token, body: []byte(`{` + valid + `}`),
			contentType: "text/plain", headers: map[string]string{"Idempotency-Key": "ct"}}).
			wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		e.do(request{method: "POST", path: "/v1/cards/" + card + "/fundings", token: token, body: []byte(`amount=10`),
			contentType: "application/x-www-form-urlencoded", headers: map[string]string{"Idempotency-Key": "ct2"}}).
			wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
	t.Run("oversized json", func(t *testing.T) {
		big := `{"nickname":"` + strings.Repeat("x", 70<<10) + `",` + valid + `}`
		e.do(request{method: "POST", path: "/v1/cards", token: token, body: []byte(big),
			headers: map[string]string{"Idempotency-Key": "big"}}).
			wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
		e.headersOnly("POST", "/v1/quotes", token, "application/json", 1<<30).
			wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	})
	t.Run("chunked oversized", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.url+"/v1/quotes", struct{ *bytes.Reader }{bytes.NewReader(bytes.Repeat([]byte(" "), 100<<10))})
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		e.send(req).wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	})
	if f.issued != 1 {
		t.Fatalf("%d cards issued from bad input", f.issued)
	}
	e.get("/v1/cards/"+card, token).want(t, http.StatusOK)
	e.get("/v1/nope", token).wantError(t, http.StatusNotFound, "not_found")
	e.do(request{method: "DELETE", path: "/v1/me", token: token}).wantError(t, http.StatusNotFound, "not_found")
	e.get("/v1/cards/", token).wantError(t, http.StatusNotFound, "not_found")
}
