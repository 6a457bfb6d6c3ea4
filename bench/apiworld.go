package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kash/bench/apiclient"
	"kash/bench/sim"
	"kash/persistence"
)

// Secrets of the kashd the harness starts: a private instance on loopback.
const (
	benchAdminToken    = "kashbench-admin-token-0123456789"
	benchWebhookSecret = "kashbench-webhook-secret-0123456789"
	benchJWTSecret     = "kashbench-jwt-secret-0123456789abcdef"
)

// readyTimeout bounds kashd's start (migrations and recovery included).
const readyTimeout = 2 * time.Minute

// apiWorldConfig is what an HTTP scenario asks of its world.
type apiWorldConfig struct {
	scenario string
	// Simulator settings (the simulator runs in this process, so that the
	// harness keeps it across kashd restarts and reads its books).
	issuerFloat string        // starting issuer float, USD (default 100,000,000.00)
	asyncDelay  time.Duration // how long an mtn-bj payer takes to approve
	sweepDelay  time.Duration
	timeoutHang time.Duration
	// env is extra kashd configuration (KEY=value).
	env []string
	// retry makes the load's requests retry what a real app retries
	// (no answer, 503, 429, 409 idempotency_in_progress) with the same
	// Idempotency-Key, as chaos needs while kashd restarts.
	retry bool
}

// apiWorld is an HTTP scenario's world: the provider simulator (in this
// process, over real HTTP), kashd (a child process on a fresh database, or
// one the harness is pointed at), users signed in through the real OTP
// flow with KYC approved by ops, and their cards. It also keeps the
// harness's own account of what the API acknowledged, for the checks.
type apiWorld struct {
	opts Options
	cfg  apiWorldConfig
	log  io.Writer

	sim    *sim.Sim // nil when the harness was pointed at a running simulator
	kashd  *Kashd   // nil when pointed at a running kashd
	client *apiclient.Client
	fast   *fastAPI
	pool   *pgxpool.Pool // the engine's database; nil when pointed at a running kashd
	tmp    string
	nonce  string

	users []apiUser
	cards []apiCard
	tally tally

	watcher *ProcWatcher
	sampler *sampler
}

type apiUser struct {
	phone, token string
}

type apiCard struct {
	id   string
	user int
}

func newAPIWorld(o Options, cfg apiWorldConfig) *apiWorld {
	if cfg.issuerFloat == "" {
		cfg.issuerFloat = "100000000.00"
	}
	if cfg.asyncDelay <= 0 {
		cfg.asyncDelay = o.AsyncDelay
	}
	if cfg.asyncDelay <= 0 {
		cfg.asyncDelay = 20 * time.Millisecond
	}
	return &apiWorld{opts: o, cfg: cfg, nonce: fmt.Sprintf("%x", time.Now().UnixNano()), tally: newTally()}
}

// start brings up the simulator and kashd (or connects to given ones).
func (w *apiWorld) start(ctx context.Context, env Env) error {
	w.log = env.Log
	tmp, err := os.MkdirTemp("", "kashbench-"+w.cfg.scenario+"-")
	if err != nil {
		return fmt.Errorf("temporary dir: %w", err)
	}
	w.tmp = tmp
	if w.opts.API != "" {
		return w.connect()
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return err
	}
	simURL, err := w.startSim(apiAddr)
	if err != nil {
		return err
	}
	bin, err := KashdBinary(ctx, w.opts.KashdPath, env.Log)
	if err != nil {
		return err
	}
	kenv := append([]string{"KASH_HTTP_ADDR=" + apiAddr, "KASH_DATABASE_URL=" + env.DB.URL,
		"KASH_DATA_DIR=" + filepath.Join(tmp, "data"), "KASH_DEV=false", "KASH_ADMIN_TOKEN=" + benchAdminToken,
		"KASH_JWT_SECRET=" + benchJWTSecret, "KASH_WEBHOOK_SECRET=" + benchWebhookSecret, "KASH_SIM_URL=" + simURL,
		"KASH_TRUST_FORWARDED_FOR=true",
		fmt.Sprintf("KASH_SIM_ASYNC_DELAY_MS=%d", max(w.cfg.asyncDelay.Milliseconds(), 1))}, w.cfg.env...)
	if addr := os.Getenv("KASH_PPROF_ADDR"); addr != "" {
		// Profiling kashd under the bench's load: its pprof server there.
		kenv = append(kenv, "KASH_PPROF_ADDR="+addr)
	}
	w.kashd = NewKashd(bin, kenv, filepath.Join(tmp, "kashd.log"))
	w.client = apiclient.New("http://"+apiAddr, simURL, benchAdminToken)
	if w.fast, err = newFastAPI(w.client.API, simURL); err != nil {
		return err
	}
	if err := w.kashd.Start(); err != nil {
		return err
	}
	if _, err := w.kashd.WaitReady(ctx, w.client.Ready, readyTimeout); err != nil {
		return err
	}
	w.watcher = PIDWatcher("kashd", w.kashd.PID)
	if w.pool, err = persistence.Open(ctx, env.DB.URL); err != nil {
		return err
	}
	return nil
}

// connect uses the kashd and simulator the harness was pointed at.
func (w *apiWorld) connect() error {
	if w.opts.Sim == "" || w.opts.AdminToken == "" {
		return errors.New("--api needs --sim and --admin-token (or KASH_ADMIN_TOKEN) too")
	}
	w.client = apiclient.New(w.opts.API, w.opts.Sim, w.opts.AdminToken)
	if !w.client.Ready() {
		return fmt.Errorf("kashd at %s is not ready", w.opts.API)
	}
	var err error
	w.fast, err = newFastAPI(w.opts.API, w.opts.Sim)
	return err
}

