package engine_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"kash/engine"
)

func TestParseAmountAccepts(t *testing.T) {
	tests := []struct {
		in   string
		cur  engine.Currency
		want int64
	}{
		{"5", engine.USD, 500},
		{"5.0", engine.USD, 500},
		{"5.00", engine.USD, 500},
		{"0.01", engine.USD, 1},
		{"0", engine.USD, 0},
		{"1500", engine.XOF, 1500},
		{"0", engine.XOF, 0},
		{"999999999999999", engine.XOF, 999999999999999},
		{"999999999999999.99", engine.USD, 99999999999999999},
	}
	for _, tt := range tests {
		got, err := engine.ParseAmount(tt.in, tt.cur)
		if err != nil {
			t.Errorf("ParseAmount(%q, %s) error: %v", tt.in, tt.cur, err)
			continue
		}
		if want := engine.NewMoney(tt.want, tt.cur); got != want {
			t.Errorf("ParseAmount(%q, %s) = %+v, want %+v", tt.in, tt.cur, got, want)
		}
	}
}

func TestParseAmountRejects(t *testing.T) {
	tests := []struct {
		in  string
		cur engine.Currency
	}{
		{"", engine.USD},
		{"-1", engine.USD},
		{"+1", engine.USD},
		{"1e3", engine.USD},
		{"1E3", engine.XOF},
		{"1.", engine.USD},
		{".5", engine.USD},
		{"1.234", engine.USD},
		{"1.5", engine.XOF},
		{"1.0", engine.XOF},
		{"NaN", engine.USD},
		{"Inf", engine.USD},
		{"Infinity", engine.XOF},
		{" 1", engine.USD},
		{"1 ", engine.USD},
		{"0x10", engine.USD},
		{"01", engine.USD},
		{"00.5", engine.USD},
		{"１", engine.USD}, // full-width digit one
		{"1,5", engine.USD},
		{"1_000", engine.XOF},
		{"1..2", engine.USD},
		{"1.2.3", engine.USD},
		{"٣", engine.XOF}, // Arabic-Indic digit three
		{"1000000000000000", engine.XOF},
		{"99999999999999999999999999", engine.USD},
	}
	for _, tt := range tests {
		got, err := engine.ParseAmount(tt.in, tt.cur)
		if err == nil {
			t.Errorf("ParseAmount(%q, %s) = %+v, want an error", tt.in, tt.cur, got)
			continue
		}
		if !errors.Is(err, engine.ErrInvalidAmount) {
			t.Errorf("ParseAmount(%q, %s) error %v does not match ErrInvalidAmount", tt.in, tt.cur, err)
		}
		var ae *engine.AmountError
		if !errors.As(err, &ae) || ae.Input != tt.in {
			t.Errorf("ParseAmount(%q, %s) error %v is not an *AmountError naming the input", tt.in, tt.cur, err)
		}
	}
}

func TestParseAmountUnsupportedCurrency(t *testing.T) {
	for _, cur := range []engine.Currency{"", "EUR", "usd"} {
		if _, err := engine.ParseAmount("5", cur); !errors.Is(err, engine.ErrUnsupportedCurrency) {
			t.Errorf("ParseAmount(5, %q) error = %v, want ErrUnsupportedCurrency", cur, err)
		}
	}
}

func TestMoneyStringRoundTrip(t *testing.T) {
	tests := []struct {
		m    engine.Money
		want string
	}{
		{engine.NewMoney(500, engine.USD), "5.00"},
		{engine.NewMoney(1, engine.USD), "0.01"},
		{engine.NewMoney(0, engine.USD), "0.00"},
		{engine.NewMoney(-5, engine.USD), "-0.05"},
		{engine.NewMoney(123456, engine.USD), "1234.56"},
		{engine.NewMoney(1500, engine.XOF), "1500"},
		{engine.NewMoney(-1500, engine.XOF), "-1500"},
		{engine.NewMoney(math.MinInt64, engine.USD), "-92233720368547758.08"},
		{engine.NewMoney(math.MaxInt64, engine.USD), "92233720368547758.07"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.want)
		}
		if tt.m.Minor < 0 || len(tt.want) > 18 {
			continue // negatives and out-of-range amounts are not parseable by design
		}
		back, err := engine.ParseAmount(tt.want, tt.m.Currency)
		if err != nil || back != tt.m {
			t.Errorf("ParseAmount(%q) = %+v, %v; want %+v", tt.want, back, err, tt.m)
		}
	}
}

