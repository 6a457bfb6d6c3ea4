package engine

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrUnknownAccount means an account name is not in the chart of accounts.
var ErrUnknownAccount = errors.New("unknown account")

// Account names a ledger account, e.g. "card:c_123" or "momo:mtn-bj". The
// name alone fixes the account's currency (see Currency), so a posting can
// be checked against it and the name is all that storage needs to keep.
// The chart of accounts is in the package documentation.
type Account string

// Account name prefixes and fixed names.
const (
	cardPrefix    = "card:"
	momoPrefix    = "momo:"
	revenuePrefix = "revenue:"

	issuerFloatName = "issuer:float"
	worldMomoName   = "world:momo"
	worldCardName   = "world:card"
	worldIssuerName = "world:issuer"
	fxUSDName       = "fx:usd"
	fxXOFName       = "fx:xof"
	suspenseName    = "suspense"
)

// CardAccount is the USD balance of one card (the engine's card id).
func CardAccount(cardID string) Account { return Account(cardPrefix + cardID) }

// IssuerFloatAccount is the USD float at the card issuer, not yet on a card.
func IssuerFloatAccount() Account { return issuerFloatName }

// MomoAccount is the XOF collected on one mobile-money provider account
// (MomoProvider.Name()).
func MomoAccount(provider string) Account { return Account(momoPrefix + provider) }

// WorldMomoAccount is the XOF counterparty on the mobile-money side: the
// users' wallets. See the chart of accounts for what its balance means.
func WorldMomoAccount() Account { return worldMomoName }

// WorldCardAccount is the USD counterparty on the card side: merchants.
func WorldCardAccount() Account { return worldCardName }

// WorldIssuerAccount is where USD deposited straight to the issuer float
// comes from (ops transfers, the simulator's top-ups).
func WorldIssuerAccount() Account { return worldIssuerName }

// FXAccount is the FX position account of currency c (fx:usd or fx:xof).
// It returns an invalid account for an unsupported currency.
func FXAccount(c Currency) Account { return Account("fx:" + strings.ToLower(string(c))) }

// RevenueAccount is the XOF earnings of one operation.
func RevenueAccount(op Operation) Account { return Account(revenuePrefix + string(op)) }

// SuspenseAccount holds XOF received that no live operation can take yet.
func SuspenseAccount() Account { return suspenseName }

// String returns the account name.
func (a Account) String() string { return string(a) }

// Currency returns the account's currency, or "" when a is not in the chart.
func (a Account) Currency() Currency {
	s := string(a)
	switch s {
	case issuerFloatName, worldCardName, worldIssuerName, fxUSDName:
		return USD
	case worldMomoName, fxXOFName, suspenseName:
		return XOF
	}
	if id, ok := strings.CutPrefix(s, cardPrefix); ok && validID(id) {
		return USD
	}
	if p, ok := strings.CutPrefix(s, momoPrefix); ok && validID(p) {
		return XOF
	}
	if op, ok := strings.CutPrefix(s, revenuePrefix); ok && Operation(op).Valid() {
		return XOF
	}
	return ""
}

// Valid reports whether a is in the chart of accounts.
func (a Account) Valid() bool { return a.Currency() != "" }

// CreditNormal reports whether a's natural balance is a credit: the world
// accounts that money comes from (world:momo, world:issuer), fx:usd,
// revenue and suspense. Their reported balance is credits minus debits.
func (a Account) CreditNormal() bool {
	switch string(a) {
	case worldMomoName, worldIssuerName, fxUSDName, suspenseName:
		return true
	}
	return strings.HasPrefix(string(a), revenuePrefix)
}

// NormalBalance turns the sum of a's postings (debits minus credits) into
// its balance as reported: negated for credit-normal accounts, so revenue
// shows positive earnings and a card its positive balance.
func (a Account) NormalBalance(sum Money) Money {
	if a.CreditNormal() {
		return sum.Neg()
	}
	return sum
}

// ParseAccount returns the account named s, or an error wrapping
// ErrUnknownAccount when s is not in the chart.
func ParseAccount(s string) (Account, error) {
	a := Account(s)
	if !a.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownAccount, s)
	}
	return a, nil
}

// validID accepts the ids embedded in account names: non-empty, printable,
// no spaces.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
