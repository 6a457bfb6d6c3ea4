// Package engine is the domain of Kash: money and currencies, FX quotes and
// fees, limits, the double-entry ledger, and the state machines of cards,
// fundings, withdrawals, payments and sweeps.
//
// It is pure Go: no I/O, no goroutines, no actors, no database and no HTTP.
// The actors package drives these state machines and performs the effects
// they return; the persistence package stores their state; the gateway
// package turns HTTP into commands. The ports (interfaces) through which the
// actors reach providers and storage are declared here so that every
// adapter, the in-process fakes and the simulator-backed adapters implement
// one contract.
//
// # Money, quotes and limits
//
// Money is integer minor units of a currency (USD 2 digits, XOF 0). Rates
// and conversions use shopspring/decimal, and every conversion rounds in the
// house's favour: what the user pays is rounded up, what the user receives
// is rounded down. A Quote locks the rates for a TTL and carries the
// earnings the house makes on it against the cost rate, which are never
// negative. Limits are data: minimums, a maximum per operation, and
// per-day and per-month bounds by KYC tier.
//
// # State machines
//
// Each machine (CardStatus, FundingStatus, WithdrawalStatus, PaymentStatus,
// SweepStatus) is a pure function Apply(status, event) → (status, effects,
// error). Illegal events return a *TransitionError; repeated events are
// no-ops with no effects; the effects that book money (Effect.MovesMoney)
// come out at most once per operation.
//
// # Chart of accounts
//
// Every money movement is a balanced journal entry per currency (see Entry
// and the *Entry constructors). A posting's amount is signed: a debit
// (positive) puts money into the account, a credit (negative) takes it out;
// an account's sum of postings is debits minus credits, and
// Account.NormalBalance shows it on its natural side. The accounts are:
//
//	card:<id>         USD  debit   money on one card at the issuer (the user's)
//	issuer:float      USD  debit   our float at the card issuer, not on any card
//	momo:<provider>   XOF  debit   money on our account at a mobile-money provider
//	world:momo        XOF  credit  the users' wallets as our counterparty: what we owe payers
//	                               whose payment arrived and is not yet on a card nor refunded
//	world:card        USD  debit   merchants: what cards have spent
//	world:issuer      USD  credit  USD deposited straight to the float from outside
//	fx:xof            XOF  debit   the XOF side of the FX position: XOF sold by sweeps, plus
//	                               the cost of float returned by withdrawals, minus the cost of
//	                               float put on cards; negative means float still to pay for
//	fx:usd            USD  credit  the USD side: USD bought by sweeps, arrived in the float
//	revenue:<op>      XOF  credit  earnings per operation (issuance, funding, withdrawal)
//	suspense          XOF  credit  money received that no live operation can take yet
//
// The movements (A → B: credit A, debit B; for the credit-normal accounts
// a debit settles a claim and a credit books one):
//
//	collection        world:momo → momo:<p>              the payer's XOF arrives; we owe it
//	card credit       issuer:float → card:<id>  (USD)    the card gets exactly the card amount
//	                  fx:xof → world:momo (cost) and     the claim is settled: the float's cost
//	                  revenue:<op> → world:momo (earnings)  and the earnings (fees included)
//	refund            momo:<p> → world:momo              the payer gets the momo amount back
//	withdrawal debit  card:<id> → issuer:float           the USD returns to the float
//	payout            momo:<p> → fx:xof (amount paid)    the wallet is paid; the float returned
//	                  revenue:withdrawal → fx:xof        is booked at cost, with the earnings
//	credit back       issuer:float → card:<id>           a finally failed payout goes back
//	spend             card:<id> → world:card
//	float deposit     world:issuer → issuer:float
//	sweep payout      momo:<p> → fx:xof                  XOF leaves to buy float
//	sweep deposit     fx:usd → issuer:float              the USD bought arrives
//	suspense in       suspense → world:momo              a late payment's claim is set aside
//	suspense out      world:momo → suspense              ... and released, to refund or apply
//
// So card:<id>, issuer:float and momo:<provider> equal what the issuer and
// the providers hold; revenue sums to the earnings of the quotes of
// completed operations; world:momo returns to zero when no funding is in
// flight; and the house never loses at the cost rate.
package engine
