package inproc

import (
	"errors"
	"fmt"
)

// ErrRegistered is returned by Register when the engine card id or the
// issuer card id is already known to the issuer.
var ErrRegistered = errors.New("inproc: card already registered")

// Register records a card that the issuer already holds, as if it had been
// created earlier with balance on it: the bench's settle scenario seeds
// thousands of active cards straight into Postgres and must give the issuer
// the same cards, so that funding calls find them and the issuer's books can
// be compared with the engine's. The balance does not come out of the float.
func (is *Issuer) Register(cardID, issuerCardID string, balance int64) error {
	is.mu.Lock()
	defer is.mu.Unlock()
	if _, ok := is.byCard[cardID]; ok {
		return fmt.Errorf("%w: card %s", ErrRegistered, cardID)
	}
	if _, ok := is.cards[issuerCardID]; ok {
		return fmt.Errorf("%w: issuer card %s", ErrRegistered, issuerCardID)
	}
	is.cards[issuerCardID] = &issuedCard{engineID: cardID, balance: balance, status: "active"}
	is.byCard[cardID] = issuerCardID
	return nil
}
