package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"kash/engine"
	"kash/gateway"
	"kash/gateway/providers"
	"kash/metrics"
	"kash/persistence"
)

// What kashd reports to the metrics registry itself, beyond what the
// packages report through their own hooks: the series that must exist
// before their first event (routes, provider operations), the actors that
// live as long as the engine, provider failures by reason and outbox
// deliveries (seen at the ports, where the error is known), the float
// committed to cards, and the periodic ledger check and reconciliation.

const (
	// defaultFloatLowWater is the float low-water mark (USD) without
	// KASH_FLOAT_LOW_WATER_USD: a few hours of fundings for a small launch.
	defaultFloatLowWater = "1000.00"
	// booksEvery is how often kashd checks the ledger and reconciles with
	// the providers; the staleness alerts fire after 3 and 6 hours.
	booksEvery = time.Hour
	// booksTimeout bounds one ledger check or reconciliation.
	booksTimeout = 2 * time.Minute
	// committedLag keeps the float-committed count this far behind the
	// ledger: an entry's created_at is its transaction's start, so only a
	// journal batch open longer than this could commit an entry into a
	// window already counted (and the commit-latency alert fires long before).
	committedLag = 10 * time.Second
)

// probeRoutes are the gateway's endpoints outside the API's route table.
var probeRoutes = []string{"/healthz", "/readyz", "/metrics"}

// notifierProviders names the provider behind each outbox channel as its
// adapter labels its calls (the adapters' default names, which
// connectProviders keeps).
var notifierProviders = map[string]string{"sms": "messagebird", "push": "onesignal", "ops": "slack"}

// issuerOperations are the issuer adapter's operation labels for the calls
// of engine.CardIssuer.
var issuerOperations = []string{"create", "fund", "withdraw", "block", "unblock", "terminate", "status", "details", "balance"}

// floatLowWater reads the float low-water mark from KASH_FLOAT_LOW_WATER_USD.
func floatLowWater(getenv func(string) string) (engine.Money, error) {
	raw := valueOr(getenv("KASH_FLOAT_LOW_WATER_USD"), defaultFloatLowWater)
	mark, err := engine.ParseAmount(raw, engine.USD)
	if err != nil {
		return engine.Money{}, fmt.Errorf("KASH_FLOAT_LOW_WATER_USD=%q: %w", raw, err)
	}
	return mark, nil
}

// instrumentServer creates the zero series of every route, so that rates
// and error ratios read 0 rather than nothing before a route's first
// request, and counts the requests in flight around the whole handler.
func instrumentServer(h *metrics.HTTP, gw *gateway.Server, server *fasthttp.Server) {
	for _, r := range gw.Routes() {
		h.DeclareRoute(r[1], r[0])
	}
	for _, probe := range probeRoutes {
		h.DeclareRoute(probe, http.MethodGet)
	}
	server.Handler = h.TrackInFlight(server.Handler)
}

// instrumentProviders wraps the ports kashd hands to the engine and the
// gateway so that every failed provider call is counted by reason and
// every outbox delivery attempt by channel and result, and declares the
// series of the issuer and the notifiers.
func instrumentProviders(out *outside, m *metrics.Metrics) {
	p := m.Providers
	for name, momo := range out.momo {
		out.momo[name] = countMomoErrors(momo, p)
	}
	issuerName := "flutterwave"
	if named, ok := out.issuer.(interface{ Name() string }); ok {
		issuerName = named.Name()
	}
	out.issuer = issuerErrors{CardIssuer: out.issuer, name: issuerName, p: p}
	p.Declare(issuerName, issuerOperations...)
	// OTP codes go straight out through out.sms, not through the outbox.
	out.sms = notifierErrors{next: out.sms, provider: notifierProviders["sms"], p: p}
	for channel, n := range out.notifiers {
		provider := notifierProviders[channel]
		p.Declare(provider, "send")
		out.notifiers[channel] = outboxDeliveries{next: notifierErrors{next: n, provider: provider, p: p},
			channel: metrics.ChannelOf(channel), o: m.Outbox}
	}
}

