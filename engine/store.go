package engine

import (
	"context"
	"time"
)

// CardSnapshot is what a card actor loads when it starts: its card and the
// operations that are not final yet (with the payments they wait on).
type CardSnapshot struct {
	Found       bool
	Card        CardRecord
	Fundings    []FundingRecord    // not final, or owning a pending payment
	Withdrawals []WithdrawalRecord // not final
	Payments    []PaymentRecord    // pending, and the latest of each open operation
}

// TreasurySnapshot is what the treasury actor loads when it starts.
type TreasurySnapshot struct {
	Float        int64               // issuer float per the ledger, USD minor
	Reservations []ReservationRecord // queued and granted, in seq order
	NextSeq      int64
	Sweeps       []SweepRecord // not final
	Collections  map[string]int64
}

// StateStore is the port through which actors load durable state. Writes go
// through Journal; reads for the API do not go through actors at all.
type StateStore interface {
	// LoadCard returns a card's snapshot; Found is false for a new id.
	LoadCard(ctx context.Context, cardID string) (CardSnapshot, error)
	// LoadTreasury returns the issuer float and the open reservations.
	LoadTreasury(ctx context.Context) (TreasurySnapshot, error)
	// LoadReservation returns one float reservation by funding id.
	LoadReservation(ctx context.Context, fundingID string) (ReservationRecord, bool, error)
	// CollectionBalances is each momo provider account's collected balance
	// per the ledger (XOF minor), by provider name.
	CollectionBalances(ctx context.Context) (map[string]int64, error)
	// ClaimEpoch makes the caller the only activation of actorID that may
	// write: it returns a new epoch, and fences every older one.
	ClaimEpoch(ctx context.Context, actorID string) (int64, error)
	// CardsWithOpenSagas lists cards that have a non-final operation.
	CardsWithOpenSagas(ctx context.Context) ([]string, error)
	// DuePayments lists pending payments whose next check is at or before now.
	DuePayments(ctx context.Context, now time.Time, limit int) ([]PaymentRecord, error)
}

// OutboxItem is an outbox row waiting to be sent.
type OutboxItem struct {
	ID int64
	OutboxMessage
	Attempts  int
	CreatedAt time.Time
}

// OutboxStore is the port of the outbox dispatcher.
type OutboxStore interface {
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	MarkOutboxSent(ctx context.Context, id int64, at time.Time) error
	MarkOutboxFailed(ctx context.Context, id int64, reason string, next time.Time) error
}

// Message returns the notification to send for this outbox item; its
// dedupe key is the reference.
func (it OutboxItem) Message() Message {
	return Message{Ref: it.DedupeKey, To: it.Recipient, Title: it.Title, Body: it.Body}
}
