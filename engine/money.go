package engine

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Currency is an ISO 4217 code that Kash supports.
type Currency string

// The currencies Kash moves: cards are USD, mobile money is XOF.
const (
	USD Currency = "USD"
	XOF Currency = "XOF"
)

// currencyDigits is the currency table: minor digits per supported currency.
var currencyDigits = map[Currency]int32{
	USD: 2,
	XOF: 0,
}

// Errors returned by money parsing and arithmetic. The gateway maps them to
// API error codes (invalid_amount, unsupported_currency).
var (
	ErrInvalidAmount       = errors.New("invalid amount")
	ErrUnsupportedCurrency = errors.New("unsupported currency")
	ErrCurrencyMismatch    = errors.New("currency mismatch")
	ErrOverflow            = errors.New("amount overflow")
)

// AmountError describes why an amount string was refused. It matches
// ErrInvalidAmount with errors.Is.
type AmountError struct {
	Input  string
	Reason string
}

func (e *AmountError) Error() string {
	return fmt.Sprintf("invalid amount %q: %s", e.Input, e.Reason)
}

// Is reports whether target is ErrInvalidAmount.
func (e *AmountError) Is(target error) bool { return target == ErrInvalidAmount }

// ParseCurrency returns the supported currency named by code (exact, upper
// case), or an error wrapping ErrUnsupportedCurrency.
func ParseCurrency(code string) (Currency, error) {
	c := Currency(code)
	if _, ok := currencyDigits[c]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedCurrency, code)
	}
	return c, nil
}

// Digits returns the number of minor digits of c (2 for USD, 0 for XOF).
// It panics for an unsupported currency: values of type Currency come from
// ParseCurrency or the constants above.
func (c Currency) Digits() int32 {
	d, ok := currencyDigits[c]
	if !ok {
		panic(fmt.Sprintf("engine: unsupported currency %q", string(c)))
	}
	return d
}

// Valid reports whether c is a supported currency.
func (c Currency) Valid() bool {
	_, ok := currencyDigits[c]
	return ok
}

// Money is an amount in integer minor units of a currency (cents for USD,
// francs for XOF). The zero Money has no currency and is only a placeholder.
type Money struct {
	Minor    int64
	Currency Currency
}

// NewMoney returns minor units of currency c.
func NewMoney(minor int64, c Currency) Money { return Money{Minor: minor, Currency: c} }

// maxMajorDigits bounds the integer part of parsed amounts so that any
// amount, and the sum of a few of them, fits in an int64 of minor units.
const maxMajorDigits = 15

// ParseAmount parses a strict decimal string such as "5.00" or "1500" into
// Money of currency c. It accepts only ASCII digits with at most one '.',
// at most c's minor digits after it, no sign, no exponent, no spaces, and no
// leading zeros beyond a single "0". Zero is accepted here; whether zero or a
// minimum is allowed is a business rule checked elsewhere.
func ParseAmount(s string, c Currency) (Money, error) {
	if !c.Valid() {
		return Money{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, string(c))
	}
	bad := func(reason string) (Money, error) {
		return Money{}, &AmountError{Input: s, Reason: reason}
	}
	if s == "" {
		return bad("empty")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" {
		return bad("missing integer part")
	}
	if hasDot && frac == "" {
		return bad("missing digits after the decimal point")
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return bad("only digits and one decimal point are allowed")
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return bad("leading zeros")
	}
	if len(intPart) > maxMajorDigits {
		return bad("too large")
	}
	digits := int(c.Digits())
	if len(frac) > digits {
		return bad(fmt.Sprintf("at most %d decimal places for %s", digits, c))
	}
	frac += strings.Repeat("0", digits-len(frac))
	minor, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil {
		return bad("too large")
	}
	return Money{Minor: minor, Currency: c}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the amount with exactly the currency's minor digits, e.g.
// "5.00" or "-1500". It does not include the currency code.
func (m Money) String() string {
	if m.Currency == "" {
		return strconv.FormatInt(m.Minor, 10)
	}
	d := int(m.Currency.Digits())
	if d == 0 {
		return strconv.FormatInt(m.Minor, 10)
	}
	neg := m.Minor < 0
	u := uint64(m.Minor)
	if neg {
		u = uint64(-(m.Minor + 1)) + 1 // safe for math.MinInt64
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	s = s[:len(s)-d] + "." + s[len(s)-d:]
	if neg {
		s = "-" + s
	}
	return s
}

// Decimal returns the amount in major units as a decimal.
func (m Money) Decimal() decimal.Decimal {
	return decimal.New(m.Minor, -m.Currency.Digits())
}

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Minor == 0 }

// IsPositive reports whether the amount is greater than zero.
func (m Money) IsPositive() bool { return m.Minor > 0 }

// Neg returns -m.
func (m Money) Neg() Money { return Money{Minor: -m.Minor, Currency: m.Currency} }

// Add returns m+o, refusing to mix currencies or overflow.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s + %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	if (o.Minor > 0 && m.Minor > math.MaxInt64-o.Minor) || (o.Minor < 0 && m.Minor < math.MinInt64-o.Minor) {
		return Money{}, fmt.Errorf("%w: %s + %s", ErrOverflow, m, o)
	}
	return Money{Minor: m.Minor + o.Minor, Currency: m.Currency}, nil
}

// Sub returns m-o, refusing to mix currencies or overflow.
func (m Money) Sub(o Money) (Money, error) {
	if o.Minor == math.MinInt64 {
		return Money{}, fmt.Errorf("%w: %s - %s", ErrOverflow, m, o)
	}
	return m.Add(o.Neg())
}

// Cmp compares m and o: -1, 0 or +1. It refuses to compare currencies.
func (m Money) Cmp(o Money) (int, error) {
	if m.Currency != o.Currency {
		return 0, fmt.Errorf("%w: %s vs %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	switch {
	case m.Minor < o.Minor:
		return -1, nil
	case m.Minor > o.Minor:
		return 1, nil
	}
	return 0, nil
}

// RoundingMode says which way a conversion rounds to the currency's minor
// unit. Kash always rounds in the house's favour: what the user pays is
// rounded up, what the user receives is rounded down.
type RoundingMode int

// Rounding modes.
const (
	RoundDown RoundingMode = iota // towards zero: amounts paid out to users
	RoundUp                       // away from zero: amounts charged to users
)

// FromDecimal converts a major-unit decimal into Money of c, rounding to the
// minor unit as mode says.
func FromDecimal(d decimal.Decimal, c Currency, mode RoundingMode) (Money, error) {
	if !c.Valid() {
		return Money{}, fmt.Errorf("%w: %q", ErrUnsupportedCurrency, string(c))
	}
	scaled := d.Shift(c.Digits())
	var r decimal.Decimal
	if mode == RoundUp {
		r = scaled.RoundUp(0)
	} else {
		r = scaled.RoundDown(0)
	}
	if !r.BigInt().IsInt64() {
		return Money{}, fmt.Errorf("%w: %s", ErrOverflow, d)
	}
	return Money{Minor: r.IntPart(), Currency: c}, nil
}