// errorReason classifies a provider call's error for
// kash_provider_errors_total; ok is false when err is no fault of the call
// but an answer (an unknown reference, a rejected message) or kashd's own
// cancellation.
func errorReason(err error) (reason metrics.ErrorReason, ok bool) {
	var status *providers.StatusError
	switch {
	case err == nil, errors.Is(err, engine.ErrUnknownReference), errors.Is(err, providers.ErrRejected),
		errors.Is(err, context.Canceled):
		return "", false
	case errors.Is(err, providers.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return metrics.ReasonTimeout, true
	case errors.Is(err, providers.ErrTransport):
		return metrics.ReasonTransport, true
	case errors.Is(err, providers.ErrMalformed):
		return metrics.ReasonBadResponse, true
	case errors.As(err, &status) && status.Status == http.StatusTooManyRequests:
		return metrics.ReasonRateLimited, true
	case errors.As(err, &status) && status.Status >= 500:
		return metrics.ReasonHTTP5xx, true
	case errors.As(err, &status):
		return metrics.ReasonHTTP4xx, true
	}
	return metrics.ReasonOther, true
}

func countError(p *metrics.Providers, provider, operation string, err error) {
	if reason, ok := errorReason(err); ok {
		p.Error(provider, operation, reason)
	}
}

// momoErrors counts the failures of a momo provider account's calls.
type momoErrors struct {
	engine.MomoProvider
	p *metrics.Providers
}

// settlingMomoErrors is momoErrors for an account that can settle, which
// the engine finds by type assertion and must still find.
type settlingMomoErrors struct {
	momoErrors
	settler engine.Settler
}

func countMomoErrors(momo engine.MomoProvider, p *metrics.Providers) engine.MomoProvider {
	counted := momoErrors{MomoProvider: momo, p: p}
	if s, ok := momo.(engine.Settler); ok {
		return settlingMomoErrors{momoErrors: counted, settler: s}
	}
	return counted
}

func (a momoErrors) Collect(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	res, err := a.MomoProvider.Collect(ctx, req)
	countError(a.p, a.Name(), "collect", err)
	return res, err
}

func (a momoErrors) Payout(ctx context.Context, req engine.PaymentRequest) (engine.Result, error) {
	res, err := a.MomoProvider.Payout(ctx, req)
	countError(a.p, a.Name(), "payout", err)
	return res, err
}

func (a momoErrors) PaymentStatus(ctx context.Context, ref string, op engine.Operator) (engine.Result, error) {
	res, err := a.MomoProvider.PaymentStatus(ctx, ref, op)
	countError(a.p, a.Name(), "status", err)
	return res, err
}

func (a settlingMomoErrors) Settle(ctx context.Context, ref string, amount engine.Money) (engine.Result, error) {
	res, err := a.settler.Settle(ctx, ref, amount)
	countError(a.p, a.Name(), "settlement", err)
	return res, err
}

// issuerErrors counts the failures of the card issuer's calls.
type issuerErrors struct {
	engine.CardIssuer
	name string
	p    *metrics.Providers
}

func (i issuerErrors) CreateCard(ctx context.Context, req engine.CreateCardRequest) (engine.Result, engine.IssuedCard, error) {
	res, card, err := i.CardIssuer.CreateCard(ctx, req)
	countError(i.p, i.name, "create", err)
	return res, card, err
}

func (i issuerErrors) FundCard(ctx context.Context, op engine.CardOperation) (engine.Result, error) {
	res, err := i.CardIssuer.FundCard(ctx, op)
	countError(i.p, i.name, "fund", err)
	return res, err
}

func (i issuerErrors) WithdrawCard(ctx context.Context, op engine.CardOperation) (engine.Result, error) {
	res, err := i.CardIssuer.WithdrawCard(ctx, op)
	countError(i.p, i.name, "withdraw", err)
	return res, err
}

func (i issuerErrors) BlockCard(ctx context.Context, ref, issuerCardID string) (engine.Result, error) {
	res, err := i.CardIssuer.BlockCard(ctx, ref, issuerCardID)
	countError(i.p, i.name, "block", err)
	return res, err
}

func (i issuerErrors) UnblockCard(ctx context.Context, ref, issuerCardID string) (engine.Result, error) {
	res, err := i.CardIssuer.UnblockCard(ctx, ref, issuerCardID)
	countError(i.p, i.name, "unblock", err)
	return res, err
}

func (i issuerErrors) TerminateCard(ctx context.Context, ref, issuerCardID string) (engine.Result, error) {
	res, err := i.CardIssuer.TerminateCard(ctx, ref, issuerCardID)
	countError(i.p, i.name, "terminate", err)
	return res, err
}

func (i issuerErrors) OperationStatus(ctx context.Context, ref string) (engine.Result, engine.IssuedCard, error) {
	res, card, err := i.CardIssuer.OperationStatus(ctx, ref)
	countError(i.p, i.name, "status", err)
	return res, card, err
}

func (i issuerErrors) CardDetails(ctx context.Context, issuerCardID string) (engine.SensitiveCard, error) {
	card, err := i.CardIssuer.CardDetails(ctx, issuerCardID)
	countError(i.p, i.name, "details", err)
	return card, err
}

func (i issuerErrors) FloatBalance(ctx context.Context) (engine.Money, error) {
	float, err := i.CardIssuer.FloatBalance(ctx)
	countError(i.p, i.name, "balance", err)
	return float, err
}

// notifierErrors counts the failures of a notification provider's sends.
type notifierErrors struct {
	next     engine.Notifier
	provider string
	p        *metrics.Providers
}

func (n notifierErrors) Send(ctx context.Context, msg engine.Message) error {
	err := n.next.Send(ctx, msg)
	countError(n.p, n.provider, "send", err)
	return err
}

// outboxDeliveries counts the outbox dispatcher's delivery attempts on one
// channel; it is the only caller of the notifiers it wraps.
type outboxDeliveries struct {
	next    engine.Notifier
	channel metrics.Channel
	o       *metrics.Outbox
}

func (d outboxDeliveries) Send(ctx context.Context, msg engine.Message) error {
	err := d.next.Send(ctx, msg)
	d.o.Delivered(d.channel, err == nil)
	return err
}

// watchEngine starts what kashd reports while the engine runs: the actors
// that live as long as it, the float committed to cards, and the ledger
// check and reconciliation at start and every booksEvery. The returned
// function stops it all and waits for work in progress to end.
func watchEngine(pool *pgxpool.Pool, m *metrics.Metrics, rec gateway.Reconciler, momoAccounts int, log *slog.Logger) func() {
	stopActors := reportLongLivedActors(m.Actors, momoAccounts)
	committed := &floatCommitted{pool: pool, t: m.Treasury}
	queries := persistence.NewQueries(pool)
	stopCommitted := runEvery(gaugeEvery, func(ctx context.Context) {
		if err := committed.refresh(ctx); err != nil {
			log.Warn("float committed not refreshed", "err", err)
		}
	})
	stopBooks := runEvery(booksEvery, func(ctx context.Context) {
		checkLedger(ctx, queries, m.Money, log)
		reconcile(ctx, rec, m.Money, log)
	})
	return func() {
		stopBooks()
		stopCommitted()
		stopActors()
	}
}

// reportLongLivedActors counts the actors that the engine starts with it
// and keeps until it stops: the treasury, one provider account actor per
// momo account plus one for the issuer, and the outbox dispatcher. (Card
// actors come and go; the registry reports them through the observer.)
func reportLongLivedActors(a *metrics.Actors, momoAccounts int) func() {
	kinds := []metrics.ActorKind{metrics.KindTreasury, metrics.KindOutbox}
	for range momoAccounts + 1 {
		kinds = append(kinds, metrics.KindProviderAccount)
	}
	for _, k := range kinds {
		a.Activated(k)
	}
	return func() {
		for _, k := range kinds {
			a.Passivated(k)
		}
	}
}

// runEvery calls f at once and then every interval until the returned
// function is called; that function cancels f's context and waits for it.
func runEvery(interval time.Duration, f func(ctx context.Context)) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			f(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// checkLedger runs the ledger check and records its result.
func checkLedger(ctx context.Context, q *persistence.Queries, money *metrics.Money, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, booksTimeout)
	defer cancel()
	lc, err := q.CheckLedger(ctx)
	if err != nil {
		log.Warn("ledger check did not complete", "err", err)
		return
	}
	money.LedgerChecked(time.Now(), int(lc.Entries), len(lc.Imbalances))
	if !lc.OK() {
		log.Error("ledger check found imbalances: see GET /v1/admin/ledger/check", "imbalances", len(lc.Imbalances))
	}
}

// reconcile compares the books with the providers' and records the result.
func reconcile(ctx context.Context, rec gateway.Reconciler, money *metrics.Money, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, booksTimeout)
	defer cancel()
	r, err := rec.Reconcile(ctx)
	if err != nil {
		log.Warn("reconciliation did not complete", "err", err)
		return
	}
	money.Reconciled(time.Now(), len(r.Differences))
	if !r.OK {
		log.Error("reconciliation found differences: see GET /v1/admin/reconciliation", "differences", len(r.Differences))
	}
}

