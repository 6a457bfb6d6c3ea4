package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"kash/persistence"
)

// Body limits of API.md.
const (
	maxJSONBody      = 64 << 10
	maxMultipartBody = 12 << 20
)

// requestTimeout bounds the database work of one request (long polls and
// engine commands have their own deadlines).
const requestTimeout = 15 * time.Second

// Server is the REST API. Create it with New, serve Handler (or the
// fasthttp.Server that HTTPServer configures), and Close it on shutdown.
type Server struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	router router

	identity *persistence.Identity
	idem     *persistence.Idempotency
	prices   *persistence.Pricing
	webhooks *persistence.Webhooks
	queries  *persistence.Queries

	jwtKey  []byte
	sealer  sealer
	limiter *limiter
	waiter  *waiter
	rates   *rateCache
	openapi []byte

	stop      chan struct{}
	closeOnce sync.Once
}

// New builds the API on its dependencies and starts the long-poll watcher.
func New(cfg Config, deps Deps) *Server {
	cfg.defaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg: cfg, deps: deps, log: log,
		identity: persistence.NewIdentity(deps.DB),
		idem:     persistence.NewIdempotency(deps.DB),
		prices:   persistence.NewPricing(deps.DB),
		webhooks: persistence.NewWebhooks(deps.DB),
		queries:  persistence.NewQueries(deps.DB),
		jwtKey:   derive(cfg.JWTSecret, "kash access tokens"),
		sealer:   newSealer(cfg.JWTSecret),
		limiter:  newLimiter(cfg.MaxInFlight, cfg.MaxInFlightPerCard),
		openapi:  openAPIJSON(),
	}
	s.rates = newRateCache(s.prices, cfg.Now)
	s.waiter = newWaiter(s.queries, cfg.PollEvery, log)
	s.stop = make(chan struct{})
	go s.janitor(s.stop)
	s.routes()
	return s
}

// Close stops the background work: waiting long polls answer at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.waiter.close()
	})
}

// Handler returns the request handler of every route of the API.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// HTTPServer returns a fasthttp server set up as the API needs: request
// bodies streamed (so that multipart uploads are never held whole in
// memory, and oversized bodies are refused without being read), JSON
// errors for requests fasthttp itself refuses, and timeouts above the
// longest long poll.
func (s *Server) HTTPServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.handle,
		Name:                         "kashd",
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		MaxRequestBodySize:           maxJSONBody, // larger bodies reach the handler as a stream
		ReadTimeout:                  60 * time.Second,
		WriteTimeout:                 s.cfg.MaxWait + 15*time.Second,
		IdleTimeout:                  2 * time.Minute,
		ErrorHandler:                 s.transportError,
		NoDefaultServerHeader:        true,
	}
}

// transportError answers requests fasthttp could not read, in the API's
// error shape.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	e := newError(codeInvalidJSON, "The request could not be read.")
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		e = newError(codePayloadTooLarge, "The request body is too large.")
	}
	r := errorReply(e)
	r.closeConn = true
	s.write(ctx, r)
}

// reply is a response, built by a handler and written by the server (or
// stored for an idempotent replay first).
type reply struct {
	status      int
	body        []byte
	contentType string // JSON when empty
	retryAfter  int
	replayed    bool
	closeConn   bool
	stream      io.ReadCloser // a file, written as the body instead of body
	size        int64
	disposition string
	written     bool  // the response is already in the RequestCtx
	cause       error // why a 5xx happened, for the log only
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return errorReply(internalError(fmt.Errorf("encode response: %w", err)))
	}
	return reply{status: status, body: b}
}

func noContent() reply { return reply{status: http.StatusNoContent} }

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func errorReply(e *apiError) reply {
	b, _ := json.Marshal(errorBody{Error: errorDetail{Code: e.code, Message: e.message, Field: e.field}})
	r := reply{status: e.status(), body: b, retryAfter: e.retryAfter, cause: e.cause}
	if r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable {
		r.retryAfter = max(r.retryAfter, 1)
	}
	return r
}

// call is one request on its way through a route.
type call struct {
	s        *Server
	ctx      *fasthttp.RequestCtx
	rt       *route
	params   []string
	userID   string // the user of a user route
	session  string // the login session (refresh token family) of the access token
	isAdmin  bool
	body     []byte
	idemKey  string
	now      time.Time
	deadline context.Context
}

// param returns the i-th path parameter.
func (c *call) param(i int) string { return c.params[i] }

// context bounds the request's database work.
func (c *call) context() context.Context { return c.deadline }

// scope is whose idempotency keys these are: the caller.
func (c *call) scope() string {
	switch {
	case c.isAdmin:
		return "ops"
	case c.userID != "":
		return "user:" + c.userID
	}
	return "addr:" + c.clientAddr().String()
}

// opID names the operation of kind that this request creates: derived
// from the Idempotency-Key when there is one, so that a retry names the
// same operation, else random.
func (c *call) opID(prefix, kind string) string {
	if c.idemKey == "" {
		return randomID(prefix)
	}
	return derivedID(prefix, kind, c.scope(), c.idemKey)
}

