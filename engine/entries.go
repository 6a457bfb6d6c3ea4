package engine

import "fmt"

// Kinds of journal entries, one per money movement of DESIGN.md.
const (
	KindCollection      = "collection"       // a funding's payment arrived at a momo provider
	KindCardCredit      = "card_credit"      // a card was funded or issued: float onto the card, earnings booked
	KindRefund          = "refund"           // a funding's payment went back to the wallet
	KindWithdrawalDebit = "withdrawal_debit" // the issuer took a withdrawal off the card, back into the float
	KindPayout          = "payout"           // a withdrawal reached the wallet; earnings booked
	KindCreditBack      = "credit_back"      // a withdrawal whose payout finally failed went back on the card
	KindSpend           = "spend"            // a merchant took money off a card
	KindSpendReversal   = "spend_reversal"   // a merchant gave money back to a card
	KindFloatDeposit    = "float_deposit"    // USD deposited straight to the issuer float
	KindSweepPayout     = "sweep_payout"     // collected XOF left a momo provider to buy float
	KindSweepDeposit    = "sweep_deposit"    // the USD bought by a sweep arrived in the float
	KindSuspenseIn      = "suspense_in"      // money no live operation can take was set aside
	KindSuspenseOut     = "suspense_out"     // money set aside was released, to be refunded or applied
)

// CollectionEntry books a funding's momo payment arriving on provider's
// account: world:momo → momo:<provider>. Until the card is credited or the
// payment refunded, the payer is owed it (world:momo's credit balance).
func CollectionEntry(fundingID, provider string, momo Money) (Entry, error) {
	return NewEntry("funding:"+fundingID+":collection", KindCollection).
		Transfer(WorldMomoAccount(), MomoAccount(provider), momo).Build()
}

// CardCreditEntry books a successful issuance or funding from its quote.
// USD: issuer:float → card:<id> (the card amount). XOF: the payer's claim
// on world:momo (the momo amount) is settled into fx:xof at the cost rate
// (Quote.CostAmount) and revenue:<operation> (Quote.Earnings, fees
// included), so revenue sums to the quotes' earnings.
func CardCreditEntry(fundingID, cardID string, q Quote) (Entry, error) {
	if err := q.Validate(); err != nil {
		return Entry{}, fmt.Errorf("card credit of funding %s: %w", fundingID, err)
	}
	if !q.Operation.Loads() {
		return Entry{}, fmt.Errorf("card credit of funding %s: %w: operation %s", fundingID, ErrInvalidQuote, q.Operation)
	}
	b := NewEntry("funding:"+fundingID+":credit", KindCardCredit).
		Transfer(IssuerFloatAccount(), CardAccount(cardID), q.CardAmount).
		Debit(WorldMomoAccount(), q.MomoAmount).
		Credit(FXAccount(XOF), q.CostAmount())
	if q.Earnings.IsPositive() {
		b.Credit(RevenueAccount(q.Operation), q.Earnings)
	}
	return b.Build()
}

// RefundEntry books a funding's payment paid back to the wallet from
// provider's account: momo:<provider> → world:momo. It settles the claim
// that CollectionEntry (or SuspenseOutEntry) left on world:momo.
func RefundEntry(fundingID, provider string, momo Money) (Entry, error) {
	return NewEntry("funding:"+fundingID+":refund", KindRefund).
		Transfer(MomoAccount(provider), WorldMomoAccount(), momo).Build()
}

// WithdrawalDebitEntry books the issuer taking a withdrawal's card amount
// off the card and back into the float: card:<id> → issuer:float.
func WithdrawalDebitEntry(withdrawalID, cardID string, card Money) (Entry, error) {
	return NewEntry("withdrawal:"+withdrawalID+":debit", KindWithdrawalDebit).
		Transfer(CardAccount(cardID), IssuerFloatAccount(), card).Build()
}

