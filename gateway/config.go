package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"kash/engine"
	"kash/persistence"
)

// Config tunes the gateway. Zero values take the defaults noted; secrets
// have none outside dev mode (see ConfigFromEnv).
type Config struct {
	JWTSecret     []byte // signs access tokens (HS256); at least 32 bytes
	OTPSecret     []byte // keys the HMAC of stored OTP codes (default: derived from JWTSecret)
	AdminToken    string // the ops token; never a user
	WebhookSecret []byte // verifies X-Sim-Signature on provider webhooks

	AccessTTL  time.Duration // access token life (15 min)
	RefreshTTL time.Duration // refresh token life (30 days)

	OTPTTL       time.Duration // code life (10 min)
	OTPAttempts  int           // wrong tries that kill a code (5)
	OTPPerPhone  int           // codes per phone per OTPWindow (5)
	OTPPerClient int           // codes per client address per OTPWindow (100)
	OTPWindow    time.Duration // (1 h)

	CommandTimeout     time.Duration // deadline of every engine command (10 s)
	MaxInFlight        int           // engine commands in flight in total (1024); beyond: 503
	MaxInFlightPerCard int           // engine commands in flight per card (4); beyond: 429
	MaxWait            time.Duration // longest ?wait= long poll (30 s)
	PollEvery          time.Duration // how often long polls look at the database, as a fallback to OperationFinal (200 ms)

	QuoteTTL time.Duration // how long a quote holds its rate (engine.DefaultQuoteTTL)
	Limits   engine.Limits // amount limits (engine.DefaultLimits)

	// TrustForwardedFor takes the client address for OTP limits from the
	// first X-Forwarded-For entry: only behind a proxy that sets it.
	TrustForwardedFor bool
	// Now is the clock (time.Now); tests move it.
	Now func() time.Time
}

// Deps are the gateway's collaborators.
type Deps struct {
	DB       *pgxpool.Pool
	Commands Commands
	SMS      engine.Notifier         // OTP codes are sent through it directly: they never rest in the outbox
	Blobs    persistence.BlobStore   // KYC files
	Metrics  fasthttp.RequestHandler // serves GET /metrics (optional)
	// Reconciler serves GET /v1/admin/reconciliation (optional: 503 without).
	Reconciler Reconciler
	Logger     *slog.Logger // optional: discarded by default
	// Observe, when set, is called once per request with its route
	// pattern, status and duration (for metrics).
	Observe func(route string, status int, d time.Duration)
}

func (c *Config) defaults() {
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	num := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	dur(&c.AccessTTL, 15*time.Minute)
	dur(&c.RefreshTTL, 30*24*time.Hour)
	dur(&c.OTPTTL, 10*time.Minute)
	dur(&c.OTPWindow, time.Hour)
	dur(&c.CommandTimeout, 10*time.Second)
	dur(&c.MaxWait, 30*time.Second)
	dur(&c.PollEvery, 200*time.Millisecond)
	dur(&c.QuoteTTL, engine.DefaultQuoteTTL)
	num(&c.OTPAttempts, 5)
	num(&c.OTPPerPhone, 5)
	num(&c.OTPPerClient, 100)
	num(&c.MaxInFlight, 1024)
	num(&c.MaxInFlightPerCard, 4)
	if c.Limits.Tiers == nil {
		c.Limits = engine.DefaultLimits()
	}
	if len(c.OTPSecret) == 0 {
		c.OTPSecret = derive(c.JWTSecret, "kash otp codes")
	}
	if c.Now == nil {
		// Microseconds, as Postgres keeps them: an answer and a later read
		// of the same record show the same times.
		c.Now = func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	}
}

// Dev defaults: public, so that `make run` works out of the box, and
// refused outside dev mode.
const (
	DevJWTSecret     = "kash-dev-jwt-secret-not-for-production-use"
	DevAdminToken    = "kash-dev-admin-token"
	DevWebhookSecret = "kash-dev-webhook-secret"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvJWTSecret      = "KASH_JWT_SECRET"
	EnvAdminToken     = "KASH_ADMIN_TOKEN"
	EnvWebhookSecret  = "KASH_WEBHOOK_SECRET"
	EnvCommandTimeout = "KASH_COMMAND_TIMEOUT_MS"
	EnvMaxInFlight    = "KASH_MAX_IN_FLIGHT"
	EnvMaxPerCard     = "KASH_MAX_IN_FLIGHT_PER_CARD"
	EnvTrustProxy     = "KASH_TRUST_FORWARDED_FOR"
)

// ErrMissingSecret means a secret is unset outside dev mode.
var ErrMissingSecret = errors.New("missing secret")

// ConfigFromEnv reads the gateway's settings. In dev mode an unset secret
// takes its public Dev* default; otherwise KASH_JWT_SECRET (≥ 32 bytes),
// KASH_ADMIN_TOKEN (≥ 16 bytes) and KASH_WEBHOOK_SECRET are required.
func ConfigFromEnv(getenv func(string) string, dev bool) (Config, error) {
	var c Config
	secrets := []struct {
		name, dev string
		min       int
		set       func(string)
	}{
		{EnvJWTSecret, DevJWTSecret, 32, func(v string) { c.JWTSecret = []byte(v) }},
		{EnvAdminToken, DevAdminToken, 16, func(v string) { c.AdminToken = v }},
		{EnvWebhookSecret, DevWebhookSecret, 16, func(v string) { c.WebhookSecret = []byte(v) }},
	}
	for _, s := range secrets {
		v := getenv(s.name)
		switch {
		case v == "" && dev:
			v = s.dev
		case v == "":
			return Config{}, fmt.Errorf("%w: %s is required outside dev mode", ErrMissingSecret, s.name)
		case len(v) < s.min && !dev:
			return Config{}, fmt.Errorf("%w: %s must be at least %d bytes", ErrMissingSecret, s.name, s.min)
		}
		s.set(v)
	}
	ints := []struct {
		name string
		set  func(int)
	}{
		{EnvCommandTimeout, func(n int) { c.CommandTimeout = time.Duration(n) * time.Millisecond }},
		{EnvMaxInFlight, func(n int) { c.MaxInFlight = n }},
		{EnvMaxPerCard, func(n int) { c.MaxInFlightPerCard = n }},
	}
	for _, i := range ints {
		v := getenv(i.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive integer", i.name, v)
		}
		i.set(n)
	}
	c.TrustForwardedFor = getenv(EnvTrustProxy) == "1" || getenv(EnvTrustProxy) == "true"
	return c, nil
}
