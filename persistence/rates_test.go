package persistence_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

func TestRatesHistoryQuotesAndWebhooks(t *testing.T) {
	pool := pgtest.NewPool(t)
	p := persistence.NewPricing(pool)
	ctx, now := context.Background(), time.Now()
	if _, found, err := p.CurrentRates(ctx); found || err != nil {
		t.Fatalf("rates before any: %v %v", found, err)
	}
	r := engine.DefaultRates()
	for _, cost := range []int64{600, 610} {
		r.CostRate = decimal.NewFromInt(cost)
		if _, err := p.SetRates(ctx, r, "ops", now); err != nil {
			t.Fatal(err)
		}
	}
	cur, found, err := p.CurrentRates(ctx)
	if err != nil || !found || !cur.Rates.CostRate.Equal(decimal.NewFromInt(610)) || cur.CreatedBy != "ops" {
		t.Fatalf("current %+v %v", cur, err)
	}
	hist, err := p.RatesHistory(ctx, 10)
	if err != nil || len(hist) != 2 || hist[0].ID < hist[1].ID {
		t.Fatalf("history %+v %v", hist, err)
	}
	r.FundingMargin = decimal.NewFromInt(1)
	if _, err := p.SetRates(ctx, r, "ops", now); !errors.Is(err, engine.ErrInvalidRates) {
		t.Fatalf("invalid rates: %v", err)
	}

	if _, err := pool.Exec(ctx, `INSERT INTO users (id, phone) VALUES ('u1', '+22990000001')`); err != nil {
		t.Fatal(err)
	}
	q, err := engine.DefaultPricing().Quote("qt_1", engine.OpFunding, engine.NewMoney(1000, engine.USD), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SaveQuote(ctx, persistence.StoredQuote{Quote: q, UserID: "u1", InputCurrency: engine.USD, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	got, err := p.Quote(ctx, "qt_1")
	if err != nil || got.UserID != "u1" || got.InputAmount() != q.CardAmount || got.MomoAmount != q.MomoAmount ||
		!got.Rate.Equal(q.Rate) || got.Validate() != nil {
		t.Fatalf("quote %+v %v", got, err)
	}
	if _, err := p.Quote(ctx, "qt_2"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing quote: %v", err)
	}

	w := persistence.NewWebhooks(pool)
	if seen, _ := w.Seen(ctx, "qosic", "evt_1"); seen {
		t.Fatal("seen before")
	}
	if first, err := w.Record(ctx, "qosic", "evt_1", []byte(`{"a":1}`), now); !first || err != nil {
		t.Fatalf("record: %v %v", first, err)
	}
	if first, err := w.Record(ctx, "qosic", "evt_1", []byte(`{"a":1}`), now); first || err != nil {
		t.Fatalf("record twice: %v %v", first, err)
	}
	if seen, _ := w.Seen(ctx, "flutterwave", "evt_1"); seen {
		t.Fatal("event ids are per provider")
	}
	if _, err := w.Record(ctx, "qosic", "evt_2", []byte(`not json`), now); err == nil {
		t.Fatal("non-JSON payload recorded")
	}
}
