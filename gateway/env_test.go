package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jackc/pgx/v5/pgxpool"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

// testAdminToken is the ops token of every test server.
const testAdminToken = "test-admin-token-0123456789"

var testWebhookSecret = []byte("test-webhook-secret")

// env is one API server on 127.0.0.1 with its own Postgres database, a
// capturing SMS port and a clock tests can move.
type env struct {
	t      *testing.T
	srv    *Server
	url    string
	pool   *pgxpool.Pool
	sms    *captureSMS
	clock  *testClock
	blobs  persistence.BlobStore
	client *http.Client
}

// testClock is the wall clock plus an offset that tests advance.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// captureSMS is the SMS port of tests: it keeps what was sent.
type captureSMS struct {
	mu   sync.Mutex
	sent []engine.Message
	fail error
}

func (c *captureSMS) Send(_ context.Context, m engine.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.sent = append(c.sent, m)
	return nil
}

var codeInSMS = regexp.MustCompile(`\b([0-9]{6})\b`)

// lastCode returns the code of the newest SMS to phone.
func (c *captureSMS) lastCode(t *testing.T, phone string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.sent) - 1; i >= 0; i-- {
		if c.sent[i].To == phone {
			m := codeInSMS.FindStringSubmatch(c.sent[i].Body)
			if m == nil {
				t.Fatalf("SMS without a code: %q", c.sent[i].Body)
			}
			return m[1]
		}
	}
	t.Fatalf("no SMS to %s", phone)
	return ""
}

// newTestServer starts the API over real HTTP and a fresh database, with
// cmds as the engine: the fake of fake_test.go for handler tests, the real
// actor engine for end-to-end tests. Options (func(*Config) or
// func(*Deps)) adjust the configuration and the dependencies.
func newTestServer(t *testing.T, cmds Commands, opts ...any) *env {
	t.Helper()
	pool := pgtest.NewPool(t)
	return newTestServerOn(t, pool, cmds, opts...)
}

func newTestServerOn(t *testing.T, pool *pgxpool.Pool, cmds Commands, opts ...any) *env {
	t.Helper()
	blobs, err := persistence.NewFileBlobStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, sms: &captureSMS{}, clock: &testClock{}, blobs: blobs}
	cfg := Config{JWTSecret: []byte("test-jwt-secret-0123456789abcdef0123"), AdminToken: testAdminToken,
		WebhookSecret: testWebhookSecret, Now: e.clock.Now, PollEvery: 20 * time.Millisecond}
	deps := Deps{DB: pool, Commands: cmds, SMS: e.sms, Blobs: blobs}
	for _, o := range opts {
		switch o := o.(type) {
		case func(*Config):
			o(&cfg)
		case func(*Deps):
			o(&deps)
		default:
			t.Fatalf("newTestServer: option %T", o)
		}
	}
	e.srv = New(cfg, deps)
	hs := e.srv.HTTPServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Shutdown()
		e.srv.Close()
	})
	e.url = "http://" + ln.Addr().String()
	e.client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	return e
}

// resp is a response as tests see it, already checked against the
// OpenAPI document.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// errorCode returns error.code and error.field of an error response.
func (r resp) errorCode(t *testing.T) (code, field string) {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("response %d has no error object: %s", r.status, r.body)
	}
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

// wantError fails unless the response is the error status and code (and
// field, when given).
func (r resp) wantError(t *testing.T, status int, code string, field ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%s): %s", r.status, status, code, r.body)
	}
	got, gotField := r.errorCode(t)
	if got != code {
		t.Fatalf("error code %q, want %q: %s", got, code, r.body)
	}
	if len(field) > 0 && gotField != field[0] {
		t.Fatalf("error field %q, want %q: %s", gotField, field[0], r.body)
	}
	if (status == 429 || status == 503) && r.header.Get("Retry-After") == "" {
		t.Fatalf("%d without Retry-After", status)
	}
}

func (r resp) want(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(t)
}

// request is one HTTP call; body is JSON-encoded unless it is []byte or a
// string (sent as is, for malformed input).
type request struct {
	method, path string
	token        string
	body         any
	headers      map[string]string
	contentType  string
}

func (e *env) do(r request) resp {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.method, e.url+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: b}
	checkContract(e.t, req, r)
	return r
}

// headersOnly sends a request's headers announcing a body of size bytes,
// then only its first 16 KiB (fasthttp reads up to 8 KiB before calling
// the handler), and reads the answer: for limits that must hold without
// reading the body.
func (e *env) headersOnly(method, path, token, contentType string, size int) resp {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		method, path, token, contentType, size)
	if _, err := conn.Write(make([]byte, 16<<10)); err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.url+path, nil)
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: b}
	checkContract(e.t, req, r)
	return r
}

