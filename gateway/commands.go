package gateway

import (
	"context"

	"kash/actors"
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

// The commands are the actor engine's own (gateway → actors): the gateway
// builds them, and *actors.Engine implements Commands.
type (
	IssueCard = actors.IssueCard
	FundCard  = actors.FundCard
	Withdraw  = actors.Withdraw
	Terminate = actors.Terminate
	CardEvent = actors.CardEvent
)

var _ Commands = (*actors.Engine)(nil)

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
