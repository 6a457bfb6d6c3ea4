package persistence_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

func card(id string, version, balance int64) engine.CardRecord {
	now := time.Now().UTC()
	return engine.CardRecord{ID: id, UserID: "u1", Status: "active", Balance: balance, Version: version,
		CreatedAt: now, UpdatedAt: now}
}

func commitAll(t *testing.T, j *persistence.Journal, changes []engine.Change) []error {
	t.Helper()
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	for i, c := range changes {
		wg.Add(1)
		j.Submit(c, func(err error) { errs[i] = err; wg.Done() })
	}
	wg.Wait()
	return errs
}

func TestJournalCommitsAndFences(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	ctx := context.Background()

	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("c1", 1, 0)}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	// Two activations both saw version 1; only the first write may land.
	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("c1", 2, 100)}}); err != nil {
		t.Fatalf("first update: %v", err)
	}
	err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("c1", 2, 999)}})
	if !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("stale update: got %v, want ErrFenced", err)
	}
	var balance, version int64
	if err := pool.QueryRow(ctx, `SELECT balance_minor, version FROM cards WHERE id = 'c1'`).Scan(&balance, &version); err != nil {
		t.Fatal(err)
	}
	if balance != 100 || version != 2 {
		t.Fatalf("card = (%d, v%d), want (100, v2): a fenced write leaked", balance, version)
	}
}

