package engine_test

import (
	"fmt"
	"time"

	"kash/engine"
)

// A funding's life, as a card actor drives it: price, start, and apply what
// happens, performing the effects (and booking the entries) each step asks
// for. The actor persists every new status before it acts on the effects.
func Example_fundingLife() {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	q, err := engine.DefaultPricing().Quote("q_1", engine.OpFunding, engine.NewMoney(10_00, engine.USD), now)
	if err != nil {
		panic(err)
	}
	fmt.Printf("pay %s XOF for %s USD at %s; the house earns %s XOF\n", q.MomoAmount, q.CardAmount, q.Rate, q.Earnings)

	status, effects := engine.StartFunding()
	fmt.Println(status, effects)
	for _, ev := range []engine.FundingEvent{
		engine.FundingPaymentSucceeded,
		engine.FundingPaymentSucceeded, // a duplicate: no-op
		engine.FundingFloatReserved,
		engine.FundingIssuerSucceeded,
	} {
		status, effects, err = status.Apply(ev)
		fmt.Println(ev, "→", status, effects, err)
		for _, e := range effects {
			switch e {
			case engine.EffectRecordCollection:
				entry, _ := engine.CollectionEntry("f_1", "mtn-bj", q.MomoAmount)
				fmt.Println("  book", entry.Ref)
			case engine.EffectCreditCard:
				entry, _ := engine.CardCreditEntry("f_1", "c_1", q)
				fmt.Println("  book", entry.Ref, len(entry.Postings), "postings")
			}
		}
	}
	_, _, err = status.Apply(engine.FundingIssuerFailed)
	fmt.Println(err)

	// Output:
	// pay 6522 XOF for 10.00 USD at 652.173914; the house earns 522 XOF
	// awaiting_payment [request_payment]
	// payment_succeeded → paid [record_collection request_float] <nil>
	//   book funding:f_1:collection
	// payment_succeeded → paid [] <nil>
	// float_reserved → funding_card [call_issuer] <nil>
	// issuer_succeeded → succeeded [commit_float credit_card notify] <nil>
	//   book funding:f_1:credit 5 postings
	// funding: illegal transition from "succeeded" on "issuer_failed"
}
