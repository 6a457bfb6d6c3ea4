package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"kash/engine"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func usd(minor int64) engine.Money { return engine.NewMoney(minor, engine.USD) }
func xof(minor int64) engine.Money { return engine.NewMoney(minor, engine.XOF) }

func TestDefaultRates(t *testing.T) {
	r := engine.DefaultRates()
	if err := r.Validate(); err != nil {
		t.Fatalf("DefaultRates().Validate() = %v", err)
	}
	if got := r.ChargedRate().String(); got != "652.173914" {
		t.Errorf("charged rate = %s, want 652.173914 (600 / 0.92 rounded up)", got)
	}
	if got := r.WithdrawalRate().String(); got != "576" {
		t.Errorf("withdrawal rate = %s, want 576 (600 × 0.96)", got)
	}
	if r.IssuanceFee != xof(1000) {
		t.Errorf("issuance fee = %v", r.IssuanceFee)
	}
}

func TestRatesValidate(t *testing.T) {
	mutate := map[string]func(*engine.Rates){
		"zero cost":          func(r *engine.Rates) { r.CostRate = decimal.Zero },
		"negative cost":      func(r *engine.Rates) { r.CostRate = decimal.NewFromInt(-1) },
		"margin 1":           func(r *engine.Rates) { r.FundingMargin = decimal.NewFromInt(1) },
		"negative margin":    func(r *engine.Rates) { r.FundingMargin = decimal.RequireFromString("-0.01") },
		"spread 1":           func(r *engine.Rates) { r.WithdrawalSpread = decimal.NewFromInt(1) },
		"negative spread":    func(r *engine.Rates) { r.WithdrawalSpread = decimal.RequireFromString("-0.01") },
		"fee in USD":         func(r *engine.Rates) { r.IssuanceFee = usd(100) },
		"negative fee":       func(r *engine.Rates) { r.IssuanceFee = xof(-1) },
		"fee of no currency": func(r *engine.Rates) { r.IssuanceFee = engine.Money{} },
		"withdrawal rate 0":  func(r *engine.Rates) { r.CostRate = decimal.New(1, -6); r.WithdrawalSpread = decimal.New(1, -4) },
	}
	for name, m := range mutate {
		r := engine.DefaultRates()
		m(&r)
		if err := r.Validate(); !errors.Is(err, engine.ErrInvalidRates) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidRates", name, err)
		}
	}
}

func TestQuoteFromCard(t *testing.T) {
	r := engine.DefaultRates()
	tests := []struct {
		op                   engine.Operation
		card                 int64
		momo, fees, earnings int64
		rate                 string
	}{
		// 10 USD × 652.173914 = 6521.73914 → 6522; cost 6000.
		{engine.OpFunding, 10_00, 6522, 0, 522, "652.173914"},
		{engine.OpIssuance, 10_00, 7522, 1000, 1522, "652.173914"},
		// 5.01 × 652.173914 = 3267.39... → 3268; cost 3006.
		{engine.OpFunding, 5_01, 3268, 0, 262, "652.173914"},
		// 10 USD × 576 = 5760 paid out; cost 6000.
		{engine.OpWithdrawal, 10_00, 5760, 0, 240, "576"},
		// 0.01 × 576 = 5.76 → 5; cost 6.
		{engine.OpWithdrawal, 1, 5, 0, 1, "576"},
	}
	for _, tt := range tests {
		q, err := engine.QuoteFromCard(tt.op, r, usd(tt.card), t0, time.Minute)
		if err != nil {
			t.Errorf("%s %d: %v", tt.op, tt.card, err)
			continue
		}
		want := engine.Quote{Operation: tt.op, CardAmount: usd(tt.card), MomoAmount: xof(tt.momo), Fees: xof(tt.fees),
			Earnings: xof(tt.earnings), ExpiresAt: t0.Add(time.Minute)}
		if q.Operation != want.Operation || q.CardAmount != want.CardAmount || q.MomoAmount != want.MomoAmount ||
			q.Fees != want.Fees || q.Earnings != want.Earnings || !q.ExpiresAt.Equal(want.ExpiresAt) ||
			q.Rate.String() != tt.rate || !q.CostRate.Equal(r.CostRate) {
			t.Errorf("%s %d USD cents: got %+v, want %+v at rate %s", tt.op, tt.card, q, want, tt.rate)
		}
		if err := q.Validate(); err != nil {
			t.Errorf("%s %d: Validate() = %v", tt.op, tt.card, err)
		}
	}
}