func TestJournalFailsOnlyTheChangeAtFault(t *testing.T) {
	pool := pgtest.NewPool(t)
	// One worker and a big batch so that every change lands in one transaction.
	j := persistence.NewJournal(pool, persistence.JournalConfig{Workers: 1, MaxBatch: 1000})
	defer j.Close()
	ctx := context.Background()
	if err := j.Commit(ctx, engine.Change{Cards: []engine.CardRecord{card("dup", 1, 0)}}); err != nil {
		t.Fatal(err)
	}
	var changes []engine.Change
	for i := range 50 {
		changes = append(changes, engine.Change{Cards: []engine.CardRecord{card(fmt.Sprintf("ok%d", i), 1, 0)}})
	}
	changes[10] = engine.Change{Cards: []engine.CardRecord{card("dup", 1, 0)}}     // duplicate insert
	changes[30] = engine.Change{Cards: []engine.CardRecord{card("missing", 7, 0)}} // fenced update
	changes[40] = engine.Change{Cards: []engine.CardRecord{card("neg", 1, -5)}}    // check constraint
	errs := commitAll(t, j, changes)
	for i, err := range errs {
		switch i {
		case 10:
			if !errors.Is(err, engine.ErrDuplicate) {
				t.Errorf("change 10: got %v, want ErrDuplicate", err)
			}
		case 30:
			if !errors.Is(err, engine.ErrFenced) {
				t.Errorf("change 30: got %v, want ErrFenced", err)
			}
		case 40:
			if err == nil {
				t.Errorf("change 40: negative balance committed")
			}
		default:
			if err != nil {
				t.Errorf("change %d: %v (an innocent change failed)", i, err)
			}
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM cards WHERE id LIKE 'ok%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 47 {
		t.Fatalf("%d innocent cards committed, want 47", n)
	}
}

func TestJournalKeepsStreamOrder(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{Workers: 4, MaxBatch: 8})
	defer j.Close()
	// Each version depends on the one before: out of order, a write would be fenced.
	var changes []engine.Change
	for v := int64(1); v <= 200; v++ {
		changes = append(changes, engine.Change{Stream: "card:s", Cards: []engine.CardRecord{card("s", v, v)}})
	}
	for i, err := range commitAll(t, j, changes) {
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	var balance int64
	if err := pool.QueryRow(context.Background(), `SELECT balance_minor FROM cards WHERE id = 's'`).Scan(&balance); err != nil {
		t.Fatal(err)
	}
	if balance != 200 {
		t.Fatalf("balance %d, want 200", balance)
	}
}

func TestJournalUnderConcurrentWriters(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 2000)
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				errs <- j.Commit(context.Background(), engine.Change{Cards: []engine.CardRecord{card(fmt.Sprintf("w%d-%d", w, i), 1, 0)}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM cards`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Fatalf("%d cards, want 2000", n)
	}
}

func TestJournalFenceByEpoch(t *testing.T) {
	pool := pgtest.NewPool(t)
	j := persistence.NewJournal(pool, persistence.JournalConfig{})
	defer j.Close()
	store := persistence.NewStateStore(pool)
	ctx := context.Background()
	old, err := store.ClaimEpoch(ctx, "treasury")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimEpoch(ctx, "treasury"); err != nil {
		t.Fatal(err)
	}
	err = j.Commit(ctx, engine.Change{Fence: &engine.Fence{ActorID: "treasury", Epoch: old},
		Cards: []engine.CardRecord{card("x", 1, 0)}})
	if !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("write under a stale epoch: got %v, want ErrFenced", err)
	}
}

// --- set-based writes --------------------------------------------------------

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// everyKind is actor i's first change: one new record of every kind, under
// the treasury's fence. Values vary with i (NULLs, array lengths, numeric
// scales) so that a column mixed up between rows would show.
func everyKind(i int, epoch int64) engine.Change {
	id := func(p string) string { return fmt.Sprintf("%s%d", p, i) }
	at := t0.Add(time.Duration(i) * time.Minute)
	c := card(id("c"), 1, int64(1000*i))
	c.CreatedAt, c.UpdatedAt, c.Nickname = at, at, fmt.Sprintf(`nick "%d" \ o'k`, i)
	if i%2 == 1 {
		c.IssuerCardID, c.Last4, c.ExpiryMonth, c.ExpiryYear, c.Held = id("iss"), "4242", 12, 2030, int64(i)
	}
	postings := []engine.Posting{
		{Account: engine.CardAccount(c.ID), Amount: engine.Money{Minor: int64(100 + i), Currency: engine.USD}},
		{Account: engine.IssuerFloatAccount(), Amount: engine.Money{Minor: -int64(100 + i), Currency: engine.USD}},
	}
	for k := range i {
		postings = append(postings,
			engine.Posting{Account: engine.MomoAccount(fmt.Sprintf("p%d", k)), Amount: engine.Money{Minor: int64(k + 1), Currency: engine.XOF}},
			engine.Posting{Account: engine.WorldMomoAccount(), Amount: engine.Money{Minor: -int64(k + 1), Currency: engine.XOF}})
	}
	ch := engine.Change{
		Stream: id("actor"),
		Fence:  &engine.Fence{ActorID: "treasury", Epoch: epoch},
		Cards:  []engine.CardRecord{c},
		Fundings: []engine.FundingRecord{{ID: id("f"), CardID: c.ID, UserID: "u1", Kind: "funding", Status: "paid",
			CardAmount: 500, MomoAmount: 326087, Fees: 100, Earnings: int64(26087 + i),
			Rate: decimal.RequireFromString("652.1740"), CostRate: decimal.RequireFromString(fmt.Sprintf("600.%d0", i)),
			Phone: "+22990000001", Operator: "mtn", Provider: "mtn-bj", QuoteID: map[bool]string{true: id("q")}[i%2 == 0],
			PaymentDeadline: at.Add(time.Hour), Version: 1, CreatedAt: at, UpdatedAt: at}},
		Withdrawals: []engine.WithdrawalRecord{{ID: id("w"), CardID: c.ID, UserID: "u1", Status: "pending",
			CardAmount: 100, MomoAmount: 57600, Fees: 0, Earnings: 2400, Rate: decimal.RequireFromString("576"),
			CostRate: decimal.RequireFromString("600"), Phone: "+22990000001", Operator: "moov", Provider: "moov-bj",
			Purpose: "withdrawal", Version: 1, CreatedAt: at, UpdatedAt: at}},
		Payments: []engine.PaymentRecord{{Ref: id("pay"), Kind: engine.PaymentCollection, OwnerKind: "funding",
			OwnerID: id("f"), CardID: map[bool]string{true: c.ID}[i%2 == 0], Provider: "mtn-bj", Operator: "mtn",
			Phone: "+22990000001", Amount: 326087, Currency: engine.XOF, Status: engine.PaymentPending,
			NextCheckAt: map[bool]time.Time{true: at.Add(time.Second)}[i%2 == 1], Version: 1, CreatedAt: at, UpdatedAt: at}},
		Reservations: []engine.ReservationRecord{{FundingID: id("f"), CardID: c.ID, Seq: int64(i + 1), Amount: 500,
			Status: engine.ReservationGranted, RequestedAt: at, Deadline: at.Add(time.Hour),
			DecidedAt: map[bool]time.Time{true: at}[i%2 == 0], Version: 1}},
		Sweeps: []engine.SweepRecord{{ID: id("s"), Provider: "mtn-bj", Amount: int64(1000 + i), Status: "requested",
			Reason: "auto", Version: 1, CreatedAt: at, UpdatedAt: at}},
		Suspense: []engine.SuspenseRecord{{ID: id("x"), PaymentRef: id("late"), OwnerID: id("f"), Amount: 77,
			Currency: engine.XOF, Status: "open", Version: 1, CreatedAt: at}},
		CardEvents: []engine.CardEventRecord{{ID: id("ev"), CardID: c.ID, Kind: "spend", Amount: int64(i),
			Currency: engine.USD, Merchant: `Chez "Mama" \ Ada's`, At: at}},
		Entries:  []engine.Entry{{Ref: id("entry"), Kind: "funding", Postings: postings}},
		Earnings: []engine.Earning{{EntryRef: id("entry"), Operation: "funding", OwnerID: id("f"), Amount: int64(26087 + i), CreatedAt: at}},
		// Two changes send "shared": the first one's message is kept.
		Outbox: []engine.OutboxMessage{{Channel: "push", DedupeKey: id("o"), Recipient: "u1", Title: "t", Body: id("b")},
			{Channel: "sms", DedupeKey: "shared", Recipient: id("r"), Body: "hello"}},
	}
	return ch
}

// everyUpdate is actor i's second change: every versioned record at
// version 2, a settlement or a release of its reservation, and new rows.
func everyUpdate(i int, epoch int64) engine.Change {
	first := everyKind(i, epoch)
	at := t0.Add(time.Hour + time.Duration(i)*time.Minute)
	id := func(p string) string { return fmt.Sprintf("%s%d", p, i) }
	c := first.Cards[0]
	c.Version, c.UpdatedAt, c.Balance, c.Last4, c.Status = 2, at, c.Balance+50, "1881", "frozen"
	f := first.Fundings[0]
	f.Version, f.UpdatedAt, f.Status, f.FailureReason, f.ManualReview = 2, at, "funding_card", id("why"), i%2 == 0
	w := first.Withdrawals[0]
	w.Version, w.UpdatedAt, w.Status, w.Provider = 2, at, "card_debited", "mtn-bj"
	p := first.Payments[0]
	p.Version, p.UpdatedAt, p.Attempts, p.NextCheckAt = 2, at, 3, time.Time{}
	if i%2 == 0 {
		p.Status, p.StatusChanged, p.ProviderRef, p.Reason = engine.PaymentSucceeded, true, id("prov"), "ok"
	}
	s := first.Sweeps[0]
	s.Version, s.UpdatedAt, s.Status, s.USD = 2, at, "payout_pending", int64(17+i)
	x := first.Suspense[0]
	x.Version, x.Status, x.ResolvedAt = 2, "refunded", at
	ch := engine.Change{Stream: first.Stream, Fence: first.Fence, Cards: []engine.CardRecord{c},
		Fundings: []engine.FundingRecord{f}, Withdrawals: []engine.WithdrawalRecord{w},
		Payments: []engine.PaymentRecord{p}, Sweeps: []engine.SweepRecord{s}, Suspense: []engine.SuspenseRecord{x},
		CardEvents: []engine.CardEventRecord{{ID: id("ev2"), CardID: c.ID, Kind: "decline", Reason: "nsf", Currency: engine.USD, At: at}},
		Entries:    []engine.Entry{{Ref: id("entry2"), Kind: "spend", Postings: first.Entries[0].Postings[:2]}},
		Outbox:     first.Outbox[:1], // already written: a no-op
	}
	if i%2 == 0 {
		ch.SettleReservations = []engine.ReservationSettlement{{FundingID: f.ID, Status: engine.ReservationCommitted}}
	} else {
		r := first.Reservations[0]
		r.Version, r.Status, r.DecidedAt = 2, engine.ReservationReleased, at
		ch.Reservations = []engine.ReservationRecord{r}
	}
	return ch
}

// journalTables are the tables the journal writes, with the columns that
// the database fills in itself (identities, now()) left out.
var journalTables = map[string]string{
	"cards": "", "fundings": "", "withdrawals": "", "payments": "", "payment_status_history": "",
	"float_reservations": "", "sweeps": "", "suspense_items": "", "card_events": "", "earnings": "",
	"ledger_entries": " - 'id' - 'created_at'", "outbox": " - 'id' - 'created_at' - 'next_attempt_at'",
}

func tableContents(t *testing.T, pool *pgxpool.Pool, table string) string {
	t.Helper()
	var out string
	q := fmt.Sprintf(`SELECT coalesce(jsonb_agg(r ORDER BY r::text), '[]')::text FROM (SELECT to_jsonb(t)%s AS r FROM %s t) s`,
		journalTables[table], table)
	if err := pool.QueryRow(context.Background(), q).Scan(&out); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return out
}

// newFencedJournal returns a journal on a fresh database whose treasury
// holds its first epoch.
func newFencedJournal(t *testing.T, cfg persistence.JournalConfig) (*persistence.Journal, *pgxpool.Pool, int64) {
	t.Helper()
	pool := pgtest.NewPool(t)
	epoch, err := persistence.NewStateStore(pool).ClaimEpoch(context.Background(), "treasury")
	if err != nil {
		t.Fatal(err)
	}
	j := persistence.NewJournal(pool, cfg)
	t.Cleanup(j.Close)
	return j, pool, epoch
}

func TestJournalSetPathWritesWhatRowByRowWrites(t *testing.T) {
	rowJ, rowPool, rowEpoch := newFencedJournal(t, persistence.JournalConfig{RowByRow: true})
	setJ, setPool, setEpoch := newFencedJournal(t, persistence.JournalConfig{})
	batches := func(epoch int64) [][]engine.Change {
		var inserts, updates []engine.Change
		for i := range 4 {
			inserts = append(inserts, everyKind(i, epoch))
			updates = append(updates, everyUpdate(i, epoch))
		}
		// The same card twice in one batch, from two streams: the second
		// write must see the first (a later round).
		third, fourth := everyKind(0, epoch).Cards[0], everyKind(0, epoch).Cards[0]
		third.Version, third.Balance, fourth.Version, fourth.Balance = 3, 7, 4, 9
		twice := []engine.Change{{Stream: "a", Cards: []engine.CardRecord{third}},
			{Stream: "b", Cards: []engine.CardRecord{fourth}}}
		return [][]engine.Change{inserts, updates, twice}
	}
	for b, batch := range batches(rowEpoch) {
		for i, err := range rowJ.CommitTogether(batch) {
			if err != nil {
				t.Fatalf("row by row: batch %d change %d: %v", b, i, err)
			}
		}
	}
	for b, batch := range batches(setEpoch) {
		for i, err := range setJ.CommitTogether(batch) {
			if err != nil {
				t.Fatalf("set: batch %d change %d: %v", b, i, err)
			}
		}
	}
	for table := range journalTables {
		want, got := tableContents(t, rowPool, table), tableContents(t, setPool, table)
		if got != want {
			t.Errorf("%s differs:\nset:        %s\nrow by row: %s", table, got, want)
		}
		if want == "[]" {
			t.Errorf("%s: nothing written, the comparison proves nothing", table)
		}
	}
	st := setJ.Stats()
	if st.Fallbacks != 0 || st.Commits != 3 || st.Statements >= st.Rows {
		t.Errorf("set journal stats %+v: want 3 set commits, no fallback, fewer statements than rows", st)
	}
}

// setBatch returns n changes that each insert a card, for a batch whose
// set statements have many rows.
func setBatch(prefix string, n int) []engine.Change {
	out := make([]engine.Change, n)
	for i := range out {
		out[i] = engine.Change{Stream: fmt.Sprintf("%s%d", prefix, i),
			Cards: []engine.CardRecord{card(fmt.Sprintf("%s%d", prefix, i), 1, 0)}}
	}
	return out
}

func countRows(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// expectOnly checks that exactly the changes in want failed, each as its
// check says.
func expectOnly(t *testing.T, errs []error, want map[int]func(error) bool) {
	t.Helper()
	for i, err := range errs {
		check, ok := want[i]
		switch {
		case ok && !check(err):
			t.Errorf("change %d: unexpected outcome %v", i, err)
		case !ok && err != nil:
			t.Errorf("change %d: %v (an innocent change failed)", i, err)
		}
	}
}

func isFenced(err error) bool { return errors.Is(err, engine.ErrFenced) }

func duplicateOn(constraint string) func(error) bool {
	return func(err error) bool {
		var dup *persistence.DuplicateError
		return errors.As(err, &dup) && dup.Constraint == constraint && errors.Is(err, engine.ErrDuplicate)
	}
}

func TestJournalSetPathFencedUpdateFailsOnlyItsChange(t *testing.T) {
	j, pool, epoch := newFencedJournal(t, persistence.JournalConfig{})
	for _, err := range j.CommitTogether(setBatch("k", 20)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	updates := make([]engine.Change, 20)
	for i := range updates {
		updates[i] = engine.Change{Stream: fmt.Sprintf("k%d", i), Cards: []engine.CardRecord{card(fmt.Sprintf("k%d", i), 2, 5)}}
	}
	updates[7].Cards[0].Version = 3  // stale: the stored version is 1
	updates[13].Cards[0].Version = 2 // fine, but under a stale epoch
	updates[13].Fence = &engine.Fence{ActorID: "treasury", Epoch: epoch - 1}
	updates[15].Fence = &engine.Fence{ActorID: "treasury", Epoch: epoch}
	before := j.Stats()
	expectOnly(t, j.CommitTogether(updates), map[int]func(error) bool{7: isFenced, 13: isFenced})
	if n := countRows(t, pool, `SELECT count(*) FROM cards WHERE version = 2 AND balance_minor = 5`); n != 18 {
		t.Fatalf("%d cards updated, want 18", n)
	}
	if st := j.Stats(); st.Fallbacks != before.Fallbacks {
		t.Errorf("a fenced write made the set path fall back to row by row: %+v", st)
	}
}

// A change that another change's failure made fail (it wrote the same row
// after it) is retried, not failed with it: as row by row.
func TestJournalSetPathRetriesChangesThatDependOnACulprit(t *testing.T) {
	j, pool, _ := newFencedJournal(t, persistence.JournalConfig{})
	if errs := j.CommitTogether(setBatch("d", 2)); errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	batch := []engine.Change{
		{Stream: "one", Cards: []engine.CardRecord{card("d0", 2, 1), card("d1", 5, 1)}}, // d1 is stale
		{Stream: "two", Cards: []engine.CardRecord{card("d0", 2, 7)}},
	}
	expectOnly(t, j.CommitTogether(batch), map[int]func(error) bool{0: isFenced})
	if n := countRows(t, pool, `SELECT balance_minor FROM cards WHERE id = 'd0'`); n != 7 {
		t.Fatalf("d0 balance %d, want 7 (the second change, retried alone)", n)
	}
}

func TestJournalSetPathDuplicateNamesItsConstraint(t *testing.T) {
	j, pool, _ := newFencedJournal(t, persistence.JournalConfig{})
	entry := func(ref string) engine.Entry {
		return engine.Entry{Ref: ref, Kind: "deposit", Postings: []engine.Posting{
			{Account: engine.IssuerFloatAccount(), Amount: engine.Money{Minor: 10, Currency: engine.USD}},
			{Account: engine.WorldIssuerAccount(), Amount: engine.Money{Minor: -10, Currency: engine.USD}}}}
	}
	reservation := func(funding string, seq int64) engine.ReservationRecord {
		return engine.ReservationRecord{FundingID: funding, CardID: "c", Seq: seq, Amount: 5,
			Status: engine.ReservationQueued, RequestedAt: t0, Deadline: t0, Version: 1}
	}
	first := engine.Change{Entries: []engine.Entry{entry("dup")},
		Reservations: []engine.ReservationRecord{reservation("fund-a", 1)}}
	if err := j.Commit(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	batch := make([]engine.Change, 12)
	for i := range batch {
		batch[i] = engine.Change{Stream: fmt.Sprint(i), Entries: []engine.Entry{entry(fmt.Sprintf("e%d", i))},
			Reservations: []engine.ReservationRecord{reservation(fmt.Sprintf("fund%d", i), int64(10+i))}}
	}
	batch[3].Entries[0].Ref = "dup"                                     // already durable
	batch[5].Reservations[0].FundingID = "fund-a"                       // this funding's reservation exists
	batch[8].Reservations[0].Seq = 1                                    // another funding's seq
	batch[10].Entries[0].Ref, batch[11].Entries[0].Ref = "twin", "twin" // the first one wins
	before := j.Stats()
	expectOnly(t, j.CommitTogether(batch), map[int]func(error) bool{
		3:  duplicateOn("ledger_entries_ref_key"),
		5:  duplicateOn("float_reservations_pkey"),
		8:  duplicateOn("float_reservations_seq_key"),
		11: duplicateOn("ledger_entries_ref_key"),
	})
	if n := countRows(t, pool, `SELECT count(*) FROM ledger_entries`); n != 1+12-4 {
		t.Fatalf("%d ledger entries, want %d", n, 1+12-4)
	}
	// A seq collision is not the key's: only the per-row path can name it.
	if st := j.Stats(); st.Fallbacks == before.Fallbacks {
		t.Errorf("stats %+v: the seq collision should have been found row by row", st)
	}
}

func TestJournalSetPathCheckViolationFailsOnlyItsChange(t *testing.T) {
	j, pool, _ := newFencedJournal(t, persistence.JournalConfig{})
	batch := setBatch("v", 16)
	batch[9].Cards[0].Balance = -1 // CHECK (balance_minor >= 0)
	before := j.Stats()
	errs := j.CommitTogether(batch)
	expectOnly(t, errs, map[int]func(error) bool{9: func(err error) bool {
		var pgErr *pgconn.PgError
		return errors.As(err, &pgErr) && pgErr.ConstraintName == "cards_balance_minor_check"
	}})
	if n := countRows(t, pool, `SELECT count(*) FROM cards`); n != 15 {
		t.Fatalf("%d cards, want 15", n)
	}
	if st := j.Stats(); st.Fallbacks != before.Fallbacks+1 {
		t.Errorf("stats %+v: want one fallback to row by row", st)
	}
}

// A row that references a parent written later in the batch fails as it
// would row by row, even though set statements write parents first.
func TestJournalSetPathKeepsForeignKeyOrder(t *testing.T) {
	j, pool, _ := newFencedJournal(t, persistence.JournalConfig{})
	event := func(id, cardID string) engine.Change {
		return engine.Change{Stream: id, CardEvents: []engine.CardEventRecord{{ID: id, CardID: cardID, Kind: "spend",
			Currency: engine.USD, At: t0}}}
	}
	parent := func(id string) engine.Change {
		return engine.Change{Stream: "card" + id, Cards: []engine.CardRecord{card(id, 1, 0)}}
	}
	batch := []engine.Change{parent("early"), event("e1", "early"), event("e2", "late"), parent("late"), event("e3", "late")}
	expectOnly(t, j.CommitTogether(batch), map[int]func(error) bool{2: func(err error) bool {
		var pgErr *pgconn.PgError
		return errors.As(err, &pgErr) && pgErr.Code == "23503"
	}})
	if n := countRows(t, pool, `SELECT count(*) FROM card_events`); n != 2 {
		t.Fatalf("%d card events, want 2", n)
	}
}

// The treasury's word moves a paid funding to queued_for_float and then to
// funding_card, each taking the next version; any other move is fenced.
func TestJournalFundingAdvance(t *testing.T) {
	for _, rowByRow := range []bool{false, true} {
		j, pool, epoch := newFencedJournal(t, persistence.JournalConfig{RowByRow: rowByRow})
		first := everyKind(1, epoch)
		if errs := j.CommitTogether([]engine.Change{first}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		f := first.Fundings[0].ID // paid, version 1
		advance := func(status string) error {
			return j.CommitTogether([]engine.Change{{Stream: "float:" + f, AdvanceFundings: []engine.FundingAdvance{
				{FundingID: f, Status: status, At: t0.Add(time.Hour)}}}})[0]
		}
		want := func(status string, version int64) {
			t.Helper()
			var s string
			var v int64
			if err := pool.QueryRow(context.Background(), `SELECT status, version FROM fundings WHERE id = $1`, f).Scan(&s, &v); err != nil {
				t.Fatal(err)
			}
			if s != status || v != version {
				t.Fatalf("row by row %v: funding %s v%d, want %s v%d", rowByRow, s, v, status, version)
			}
		}
		if err := advance("queued_for_float"); err != nil {
			t.Fatal(err)
		}
		want("queued_for_float", 2)
		if err := advance("queued_for_float"); !isFenced(err) {
			t.Fatalf("queued twice: %v, want fenced", err)
		}
		if err := advance("funding_card"); err != nil {
			t.Fatal(err)
		}
		want("funding_card", 3)
		if err := advance("funding_card"); !isFenced(err) {
			t.Fatalf("granted twice: %v, want fenced", err)
		}
		want("funding_card", 3)
	}
}