// clientAddr is the caller's IP address for per-client limits.
func (c *call) clientAddr() netip.Addr {
	if c.s.cfg.TrustForwardedFor {
		first, _, _ := strings.Cut(string(c.ctx.Request.Header.Peek("X-Forwarded-For")), ",")
		if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return a.Unmap()
		}
	}
	a, ok := netip.AddrFromSlice(c.ctx.RemoteIP())
	if !ok {
		return netip.IPv4Unspecified()
	}
	return a.Unmap()
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	pattern := "unmatched"
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "route", pattern, "panic", p, "stack", string(debug.Stack()))
			ctx.ResetBody()
			s.write(ctx, errorReply(internalError(nil)))
		}
		if s.deps.Observe != nil {
			s.deps.Observe(pattern, ctx.Response.StatusCode(), time.Since(start))
		}
	}()
	method, path := string(ctx.Method()), string(ctx.Path())
	if r, ok := s.probe(ctx, method, path); ok {
		pattern = path
		s.write(ctx, r)
		return
	}
	rt, params := s.router.match(method, path)
	if rt == nil {
		s.write(ctx, errorReply(errNotFound))
		return
	}
	pattern = rt.method + " " + rt.pattern
	deadline, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	c := &call{s: s, ctx: ctx, rt: rt, params: params, now: s.cfg.Now(), deadline: deadline}
	r := s.serve(c)
	if r.status >= http.StatusInternalServerError {
		// Causes never carry secrets (codes, tokens and card data are not
		// in errors); bodies are not logged at all.
		level := slog.LevelError
		if r.status == http.StatusServiceUnavailable {
			level = slog.LevelWarn // expected under load: the client retries
		}
		s.log.Log(context.Background(), level, "request failed", "route", pattern, "status", r.status, "err", r.cause)
	}
	s.write(ctx, r)
}

// serve runs the route's checks in the API's order: authentication, the
// Idempotency-Key, the body, then the handler (through the idempotency
// store when a key is given).
func (s *Server) serve(c *call) reply {
	if err := s.authenticate(c); err != nil {
		return errorReply(err)
	}
	if err := c.readIdempotencyKey(); err != nil {
		return errorReply(err)
	}
	if c.rt.body == bodyJSON {
		body, err := readJSONBody(c.ctx)
		if err != nil {
			r := errorReply(err)
			r.closeConn = err.code == codePayloadTooLarge
			return r
		}
		c.body = body
	}
	if c.idemKey != "" && c.rt.body == bodyJSON {
		return s.idempotent(c, requestHash(c.rt.method, string(c.ctx.Path()), c.body), func() reply { return c.rt.handle(c) })
	}
	return c.rt.handle(c)
}

func (c *call) readIdempotencyKey() *apiError {
	if c.rt.idem == idemNone {
		return nil
	}
	key := string(c.ctx.Request.Header.Peek("Idempotency-Key"))
	if key == "" {
		if c.rt.idem == idemRequired {
			return newError(codeIdempotencyKeyRequired, "This request needs an Idempotency-Key header.")
		}
		return nil
	}
	if len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return newError(codeIdempotencyKeyRequired, "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
	}
	c.idemKey = key
	return nil
}

// readJSONBody reads at most maxJSONBody bytes of a JSON body, from the
// stream when the server streams bodies, and checks its media type.
func readJSONBody(ctx *fasthttp.RequestCtx) ([]byte, *apiError) {
	tooLarge := newError(codePayloadTooLarge, "The request body is larger than 64 KiB.")
	if ctx.Request.Header.ContentLength() > maxJSONBody {
		return nil, tooLarge
	}
	var body []byte
	if ctx.Request.IsBodyStream() {
		b, err := io.ReadAll(io.LimitReader(ctx.RequestBodyStream(), maxJSONBody+1))
		if err != nil {
			return nil, newError(codeInvalidJSON, "The request body could not be read.")
		}
		body = b
	} else {
		body = ctx.PostBody()
	}
	if len(body) > maxJSONBody {
		return nil, tooLarge
	}
	if len(body) > 0 {
		mt, _, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
		if err != nil || mt != "application/json" {
			return nil, newError(codeUnsupportedMediaType, "Request bodies are JSON: Content-Type: application/json.")
		}
	}
	return body, nil
}

func (s *Server) write(ctx *fasthttp.RequestCtx, r reply) {
	if r.written {
		return
	}
	ctx.SetStatusCode(r.status)
	h := &ctx.Response.Header
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(r.retryAfter))
	}
	if r.replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	if r.closeConn {
		ctx.SetConnectionClose()
	}
	switch {
	case r.stream != nil:
		ctx.SetContentType(r.contentType)
		if r.disposition != "" {
			h.Set("Content-Disposition", r.disposition)
		}
		ctx.SetBodyStream(r.stream, int(r.size))
	case r.status == http.StatusNoContent:
		ctx.ResetBody()
	default:
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		ctx.SetContentType(ct)
		ctx.SetBody(r.body)
	}
}

// probe serves the health, readiness and metrics endpoints, which sit
// outside /v1 and outside the API's error handling.
func (s *Server) probe(ctx *fasthttp.RequestCtx, method, path string) (reply, bool) {
	if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
		return reply{}, false
	}
	switch path {
	case "/healthz":
		return reply{status: http.StatusOK, body: []byte(`{"status":"ok"}`)}, true
	case "/readyz":
		if err := s.ready(); err != nil {
			return errorReply(unavailable("Not ready: "+err.Error()+".", nil)), true
		}
		return reply{status: http.StatusOK, body: []byte(`{"status":"ready"}`)}, true
	case "/metrics":
		if s.deps.Metrics == nil {
			return errorReply(errNotFound), true
		}
		s.deps.Metrics(ctx)
		return reply{written: true}, true
	}
	return reply{}, false
}

// ready reports why the server cannot take traffic yet: the database does
// not answer, or the engine has not finished recovery.
func (s *Server) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.deps.DB.Ping(ctx); err != nil {
		return errors.New("the database does not answer")
	}
	if s.deps.Commands == nil || !s.deps.Commands.Ready() {
		return errors.New("the engine is recovering")
	}
	return nil
}
