package engine_test

import (
	"errors"
	"testing"

	"kash/engine"
)

func TestDefaultLimitsAreValid(t *testing.T) {
	if err := engine.DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := engine.DefaultLimits()
	bad.Tiers = map[engine.Tier]engine.TierLimits{"x": {PerOperation: usd(10), PerDay: usd(5), PerMonth: usd(50)}}
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted a tier whose per-operation limit exceeds its per-day limit")
	}
	bad = engine.DefaultLimits()
	bad.MinFunding = xof(5)
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted an XOF minimum")
	}
}

func TestCheckOperation(t *testing.T) {
	l := engine.DefaultLimits()
	tests := []struct {
		op     engine.Operation
		amount engine.Money
		want   error
		limit  string
	}{
		{engine.OpFunding, usd(5_00), nil, ""},
		{engine.OpIssuance, usd(5_00), nil, ""},
		{engine.OpFunding, usd(4_99), engine.ErrAmountTooSmall, "min_funding"},
		{engine.OpIssuance, usd(4_99), engine.ErrAmountTooSmall, "min_funding"},
		{engine.OpWithdrawal, usd(1), nil, ""},
		{engine.OpWithdrawal, usd(0), engine.ErrAmountTooSmall, "min_withdrawal"},
		{engine.OpWithdrawal, usd(-1), engine.ErrAmountTooSmall, "min_withdrawal"},
		{engine.OpFunding, usd(2_500_00), nil, ""},
		{engine.OpFunding, usd(2_500_01), engine.ErrAmountTooLarge, "max_per_operation"},
		{engine.OpWithdrawal, usd(2_500_01), engine.ErrAmountTooLarge, "max_per_operation"},
	}
	for _, tt := range tests {
		err := l.CheckOperation(tt.op, tt.amount)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("CheckOperation(%s, %s) = %v, want %v", tt.op, tt.amount, err, tt.want)
			continue
		}
		var le *engine.LimitError
		if tt.want != nil && (!errors.As(err, &le) || le.Limit != tt.limit || le.Amount != tt.amount) {
			t.Errorf("CheckOperation(%s, %s) = %#v, want limit %s", tt.op, tt.amount, err, tt.limit)
		}
	}
	if err := l.CheckOperation(engine.OpFunding, xof(10_000)); !errors.Is(err, engine.ErrCurrencyMismatch) {
		t.Errorf("CheckOperation(XOF) = %v, want ErrCurrencyMismatch", err)
	}
	if err := l.CheckOperation("refund", usd(10_00)); !errors.Is(err, engine.ErrUnknownOperation) {
		t.Errorf("CheckOperation(refund) = %v, want ErrUnknownOperation", err)
	}
}

func TestCheckUsage(t *testing.T) {
	l := engine.DefaultLimits()
	tests := []struct {
		name        string
		tier        engine.Tier
		amount      engine.Money
		day, month  engine.Money
		want        error
		limit       string
		bound, seen engine.Money
	}{
		{"fits", engine.TierBasic, usd(100_00), usd(0), usd(0), nil, "", usd(0), usd(0)},
		{"exactly the day", engine.TierBasic, usd(400_00), usd(600_00), usd(600_00), nil, "", usd(0), usd(0)},
		{"over the tier's operation", engine.TierBasic, usd(500_01), usd(0), usd(0), engine.ErrAmountTooLarge, "per_operation", usd(500_00), usd(500_01)},
		{"over the day", engine.TierBasic, usd(400_01), usd(600_00), usd(600_00), engine.ErrLimitExceeded, "per_day", usd(1_000_00), usd(1_000_01)},
		{"over the month", engine.TierBasic, usd(100_00), usd(0), usd(2_950_00), engine.ErrLimitExceeded, "per_month", usd(3_000_00), usd(3_050_00)},
		{"verified is higher", engine.TierVerified, usd(2_000_00), usd(2_000_00), usd(10_000_00), nil, "", usd(0), usd(0)},
		{"below the minimum first", engine.TierBasic, usd(1_00), usd(0), usd(0), engine.ErrAmountTooSmall, "min_funding", usd(5_00), usd(1_00)},
	}
	for _, tt := range tests {
		err := l.CheckUsage(tt.tier, engine.OpFunding, tt.amount, tt.day, tt.month)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var le *engine.LimitError
		if !errors.Is(err, tt.want) || !errors.As(err, &le) || le.Limit != tt.limit || le.Bound != tt.bound || le.Amount != tt.seen {
			t.Errorf("%s: error = %#v, want %v on %s (%s of %s)", tt.name, err, tt.want, tt.limit, tt.seen, tt.bound)
		}
	}
	if err := l.CheckUsage("gold", engine.OpFunding, usd(10_00), usd(0), usd(0)); !errors.Is(err, engine.ErrUnknownTier) {
		t.Errorf("unknown tier: %v", err)
	}
	if err := l.CheckUsage(engine.TierBasic, engine.OpFunding, usd(10_00), xof(0), usd(0)); !errors.Is(err, engine.ErrCurrencyMismatch) {
		t.Errorf("usage in XOF: %v", err)
	}
}

func TestLimitErrorMessageNamesTheLimit(t *testing.T) {
	err := engine.DefaultLimits().CheckOperation(engine.OpFunding, usd(4_99))
	want := "amount too small: funding 4.99 USD breaks min_funding 5.00 USD"
	if err == nil || err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}
