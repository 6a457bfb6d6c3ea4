// Package providertest runs real HTTP servers on 127.0.0.1 for the
// adapters' tests: each test serves a provider's documented answers
// (testdata) over a real loopback socket and records what the adapter sent.
package providertest

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// Recorded is one request the server received.
type Recorded struct {
	Method string
	Path   string
	Query  string
	Header map[string]string
	Body   []byte
}

// Server is a fasthttp server on a random loopback port.
type Server struct {
	URL     string
	mu      sync.Mutex
	reqs    []Recorded
	handler fasthttp.RequestHandler
	release chan struct{}
}

// Start serves h (which may be replaced with Handle) until the test ends.
func Start(t testing.TB, h fasthttp.RequestHandler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), handler: h, release: make(chan struct{})}
	srv := &fasthttp.Server{Handler: s.serve, CloseOnShutdown: true}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		close(s.release) // free handlers that hang on purpose
		_ = srv.Shutdown()
	})
	return s
}

func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	rec := Recorded{
		Method: string(ctx.Method()),
		Path:   string(ctx.Path()),
		Query:  string(ctx.QueryArgs().QueryString()),
		Header: map[string]string{},
		Body:   append([]byte(nil), ctx.PostBody()...),
	}
	for k, v := range ctx.Request.Header.All() {
		rec.Header[string(k)] = string(v)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	h := s.handler
	s.mu.Unlock()
	h(ctx)
}

// Handle replaces the handler for the following requests.
func (s *Server) Handle(h fasthttp.RequestHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// Requests returns what the server received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.reqs...)
}

// Last returns the last request received; it fails the test if none.
func (s *Server) Last(t testing.TB) Recorded {
	t.Helper()
	r := s.Requests()
	if len(r) == 0 {
		t.Fatal("no request reached the server")
	}
	return r[len(r)-1]
}

// Hang never answers: it holds the request until the test ends, so that the
// client's deadline is what ends the call.
func (s *Server) Hang() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { <-s.release }
}

// Reply answers status with body as JSON.
func Reply(status int, body []byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
}

// ReplyText answers status with a text/plain body.
func ReplyText(status int, body string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(status)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(body)
	}
}

// Testdata reads testdata/name of the calling test's package.
func Testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return b
}