func TestQuoteFromMomo(t *testing.T) {
	r := engine.DefaultRates()
	tests := []struct {
		op                   engine.Operation
		momo                 int64
		card, fees, earnings int64
	}{
		// 6522 / 652.173914 = 10.0000... → 10.00 USD; the user pays 6522.
		{engine.OpFunding, 6522, 10_00, 0, 522},
		// 6521 / 652.173914 = 9.9989 → 9.99; cost ⌈5994⌉.
		{engine.OpFunding, 6521, 9_99, 0, 527},
		// (7522 − 1000) / 652.173914 → 10.00.
		{engine.OpIssuance, 7522, 10_00, 1000, 1522},
		// 5760 / 576 = 10.00 exactly.
		{engine.OpWithdrawal, 5760, 10_00, 0, 240},
		// 5761 / 576 = 10.0017 → 10.01 off the card; cost ⌊6006⌋.
		{engine.OpWithdrawal, 5761, 10_01, 0, 245},
	}
	for _, tt := range tests {
		q, err := engine.QuoteFromMomo(tt.op, r, xof(tt.momo), t0, time.Minute)
		if err != nil {
			t.Errorf("%s %d XOF: %v", tt.op, tt.momo, err)
			continue
		}
		if q.CardAmount != usd(tt.card) || q.MomoAmount != xof(tt.momo) || q.Fees != xof(tt.fees) ||
			q.Earnings != xof(tt.earnings) {
			t.Errorf("%s %d XOF: got card %s momo %s fees %s earnings %s; want %d, %d, %d, %d", tt.op, tt.momo,
				q.CardAmount, q.MomoAmount, q.Fees, q.Earnings, tt.card, tt.momo, tt.fees, tt.earnings)
		}
	}
}

