package persistence

import (
	"time"

	"kash/engine"
)

// changeWrites turns an engine.Change into the statements that make it
// durable. Versioned records are inserted at version 1 and otherwise updated
// only where the stored version is the one before (fencing).
func changeWrites(c *engine.Change) []Write {
	n := 0
	if c.Fence != nil {
		n++
	}
	n += len(c.Cards) + len(c.Fundings) + len(c.Withdrawals) + 2*len(c.Payments) + len(c.Reservations) +
		len(c.Sweeps) + len(c.Suspense) + len(c.CardEvents) + len(c.SettleReservations) + len(c.Entries) +
		len(c.Earnings) + len(c.Outbox)
	w := make([]Write, 0, n)
	if c.Fence != nil {
		w = append(w, Write{SQL: sqlFence, Args: []any{c.Fence.ActorID, c.Fence.Epoch}, Expect: 1})
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
		w = append(w, Write{SQL: sqlCardEventInsert, Expect: 1, Args: []any{e.ID, e.CardID, e.Kind, e.Amount,
			string(e.Currency), e.Merchant, e.Reason, e.At}})
	}
	for _, s := range c.SettleReservations {
		w = append(w, Write{SQL: sqlReservationSettle, Expect: 1, Args: []any{s.FundingID, s.Status, s.At}})
	}
	for i := range c.Entries {
		w = append(w, entryWrite(&c.Entries[i]))
	}
	for i := range c.Earnings {
		e := &c.Earnings[i]
		w = append(w, Write{SQL: sqlEarningInsert, Args: []any{e.EntryRef, e.Operation, e.OwnerID, e.Amount, e.CreatedAt}, Expect: 1})
	}
	for i := range c.Outbox {
		m := &c.Outbox[i]
		w = append(w, Write{SQL: sqlOutboxInsert, Args: []any{m.Channel, m.DedupeKey, m.Recipient, m.Title, m.Body}, Expect: AnyRows})
	}
	return w
}

