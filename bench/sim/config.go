package sim

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Clock gives the current time (kash/engine.Clock satisfies it); tests may pass a
// fixed clock to make timestamps deterministic.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

// MomoAccount is one Qosic merchant account: its name in the simulator's
// books (and in the engine's ledger, momo:<Name>), its basic-auth login and
// its clientid per operator.
type MomoAccount struct {
	Name         string
	User         string
	Password     string
	MTNClientID  string
	MoovClientID string
}

// FlutterwaveCredentials are the issuer's API secret key and the verif-hash
// it puts on its webhooks.
type FlutterwaveCredentials struct {
	SecretKey string
	VerifHash string
}

// MessageBirdCredentials hold the SMS API access key.
type MessageBirdCredentials struct {
	AccessKey string
}

// OneSignalCredentials hold the push app id and its REST API key.
type OneSignalCredentials struct {
	AppID   string
	RESTKey string
}

// Config configures a simulator. Zero fields take the defaults documented on
// each field, so Config{} is a working sandbox.
type Config struct {
	// Addr is where ListenAndServe listens when given "" (default 127.0.0.1:8090).
	Addr string
	// IssuerFloat is the starting issuer float, a USD decimal such as
	// "100000.00" (the default when empty; "0" is an empty float).
	IssuerFloat string
	// AsyncDelay is how long an MTN payer takes to approve (default 1s).
	AsyncDelay time.Duration
	// SweepDelay is how long a settlement takes to reach the issuer float (default 2s).
	SweepDelay time.Duration
	// TimeoutHang bounds how long a "timeout" fault holds a connection (default 30s).
	TimeoutHang time.Duration
	// WebhookURL is the engine's base URL; empty disables webhooks.
	WebhookURL string
	// WebhookSecret keys the X-Sim-Signature HMAC.
	WebhookSecret string
	// CostRate converts swept XOF into USD (XOF per USD, default 600).
	CostRate decimal.Decimal
	// Qosic lists the momo provider accounts (default: qosic and qosic2).
	Qosic       []MomoAccount
	Flutterwave FlutterwaveCredentials
	MessageBird MessageBirdCredentials
	OneSignal   OneSignalCredentials
	// SlackPath is the incoming-webhook path, its secret (default /services/TKASHSIM0/BKASHSIM0/kashsandboxtoken).
	SlackPath string
	// Clock stamps records and events (default: system clock, UTC).
	Clock Clock
	// Seed makes fault draws and generated card PAN and CVV reproducible.
	// Zero (the default) draws a new seed at every start, which Sim.Config
	// then reports. Ids never depend on it: they are unique to each start.
	Seed uint64
	// StateFile, when set, is where the simulated world survives restarts
	// (env KASH_SIM_STATE_FILE): Open loads it, and it is saved while the
	// simulator runs and on Close. See the package documentation.
	StateFile string
	// Logger receives operational messages, never card data (default: discard).
	Logger *slog.Logger
}

// Default values of Config.
const (
	DefaultAddr        = "127.0.0.1:8090"
	DefaultAsyncDelay  = time.Second
	DefaultSweepDelay  = 2 * time.Second
	DefaultTimeoutHang = 30 * time.Second
	defaultIssuerFloat = "100000.00"
	defaultCostRate    = 600
	defaultSlackPath   = "/services/TKASHSIM0/BKASHSIM0/kashsandboxtoken"
)

// DefaultQosicAccounts are the two sandbox merchant accounts the simulator
// serves when Config.Qosic is empty.
func DefaultQosicAccounts() []MomoAccount {
	return []MomoAccount{
		{Name: "qosic", User: "kash-qosic", Password: "qosic-sandbox-pass", MTNClientID: "KASH_MTN", MoovClientID: "KASH_MOOV"},
		{Name: "qosic2", User: "kash-qosic2", Password: "qosic2-sandbox-pass", MTNClientID: "KASH2_MTN", MoovClientID: "KASH2_MOOV"},
	}
}

// DefaultConfig returns a Config with every default filled in; adapters and
// kashd use it to agree with an embedded simulator on credentials.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if _, err := parseCents(c.IssuerFloat); err != nil {
		if c.IssuerFloat != "" {
			c.Logger.Error("sim: invalid IssuerFloat, using the default", "value", c.IssuerFloat)
		}
		c.IssuerFloat = defaultIssuerFloat
	}
	if c.AsyncDelay <= 0 {
		c.AsyncDelay = DefaultAsyncDelay
	}
	if c.SweepDelay <= 0 {
		c.SweepDelay = DefaultSweepDelay
	}
	if c.TimeoutHang <= 0 {
		c.TimeoutHang = DefaultTimeoutHang
	}
	if c.CostRate.Sign() <= 0 {
		c.CostRate = decimal.NewFromInt(defaultCostRate)
	}
	if len(c.Qosic) == 0 {
		c.Qosic = DefaultQosicAccounts()
	}
	if c.Flutterwave.SecretKey == "" {
		c.Flutterwave.SecretKey = "FLWSECK_TEST-kash-sandbox"
	}
	if c.Flutterwave.VerifHash == "" {
		c.Flutterwave.VerifHash = "kash-sim-verif-hash"
	}
	if c.MessageBird.AccessKey == "" {
		c.MessageBird.AccessKey = "test_kash_sandbox_key"
	}
	if c.OneSignal.AppID == "" {
		c.OneSignal.AppID = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
	}
	if c.OneSignal.RESTKey == "" {
		c.OneSignal.RESTKey = "onesignal-kash-sandbox-key"
	}
	if c.SlackPath == "" {
		c.SlackPath = defaultSlackPath
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c
}

