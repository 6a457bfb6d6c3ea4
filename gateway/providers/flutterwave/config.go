package flutterwave

import (
	"fmt"
	"log/slog"
	"time"

	"kash/gateway/providers"
)

// DefaultBaseURL is Flutterwave's API host in production; the adapter
// appends /v3/...
const DefaultBaseURL = "https://api.flutterwave.com"

// Config is the issuer account. The caller fills it from the environment;
// SecretKey and VerifHash never appear in String, GoString or LogValue.
type Config struct {
	// Name identifies the issuer account in routing and metrics. Default
	// "flutterwave".
	Name string
	// BaseURL is the scheme and host of the API. Default DefaultBaseURL.
	BaseURL string
	// SecretKey authenticates every call (Authorization: Bearer).
	SecretKey providers.Secret
	// VerifHash is the secret hash configured on the dashboard; Flutterwave
	// sends it back in the verif-hash header of every webhook.
	VerifHash providers.Secret
	// DebitCurrency is the wallet that funds cards. Default "USD" (the float).
	DebitCurrency string
	// CallbackURL, when set, is given to each new card for its transaction
	// webhooks.
	CallbackURL string
	// Billing address sent with each new card when set (Flutterwave fills a
	// default US address otherwise).
	BillingAddress    string
	BillingCity       string
	BillingState      string
	BillingPostalCode string
	BillingCountry    string
	// Timeout bounds each call (context deadlines still win when earlier).
	// Default providers.DefaultTimeout.
	Timeout time.Duration
	// HTTP tunes the transport; its Timeout is overridden by Timeout.
	HTTP providers.HTTPConfig
}

// String describes the account without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("flutterwave.Config{Name:%q BaseURL:%q SecretKey:%s VerifHash:%s DebitCurrency:%q Timeout:%s}",
		c.Name, c.BaseURL, c.SecretKey, c.VerifHash, c.DebitCurrency, c.Timeout)
}

// GoString is String, so that %#v cannot print the secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue describes the account for slog without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("base_url", c.BaseURL),
		slog.Any("secret_key", c.SecretKey),
		slog.Any("verif_hash", c.VerifHash),
		slog.String("debit_currency", c.DebitCurrency),
		slog.Duration("timeout", c.Timeout),
	)
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "flutterwave"
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.DebitCurrency == "" {
		c.DebitCurrency = "USD"
	}
	if c.Timeout > 0 {
		c.HTTP.Timeout = c.Timeout
	}
	return c
}
