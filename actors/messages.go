package actors

import (
	"time"

	"kash/engine"
)

// Commands from the gateway. Each names the operation it creates, so that a
// retried request reaches the same operation (idempotency by id).

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

// Terminate empties a card to a wallet and closes it at the issuer.
type Terminate struct {
	CardID       string
	UserID       string
	WithdrawalID string
	Phone        string
	Operator     engine.Operator
	Quote        engine.Quote // withdrawal quote for the remaining balance, computed by the engine when zero
}

// CardEvent is a spend or a decline reported by the issuer.
type CardEvent struct {
	EventID      string
	CardID       string
	IssuerCardID string
	Kind         string // spend or decline
	Amount       engine.Money
	Merchant     string
	Reason       string
	At           time.Time
}

// freeze and unfreeze ask the issuer to block or unblock the card.
type freezeCard struct {
	userID string
	freeze bool
}

type sensitiveRequest struct{ userID string }

// commandReply answers a gateway command once its change is durable.
type commandReply struct {
	card       engine.CardRecord
	funding    engine.FundingRecord
	withdrawal engine.WithdrawalRecord
	sensitive  engine.SensitiveCard
	err        error
}

// Messages between actors.

// paymentResult is the outcome of a momo call (collect, payout, status),
// a webhook, or a poll.
type paymentResult struct {
	ref    string
	result engine.Result
	err    error
	call   bool // the answer to a call this activation made (not a webhook)
}

// issuerResult is the outcome of an issuer call made for a card.
type issuerResult struct {
	ref    string
	result engine.Result
	card   engine.IssuedCard
	err    error
}

// pollPayment asks the card to check a pending payment's status now.
type pollPayment struct{ ref string }

// retryIssuer asks the card to resolve an issuer call of unknown outcome.
type retryIssuer struct{ ref string }

// Float decisions from the treasury to a card.
type floatGranted struct{ fundingID string }
type floatQueued struct{ fundingID string }
type floatExpired struct{ fundingID string }

// floatRetry asks a card to ask for float again (the treasury lost the
// request in a failed write and reloaded).
type floatRetry struct{ fundingID string }

// recoverCard makes a card actor resume its non-final sagas; it answers
// with recovered once every step is re-driven.
type recoverCard struct{}

// resumeFunding makes a card drive one funding's next step again.
type resumeFunding struct{ fundingID string }
type recovered struct{}

// committed is the journal's answer to a card's change.
type committed struct {
	seq uint64
	err error
}
