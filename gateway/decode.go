package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"kash/engine"
)

// object is a request body decoded strictly: exactly one JSON object, no
// duplicate keys, no trailing data, valid UTF-8. Field names match exactly
// (encoding/json alone would match them case-insensitively and accept
// unknown ones).
type object struct {
	fields map[string]json.RawMessage
	order  []string
}

var errInvalidJSON = newError(codeInvalidJSON, "The request body is not a valid JSON object.")

// parseObject decodes body. An empty body is an empty object only when
// emptyOK (POSTs that need no input accept an empty body or {}).
func parseObject(body []byte, emptyOK bool) (*object, *apiError) {
	o := &object{fields: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return o, nil
		}
		return nil, newError(codeInvalidJSON, "The request body is empty; a JSON object is expected.")
	}
	if !utf8.Valid(body) {
		return nil, newError(codeInvalidJSON, "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errInvalidJSON
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errInvalidJSON
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errInvalidJSON
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errInvalidJSON
		}
		if _, dup := o.fields[name]; dup {
			return nil, fieldError(codeInvalidJSON, name, "A field appears twice in the request body.")
		}
		o.fields[name] = raw
		o.order = append(o.order, name)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errInvalidJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, newError(codeInvalidJSON, "The request body has data after the JSON object.")
	}
	return o, nil
}

// allow rejects the first field not named (422 invalid_field).
func (o *object) allow(names ...string) *apiError {
	for _, f := range o.order {
		known := false
		for _, n := range names {
			if f == n {
				known = true
				break
			}
		}
		if !known {
			return fieldError(codeInvalidField, f, "Unknown field "+quoteName(f)+".")
		}
	}
	return nil
}

