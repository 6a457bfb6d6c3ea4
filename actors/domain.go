package actors

import (
	"errors"
	"fmt"
	"time"

	"kash/engine"
)

// Statuses and kinds, as the API names them.
const (
	cardPending     = "pending"
	cardActive      = "active"
	cardFrozen      = "frozen"
	cardTerminating = "terminating"
	cardTerminated  = "terminated"
	cardFailed      = "failed"

	kindIssuance = "issuance"
	kindFunding  = "funding"

	statusAwaitingPayment = "awaiting_payment"
	statusPaid            = "paid"
	statusQueued          = "queued_for_float"
	statusFundingCard     = "funding_card"
	statusRefunding       = "refunding"

	statusPending     = "pending"
	statusCardDebited = "card_debited"

	purposeTermination = "termination"
)

// The ledger entries of each step, built by the engine's constructors from
// the operation's record. A constructor refuses only an inconsistent record,
// which is a bug: the actor crashes and reloads rather than book it.

func mustEntry(e engine.Entry, err error) engine.Entry {
	if err != nil {
		panic(fmt.Errorf("actors: ledger entry: %w", err))
	}
	return e
}

// fundingQuote rebuilds the quote a funding was accepted with.
func fundingQuote(f *engine.FundingRecord) engine.Quote {
	return engine.Quote{ID: f.QuoteID, Operation: engine.Operation(f.Kind),
		CardAmount: engine.NewMoney(f.CardAmount, engine.USD), MomoAmount: engine.NewMoney(f.MomoAmount, engine.XOF),
		Fees: engine.NewMoney(f.Fees, engine.XOF), Earnings: engine.NewMoney(f.Earnings, engine.XOF),
		Rate: f.Rate, CostRate: f.CostRate}
}

// withdrawalQuote rebuilds the quote a withdrawal was accepted with.
func withdrawalQuote(w *engine.WithdrawalRecord) engine.Quote {
	return engine.Quote{Operation: engine.OpWithdrawal,
		CardAmount: engine.NewMoney(w.CardAmount, engine.USD), MomoAmount: engine.NewMoney(w.MomoAmount, engine.XOF),
		Fees: engine.NewMoney(w.Fees, engine.XOF), Earnings: engine.NewMoney(w.Earnings, engine.XOF),
		Rate: w.Rate, CostRate: w.CostRate}
}

func collectionEntry(f *engine.FundingRecord, p *engine.PaymentRecord) engine.Entry {
	return mustEntry(engine.CollectionEntry(f.ID, p.Provider, engine.NewMoney(p.Amount, engine.XOF)))
}

func suspenseInEntry(p *engine.PaymentRecord) engine.Entry {
	return mustEntry(engine.SuspenseInEntry(p.Ref, engine.NewMoney(p.Amount, engine.XOF)))
}

func suspenseOutEntry(collectionRef string, p *engine.PaymentRecord) engine.Entry {
	return mustEntry(engine.SuspenseOutEntry(collectionRef, engine.NewMoney(p.Amount, engine.XOF)))
}

// fundedEntry books a funding's card credit and its earnings.
func fundedEntry(f *engine.FundingRecord, now time.Time) (engine.Entry, engine.Earning) {
	e := mustEntry(engine.CardCreditEntry(f.ID, f.CardID, fundingQuote(f)))
	return e, engine.Earning{EntryRef: e.Ref, Operation: f.Kind, OwnerID: f.ID, Amount: f.Earnings, CreatedAt: now}
}

func refundEntry(f *engine.FundingRecord, p *engine.PaymentRecord) engine.Entry {
	return mustEntry(engine.RefundEntry(f.ID, p.Provider, engine.NewMoney(p.Amount, engine.XOF)))
}

func debitEntry(w *engine.WithdrawalRecord) engine.Entry {
	return mustEntry(engine.WithdrawalDebitEntry(w.ID, w.CardID, engine.NewMoney(w.CardAmount, engine.USD)))
}

// payoutEntry books a withdrawal's payout and its earnings.
func payoutEntry(w *engine.WithdrawalRecord, p *engine.PaymentRecord, now time.Time) (engine.Entry, engine.Earning) {
	e := mustEntry(engine.PayoutEntry(w.ID, p.Provider, withdrawalQuote(w)))
	return e, engine.Earning{EntryRef: e.Ref, Operation: string(engine.OpWithdrawal), OwnerID: w.ID, Amount: w.Earnings, CreatedAt: now}
}

func creditBackEntry(w *engine.WithdrawalRecord) engine.Entry {
	return mustEntry(engine.CreditBackEntry(w.ID, w.CardID, engine.NewMoney(w.CardAmount, engine.USD)))
}

func spendEntry(cardID, eventID string, amount int64) engine.Entry {
	return mustEntry(engine.SpendEntry(eventID, cardID, engine.NewMoney(amount, engine.USD)))
}

func floatCreditEntry(eventID string, amount int64) engine.Entry {
	return mustEntry(engine.FloatDepositEntry(eventID, engine.NewMoney(amount, engine.USD)))
}

// errNoChange marks an event that the state machine accepts as a repeat:
// nothing to write, nothing to do (defect 13).
var errNoChange = errors.New("no change")

// Events, as the card actor feeds them to the engine's machines.
const (
	evPaymentSucceeded = engine.FundingPaymentSucceeded
	evPaymentFailed    = engine.FundingPaymentFailed
	evFloatQueued      = engine.FundingFloatQueued
	evFloatReserved    = engine.FundingFloatReserved
	evFloatWaitExpired = engine.FundingFloatWaitExpired
	evIssuerSucceeded  = engine.FundingIssuerSucceeded
	evIssuerFailed     = engine.FundingIssuerFailed
	evRefundSucceeded  = engine.FundingRefundSucceeded

	evDebitSucceeded  = engine.WithdrawalDebitSucceeded
	evDebitFailed     = engine.WithdrawalDebitFailed
	evPayoutSucceeded = engine.WithdrawalPayoutSucceeded
	evPayoutFailed    = engine.WithdrawalPayoutFailed
)

// stepFunding moves f to its next status under ev, with the next version.
// It refuses what the machine refuses, and reports errNoChange for a repeat.
func stepFunding(f *engine.FundingRecord, ev engine.FundingEvent, now time.Time) error {
	to, effects, err := engine.FundingStatus(f.Status).Apply(ev)
	if err != nil {
		return err
	}
	if string(to) == f.Status && len(effects) == 0 {
		return errNoChange
	}
	f.Status = string(to)
	f.Version++
	f.UpdatedAt = now
	return nil
}

// stepWithdrawal is stepFunding for withdrawals.
func stepWithdrawal(w *engine.WithdrawalRecord, ev engine.WithdrawalEvent, now time.Time) error {
	to, effects, err := engine.WithdrawalStatus(w.Status).Apply(ev)
	if err != nil {
		return err
	}
	if string(to) == w.Status && len(effects) == 0 {
		return errNoChange
	}
	w.Status = string(to)
	w.Version++
	w.UpdatedAt = now
	return nil
}

func isFinalFunding(status string) bool { return engine.FundingStatus(status).IsFinal() }

func isFinalWithdrawal(status string) bool { return engine.WithdrawalStatus(status).IsFinal() }