// PayoutEntry books a withdrawal's payout reaching the wallet, from its
// quote: momo:<provider> → world:momo would be the movement alone; since
// the USD came back into the float at WithdrawalDebitEntry, the XOF paid
// plus the earnings is booked to fx:xof at the cost rate (CostAmount), and
// the earnings to revenue:withdrawal. Earnings are booked only once the
// money has reached the user, so a credit-back never has to reverse them.
func PayoutEntry(withdrawalID, provider string, q Quote) (Entry, error) {
	if err := q.Validate(); err != nil {
		return Entry{}, fmt.Errorf("payout of withdrawal %s: %w", withdrawalID, err)
	}
	if q.Operation != OpWithdrawal {
		return Entry{}, fmt.Errorf("payout of withdrawal %s: %w: operation %s", withdrawalID, ErrInvalidQuote, q.Operation)
	}
	b := NewEntry("withdrawal:"+withdrawalID+":payout", KindPayout).
		Credit(MomoAccount(provider), q.MomoAmount).
		Debit(FXAccount(XOF), q.CostAmount())
	if q.Earnings.IsPositive() {
		b.Credit(RevenueAccount(OpWithdrawal), q.Earnings)
	}
	return b.Build()
}

// CreditBackEntry books a withdrawal's card amount put back on the card
// after its payout finally failed: issuer:float → card:<id>.
func CreditBackEntry(withdrawalID, cardID string, card Money) (Entry, error) {
	return NewEntry("withdrawal:"+withdrawalID+":credit_back", KindCreditBack).
		Transfer(IssuerFloatAccount(), CardAccount(cardID), card).Build()
}

// SpendEntry books a merchant spend the issuer reported (eventID is the
// issuer's event id): card:<id> → world:card.
func SpendEntry(eventID, cardID string, amount Money) (Entry, error) {
	return NewEntry("spend:"+eventID, KindSpend).
		Transfer(CardAccount(cardID), WorldCardAccount(), amount).Build()
}

// SpendReversalEntry books money a merchant gave back to a card:
// world:card → card:<id>.
func SpendReversalEntry(eventID, cardID string, amount Money) (Entry, error) {
	return NewEntry("spend_reversal:"+eventID, KindSpendReversal).
		Transfer(WorldCardAccount(), CardAccount(cardID), amount).Build()
}

// FloatDepositEntry books USD deposited straight to the issuer float (an ops
// transfer, a simulator top-up; depositID is the issuer's event id or the
// ops record's id): world:issuer → issuer:float.
func FloatDepositEntry(depositID string, amount Money) (Entry, error) {
	return NewEntry("float_deposit:"+depositID, KindFloatDeposit).
		Transfer(WorldIssuerAccount(), IssuerFloatAccount(), amount).Build()
}

// SweepPayoutEntry books a sweep's XOF leaving provider's account to be
// converted: momo:<provider> → fx:xof.
func SweepPayoutEntry(sweepID, provider string, xof Money) (Entry, error) {
	return NewEntry("sweep:"+sweepID+":payout", KindSweepPayout).
		Transfer(MomoAccount(provider), FXAccount(XOF), xof).Build()
}

// SweepDepositEntry books the USD a sweep bought arriving in the float:
// fx:usd → issuer:float.
//
// Its reference is the one a plain float deposit under the sweep's id
// would take: the issuer names a sweep's credit by the sweep, so a repeated
// credit that arrives after the sweep completed collides with this entry
// instead of counting twice.
func SweepDepositEntry(sweepID string, usd Money) (Entry, error) {
	return NewEntry("float_deposit:"+sweepID, KindSweepDeposit).
		Transfer(FXAccount(USD), IssuerFloatAccount(), usd).Build()
}

// SuspenseInEntry sets aside money that arrived for an operation that can no
// longer take it (a collection confirmed after its funding gave up): the
// payer's claim moves from world:momo to suspense. Book it right after the
// CollectionEntry of that payment.
func SuspenseInEntry(paymentRef string, momo Money) (Entry, error) {
	return NewEntry("suspense:"+paymentRef+":in", KindSuspenseIn).
		Debit(WorldMomoAccount(), momo).
		Credit(SuspenseAccount(), momo).Build()
}

// SuspenseOutEntry releases money set aside: the claim goes back to
// world:momo, to be settled by a RefundEntry or a CardCreditEntry.
func SuspenseOutEntry(paymentRef string, momo Money) (Entry, error) {
	return NewEntry("suspense:"+paymentRef+":out", KindSuspenseOut).
		Debit(SuspenseAccount(), momo).
		Credit(WorldMomoAccount(), momo).Build()
}