func (e *env) get(path, token string) resp {
	e.t.Helper()
	return e.do(request{method: http.MethodGet, path: path, token: token})
}

func (e *env) post(path, token string, body any, key string) resp {
	e.t.Helper()
	r := request{method: http.MethodPost, path: path, token: token, body: body}
	if key != "" {
		r.headers = map[string]string{"Idempotency-Key": key}
	}
	return e.do(r)
}

var (
	contractOnce   sync.Once
	contractRouter routers.Router
	contractErr    error
)

func init() {
	for _, ct := range []string{"image/jpeg", "image/png", "application/pdf"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// checkContract validates every response a test receives against the
// OpenAPI document (see validateContract).
func checkContract(t *testing.T, req *http.Request, r resp) {
	t.Helper()
	if err := validateContract(req, r); err != nil {
		t.Fatalf("%s %s: %v\nbody: %.500s", req.Method, req.URL.Path, err, r.body)
	}
}

// validateContract checks a response against the OpenAPI document: status
// documented, headers and body of the right shape. Requests to paths
// outside the API may only get errors, in the error shape.
func validateContract(req *http.Request, r resp) error {
	contractOnce.Do(func() {
		var doc *openapi3.T
		doc, contractErr = OpenAPI()
		if contractErr == nil {
			doc.Servers = openapi3.Servers{{URL: "http://127.0.0.1"}}
			contractRouter, contractErr = legacy.NewRouter(doc)
		}
	})
	if contractErr != nil {
		return fmt.Errorf("openapi: %w", contractErr)
	}
	if !strings.HasPrefix(req.URL.Path, "/v1/") {
		return nil
	}
	if ct := r.header.Get("Content-Type"); r.status >= 400 && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error %d with Content-Type %q", r.status, ct)
	}
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host = "http", "127.0.0.1"
	route, params, err := contractRouter.FindRoute(probe)
	if err != nil {
		if r.status < 400 {
			return fmt.Errorf("%d for a route the document does not have", r.status)
		}
		var eb errorBody
		if json.Unmarshal(r.body, &eb) != nil || eb.Error.Code == "" {
			return fmt.Errorf("error %d is not in the error shape", r.status)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response %d breaks the OpenAPI document: %w", r.status, err)
	}
	return nil
}

// login signs phone in through OTP and returns its access and refresh
// tokens and user id.
func (e *env) login(phone string) (access, refresh, userID string) {
	e.t.Helper()
	e.post("/v1/auth/otp", "", map[string]string{"phone": phone}, "").want(e.t, http.StatusAccepted)
	code := e.sms.lastCode(e.t, phone)
	m := e.post("/v1/auth/token", "", map[string]string{"phone": phone, "code": code}, "").want(e.t, http.StatusOK)
	user := m["user"].(map[string]any)
	return m["access_token"].(string), m["refresh_token"].(string), user["id"].(string)
}

// Files of each accepted kind, and one that is none of them.
var (
	jpegFile = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte("jpeg"), 300)...)
	pngFile  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("png!"), 300)...)
	pdfFile  = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("pdf "), 300)...)
	textFile = []byte("this is not an image at all")
)

// part is one part of a multipart body.
type part struct {
	name, filename, contentType string
	data                        []byte
}

func multipartBody(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			disp += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", disp)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func kycParts(doc, selfie []byte) []part {
	return []part{
		{name: "document_type", data: []byte("passport")},
		{name: "document", filename: "passport.jpg", contentType: "image/jpeg", data: doc},
		{name: "selfie", filename: "me.png", contentType: "image/png", data: selfie},
	}
}

// uploadKYC posts a KYC submission.
func (e *env) uploadKYC(token, key string, parts ...part) resp {
	e.t.Helper()
	body, ct := multipartBody(e.t, parts...)
	r := request{method: http.MethodPost, path: "/v1/kyc", token: token, body: body, contentType: ct}
	if key != "" {
		r.headers = map[string]string{"Idempotency-Key": key}
	}
	return e.do(r)
}

// verifiedUser logs a user in and has ops approve their KYC through the
// API.
func (e *env) verifiedUser(phone string) (token, userID string) {
	e.t.Helper()
	token, _, userID = e.login(phone)
	k := e.uploadKYC(token, "", kycParts(jpegFile, pngFile)...).want(e.t, http.StatusCreated)
	e.post("/v1/admin/kyc/"+k["id"].(string)+"/approve", testAdminToken, nil, "").want(e.t, http.StatusOK)
	return token, userID
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}
