package persistence

import (
	"time"

	"kash/engine"
)

// The journal writes every record through one of the write kinds below. A
// kind is the single definition of its SQL: the per-row statement (one row,
// $n parameters) and the set statement (many rows as unnest arrays) are both
// generated from its table, columns and conditions (journal_sql.go), so the
// two paths cannot drift apart.
//
// kinds lists them in the order the set path runs them within a round:
// parents before the rows that reference them, and the fence first, as the
// per-row path does within each change.
var (
	kindFence = &writeKind{name: "fence", table: "actor_epochs", op: opFence, key: []int{0, 1},
		cols: cols("actor_id text", "epoch int8")}

	kindCardInsert = &writeKind{name: "card insert", table: "cards", op: opInsert, key: []int{0}, pkey: "cards_pkey",
		cols: cols("id text", "user_id text", "nickname text", "status text", "issuer_card_id text", "last4 text",
			"expiry_month int4", "expiry_year int4", "balance_minor int8", "held_minor int8", "version int8",
			"created_at timestamptz", "updated_at timestamptz")}
	kindCardUpdate = versioned(&writeKind{name: "card update", table: "cards",
		cols: cols("id text", "nickname text", "status text", "issuer_card_id text", "last4 text",
			"expiry_month int4", "expiry_year int4", "balance_minor int8", "held_minor int8", "version int8",
			"updated_at timestamptz")})

	kindFundingInsert = &writeKind{name: "funding insert", table: "fundings", op: opInsert, key: []int{0},
		pkey: "fundings_pkey", refs: []reference{{col: 1, table: "cards"}},
		cols: cols("id text", "card_id text", "user_id text", "kind text", "status text", "card_amount_minor int8",
			"momo_amount_minor int8", "fees_minor int8", "earnings_minor int8", "rate numeric", "cost_rate numeric",
			"phone text", "operator text", "provider text", "quote_id text", "failure_reason text",
			"manual_review bool", "payment_deadline timestamptz", "version int8", "created_at timestamptz",
			"updated_at timestamptz")}
	kindFundingUpdate = versioned(&writeKind{name: "funding update", table: "fundings",
		cols: cols("id text", "status text", "provider text", "failure_reason text", "manual_review bool",
			"version int8", "updated_at timestamptz")})

	// A float grant moves its funding to funding_card, from paid or
	// queued_for_float only, bumping the version its card actor will expect.
	kindFundingAdvance = &writeKind{name: "funding advance", table: "fundings", op: opUpdate,
		key: []int{0}, cols: cols("id text", "status text", "updated_at timestamptz"),
		extraSet: "version = t.version + 1",
		guard: func(val func(string) string) string {
			return "(t.status = 'paid' OR (t.status = 'queued_for_float' AND " + val("status") + " = 'funding_card'))"
		}}

	kindWithdrawalInsert = &writeKind{name: "withdrawal insert", table: "withdrawals", op: opInsert, key: []int{0},
		pkey: "withdrawals_pkey", refs: []reference{{col: 1, table: "cards"}},
		cols: cols("id text", "card_id text", "user_id text", "status text", "card_amount_minor int8",
			"momo_amount_minor int8", "fees_minor int8", "earnings_minor int8", "rate numeric", "cost_rate numeric",
			"phone text", "operator text", "provider text", "purpose text", "failure_reason text",
			"manual_review bool", "creditback_attempt int4", "version int8", "created_at timestamptz", "updated_at timestamptz")}
	kindWithdrawalUpdate = versioned(&writeKind{name: "withdrawal update", table: "withdrawals",
		cols: cols("id text", "status text", "provider text", "failure_reason text", "manual_review bool",
			"creditback_attempt int4", "version int8", "updated_at timestamptz")})

	kindPaymentInsert = &writeKind{name: "payment insert", table: "payments", op: opInsert, key: []int{0},
		pkey: "payments_pkey",
		cols: cols("ref text", "kind text", "owner_kind text", "owner_id text", "card_id text", "provider text",
			"operator text", "phone text", "amount_minor int8", "currency text", "status text", "provider_ref text",
			"reason text", "attempts int4", "next_check_at timestamptz", "version int8", "created_at timestamptz",
			"updated_at timestamptz")}
	kindPaymentUpdate = versioned(&writeKind{name: "payment update", table: "payments",
		cols: cols("ref text", "status text", "provider_ref text", "reason text", "attempts int4",
			"next_check_at timestamptz", "version int8", "updated_at timestamptz")})
	// A repeated status is not a change: its history row is written once.
	kindPaymentHistory = &writeKind{name: "payment history", table: "payment_status_history", op: opInsertIgnore,
		key: []int{0, 1}, refs: []reference{{col: 0, table: "payments"}},
		cols: cols("ref text", "status text", "reason text", "at timestamptz")}

	kindReservationInsert = &writeKind{name: "reservation insert", table: "float_reservations", op: opInsert,
		key: []int{0}, pkey: "float_reservations_pkey",
		cols: cols("funding_id text", "card_id text", "seq int8", "amount_minor int8", "status text",
			"requested_at timestamptz", "deadline timestamptz", "decided_at timestamptz", "version int8")}
	kindReservationUpdate = versioned(&writeKind{name: "reservation update", table: "float_reservations",
		cols: cols("funding_id text", "status text", "decided_at timestamptz", "version int8")})
	// A settlement is conditional on the reservation being granted: a
	// reservation is committed or released once.
	kindReservationSettle = &writeKind{name: "reservation settlement", table: "float_reservations", op: opUpdate,
		key: []int{0}, cols: cols("funding_id text", "status text"),
		extraSet: "version = t.version + 1",
		guard:    func(func(string) string) string { return "t.status = 'granted'" }}

	kindSweepInsert = &writeKind{name: "sweep insert", table: "sweeps", op: opInsert, key: []int{0},
		pkey: "sweeps_pkey",
		cols: cols("id text", "provider text", "amount_minor int8", "usd_minor int8", "status text", "reason text",
			"version int8", "created_at timestamptz", "updated_at timestamptz")}
	kindSweepUpdate = versioned(&writeKind{name: "sweep update", table: "sweeps",
		cols: cols("id text", "usd_minor int8", "status text", "version int8", "updated_at timestamptz")})

	kindSuspenseInsert = &writeKind{name: "suspense insert", table: "suspense_items", op: opInsert, key: []int{0},
		pkey: "suspense_items_pkey",
		cols: cols("id text", "payment_ref text", "owner_id text", "amount_minor int8", "currency text",
			"status text", "version int8", "created_at timestamptz", "resolved_at timestamptz")}
	kindSuspenseUpdate = versioned(&writeKind{name: "suspense update", table: "suspense_items",
		cols: cols("id text", "status text", "version int8", "resolved_at timestamptz")})

	kindCardEventInsert = &writeKind{name: "card event insert", table: "card_events", op: opInsert, key: []int{0},
		pkey: "card_events_pkey", refs: []reference{{col: 1, table: "cards"}},
		cols: cols("id text", "card_id text", "kind text", "amount_minor int8", "currency text", "merchant text",
			"reason text", "at timestamptz")}

	kindEntryInsert = &writeKind{name: "ledger entry insert", table: "ledger_entries", op: opInsert, key: []int{0},
		pkey: "ledger_entries_ref_key",
		cols: cols("ref text", "kind text", "accounts text[]", "currencies text[]", "amounts int8[]")}
	kindEarningInsert = &writeKind{name: "earning insert", table: "earnings", op: opInsert, key: []int{0},
		pkey: "earnings_pkey", refs: []reference{{col: 0, table: "ledger_entries"}},
		cols: cols("entry_ref text", "operation text", "owner_id text", "amount_minor int8", "created_at timestamptz")}
	// An outbox message is written once per dedupe key.
	kindOutboxInsert = &writeKind{name: "outbox insert", table: "outbox", op: opInsertIgnore, key: []int{1},
		cols: cols("channel text", "dedupe_key text", "recipient text", "title text", "body text")}

	kinds = []*writeKind{kindFence, kindCardInsert, kindCardUpdate, kindFundingInsert, kindFundingUpdate,
		kindWithdrawalInsert, kindWithdrawalUpdate, kindPaymentInsert, kindPaymentUpdate, kindPaymentHistory,
		kindReservationInsert, kindReservationUpdate, kindReservationSettle, kindFundingAdvance, kindSweepInsert, kindSweepUpdate,
		kindSuspenseInsert, kindSuspenseUpdate, kindCardEventInsert, kindEntryInsert, kindEarningInsert,
		kindOutboxInsert}
)