// quoteName shows a client-chosen field name in a message, bounded.
func quoteName(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// raw returns a field's value; null counts as absent.
func (o *object) raw(name string) (json.RawMessage, bool) {
	v, ok := o.fields[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// str returns a string field. A missing required field and a value of
// another JSON type are code errors naming the field.
func (o *object) str(name string, required bool, code string) (string, bool, *apiError) {
	v, ok := o.raw(name)
	if !ok {
		if required {
			return "", false, fieldError(code, name, "The field "+quoteName(name)+" is required.")
		}
		return "", false, nil
	}
	if len(v) == 0 || v[0] != '"' {
		return "", false, fieldError(code, name, "The field "+quoteName(name)+" must be a string.")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, fieldError(code, name, "The field "+quoteName(name)+" must be a string.")
	}
	return s, true, nil
}

// text returns a string field of at most maxLen characters with no control
// characters.
func (o *object) text(name string, required bool, maxLen int) (string, *apiError) {
	s, _, err := o.str(name, required, codeInvalidField)
	if err != nil {
		return "", err
	}
	if required && strings.TrimSpace(s) == "" {
		return "", fieldError(codeInvalidField, name, "The field "+quoteName(name)+" must not be empty.")
	}
	if utf8.RuneCountInString(s) > maxLen {
		return "", fieldError(codeInvalidField, name, "The field "+quoteName(name)+" is too long.")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", fieldError(codeInvalidField, name, "The field "+quoteName(name)+" has control characters.")
	}
	return s, nil
}

// oneOf returns a string field whose value is one of allowed.
func (o *object) oneOf(name string, required bool, code string, allowed ...string) (string, *apiError) {
	s, present, err := o.str(name, required, code)
	if err != nil || !present {
		return s, err
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", fieldError(code, name, "The field "+quoteName(name)+" must be one of "+strings.Join(allowed, ", ")+".")
}

// maxAmountDigits mirrors the engine's bound on an amount's integer part:
// a longer amount is well formed but too large.
const maxAmountDigits = 15

var amountSyntax = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// money reads the API's two top-level fields "amount" (a decimal string)
// and "currency" (one of allowed), as a positive amount.
func (o *object) money(allowed ...engine.Currency) (engine.Money, *apiError) {
	names := make([]string, len(allowed))
	for i, c := range allowed {
		names[i] = string(c)
	}
	cur, err := o.oneOf("currency", true, codeUnsupportedCurrency, names...)
	if err != nil {
		return engine.Money{}, err
	}
	return o.amount("amount", engine.Currency(cur))
}

// amount reads a positive decimal string of currency cur.
func (o *object) amount(name string, cur engine.Currency) (engine.Money, *apiError) {
	v, ok := o.raw(name)
	if !ok {
		return engine.Money{}, fieldError(codeInvalidAmount, name, "The field "+quoteName(name)+" is required.")
	}
	if v[0] != '"' {
		return engine.Money{}, fieldError(codeInvalidAmount, name, `Amounts are decimal strings, such as "5.00".`)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return engine.Money{}, fieldError(codeInvalidAmount, name, `Amounts are decimal strings, such as "5.00".`)
	}
	return parseAmount(name, s, cur)
}

// parseAmount applies the API's amount rules to s.
func parseAmount(name, s string, cur engine.Currency) (engine.Money, *apiError) {
	if amountSyntax.MatchString(s) {
		intPart, _, _ := strings.Cut(s, ".")
		if len(intPart) > maxAmountDigits {
			return engine.Money{}, fieldError(codeAmountTooLarge, name, "The amount is too large.")
		}
	}
	m, err := engine.ParseAmount(s, cur)
	if err != nil {
		msg := `The amount must be a positive decimal string, such as "5.00".`
		if cur.Valid() && cur.Digits() == 0 {
			msg = "The amount must be a positive whole number of " + string(cur) + `, such as "5000".`
		} else if cur.Valid() {
			msg = `The amount must be a positive decimal string with at most 2 decimals, such as "5.00".`
		}
		return engine.Money{}, fieldError(codeInvalidAmount, name, msg)
	}
	if !m.IsPositive() {
		return engine.Money{}, fieldError(codeInvalidAmount, name, "The amount must be greater than zero.")
	}
	return m, nil
}

// beninPhone is E.164 for Benin: +229 then 8 digits (the old plan) or 10
// (the 2024 plan, 01 prefix).
var beninPhone = regexp.MustCompile(`^\+229([0-9]{8}|[0-9]{10})$`)

// validPhone reports whether s is a supported E.164 phone number.
func validPhone(s string) bool { return beninPhone.MatchString(s) }

// phone reads a supported phone number.
func (o *object) phone(name string) (string, *apiError) {
	s, _, err := o.str(name, true, codeInvalidPhone)
	if err != nil {
		return "", err
	}
	if !validPhone(s) {
		return "", fieldError(codeInvalidPhone, name, "Phones are E.164 Benin numbers: +229 and 8 or 10 digits.")
	}
	return s, nil
}

// operator reads a supported mobile-money operator (the user's choice,
// never inferred from the number).
func (o *object) operator(name string) (engine.Operator, *apiError) {
	s, err := o.oneOf(name, true, codeUnsupportedOperator, string(engine.OperatorMTN), string(engine.OperatorMoov))
	return engine.Operator(s), err
}

var decimalSyntax = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,12})?$`)

// decimalField reads a decimal given as a string ("0.08") or a JSON number
// (0.08), parsed from its text so that no binary float rounds it.
func (o *object) decimalField(name string) (decimal.Decimal, *apiError) {
	v, ok := o.raw(name)
	if !ok {
		return decimal.Decimal{}, fieldError(codeInvalidField, name, "The field "+quoteName(name)+" is required.")
	}
	text := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &text); err != nil {
			return decimal.Decimal{}, fieldError(codeInvalidField, name, "The field "+quoteName(name)+" must be a decimal.")
		}
	}
	if !decimalSyntax.MatchString(text) {
		return decimal.Decimal{}, fieldError(codeInvalidField, name, "The field "+quoteName(name)+" must be a decimal.")
	}
	d, err := decimal.NewFromString(text)
	if err != nil {
		return decimal.Decimal{}, fieldError(codeInvalidField, name, "The field "+quoteName(name)+" must be a decimal.")
	}
	return d, nil
}
