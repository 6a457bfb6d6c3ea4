package flutterwave

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"kash/engine"
	"kash/gateway/providers"
)

// envelope is every Flutterwave v3 answer.
type envelope struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

const (
	statusSuccess = "success"
	statusError   = "error"
)

// card is the card object of create and get. card_pan and cvv are read
// only by CardDetails and never logged.
type card struct {
	ID            string               `json:"id"`
	Amount        providers.FlexString `json:"amount"`
	Currency      string               `json:"currency"`
	CardPAN       string               `json:"card_pan"`
	MaskedPAN     string               `json:"masked_pan"`
	CVV           string               `json:"cvv"`
	Expiration    string               `json:"expiration"`
	IsActive      bool                 `json:"is_active"`
	Status        string               `json:"status"`
	NameOnCard    string               `json:"name_on_card"`
	Reference     string               `json:"reference"`
	CardReference string               `json:"card_reference"`
}

// String keeps the PAN and CVV out of any accidental print.
func (c card) String() string { return "flutterwave.card{" + c.ID + "}" }

// GoString keeps the PAN and CVV out of %#v.
func (c card) GoString() string { return c.String() }

// operation is data of the references endpoint (simulator extension).
type operation struct {
	Reference     string               `json:"reference"`
	Operation     string               `json:"operation"`
	Status        string               `json:"status"`
	Message       string               `json:"message"`
	CardID        string               `json:"card_id"`
	CardReference string               `json:"card_reference"`
	Amount        providers.FlexString `json:"amount"`
	Currency      string               `json:"currency"`
	Card          *card                `json:"card"`
}

type transaction struct {
	ID               providers.FlexString `json:"id"`
	Amount           providers.FlexString `json:"amount"`
	Fee              providers.FlexString `json:"fee"`
	Product          string               `json:"product"`
	Reference        string               `json:"reference"`
	GatewayReference string               `json:"gateway_reference"`
	ResponseCode     providers.FlexString `json:"response_code"`
	ResponseMessage  string               `json:"response_message"`
	Narration        string               `json:"narration"`
	Indicator        string               `json:"indicator"`
	Status           string               `json:"status"`
	Currency         string               `json:"currency"`
	Type             string               `json:"type"`
	CreatedAt        string               `json:"created_at"`
}

type balance struct {
	Currency         string               `json:"currency"`
	AvailableBalance providers.FlexString `json:"available_balance"`
	LedgerBalance    providers.FlexString `json:"ledger_balance"`
}

type createBody struct {
	Currency          string          `json:"currency"`
	Amount            json.RawMessage `json:"amount"`
	DebitCurrency     string          `json:"debit_currency"`
	BillingName       string          `json:"billing_name"`
	FirstName         string          `json:"first_name,omitempty"`
	LastName          string          `json:"last_name,omitempty"`
	BillingAddress    string          `json:"billing_address,omitempty"`
	BillingCity       string          `json:"billing_city,omitempty"`
	BillingState      string          `json:"billing_state,omitempty"`
	BillingPostalCode string          `json:"billing_postal_code,omitempty"`
	BillingCountry    string          `json:"billing_country,omitempty"`
	CallbackURL       string          `json:"callback_url,omitempty"`
	Reference         string          `json:"reference"`
	CardReference     string          `json:"card_reference"`
}

type moveBody struct {
	Amount        json.RawMessage `json:"amount"`
	DebitCurrency string          `json:"debit_currency,omitempty"`
	Reference     string          `json:"reference"`
}

type refBody struct {
	Reference string `json:"reference,omitempty"`
}

// usdNumber renders a USD amount as a JSON number with two decimals.
func usdNumber(m engine.Money) (json.RawMessage, error) {
	if m.Currency != engine.USD || !m.IsPositive() {
		return nil, fmt.Errorf("amount must be positive USD, got %s %s", m, m.Currency)
	}
	return json.RawMessage(m.String()), nil
}

// parseUSD reads a Flutterwave amount ("25.00", 12.5, "20,000.00"). Extra
// precision is rounded down: a balance is never overstated.
func parseUSD(s providers.FlexString) (engine.Money, error) {
	txt := strings.ReplaceAll(strings.TrimSpace(string(s)), ",", "")
	d, err := decimal.NewFromString(txt)
	if err != nil {
		return engine.Money{}, fmt.Errorf("%w: amount %q: %w", providers.ErrMalformed, s, err)
	}
	m, err := engine.FromDecimal(d, engine.USD, engine.RoundDown)
	if err != nil {
		return engine.Money{}, fmt.Errorf("%w: amount %q: %w", providers.ErrMalformed, s, err)
	}
	return m, nil
}

// issued extracts what the engine keeps of a new card: no PAN, no CVV.
func (c card) issued() (engine.IssuedCard, error) {
	if c.ID == "" {
		return engine.IssuedCard{}, fmt.Errorf("%w: card without id", providers.ErrMalformed)
	}
	month, year, err := parseExpiration(c.Expiration)
	if err != nil {
		return engine.IssuedCard{}, err
	}
	return engine.IssuedCard{IssuerCardID: c.ID, Last4: last4(c.MaskedPAN), ExpiryMonth: month, ExpiryYear: year}, nil
}

// parseExpiration reads "YYYY-MM".
func parseExpiration(s string) (month, year int, err error) {
	y, m, ok := strings.Cut(s, "-")
	if ok {
		year, err = strconv.Atoi(y)
	}
	if ok && err == nil {
		month, err = strconv.Atoi(m)
	}
	if !ok || err != nil || month < 1 || month > 12 || year < 2000 {
		return 0, 0, fmt.Errorf("%w: expiration %q", providers.ErrMalformed, s)
	}
	return month, year, nil
}

func last4(masked string) string {
	if len(masked) < 4 {
		return ""
	}
	return masked[len(masked)-4:]
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// splitName splits a holder name into first and last names for the fields
// the current v3 create endpoint asks for.
func splitName(full string) (first, last string) {
	f := strings.Fields(full)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], f[0]
	}
	return strings.Join(f[:len(f)-1], " "), f[len(f)-1]
}