func init() {
	for i, k := range kinds {
		k.order = i
		k.compile()
	}
}

// changeWrites turns an engine.Change into the row writes that make it
// durable, in the order the per-row path runs them. Versioned records are
// inserted at version 1 and otherwise updated only where the stored version
// is the one before (fencing).
func changeWrites(c *engine.Change) []rowWrite {
	n := 0
	if c.Fence != nil {
		n++
	}
	n += len(c.Cards) + len(c.Fundings) + len(c.Withdrawals) + 2*len(c.Payments) + len(c.Reservations) +
		len(c.Sweeps) + len(c.Suspense) + len(c.CardEvents) + len(c.SettleReservations) + len(c.AdvanceFundings) + len(c.Entries) +
		len(c.Earnings) + len(c.Outbox)
	w := make([]rowWrite, 0, n)
	if c.Fence != nil {
		w = append(w, rowWrite{kindFence, []any{c.Fence.ActorID, c.Fence.Epoch}})
	}
	for i := range c.Cards {
		w = append(w, cardWrite(&c.Cards[i]))
	}
	for i := range c.Fundings {
		w = append(w, fundingWrite(&c.Fundings[i]))
	}
	for i := range c.Withdrawals {
		w = append(w, withdrawalWrite(&c.Withdrawals[i]))
	}
	for i := range c.Payments {
		w = append(w, paymentWrites(&c.Payments[i])...)
	}
	for i := range c.Reservations {
		w = append(w, reservationWrite(&c.Reservations[i]))
	}
	for i := range c.Sweeps {
		w = append(w, sweepWrite(&c.Sweeps[i]))
	}
	for i := range c.Suspense {
		w = append(w, suspenseWrite(&c.Suspense[i]))
	}
	for i := range c.CardEvents {
		e := &c.CardEvents[i]
		w = append(w, rowWrite{kindCardEventInsert, []any{e.ID, e.CardID, e.Kind, e.Amount, string(e.Currency),
			e.Merchant, e.Reason, e.At}})
	}
	for _, s := range c.SettleReservations {
		w = append(w, rowWrite{kindReservationSettle, []any{s.FundingID, s.Status}})
	}
	for _, a := range c.AdvanceFundings {
		w = append(w, rowWrite{kindFundingAdvance, []any{a.FundingID, a.Status, a.At}})
	}
	for i := range c.Entries {
		w = append(w, entryWrite(&c.Entries[i]))
	}
	for i := range c.Earnings {
		e := &c.Earnings[i]
		w = append(w, rowWrite{kindEarningInsert, []any{e.EntryRef, e.Operation, e.OwnerID, e.Amount, e.CreatedAt}})
	}
	for i := range c.Outbox {
		m := &c.Outbox[i]
		w = append(w, rowWrite{kindOutboxInsert, []any{m.Channel, m.DedupeKey, m.Recipient, m.Title, m.Body}})
	}
	return w
}

