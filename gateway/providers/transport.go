package providers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Transport defaults. Provider calls are few and slow compared with the
// engine, so the limits are about not hanging and not hoarding memory.
const (
	DefaultTimeout             = 15 * time.Second
	DefaultMaxConnsPerHost     = 512
	DefaultMaxResponseBodySize = 1 << 20
	userAgent                  = "kash-engine/1"
)

// HTTPConfig configures an HTTPClient. The zero value is usable.
type HTTPConfig struct {
	// Timeout bounds every call, connection included. A context deadline
	// that comes earlier wins. Default DefaultTimeout.
	Timeout time.Duration
	// MaxConnsPerHost caps connections to one provider host; a call that
	// finds none free waits for one until its deadline. Default
	// DefaultMaxConnsPerHost.
	MaxConnsPerHost int
	// MaxResponseBodySize bounds what a provider can make us buffer.
	// Default DefaultMaxResponseBodySize.
	MaxResponseBodySize int
	// RootCAs, when set, replaces the system roots (a private CA in tests or
	// behind a corporate proxy). Certificates are always verified: there is
	// deliberately no way to turn verification off.
	RootCAs *x509.CertPool
}

// HTTPClient is the one transport every adapter uses: fasthttp underneath,
// a deadline on every call, context cancellation honoured, TLS 1.2+ with
// verification. It is safe for concurrent use.
type HTTPClient struct {
	client  *fasthttp.Client
	timeout time.Duration
}

// NewHTTPClient builds an HTTPClient from cfg.
func NewHTTPClient(cfg HTTPConfig) *HTTPClient {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if cfg.MaxResponseBodySize <= 0 {
		cfg.MaxResponseBodySize = DefaultMaxResponseBodySize
	}
	return &HTTPClient{
		timeout: cfg.Timeout,
		client: &fasthttp.Client{
			Name:                userAgent,
			TLSConfig:           &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs},
			MaxConnsPerHost:     cfg.MaxConnsPerHost,
			MaxConnWaitTimeout:  cfg.Timeout,
			MaxIdleConnDuration: 30 * time.Second,
			ReadTimeout:         cfg.Timeout,
			WriteTimeout:        cfg.Timeout,
			MaxResponseBodySize: cfg.MaxResponseBodySize,
			// A provider call is never retried behind the caller's back:
			// the caller owns the reference and the retry policy.
			MaxIdemponentCallAttempts: 1,
		},
	}
}

// Timeout is the per-call bound this client applies.
func (h *HTTPClient) Timeout() time.Duration { return h.timeout }

// Header is one request header.
type Header struct{ Name, Value string }

// Request is one outgoing call. Body, when not nil, is sent as JSON.
type Request struct {
	Method string
	URL    string
	Header []Header
	Body   []byte
}

// Response is a complete answer: status and body (a private copy).
type Response struct {
	Status int
	Body   []byte
}

type outcome struct {
	resp Response
	err  error
}

// Do performs r with a deadline that is the earlier of ctx's and the
// client's timeout. A cancelled context returns at once with an error; the
// request itself is then abandoned in the background and still bounded by
// that deadline. Errors match ErrTimeout or ErrTransport.
func (h *HTTPClient) Do(ctx context.Context, r Request) (Response, error) {
	deadline := time.Now().Add(h.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := ctx.Err(); err != nil {
		return Response{}, contextError(err)
	}
	if ctx.Done() == nil { // context.Background: no goroutine needed
		return h.do(r, deadline)
	}
	done := make(chan outcome, 1)
	go func() {
		resp, err := h.do(r, deadline)
		done <- outcome{resp, err}
	}()
	select {
	case o := <-done:
		return o.resp, o.err
	case <-ctx.Done():
		return Response{}, contextError(ctx.Err())
	}
}

func (h *HTTPClient) do(r Request, deadline time.Time) (Response, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL)
	req.Header.Set(fasthttp.HeaderAccept, "application/json")
	for _, hd := range r.Header {
		req.Header.Set(hd.Name, hd.Value)
	}
	if r.Body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(r.Body)
	}
	if err := h.client.DoDeadline(req, resp, deadline); err != nil {
		return Response{}, transportError(err)
	}
	return Response{
		Status: resp.StatusCode(),
		Body:   append([]byte(nil), resp.Body()...),
	}, nil
}

func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrTransport, err)
}

func transportError(err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout),
		errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrNoFreeConns),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrTransport, err)
}

// BaseURL validates a configured base URL (scheme http or https, a host, no
// query) and returns it without a trailing slash, ready for Join.
func BaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("base URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("base URL %q: need a host and no query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// PathEscape escapes one path segment taken from data (an id or a
// reference) so that it cannot change the path it is put into.
func PathEscape(segment string) string { return url.PathEscape(segment) }