func (w *apiWorld) startSim(apiAddr string) (string, error) {
	cfg := sim.DefaultConfig()
	cfg.WebhookURL, cfg.WebhookSecret = "http://"+apiAddr, benchWebhookSecret
	cfg.IssuerFloat, cfg.AsyncDelay = w.cfg.issuerFloat, w.cfg.asyncDelay
	if w.cfg.sweepDelay > 0 {
		cfg.SweepDelay = w.cfg.sweepDelay
	}
	if w.cfg.timeoutHang > 0 {
		cfg.TimeoutHang = w.cfg.timeoutHang
	}
	cfg.Seed = uint64(max(w.opts.Seed, 1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("simulator: listen: %w", err)
	}
	w.sim = sim.New(cfg)
	go func() { _ = w.sim.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// populate signs users in through the real OTP flow (each from its own
// client address), has ops approve their KYC, and buys cardsPerUser cards
// each loaded with cents, paid with moov-bj; it returns when every
// issuance succeeded.
func (w *apiWorld) populate(ctx context.Context, users, cardsPerUser int, cents int64) error {
	w.users = make([]apiUser, users)
	w.cards = make([]apiCard, users*cardsPerUser)
	err := parallel(ctx, 16, users, func(u int) error {
		phone := w.phone(phoneUser, u)
		token, err := w.client.LoginFrom(phone, clientAddr(u))
		if err != nil {
			return fmt.Errorf("user %d: login: %w", u, err)
		}
		if err := w.client.Verify(token); err != nil {
			return fmt.Errorf("user %d: KYC: %w", u, err)
		}
		w.users[u] = apiUser{phone: phone, token: token}
		for k := range cardsPerUser {
			id, err := w.issueForSetup(token, fmt.Sprintf("%s-setup-%d-%d", w.nonce, u, k), cents, phone)
			if err != nil {
				return fmt.Errorf("user %d: card %d: %w", u, k, err)
			}
			w.cards[u*cardsPerUser+k] = apiCard{id: id, user: u}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range w.cards {
		w.tally.cardIssued(c.id)
	}
	return nil
}

func (w *apiWorld) issueForSetup(token, key string, cents int64, phone string) (string, error) {
	card, f, err := w.client.IssueCard(token, key, usdText(cents), phone, "moov-bj")
	if err != nil {
		return "", fmt.Errorf("issue: %w", err)
	}
	w.tally.accepted(kindFunding, f.ID, key)
	for !apiclient.Final(f.Status) {
		if f, err = w.client.WaitFunding(token, f.ID, longPollSeconds); err != nil {
			return "", fmt.Errorf("wait for issuance %s: %w", f.ID, err)
		}
	}
	w.tally.final(kindFunding, f.ID)
	if f.Status != "succeeded" {
		return "", fmt.Errorf("issuance %s ended %s (%s)", f.ID, f.Status, f.FailureReason)
	}
	return card.ID, nil
}

// Phone number roles: each role has its own range, so that users, payers
// and withdrawal wallets never share a wallet by accident.
const (
	phoneUser = iota + 1
	phonePayer
	phoneWallet
)

// phone is the n-th phone of a role: +229 01 RR NNNNNN (10 digits), never
// ending in 0000 (an empty wallet at the simulator) nor 9999 (an MTN payer
// who never approves), so that only what the load does moves money.
func (w *apiWorld) phone(role, n int) string {
	n %= 998 * 9998
	digits := (n/9998)*10000 + n%9998 + 1
	return fmt.Sprintf("+22901%02d%06d", role, digits)
}

// clientAddr is user u's address as a proxy would forward it: each user
// counts against the OTP limit per client as its own phone would.
func clientAddr(u int) string {
	return fmt.Sprintf("10.%d.%d.%d", (u>>16)&255, (u>>8)&255, u&255)
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if ctx.Err() != nil {
					once.Do(func() { first = ctx.Err() })
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// close stops kashd and the simulator and removes the temporary files
// (kashd's log is kept when keepLog, for a failed run).
func (w *apiWorld) close(keepLog bool) {
	if w.sampler != nil {
		w.sampler.stop()
	}
	if w.kashd != nil {
		_ = w.kashd.Stop(40 * time.Second)
	}
	if w.sim != nil {
		_ = w.sim.Close()
	}
	if w.pool != nil {
		w.pool.Close()
	}
	if w.tmp != "" && !keepLog {
		_ = os.RemoveAll(w.tmp)
	}
}

// apiRun is what every HTTP scenario holds: its world, its stages, and
// where its measured window starts. It implements Scenario's Pool and
// Watched for them.
type apiRun struct {
	w            *apiWorld
	st           stages
	window       time.Time
	metricsFirst metricsSnapshot
}

// Pool implements Scenario.
func (r *apiRun) Pool() *pgxpool.Pool { return r.w.pool }

// Watchers implements Watched.
func (r *apiRun) Watchers() []*ProcWatcher { return r.w.watchers() }

// SelfName implements Watched.
func (r *apiRun) SelfName() string { return "kashbench (load generator + simulator)" }

// open starts the measured window.
func (r *apiRun) open() {
	r.window = time.Now()
	r.st.reset(r.window)
	r.metricsFirst = r.w.scrape()
}