func cardWrite(c *engine.CardRecord) rowWrite {
	if c.Version == 1 {
		return rowWrite{kindCardInsert, []any{c.ID, c.UserID, c.Nickname, c.Status, nullString(c.IssuerCardID),
			nullString(c.Last4), nullInt(c.ExpiryMonth), nullInt(c.ExpiryYear), c.Balance, c.Held, c.Version,
			c.CreatedAt, c.UpdatedAt}}
	}
	return rowWrite{kindCardUpdate, []any{c.ID, c.Nickname, c.Status, nullString(c.IssuerCardID),
		nullString(c.Last4), nullInt(c.ExpiryMonth), nullInt(c.ExpiryYear), c.Balance, c.Held, c.Version,
		c.UpdatedAt}}
}

func fundingWrite(f *engine.FundingRecord) rowWrite {
	if f.Version == 1 {
		return rowWrite{kindFundingInsert, []any{f.ID, f.CardID, f.UserID, f.Kind, f.Status, f.CardAmount,
			f.MomoAmount, f.Fees, f.Earnings, f.Rate, f.CostRate, f.Phone, string(f.Operator), f.Provider,
			nullString(f.QuoteID), nullString(f.FailureReason), f.ManualReview, f.PaymentDeadline, f.Version,
			f.CreatedAt, f.UpdatedAt}}
	}
	return rowWrite{kindFundingUpdate, []any{f.ID, f.Status, f.Provider, nullString(f.FailureReason),
		f.ManualReview, f.Version, f.UpdatedAt}}
}

