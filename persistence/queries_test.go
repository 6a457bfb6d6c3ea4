package persistence_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

func TestKeysetPagesNewestFirst(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var change engine.Change
	for i := range 7 {
		// Two cards share each timestamp: the id breaks the tie.
		at := base.Add(time.Duration(i/2) * time.Second)
		change.Cards = append(change.Cards, engine.CardRecord{ID: fmt.Sprintf("c%d", i), UserID: "u1", Status: "active",
			Version: 1, CreatedAt: at, UpdatedAt: at})
	}
	change.Cards = append(change.Cards, engine.CardRecord{ID: "other", UserID: "u2", Status: "active", Version: 1,
		CreatedAt: base, UpdatedAt: base})
	if err := j.Commit(ctx, change); err != nil {
		t.Fatal(err)
	}
	q := persistence.NewQueries(pool)
	var got []string
	page := persistence.Page{Limit: 3}
	for {
		cards, next, err := q.UserCards(ctx, "u1", page)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cards {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	if fmt.Sprint(got) != "[c6 c5 c4 c3 c2 c1 c0]" {
		t.Fatalf("pages = %v", got)
	}
	if _, _, err := q.UserCards(ctx, "u1", persistence.Page{Cursor: "garbage!"}); !errors.Is(err, persistence.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	if _, err := q.Card(ctx, "nope"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing card: %v", err)
	}
}

func TestUsageTransactionsAndLedgerCheck(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	ctx, now := context.Background(), time.Now().UTC()
	card := engine.CardRecord{ID: "c1", UserID: "u1", Status: "active", Balance: 1000, Version: 1, CreatedAt: now, UpdatedAt: now}
	funding := func(id, status string, amount int64, at time.Time) engine.FundingRecord {
		return engine.FundingRecord{ID: id, CardID: "c1", UserID: "u1", Kind: "funding", Status: status, CardAmount: amount,
			MomoAmount: amount * 7, Rate: decimal.NewFromInt(7), CostRate: decimal.NewFromInt(6), Phone: "+22990000001",
			Operator: engine.OperatorMTN, Provider: "qosic", PaymentDeadline: at, Version: 1, CreatedAt: at, UpdatedAt: at}
	}
	q := engine.Quote{Operation: engine.OpFunding, CardAmount: engine.NewMoney(1000, engine.USD),
		MomoAmount: engine.NewMoney(6600, engine.XOF), Fees: engine.NewMoney(0, engine.XOF),
		Earnings: engine.NewMoney(600, engine.XOF), Rate: decimal.NewFromInt(66), CostRate: decimal.NewFromInt(60)}
	dep, _ := engine.FloatDepositEntry("d1", q.CardAmount)
	coll, _ := engine.CollectionEntry("f1", "qosic", q.MomoAmount)
	credit, err := engine.CardCreditEntry("f1", "c1", q)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card},
		Fundings: []engine.FundingRecord{funding("f1", "succeeded", 1000, now), funding("f2", "failed", 500, now),
			funding("f3", "awaiting_payment", 300, now.Add(-48*time.Hour))},
		CardEvents: []engine.CardEventRecord{{ID: "e1", CardID: "c1", Kind: "decline", Amount: 99, Currency: engine.USD,
			Merchant: "Shop", Reason: "card_blocked", At: now}},
		Entries:  []engine.Entry{dep, coll, credit},
		Earnings: []engine.Earning{{EntryRef: credit.Ref, Operation: "funding", OwnerID: "f1", Amount: 600, CreatedAt: now}},
	}); err != nil {
		t.Fatal(err)
	}
	qs := persistence.NewQueries(pool)
	day := now.Truncate(24 * time.Hour)
	today, month, err := qs.Usage(ctx, "u1", true, day, day.AddDate(0, 0, -40))
	if err != nil || today != 1000 || month != 1300 {
		t.Fatalf("usage today %d month %d (%v)", today, month, err)
	}
	txs, _, err := qs.Transactions(ctx, "c1", persistence.Page{})
	if err != nil || len(txs) != 4 {
		t.Fatalf("transactions %+v %v", txs, err)
	}
	kinds := map[string]string{}
	for _, tx := range txs {
		kinds[tx.ID] = tx.Type + "/" + tx.Status
	}
	if kinds["e1"] != "decline/declined" || kinds["f1"] != "funding/succeeded" {
		t.Fatalf("transactions %v", kinds)
	}
	final, err := qs.FinalFundings(ctx, []string{"f1", "f2", "f3", "nope"})
	if err != nil || len(final) != 2 {
		t.Fatalf("final %v %v", final, err)
	}
	earn, err := qs.Earnings(ctx, "operation", time.Time{}, time.Time{})
	if err != nil || len(earn) != 1 || earn[0].Amount != 600 || earn[0].Count != 1 {
		t.Fatalf("earnings %+v %v", earn, err)
	}
	check, err := qs.CheckLedger(ctx)
	if err != nil || !check.OK() || check.Entries != 3 {
		t.Fatalf("ledger check %+v %v", check, err)
	}
	tr, err := qs.Treasury(ctx, 5)
	if err != nil || tr.Float != 0 || tr.Collections["qosic"] != 6600 {
		t.Fatalf("treasury %+v %v", tr, err)
	}
	// Corruptions are each found.
	if _, err := pool.Exec(ctx, `INSERT INTO ledger_entries (ref, kind, accounts, currencies, amounts)
		VALUES ('bad', 'x', '{card:c1,world:card}', '{USD,USD}', '{5,-4}')`); err != nil {
		t.Fatal(err)
	}
	check, err = qs.CheckLedger(ctx)
	if err != nil || check.OK() {
		t.Fatalf("corrupted ledger passes: %+v %v", check, err)
	}
	found := map[string]bool{}
	for _, im := range check.Imbalances {
		found[im.Kind] = true
	}
	if !found["unbalanced_entry"] || !found["card_balance"] {
		t.Fatalf("imbalances %+v", check.Imbalances)
	}
}