func TestMoneyArithmetic(t *testing.T) {
	five := engine.NewMoney(500, engine.USD)
	got, err := five.Add(engine.NewMoney(1, engine.USD))
	if err != nil || got != engine.NewMoney(501, engine.USD) {
		t.Errorf("5.00 + 0.01 = %v, %v", got, err)
	}
	got, err = five.Sub(engine.NewMoney(600, engine.USD))
	if err != nil || got != engine.NewMoney(-100, engine.USD) {
		t.Errorf("5.00 - 6.00 = %v, %v", got, err)
	}
	if c, err := five.Cmp(engine.NewMoney(499, engine.USD)); err != nil || c != 1 {
		t.Errorf("Cmp = %d, %v", c, err)
	}
}

func TestMoneyArithmeticRefusesMixingCurrencies(t *testing.T) {
	usd := engine.NewMoney(500, engine.USD)
	xof := engine.NewMoney(500, engine.XOF)
	if _, err := usd.Add(xof); !errors.Is(err, engine.ErrCurrencyMismatch) {
		t.Errorf("USD + XOF error = %v, want ErrCurrencyMismatch", err)
	}
	if _, err := usd.Sub(xof); !errors.Is(err, engine.ErrCurrencyMismatch) {
		t.Errorf("USD - XOF error = %v, want ErrCurrencyMismatch", err)
	}
	if _, err := usd.Cmp(xof); !errors.Is(err, engine.ErrCurrencyMismatch) {
		t.Errorf("USD cmp XOF error = %v, want ErrCurrencyMismatch", err)
	}
}

func TestMoneyArithmeticRefusesOverflow(t *testing.T) {
	maxUSD := engine.NewMoney(math.MaxInt64, engine.USD)
	minUSD := engine.NewMoney(math.MinInt64, engine.USD)
	one := engine.NewMoney(1, engine.USD)
	cases := []struct {
		name string
		op   func() (engine.Money, error)
	}{
		{"max + 1", func() (engine.Money, error) { return maxUSD.Add(one) }},
		{"min - 1", func() (engine.Money, error) { return minUSD.Sub(one) }},
		{"min + min", func() (engine.Money, error) { return minUSD.Add(minUSD) }},
		{"0 - min", func() (engine.Money, error) { return engine.NewMoney(0, engine.USD).Sub(minUSD) }},
		{"-1 - max - 1", func() (engine.Money, error) { return engine.NewMoney(-2, engine.USD).Sub(maxUSD) }},
	}
	for _, c := range cases {
		if got, err := c.op(); !errors.Is(err, engine.ErrOverflow) {
			t.Errorf("%s = %v, %v; want ErrOverflow", c.name, got, err)
		}
	}
	if got, err := maxUSD.Sub(maxUSD); err != nil || !got.IsZero() {
		t.Errorf("max - max = %v, %v", got, err)
	}
}

// FuzzParseAmount checks that parsing never panics and that whatever it
// accepts formats back to a string that parses to the same amount.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"5", "5.00", "0.01", "1500", "", "-1", "1e3", ".5", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, cur := range []engine.Currency{engine.USD, engine.XOF} {
			m, err := engine.ParseAmount(s, cur)
			if err != nil {
				if !errors.Is(err, engine.ErrInvalidAmount) {
					t.Fatalf("ParseAmount(%q, %s) error %v is not ErrInvalidAmount", s, cur, err)
				}
				continue
			}
			if m.Currency != cur || m.Minor < 0 {
				t.Fatalf("ParseAmount(%q, %s) = %+v", s, cur, m)
			}
			if strings.TrimLeft(s, "0123456789.") != "" {
				t.Fatalf("ParseAmount(%q, %s) accepted a non-digit", s, cur)
			}
			back, err := engine.ParseAmount(m.String(), cur)
			if err != nil || back != m {
				t.Fatalf("round trip of %q (%s): %q parsed to %+v, %v", s, cur, m.String(), back, err)
			}
		}
	})
}