const (
	sqlFence = `SELECT 1 FROM actor_epochs WHERE actor_id = $1 AND epoch = $2 FOR SHARE`

	sqlCardInsert = `INSERT INTO cards (id, user_id, nickname, status, issuer_card_id, last4, expiry_month, expiry_year,
		balance_minor, held_minor, version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`
	sqlCardUpdate = `UPDATE cards SET nickname = $2, status = $3, issuer_card_id = $4, last4 = $5, expiry_month = $6,
		expiry_year = $7, balance_minor = $8, held_minor = $9, version = $10, updated_at = $11
		WHERE id = $1 AND version = $10 - 1`

	sqlFundingInsert = `INSERT INTO fundings (id, card_id, user_id, kind, status, card_amount_minor, momo_amount_minor,
		fees_minor, earnings_minor, rate, cost_rate, phone, operator, provider, quote_id, failure_reason, manual_review,
		payment_deadline, version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`
	sqlFundingUpdate = `UPDATE fundings SET status = $2, provider = $3, failure_reason = $4, manual_review = $5,
		version = $6, updated_at = $7 WHERE id = $1 AND version = $6 - 1`

	sqlWithdrawalInsert = `INSERT INTO withdrawals (id, card_id, user_id, status, card_amount_minor, momo_amount_minor,
		fees_minor, earnings_minor, rate, cost_rate, phone, operator, provider, purpose, failure_reason, manual_review,
		version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`
	sqlWithdrawalUpdate = `UPDATE withdrawals SET status = $2, provider = $3, failure_reason = $4, manual_review = $5,
		version = $6, updated_at = $7 WHERE id = $1 AND version = $6 - 1`

	sqlPaymentInsert = `INSERT INTO payments (ref, kind, owner_kind, owner_id, card_id, provider, operator, phone,
		amount_minor, currency, status, provider_ref, reason, attempts, next_check_at, version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`
	sqlPaymentUpdate = `UPDATE payments SET status = $2, provider_ref = $3, reason = $4, attempts = $5,
		next_check_at = $6, version = $7, updated_at = $8 WHERE ref = $1 AND version = $7 - 1`
	sqlPaymentHistory = `INSERT INTO payment_status_history (ref, status, reason, at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (ref, status) DO NOTHING`

	sqlReservationInsert = `INSERT INTO float_reservations (funding_id, card_id, seq, amount_minor, status,
		requested_at, deadline, decided_at, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`
	sqlReservationUpdate = `UPDATE float_reservations SET status = $2, decided_at = $3, version = $4
		WHERE funding_id = $1 AND version = $4 - 1`

	// A settlement is conditional on the reservation being granted: a
	// reservation is committed or released once.
	sqlReservationSettle = `UPDATE float_reservations SET status = $2, decided_at = $3, version = version + 1
		WHERE funding_id = $1 AND status = 'granted'`

	sqlCardEventInsert = `INSERT INTO card_events (id, card_id, kind, amount_minor, currency, merchant, reason, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`

	sqlSweepInsert = `INSERT INTO sweeps (id, provider, amount_minor, usd_minor, status, reason, version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`
	sqlSweepUpdate = `UPDATE sweeps SET usd_minor = $2, status = $3, version = $4, updated_at = $5
		WHERE id = $1 AND version = $4 - 1`

	sqlSuspenseInsert = `INSERT INTO suspense_items (id, payment_ref, owner_id, amount_minor, currency, status, version,
		created_at, resolved_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`
	sqlSuspenseUpdate = `UPDATE suspense_items SET status = $2, version = $3, resolved_at = $4
		WHERE id = $1 AND version = $3 - 1`

	sqlEntryInsert = `INSERT INTO ledger_entries (ref, kind, accounts, currencies, amounts)
		VALUES ($1,$2,$3,$4,$5)`
	sqlEarningInsert = `INSERT INTO earnings (entry_ref, operation, owner_id, amount_minor, created_at)
		VALUES ($1,$2,$3,$4,$5)`
	sqlOutboxInsert = `INSERT INTO outbox (channel, dedupe_key, recipient, title, body) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (dedupe_key) DO NOTHING`
)

func cardWrite(c *engine.CardRecord) Write {
	if c.Version == 1 {
		return Write{SQL: sqlCardInsert, Expect: 1, Args: []any{c.ID, c.UserID, c.Nickname, c.Status,
			nullString(c.IssuerCardID), nullString(c.Last4), nullInt(c.ExpiryMonth), nullInt(c.ExpiryYear),
			c.Balance, c.Held, c.Version, c.CreatedAt, c.UpdatedAt}}
	}
	return Write{SQL: sqlCardUpdate, Expect: 1, Args: []any{c.ID, c.Nickname, c.Status,
		nullString(c.IssuerCardID), nullString(c.Last4), nullInt(c.ExpiryMonth), nullInt(c.ExpiryYear),
		c.Balance, c.Held, c.Version, c.UpdatedAt}}
}

func fundingWrite(f *engine.FundingRecord) Write {
	if f.Version == 1 {
		return Write{SQL: sqlFundingInsert, Expect: 1, Args: []any{f.ID, f.CardID, f.UserID, f.Kind, f.Status,
			f.CardAmount, f.MomoAmount, f.Fees, f.Earnings, f.Rate, f.CostRate, f.Phone, string(f.Operator),
			f.Provider, nullString(f.QuoteID), nullString(f.FailureReason), f.ManualReview, f.PaymentDeadline,
			f.Version, f.CreatedAt, f.UpdatedAt}}
	}
	return Write{SQL: sqlFundingUpdate, Expect: 1, Args: []any{f.ID, f.Status, f.Provider,
		nullString(f.FailureReason), f.ManualReview, f.Version, f.UpdatedAt}}
}

