package engine

import (
	"context"
	"errors"
	"time"
)

// Operator is a mobile-money operator the user pays with or is paid to.
type Operator string

// Supported operators (Benin).
const (
	OperatorMTN  Operator = "mtn-bj"  // asynchronous: the payer approves on the phone
	OperatorMoov Operator = "moov-bj" // synchronous
)

// Outcome is what a provider call is known to have done.
//
// OutcomeUnknown is never a guess: a timeout, a dropped connection or an
// unrecognised answer leaves the outcome unknown, and the caller resolves it
// by asking for the status of the same reference, never by resending under a
// new one.
type Outcome int

// Outcomes of a provider call.
const (
	OutcomeUnknown   Outcome = iota // the call may or may not have taken effect
	OutcomePending                  // accepted, final status comes later (webhook or poll)
	OutcomeSucceeded                // done
	OutcomeFailed                   // definitely not done; Reason says why
)

func (o Outcome) String() string {
	switch o {
	case OutcomePending:
		return "pending"
	case OutcomeSucceeded:
		return "succeeded"
	case OutcomeFailed:
		return "failed"
	}
	return "unknown"
}

// Final reports whether the outcome will not change.
func (o Outcome) Final() bool { return o == OutcomeSucceeded || o == OutcomeFailed }

// Result is the typed answer of a provider call. Ref is the caller's
// idempotent reference; ProviderRef is the provider's own id when it gave
// one; Reason explains a failure (provider code or message, never secrets).
type Result struct {
	Outcome     Outcome
	Ref         string
	ProviderRef string
	Reason      string
}

// PaymentRequest asks a mobile-money provider to collect from, or pay out
// to, a wallet. Ref is chosen by the engine, persisted before the call, and
// reused on every retry of the same payment.
type PaymentRequest struct {
	Ref      string
	Phone    string // E.164
	Operator Operator
	Amount   Money // XOF
}

// MomoProvider is a mobile-money provider account (Qosic in production, the
// simulator in development, in-process fakes in tests).
//
// Every method returns a Result; a non-nil error always comes with
// OutcomeUnknown and means the call's effect is unknown (timeout, transport
// error, unparseable answer).
type MomoProvider interface {
	// Name identifies the provider account in the ledger (momo:<name>) and in metrics.
	Name() string
	Collect(ctx context.Context, req PaymentRequest) (Result, error)
	Payout(ctx context.Context, req PaymentRequest) (Result, error)
	// PaymentStatus reports the status of a collection or payout by reference.
	PaymentStatus(ctx context.Context, ref string, op Operator) (Result, error)
}

// IssuedCard is what the issuer returns when it creates a card.
type IssuedCard struct {
	IssuerCardID string
	Last4        string
	ExpiryMonth  int
	ExpiryYear   int
}

// CreateCardRequest asks the issuer for a new card loaded with Amount (USD).
type CreateCardRequest struct {
	Ref        string
	CardID     string // the engine's card id
	HolderName string
	Amount     Money
}

// CardOperation moves money onto or off an issued card.
type CardOperation struct {
	Ref          string
	IssuerCardID string
	Amount       Money // USD
}

// SensitiveCard holds a card's PAN and CVV. It is read live from the issuer
// for one response and never stored, logged or cached.
type SensitiveCard struct {
	PAN         string
	CVV         string
	ExpiryMonth int
	ExpiryYear  int
}

// String hides the card data so that a stray log line cannot leak it.
func (SensitiveCard) String() string { return "SensitiveCard{redacted}" }

// GoString hides the card data from %#v as well.
func (SensitiveCard) GoString() string { return "SensitiveCard{redacted}" }

// CardIssuer is the virtual-card issuer (Flutterwave in production). The
// same error rule as MomoProvider applies: a non-nil error means unknown.
type CardIssuer interface {
	CreateCard(ctx context.Context, req CreateCardRequest) (Result, IssuedCard, error)
	FundCard(ctx context.Context, op CardOperation) (Result, error)
	WithdrawCard(ctx context.Context, op CardOperation) (Result, error)
	BlockCard(ctx context.Context, ref, issuerCardID string) (Result, error)
	UnblockCard(ctx context.Context, ref, issuerCardID string) (Result, error)
	TerminateCard(ctx context.Context, ref, issuerCardID string) (Result, error)
	// OperationStatus resolves an unknown outcome of an earlier call by its
	// reference; for a creation the IssuedCard is returned again.
	OperationStatus(ctx context.Context, ref string) (Result, IssuedCard, error)
	CardDetails(ctx context.Context, issuerCardID string) (SensitiveCard, error)
	// FloatBalance is the issuer wallet balance available to fund cards.
	FloatBalance(ctx context.Context) (Money, error)
}

// Message is a notification to one recipient. Ref deduplicates retries.
type Message struct {
	Ref   string
	To    string // phone (SMS), device or user id (push), channel (ops chat)
	Title string
	Body  string
}

// Notifier delivers one kind of notification (SMS, push, ops chat). Sends
// are at least once; Ref lets the far side drop duplicates.
type Notifier interface {
	Send(ctx context.Context, msg Message) error
}

// Clock gives the current time; actors use it so that tests control time.
type Clock interface {
	Now() time.Time
}

// ErrUnknownReference is the error of a status query (with OutcomeUnknown)
// when the provider has no operation under that reference: the original
// request may never have arrived. Where the provider deduplicates by
// reference, the caller sends the original request again under the same
// reference; it never invents a new one.
var ErrUnknownReference = errors.New("reference not known to the provider")

// Settler is a momo provider account that can transfer collected money out
// to the company (Qosic's settlement), which a sweep uses to buy float.
type Settler interface {
	Settle(ctx context.Context, ref string, amount Money) (Result, error)
}