func withdrawalWrite(w *engine.WithdrawalRecord) rowWrite {
	if w.Version == 1 {
		return rowWrite{kindWithdrawalInsert, []any{w.ID, w.CardID, w.UserID, w.Status, w.CardAmount,
			w.MomoAmount, w.Fees, w.Earnings, w.Rate, w.CostRate, w.Phone, string(w.Operator), w.Provider,
			w.Purpose, nullString(w.FailureReason), w.ManualReview, w.CreditBackAttempt, w.Version, w.CreatedAt, w.UpdatedAt}}
	}
	return rowWrite{kindWithdrawalUpdate, []any{w.ID, w.Status, w.Provider, nullString(w.FailureReason),
		w.ManualReview, w.CreditBackAttempt, w.Version, w.UpdatedAt}}
}

func paymentWrites(p *engine.PaymentRecord) []rowWrite {
	var main rowWrite
	if p.Version == 1 {
		main = rowWrite{kindPaymentInsert, []any{p.Ref, p.Kind, p.OwnerKind, p.OwnerID, nullString(p.CardID),
			p.Provider, string(p.Operator), p.Phone, p.Amount, string(p.Currency), p.Status,
			nullString(p.ProviderRef), nullString(p.Reason), p.Attempts, nullTime(p.NextCheckAt), p.Version,
			p.CreatedAt, p.UpdatedAt}}
	} else {
		main = rowWrite{kindPaymentUpdate, []any{p.Ref, p.Status, nullString(p.ProviderRef), nullString(p.Reason),
			p.Attempts, nullTime(p.NextCheckAt), p.Version, p.UpdatedAt}}
	}
	if p.Version != 1 && !p.StatusChanged {
		return []rowWrite{main}
	}
	return []rowWrite{main, {kindPaymentHistory, []any{p.Ref, p.Status, nullString(p.Reason), p.UpdatedAt}}}
}

func reservationWrite(r *engine.ReservationRecord) rowWrite {
	if r.Version == 1 {
		return rowWrite{kindReservationInsert, []any{r.FundingID, r.CardID, r.Seq, r.Amount, r.Status,
			r.RequestedAt, r.Deadline, nullTime(r.DecidedAt), r.Version}}
	}
	return rowWrite{kindReservationUpdate, []any{r.FundingID, r.Status, nullTime(r.DecidedAt), r.Version}}
}

func sweepWrite(s *engine.SweepRecord) rowWrite {
	if s.Version == 1 {
		return rowWrite{kindSweepInsert, []any{s.ID, s.Provider, s.Amount, s.USD, s.Status, s.Reason, s.Version,
			s.CreatedAt, s.UpdatedAt}}
	}
	return rowWrite{kindSweepUpdate, []any{s.ID, s.USD, s.Status, s.Version, s.UpdatedAt}}
}

func suspenseWrite(s *engine.SuspenseRecord) rowWrite {
	if s.Version == 1 {
		return rowWrite{kindSuspenseInsert, []any{s.ID, s.PaymentRef, s.OwnerID, s.Amount, string(s.Currency),
			s.Status, s.Version, s.CreatedAt, nullTime(s.ResolvedAt)}}
	}
	return rowWrite{kindSuspenseUpdate, []any{s.ID, s.Status, s.Version, nullTime(s.ResolvedAt)}}
}

func entryWrite(e *engine.Entry) rowWrite {
	accounts := make([]string, len(e.Postings))
	currencies := make([]string, len(e.Postings))
	amounts := make([]int64, len(e.Postings))
	for i, p := range e.Postings {
		accounts[i] = p.Account.String()
		currencies[i] = string(p.Amount.Currency)
		amounts[i] = p.Amount.Minor
	}
	return rowWrite{kindEntryInsert, []any{e.Ref, e.Kind, accounts, currencies, amounts}}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(i int) any {
	if i == 0 {
		return nil
	}
	return i
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