func withdrawalWrite(w *engine.WithdrawalRecord) Write {
	if w.Version == 1 {
		return Write{SQL: sqlWithdrawalInsert, Expect: 1, Args: []any{w.ID, w.CardID, w.UserID, w.Status,
			w.CardAmount, w.MomoAmount, w.Fees, w.Earnings, w.Rate, w.CostRate, w.Phone, string(w.Operator),
			w.Provider, w.Purpose, nullString(w.FailureReason), w.ManualReview, w.Version, w.CreatedAt, w.UpdatedAt}}
	}
	return Write{SQL: sqlWithdrawalUpdate, Expect: 1, Args: []any{w.ID, w.Status, w.Provider,
		nullString(w.FailureReason), w.ManualReview, w.Version, w.UpdatedAt}}
}

func paymentWrites(p *engine.PaymentRecord) []Write {
	var main Write
	if p.Version == 1 {
		main = Write{SQL: sqlPaymentInsert, Expect: 1, Args: []any{p.Ref, p.Kind, p.OwnerKind, p.OwnerID,
			nullString(p.CardID), p.Provider, string(p.Operator), p.Phone, p.Amount, string(p.Currency), p.Status,
			nullString(p.ProviderRef), nullString(p.Reason), p.Attempts, nullTime(p.NextCheckAt), p.Version,
			p.CreatedAt, p.UpdatedAt}}
	} else {
		main = Write{SQL: sqlPaymentUpdate, Expect: 1, Args: []any{p.Ref, p.Status, nullString(p.ProviderRef),
			nullString(p.Reason), p.Attempts, nullTime(p.NextCheckAt), p.Version, p.UpdatedAt}}
	}
	if p.Version != 1 && !p.StatusChanged {
		return []Write{main}
	}
	return []Write{main, {SQL: sqlPaymentHistory, Expect: AnyRows,
		Args: []any{p.Ref, p.Status, nullString(p.Reason), p.UpdatedAt}}}
}

func reservationWrite(r *engine.ReservationRecord) Write {
	if r.Version == 1 {
		return Write{SQL: sqlReservationInsert, Expect: 1, Args: []any{r.FundingID, r.CardID, r.Seq, r.Amount,
			r.Status, r.RequestedAt, r.Deadline, nullTime(r.DecidedAt), r.Version}}
	}
	return Write{SQL: sqlReservationUpdate, Expect: 1, Args: []any{r.FundingID, r.Status, nullTime(r.DecidedAt), r.Version}}
}

func sweepWrite(s *engine.SweepRecord) Write {
	if s.Version == 1 {
		return Write{SQL: sqlSweepInsert, Expect: 1, Args: []any{s.ID, s.Provider, s.Amount, s.USD, s.Status,
			s.Reason, s.Version, s.CreatedAt, s.UpdatedAt}}
	}
	return Write{SQL: sqlSweepUpdate, Expect: 1, Args: []any{s.ID, s.USD, s.Status, s.Version, s.UpdatedAt}}
}

func suspenseWrite(s *engine.SuspenseRecord) Write {
	if s.Version == 1 {
		return Write{SQL: sqlSuspenseInsert, Expect: 1, Args: []any{s.ID, s.PaymentRef, s.OwnerID, s.Amount,
			string(s.Currency), s.Status, s.Version, s.CreatedAt, nullTime(s.ResolvedAt)}}
	}
	return Write{SQL: sqlSuspenseUpdate, Expect: 1, Args: []any{s.ID, s.Status, s.Version, nullTime(s.ResolvedAt)}}
}

func entryWrite(e *engine.Entry) Write {
	accounts := make([]string, len(e.Postings))
	currencies := make([]string, len(e.Postings))
	amounts := make([]int64, len(e.Postings))
	for i, p := range e.Postings {
		accounts[i] = p.Account.String()
		currencies[i] = string(p.Amount.Currency)
		amounts[i] = p.Amount.Minor
	}
	return Write{SQL: sqlEntryInsert, Expect: 1, Args: []any{e.Ref, e.Kind, accounts, currencies, amounts}}
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