// ConfigFromEnv reads the simulator's configuration from the environment:
// KASH_SIM_ADDR, KASH_SIM_ISSUER_FLOAT (USD, e.g. "100000.00"),
// KASH_SIM_ASYNC_DELAY_MS, KASH_SIM_SWEEP_DELAY_MS, KASH_SIM_TIMEOUT_HANG_MS,
// KASH_SIM_COST_RATE, KASH_SIM_SEED, KASH_SIM_STATE_FILE, KASH_WEBHOOK_URL,
// KASH_WEBHOOK_SECRET, and the credentials KASH_SIM_QOSIC[2]_{USER,
// PASSWORD,MTN_CLIENTID,MOOV_CLIENTID}, KASH_SIM_FLW_SECRET_KEY,
// KASH_SIM_FLW_VERIF_HASH, KASH_SIM_MESSAGEBIRD_KEY,
// KASH_SIM_ONESIGNAL_APP_ID, KASH_SIM_ONESIGNAL_KEY, KASH_SIM_SLACK_PATH.
// Unset variables keep their defaults; a malformed one is an error naming
// it.
func ConfigFromEnv() (Config, error) {
	return configFrom(os.Getenv)
}

func configFrom(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	c.Addr = orDefault(getenv("KASH_SIM_ADDR"), c.Addr)
	c.WebhookURL = getenv("KASH_WEBHOOK_URL")
	c.WebhookSecret = getenv("KASH_WEBHOOK_SECRET")
	c.StateFile = getenv("KASH_SIM_STATE_FILE")
	if v := getenv("KASH_SIM_ISSUER_FLOAT"); v != "" {
		if _, err := parseCents(v); err != nil {
			return Config{}, fmt.Errorf("KASH_SIM_ISSUER_FLOAT: %w", err)
		}
		c.IssuerFloat = v
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"KASH_SIM_ASYNC_DELAY_MS", &c.AsyncDelay},
		{"KASH_SIM_SWEEP_DELAY_MS", &c.SweepDelay},
		{"KASH_SIM_TIMEOUT_HANG_MS", &c.TimeoutHang},
	}
	for _, d := range durations {
		if err := readMillis(getenv, d.name, d.dst); err != nil {
			return Config{}, err
		}
	}
	if v := getenv("KASH_SIM_COST_RATE"); v != "" {
		r, err := decimal.NewFromString(v)
		if err != nil || r.Sign() <= 0 {
			return Config{}, fmt.Errorf("KASH_SIM_COST_RATE: %q is not a positive decimal", v)
		}
		c.CostRate = r
	}
	if v := getenv("KASH_SIM_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Config{}, fmt.Errorf("KASH_SIM_SEED: %w", err)
		}
		c.Seed = s
	}
	for i, prefix := range []string{"KASH_SIM_QOSIC_", "KASH_SIM_QOSIC2_"} {
		a := &c.Qosic[i]
		a.User = orDefault(getenv(prefix+"USER"), a.User)
		a.Password = orDefault(getenv(prefix+"PASSWORD"), a.Password)
		a.MTNClientID = orDefault(getenv(prefix+"MTN_CLIENTID"), a.MTNClientID)
		a.MoovClientID = orDefault(getenv(prefix+"MOOV_CLIENTID"), a.MoovClientID)
	}
	c.Flutterwave.SecretKey = orDefault(getenv("KASH_SIM_FLW_SECRET_KEY"), c.Flutterwave.SecretKey)
	c.Flutterwave.VerifHash = orDefault(getenv("KASH_SIM_FLW_VERIF_HASH"), c.Flutterwave.VerifHash)
	c.MessageBird.AccessKey = orDefault(getenv("KASH_SIM_MESSAGEBIRD_KEY"), c.MessageBird.AccessKey)
	c.OneSignal.AppID = orDefault(getenv("KASH_SIM_ONESIGNAL_APP_ID"), c.OneSignal.AppID)
	c.OneSignal.RESTKey = orDefault(getenv("KASH_SIM_ONESIGNAL_KEY"), c.OneSignal.RESTKey)
	c.SlackPath = orDefault(getenv("KASH_SIM_SLACK_PATH"), c.SlackPath)
	return c, nil
}

func readMillis(getenv func(string) string, name string, dst *time.Duration) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return fmt.Errorf("%s: %q is not a positive number of milliseconds", name, v)
	}
	*dst = time.Duration(ms) * time.Millisecond
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