// floatCommitted counts the float committed to cards since kashd started,
// from the ledger: the issuer float's side of every card credit (issuance
// or funding). Each refresh counts the entries created in the window since
// the previous refresh, a window that ends committedLag ago: created_at is
// the start of an entry's transaction, so only a journal transaction open
// longer than that could add an entry to a window already counted.
//
// created_at has no index; the primary key keeps the scan short. An entry of
// the window started its transaction after the window opened, so its id was
// handed out after that (ids come from a sequence) and is above the highest
// id that a refresh at or before the window's start saw. marks keeps those
// highest ids with the time they were seen.
type floatCommitted struct {
	pool  *pgxpool.Pool
	t     *metrics.Treasury
	since time.Time // start of the next window; zero before the first refresh
	marks []idMark  // oldest first
}

// idMark is the highest ledger entry id visible at a time.
type idMark struct {
	at time.Time
	id int64
}

func (f *floatCommitted) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, gaugeEvery)
	defer cancel()
	low := f.lowID()
	if f.since.IsZero() {
		// The first refresh only opens the window: the count starts at
		// kashd's start, like the other counters.
		low = math.MaxInt64
	}
	var mark idMark
	var until time.Time
	var minor int64
	// The mark's time is taken after the statement's snapshot (hence
	// clock_timestamp), so every id handed out after it is above the mark.
	err := f.pool.QueryRow(ctx, `SELECT clock_timestamp(), now() - $1::interval,
		(SELECT coalesce(max(id), 0) FROM ledger_entries),
		(SELECT coalesce(sum(-p.amount_minor), 0)::bigint
		 FROM ledger_entries e, unnest(e.accounts, e.amounts) AS p(account, amount_minor)
		 WHERE e.id > $5 AND e.kind = $2 AND p.account = $3
		   AND e.created_at > $4 AND e.created_at <= now() - $1::interval)`,
		committedLag, engine.KindCardCredit, string(engine.IssuerFloatAccount()), f.since, low).
		Scan(&mark.at, &until, &mark.id, &minor)
	if err != nil {
		return fmt.Errorf("float committed: %w", err)
	}
	f.since = until
	f.marks = append(f.marks, mark)
	f.t.FloatCommitted(engine.NewMoney(minor, engine.USD))
	return nil
}

// lowID returns the highest id seen at or before the window's start (every
// entry of the window is above it), and forgets the marks older than it.
func (f *floatCommitted) lowID() int64 {
	var low int64
	keep := 0
	for i, m := range f.marks {
		if m.at.After(f.since) {
			break
		}
		low, keep = m.id, i
	}
	f.marks = f.marks[keep:]
	return low
}
