package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrClosed is returned by Serve and ListenAndServe after Close.
var ErrClosed = errors.New("sim: closed")

// Sim is one provider simulator: its books, its fault settings, its webhook
// dispatcher and its HTTP server. All methods are safe for concurrent use.
type Sim struct {
	cfg   Config
	clock Clock

	momo   *momoBooks
	issuer *issuerBooks
	sms    *messageLog
	push   *messageLog
	ops    *messageLog
	faults *faultTable
	hooks  *dispatcher
	ids    *idSource
	closed atomic.Bool
	// world is held for reading by every change to the books and for
	// writing by a snapshot, which so never sees money half moved.
	world sync.RWMutex
	// changes counts changes to the world; the saver compares it with the
	// count it last saved.
	changes atomic.Uint64
	store   *stateStore // nil without Config.StateFile
	// loadErr is why New could not load Config.StateFile: such a simulator
	// serves nothing and never writes the file.
	loadErr error
	// scheduled counts approvals and settlements not yet completed, active
	// the requests being handled.
	scheduled atomic.Int64
	active    atomic.Int64
	closeMu   sync.Mutex
	servers   []*fasthttp.Server
	lns       []net.Listener
	hungMu    sync.Mutex
	hung      map[net.Conn]struct{}
	handler   fasthttp.RequestHandler
}

// Open returns a simulator. Without Config.StateFile its world is fresh.
// With it, Open loads the world saved there (a missing file is a fresh
// world), resumes the MTN approvals and settlements that were in flight,
// and keeps the file up to date until Close. A file that cannot be read or
// is not a valid, balanced world is an error (ErrStateFile for the
// latter): the simulator does not start afresh behind the engine's back,
// and the file is left as it is. Call Close to stop the simulator.
func Open(cfg Config) (*Sim, error) {
	s := newSim(cfg)
	if s.cfg.StateFile == "" {
		return s, nil
	}
	saved, found, err := readStateFile(s.cfg.StateFile)
	if err == nil && found {
		err = s.restore(saved)
	}
	if err != nil {
		s.hooks.close()
		return nil, err
	}
	s.store = startStore(s)
	s.resumeScheduled()
	return s, nil
}

// New is Open for callers without an error path, such as tests with no
// state file. When Config.StateFile cannot be loaded, New logs the error
// and returns a simulator that refuses to work rather than one that has
// forgotten the world: Serve and ListenAndServe return the error, the
// handler answers 503, and the file is never written.
func New(cfg Config) *Sim {
	s, err := Open(cfg)
	if err == nil {
		return s
	}
	s = newSim(cfg)
	s.loadErr = err
	s.cfg.Logger.Error("sim: the simulator will not serve", "err", err)
	return s
}

// newSim returns a simulator with fresh books, its webhook dispatcher
// started.
func newSim(cfg Config) *Sim {
	cfg = cfg.withDefaults()
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}
	s := &Sim{
		cfg:    cfg,
		clock:  cfg.Clock,
		faults: newFaultTable(cfg.Seed),
		ids:    newIDSource(cfg.Seed, time.Now()),
		hung:   make(map[net.Conn]struct{}),
	}
	s.sms, s.push, s.ops = newMessageLog(&s.changes), newMessageLog(&s.changes), newMessageLog(&s.changes)
	s.momo = newMomoBooks(cfg.Qosic)
	floatCents, _ := parseCents(cfg.IssuerFloat) // validated by withDefaults
	s.issuer = newIssuerBooks(floatCents)
	s.hooks = newDispatcher(s)
	s.handler = s.route
	return s
}

// beginChange and endChange bracket every change to the books. Changes
// share the world lock, so they run side by side; a snapshot takes it
// alone. Nothing may take it again inside a change.
func (s *Sim) beginChange() { s.world.RLock() }

func (s *Sim) endChange() {
	s.changes.Add(1)
	s.world.RUnlock()
}

// Config returns the effective configuration, defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Handler returns the simulator's fasthttp handler (provider APIs and the
// control API), for embedding in another server.
func (s *Sim) Handler() fasthttp.RequestHandler { return s.handler }