func TestQuoteErrors(t *testing.T) {
	r := engine.DefaultRates()
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"zero card", func() error { _, err := engine.QuoteFromCard(engine.OpFunding, r, usd(0), t0, time.Minute); return err }, engine.ErrAmountTooSmall},
		{"negative momo", func() error {
			_, err := engine.QuoteFromMomo(engine.OpFunding, r, xof(-5), t0, time.Minute)
			return err
		}, engine.ErrAmountTooSmall},
		{"momo below the fee", func() error {
			_, err := engine.QuoteFromMomo(engine.OpIssuance, r, xof(1000), t0, time.Minute)
			return err
		}, engine.ErrAmountTooSmall},
		{"momo below a cent", func() error { _, err := engine.QuoteFromMomo(engine.OpFunding, r, xof(6), t0, time.Minute); return err }, engine.ErrAmountTooSmall},
		{"huge card", func() error {
			_, err := engine.QuoteFromCard(engine.OpFunding, r, usd(1<<62), t0, time.Minute)
			return err
		}, engine.ErrAmountTooLarge},
		{"card in XOF", func() error {
			_, err := engine.QuoteFromCard(engine.OpFunding, r, xof(10), t0, time.Minute)
			return err
		}, engine.ErrCurrencyMismatch},
		{"momo in USD", func() error {
			_, err := engine.QuoteFromMomo(engine.OpFunding, r, usd(10), t0, time.Minute)
			return err
		}, engine.ErrCurrencyMismatch},
		{"unknown op", func() error { _, err := engine.QuoteFromCard("refund", r, usd(500), t0, time.Minute); return err }, engine.ErrUnknownOperation},
		{"bad rates", func() error {
			_, err := engine.QuoteFromCard(engine.OpFunding, engine.Rates{}, usd(500), t0, time.Minute)
			return err
		}, engine.ErrInvalidRates},
		{"no ttl", func() error { _, err := engine.QuoteFromCard(engine.OpFunding, r, usd(500), t0, 0); return err }, engine.ErrInvalidRates},
	}
	for _, tt := range tests {
		if err := tt.run(); !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestQuoteExpired(t *testing.T) {
	q, err := engine.QuoteFromCard(engine.OpFunding, engine.DefaultRates(), usd(500), t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if q.Expired(t0) || q.Expired(t0.Add(time.Minute-time.Nanosecond)) {
		t.Error("quote expired before its TTL")
	}
	if !q.Expired(t0.Add(time.Minute)) || !q.Expired(t0.Add(time.Hour)) {
		t.Error("quote still valid at or after its expiry")
	}
}

func TestPricingQuote(t *testing.T) {
	p := engine.DefaultPricing()
	q, err := p.Quote("q1", engine.OpFunding, usd(5_00), t0)
	if err != nil || q.ID != "q1" || q.CardAmount != usd(5_00) || !q.ExpiresAt.Equal(t0.Add(engine.DefaultQuoteTTL)) {
		t.Fatalf("Quote(5 USD) = %+v, %v", q, err)
	}
	q, err = p.Quote("q2", engine.OpWithdrawal, xof(5760), t0)
	if err != nil || q.CardAmount != usd(10_00) {
		t.Fatalf("Quote(5760 XOF withdrawal) = %+v, %v", q, err)
	}
	var le *engine.LimitError
	_, err = p.Quote("q3", engine.OpFunding, usd(4_99), t0)
	if !errors.Is(err, engine.ErrAmountTooSmall) || !errors.As(err, &le) || le.Limit != "min_funding" {
		t.Errorf("Quote(4.99 USD funding) error = %v, want min_funding ErrAmountTooSmall", err)
	}
	// 3000 XOF buys only 4.59 USD: too small once converted.
	if _, err := p.Quote("q4", engine.OpFunding, xof(3000), t0); !errors.Is(err, engine.ErrAmountTooSmall) {
		t.Errorf("Quote(3000 XOF funding) error = %v, want ErrAmountTooSmall", err)
	}
	if _, err := p.Quote("q5", engine.OpFunding, usd(2_500_01), t0); !errors.Is(err, engine.ErrAmountTooLarge) {
		t.Errorf("Quote(2500.01 USD) error = %v, want ErrAmountTooLarge", err)
	}
	if _, err := p.Quote("q6", engine.OpFunding, engine.NewMoney(5, "EUR"), t0); !errors.Is(err, engine.ErrUnsupportedCurrency) {
		t.Errorf("Quote(EUR) error = %v, want ErrUnsupportedCurrency", err)
	}
}

func TestQuoteValidateRefusesInconsistentQuotes(t *testing.T) {
	good, err := engine.QuoteFromCard(engine.OpFunding, engine.DefaultRates(), usd(10_00), t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mutate := map[string]func(*engine.Quote){
		"unknown op":          func(q *engine.Quote) { q.Operation = "x" },
		"card in XOF":         func(q *engine.Quote) { q.CardAmount = xof(1000) },
		"zero momo":           func(q *engine.Quote) { q.MomoAmount = xof(0) },
		"negative earnings":   func(q *engine.Quote) { q.Earnings = xof(-1) },
		"earnings above momo": func(q *engine.Quote) { q.Earnings = q.MomoAmount },
		"fees in USD":         func(q *engine.Quote) { q.Fees = usd(0) },
	}
	for name, m := range mutate {
		q := good
		m(&q)
		if err := q.Validate(); !errors.Is(err, engine.ErrInvalidQuote) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidQuote", name, err)
		}
	}
}
