package qosic

import (
	"fmt"
	"log/slog"
	"time"

	"kash/gateway/providers"
)

// DefaultBaseURL is QosicBridge in production.
const DefaultBaseURL = "https://qosic.net:8443"

// Config is one Qosic merchant account. The caller fills it from the
// environment; Password never appears in String, GoString or LogValue.
type Config struct {
	// Name identifies the account in the ledger (momo:<Name>), in routing and
	// in metrics. Default "qosic".
	Name string
	// BaseURL is the scheme and host (and port) of QosicBridge; the adapter
	// appends /QosicBridge/user/... Default DefaultBaseURL.
	BaseURL string
	// Login and Password are the HTTP Basic credentials of the account.
	Login    string
	Password providers.Secret
	// MTNClientID and MoovClientID are the account's client ids, one per
	// operator; every request carries the one of its operator.
	MTNClientID  string
	MoovClientID string
	// FirstName and LastName fill the payer fields Qosic requires on every
	// request; the engine does not send users' names to the aggregator.
	// Defaults "Kash" and "Customer".
	FirstName string
	LastName  string
	// Timeout bounds each call (context deadlines still win when earlier).
	// Default providers.DefaultTimeout.
	Timeout time.Duration
	// HTTP tunes the transport; its Timeout is overridden by Timeout.
	HTTP providers.HTTPConfig
}

// String describes the account without its password.
func (c Config) String() string {
	return fmt.Sprintf("qosic.Config{Name:%q BaseURL:%q Login:%q Password:%s MTNClientID:%q MoovClientID:%q Timeout:%s}",
		c.Name, c.BaseURL, c.Login, c.Password, c.MTNClientID, c.MoovClientID, c.Timeout)
}

// GoString is String, so that %#v cannot print the password either.
func (c Config) GoString() string { return c.String() }

// LogValue describes the account for slog without its password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("base_url", c.BaseURL),
		slog.String("login", c.Login),
		slog.Any("password", c.Password),
		slog.String("mtn_clientid", c.MTNClientID),
		slog.String("moov_clientid", c.MoovClientID),
		slog.Duration("timeout", c.Timeout),
	)
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "qosic"
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.FirstName == "" {
		c.FirstName = "Kash"
	}
	if c.LastName == "" {
		c.LastName = "Customer"
	}
	if c.Timeout > 0 {
		c.HTTP.Timeout = c.Timeout
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Login == "" || c.Password.IsZero():
		return fmt.Errorf("qosic %s: login and password are required", c.Name)
	case c.MTNClientID == "" || c.MoovClientID == "":
		return fmt.Errorf("qosic %s: MTN and Moov client ids are required", c.Name)
	}
	return nil
}
