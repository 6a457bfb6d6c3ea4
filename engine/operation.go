package engine

import "fmt"

// Operation is a kind of money operation the user asks for. It keys quotes,
// limits and the revenue accounts, so earnings can be reported per operation.
type Operation string

// The operations of the API's quotes, fundings and withdrawals.
const (
	OpIssuance   Operation = "issuance"   // a funding that also creates the card
	OpFunding    Operation = "funding"    // momo in, USD onto an existing card
	OpWithdrawal Operation = "withdrawal" // USD off the card, momo out
)

// Operations lists every operation, in a stable order.
func Operations() []Operation { return []Operation{OpIssuance, OpFunding, OpWithdrawal} }

// Valid reports whether o is one of the operations above.
func (o Operation) Valid() bool {
	return o == OpIssuance || o == OpFunding || o == OpWithdrawal
}

// Loads reports whether o puts money on a card (issuance and funding), as
// opposed to taking it off (withdrawal). Minimums, charged rates and usage
// limits follow this split.
func (o Operation) Loads() bool { return o == OpIssuance || o == OpFunding }

// String returns the API name of o.
func (o Operation) String() string { return string(o) }

// ParseOperation returns the operation named s (its API name), or an error
// wrapping ErrUnknownOperation.
func ParseOperation(s string) (Operation, error) {
	o := Operation(s)
	if !o.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownOperation, s)
	}
	return o, nil
}
