package engine

import (
	"time"

	"github.com/shopspring/decimal"
)

// The records below are the durable state of the engine's entities, as the
// actors own them and the journal writes them. Version is the row's version
// after the write: 1 means the row is new (an insert); any other value is an
// update that is applied only if the stored version is Version-1 (fencing).

// CardRecord is a card as its card actor owns it.
type CardRecord struct {
	ID           string
	UserID       string
	Nickname     string
	Status       string // API card status
	IssuerCardID string
	Last4        string
	ExpiryMonth  int
	ExpiryYear   int
	Balance      int64 // USD minor units, mirror of the issuer's balance
	Held         int64 // USD minor units reserved by withdrawals in flight
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Available is the balance a new withdrawal may take.
func (c CardRecord) Available() int64 { return c.Balance - c.Held }

// FundingRecord is a funding or an issuance (Kind) of one card.
type FundingRecord struct {
	ID              string
	CardID          string
	UserID          string
	Kind            string // "issuance" or "funding"
	Status          string // API funding status
	CardAmount      int64  // USD minor
	MomoAmount      int64  // XOF minor
	Fees            int64  // XOF minor
	Earnings        int64  // XOF minor, from the quote
	Rate            decimal.Decimal
	CostRate        decimal.Decimal
	Phone           string
	Operator        Operator
	Provider        string // momo provider account chosen when the payment started
	QuoteID         string
	FailureReason   string
	ManualReview    bool
	PaymentDeadline time.Time
	Version         int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// WithdrawalRecord is a withdrawal from a card to a wallet. Purpose is
// "withdrawal", or "termination" when it empties a card being closed.
type WithdrawalRecord struct {
	ID            string
	CardID        string
	UserID        string
	Status        string // API withdrawal status
	CardAmount    int64  // USD minor
	MomoAmount    int64  // XOF minor
	Fees          int64
	Earnings      int64
	Rate          decimal.Decimal
	CostRate      decimal.Decimal
	Phone         string
	Operator      Operator
	Provider      string
	Purpose       string
	FailureReason string
	ManualReview  bool
	// CreditBackAttempt numbers the credit-back in flight after a payout
	// failed for good (0: none yet); each attempt has its own issuer
	// reference, since the issuer records a refusal under the reference.
	CreditBackAttempt int
	Version           int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Payment kinds.
const (
	PaymentCollection = "collection"
	PaymentPayout     = "payout"
	PaymentRefund     = "refund"
)

// Payment statuses.
const (
	PaymentPending   = "pending"
	PaymentSucceeded = "succeeded"
	PaymentFailed    = "failed"
)

// PaymentRecord is one mobile-money payment (collection, payout or refund)
// under one idempotent reference, however many times it is retried.
type PaymentRecord struct {
	Ref           string
	Kind          string
	OwnerKind     string // "funding", "withdrawal" or "sweep"
	OwnerID       string
	CardID        string
	Provider      string
	Operator      Operator
	Phone         string
	Amount        int64 // minor units of Currency
	Currency      Currency
	Status        string
	ProviderRef   string
	Reason        string
	Attempts      int
	NextCheckAt   time.Time // zero when no poll is due
	StatusChanged bool      // write a history row for Status
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Reservation statuses.
const (
	ReservationQueued    = "queued"
	ReservationGranted   = "granted"
	ReservationCommitted = "committed"
	ReservationReleased  = "released"
	ReservationExpired   = "expired"
)

// ReservationRecord is issuer float held for one funding. Seq orders the
// FIFO queue of reservations that wait for float.
type ReservationRecord struct {
	FundingID   string
	CardID      string
	Seq         int64
	Amount      int64 // USD minor
	Status      string
	RequestedAt time.Time
	Deadline    time.Time
	DecidedAt   time.Time
	Version     int64
}

// SweepRecord moves collected mobile money to the issuer float.
type SweepRecord struct {
	ID        string
	Provider  string
	Amount    int64 // XOF minor
	USD       int64 // USD minor credited, once known
	Status    string
	Reason    string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Earning is what the house kept on one operation, in XOF minor units,
// written with the ledger entry (EntryRef) that realised it.
type Earning struct {
	EntryRef  string
	Operation string // issuance, funding, withdrawal
	OwnerID   string
	Amount    int64
	CreatedAt time.Time
}

// SuspenseRecord is money received for an operation that could no longer
// take it, kept until it is refunded or applied.
type SuspenseRecord struct {
	ID         string
	PaymentRef string
	OwnerID    string
	Amount     int64
	Currency   Currency
	Status     string // open, refunded, applied
	Version    int64
	CreatedAt  time.Time
	ResolvedAt time.Time
}

// CardEventRecord is a spend or a decline at the issuer, mirrored.
type CardEventRecord struct {
	ID       string // the issuer's event id
	CardID   string
	Kind     string // spend or decline
	Amount   int64  // USD minor
	Currency Currency
	Merchant string
	Reason   string
	At       time.Time
}

// OutboxMessage is a notification to send after the change that caused it
// commits. DedupeKey makes a repeated write of the same notification a no-op.
type OutboxMessage struct {
	Channel   string // sms, push, ops
	DedupeKey string
	Recipient string
	Title     string
	Body      string
}

// Fence makes a change conditional on its actor still holding Epoch: a
// newer activation of the same actor has claimed a higher epoch.
type Fence struct {
	ActorID string
	Epoch   int64
}

// Change is the atomic unit of durable state: the writes of one actor step,
// committed together or not at all. Changes with the same Stream commit in
// submission order.
type Change struct {
	Stream       string
	Fence        *Fence
	Cards        []CardRecord
	Fundings     []FundingRecord
	Withdrawals  []WithdrawalRecord
	Payments     []PaymentRecord
	Reservations []ReservationRecord
	Sweeps       []SweepRecord
	Suspense     []SuspenseRecord
	CardEvents   []CardEventRecord
	Entries      []Entry
	Earnings     []Earning
	Outbox       []OutboxMessage
	// SettleReservations hands float reservations over to the fundings that
	// used them (Committed) or gives them back (Released), in the same
	// transaction as the funding's own change. The treasury is told after
	// commit and updates its memory.
	SettleReservations []ReservationSettlement
	// AdvanceFundings moves fundings on the treasury's word, in the same
	// transaction as its decision: queued_for_float with a queued
	// reservation, funding_card with a grant, so that the decision and the
	// funding's next step are durable together and the card writes neither.
	// Each applies only to a funding still paid (or, for a grant, queued).
	AdvanceFundings []FundingAdvance
}

// FundingAdvance is a funding's move on the treasury's decision.
type FundingAdvance struct {
	FundingID string
	Status    string // queued_for_float or funding_card
	At        time.Time
}

// ReservationSettlement ends a granted float reservation. Its decided_at
// stays the treasury's: when it granted the float, so that the grants'
// order can be read back.
type ReservationSettlement struct {
	FundingID string
	Status    string // ReservationCommitted or ReservationReleased
}

// Empty reports whether c writes nothing.
func (c *Change) Empty() bool {
	return len(c.Cards)+len(c.Fundings)+len(c.Withdrawals)+len(c.Payments)+len(c.Reservations)+
		len(c.Sweeps)+len(c.Suspense)+len(c.CardEvents)+len(c.Entries)+len(c.Earnings)+len(c.Outbox)+
		len(c.SettleReservations)+len(c.AdvanceFundings) == 0
}

// Journal is the port through which actors make changes durable. done is
// called once, after commit (nil) or with the reason the change was not
// committed; the actor then reloads its state from the store.
type Journal interface {
	Submit(c Change, done func(error))
}