// ListenAndServe listens on addr (Config.Addr when empty) and serves until
// Close.
func (s *Sim) ListenAndServe(addr string) error {
	if addr == "" {
		addr = s.cfg.Addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve serves the simulator on ln until Close. It returns ErrClosed after a
// Close and any other error of the listener.
func (s *Sim) Serve(ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:            s.handler,
		Name:               "kash-providersim",
		MaxRequestBodySize: 1 << 20,
		IdleTimeout:        2 * time.Minute,
		CloseOnShutdown:    true,
	}
	if s.loadErr != nil {
		_ = ln.Close()
		return s.loadErr
	}
	s.closeMu.Lock()
	if s.closed.Load() {
		s.closeMu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.servers = append(s.servers, srv)
	s.lns = append(s.lns, ln)
	s.closeMu.Unlock()
	err := srv.Serve(ln)
	if s.closed.Load() {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("sim: serve: %w", err)
	}
	return nil
}

// Close stops the servers (waiting up to 5 s for requests in progress),
// releases connections held by timeout faults, stops webhook delivery, and
// saves the world to Config.StateFile. Scheduled approvals and settlements
// no longer happen after Close (a saved world resumes them).
func (s *Sim) Close() error {
	s.closeMu.Lock()
	if s.closed.Swap(true) {
		s.closeMu.Unlock()
		return nil
	}
	servers, lns := s.servers, s.lns
	s.closeMu.Unlock()

	s.releaseHungConns()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sim: shutdown: %w", err))
		}
	}
	// A Serve that had not reached its accept loop yet returns on a closed listener.
	for _, ln := range lns {
		_ = ln.Close()
	}
	s.hooks.close()
	if s.store != nil {
		if err := s.store.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// route dispatches a request to the provider API or control API it names.
func (s *Sim) route(ctx *fasthttp.RequestCtx) {
	s.active.Add(1)
	defer s.active.Add(-1)
	if s.loadErr != nil {
		writeText(ctx, fasthttp.StatusServiceUnavailable, s.loadErr.Error())
		return
	}
	path := ctx.Path()
	switch {
	case hasPrefix(path, "/QosicBridge/user/"):
		s.serveQosic(ctx, string(path[len("/QosicBridge/user/"):]))
	case hasPrefix(path, "/v3/"):
		s.serveFlutterwave(ctx, string(path[len("/v3"):]))
	case string(path) == "/messages":
		s.serveMessageBird(ctx)
	case string(path) == "/api/v1/notifications":
		s.serveOneSignal(ctx)
	case hasPrefix(path, "/services/"):
		s.serveSlack(ctx, string(path))
	case hasPrefix(path, "/sim/"):
		s.serveControl(ctx, string(path))
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("not found")
	}
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// hang answers nothing: the connection is held until the client gives up
// (closes it) or TimeoutHang passes, then closed. That is how a provider
// timeout looks from the client.
func (s *Sim) hang(ctx *fasthttp.RequestCtx) {
	ctx.HijackSetNoResponse(true)
	deadline := time.Now().Add(s.cfg.TimeoutHang)
	ctx.Hijack(func(c net.Conn) {
		if !s.trackHung(c) {
			return
		}
		defer s.untrackHung(c)
		_ = c.SetReadDeadline(deadline)
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

func (s *Sim) trackHung(c net.Conn) bool {
	s.hungMu.Lock()
	defer s.hungMu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.hung[c] = struct{}{}
	return true
}

func (s *Sim) untrackHung(c net.Conn) {
	s.hungMu.Lock()
	delete(s.hung, c)
	s.hungMu.Unlock()
}

func (s *Sim) releaseHungConns() {
	s.hungMu.Lock()
	defer s.hungMu.Unlock()
	for c := range s.hung {
		_ = c.SetReadDeadline(time.Now())
	}
}

// Settling reports how many requests are being handled plus how many MTN
// approvals and settlements are scheduled but not yet done (payers that
// never approve are not counted). The books are final when it is zero.
func (s *Sim) Settling() int64 { return s.scheduled.Load() + s.active.Load() }

// after runs f after d unless the simulator is closed by then.
func (s *Sim) after(d time.Duration, f func()) {
	time.AfterFunc(d, func() {
		if !s.closed.Load() {
			f()
		}
	})
}

func (s *Sim) now() time.Time { return s.clock.Now().UTC() }

// splitPath splits "/a/b/c" into its non-empty segments.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}
