package gateway

import (
	"context"
	"time"

	"kash/engine"
)

// Commands is what the gateway asks of the actor engine. Every method is
// idempotent by its id argument (the gateway derives ids from the
// Idempotency-Key scope so that a retry after a timeout reaches the same
// operation), returns only after the change is durable, and returns engine
// sentinel errors (engine.ErrNotFound, engine.ErrCardNotActive,
// engine.ErrInsufficientBalance, engine.ErrInvalidState, engine.ErrBusy,
// engine.ErrExists, engine.ErrAmountTooSmall/TooLarge/ErrLimitExceeded) or
// wrapped ones. A context deadline that passes means the outcome is
// unknown: the command may still complete, and repeating it with the same
// ids returns its result.
//
// The command structs have the fields of the actors package's commands in
// the same order, so that an adapter converts them with a type conversion.
type Commands interface {
	IssueCard(ctx context.Context, cmd IssueCard) (engine.CardRecord, engine.FundingRecord, error)
	FundCard(ctx context.Context, cmd FundCard) (engine.FundingRecord, error)
	Withdraw(ctx context.Context, cmd Withdraw) (engine.WithdrawalRecord, error)
	Freeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error)
	Unfreeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error)
	Terminate(ctx context.Context, cmd Terminate) (engine.CardRecord, error)
	SensitiveCard(ctx context.Context, userID, cardID string) (engine.SensitiveCard, error)
	StartSweep(ctx context.Context, sweepID, provider string, amount engine.Money) (engine.SweepRecord, error)
	// Events from providers, already signature-checked and deduplicated by
	// event id. PaymentUpdate names the card that owns the payment
	// reference (the gateway looks it up).
	PaymentUpdate(ctx context.Context, cardID, ref string, result engine.Result) error
	CardEvent(ctx context.Context, ev CardEvent) error // a spend or a decline at the issuer
	FloatCredited(ctx context.Context, eventID string, amount engine.Money) error
	// Ready reports whether recovery is done and commands are accepted.
	Ready() bool
}

// IssueCard creates a card and its issuance funding.
type IssueCard struct {
	CardID    string
	FundingID string
	UserID    string
	Nickname  string
	Quote     engine.Quote
	Phone     string
	Operator  engine.Operator
}

// FundCard tops up an active or frozen card.
type FundCard struct {
	FundingID string
	CardID    string
	UserID    string
	Quote     engine.Quote
	Phone     string
	Operator  engine.Operator
}

// Withdraw moves card balance to a mobile-money wallet.
type Withdraw struct {
	WithdrawalID string
	CardID       string
	UserID       string
	Quote        engine.Quote
	Phone        string
	Operator     engine.Operator
}

// Terminate empties a card to a wallet and closes it at the issuer. Quote
// prices the withdrawal of the card's whole balance as the gateway read
// it; it is zero when the card was empty.
type Terminate struct {
	CardID       string
	UserID       string
	WithdrawalID string
	Phone        string
	Operator     engine.Operator
	Quote        engine.Quote
}

// CardEvent is a spend or a decline reported by the issuer.
type CardEvent struct {
	EventID      string
	CardID       string // the engine's card id
	IssuerCardID string
	Kind         string // spend or decline
	Amount       engine.Money
	Merchant     string
	Reason       string
	At           time.Time
}

// Reconciler compares the engine's books with the providers' own records
// (GET /v1/admin/reconciliation). Operations still in flight are not
// differences.
type Reconciler interface {
	Reconcile(ctx context.Context) (Reconciliation, error)
}

// Reconciliation is the result of a Reconciler.
type Reconciliation struct {
	OK          bool
	Differences []Difference
}

// Difference is one disagreement between the engine and a provider.
type Difference struct {
	Kind     string // card, float, collection
	Subject  string // the card id, "issuer:float", or the provider account
	Engine   engine.Money
	Provider engine.Money
	Detail   string
}
