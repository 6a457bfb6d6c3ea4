package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// callTimeout bounds one request of the load when its context has no
// earlier deadline; a long poll asks for at most longPollSeconds.
const (
	callTimeout     = 45 * time.Second
	longPollSeconds = 30
)

// fastAPI sends the load's requests with fasthttp's client (BENCH.md):
// one HostClient per server, with enough connections that the generator is
// never what queues (each long poll holds one).
type fastAPI struct {
	api, sim         *fasthttp.HostClient
	apiHost, simHost string
}

func newFastAPI(apiURL, simURL string) (*fastAPI, error) {
	apiHost, err := hostOf(apiURL)
	if err != nil {
		return nil, err
	}
	simHost, err := hostOf(simURL)
	if err != nil {
		return nil, err
	}
	client := func(addr string) *fasthttp.HostClient {
		return &fasthttp.HostClient{Addr: addr, MaxConns: 8_192, ReadTimeout: callTimeout, WriteTimeout: 10 * time.Second,
			MaxIdleConnDuration: time.Minute, MaxConnWaitTimeout: callTimeout, NoDefaultUserAgentHeader: true}
	}
	return &fastAPI{api: client(apiHost), sim: client(simHost), apiHost: apiHost, simHost: simHost}, nil
}

func hostOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		return "", fmt.Errorf("%q is not an http:// URL", raw)
	}
	return u.Host, nil
}

// HTTPError is a non-2xx answer of the API or the simulator.
type HTTPError struct {
	Status int
	Code   string // the API error code, when the body had one
}

func (e *HTTPError) Error() string { return fmt.Sprintf("HTTP %d %s", e.Status, e.Code) }

// errorCode is how the report counts a failed request: "HTTP 422
// insufficient_balance", "transport" for no answer at all.
func errorCode(err error) string {
	var he *HTTPError
	if errors.As(err, &he) {
		return fmt.Sprintf("HTTP %d %s", he.Status, he.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	return "transport"
}

// request is one API call.
type request struct {
	method, path string
	token, key   string // bearer token and Idempotency-Key, when not empty
	body         []byte
}

// call sends r to host and decodes a 2xx JSON answer into out (when not
// nil). It returns the answer's status, and an *HTTPError for non-2xx.
func (f *fastAPI) call(ctx context.Context, toSim bool, r request, out any) (int, error) {
	client, host := f.api, f.apiHost
	if toSim {
		client, host = f.sim, f.simHost
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(r.method)
	req.SetRequestURI("http://" + host + r.path)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.key != "" {
		req.Header.Set("Idempotency-Key", r.key)
	}
	if r.body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(r.body)
	}
	deadline := time.Now().Add(callTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := client.DoDeadline(req, resp, deadline); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	status := resp.StatusCode()
	if status >= 300 {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(resp.Body(), &e)
		return status, &HTTPError{Status: status, Code: e.Error.Code}
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			return status, fmt.Errorf("%s %s: decode: %w", r.method, r.path, err)
		}
	}
	return status, nil
}

// moneyBody is the body of a funding, withdrawal or issuance request.
func moneyBody(cents int64, phone, operator string) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"amount":"`...)
	b = append(b, usdText(cents)...)
	b = append(b, `","currency":"USD","phone":"`...)
	b = append(b, phone...)
	b = append(b, `","operator":"`...)
	b = append(b, operator...)
	return append(b, `"}`...)
}

// spendBody is the body of a spend at the simulated issuer.
func spendBody(cardID string, cents int64) []byte {
	return []byte(`{"card":"` + cardID + `","amount":"` + usdText(cents) + `","currency":"USD","merchant":"kashbench"}`)
}

// usdText formats cents as an API amount: 1234 → "12.34".
func usdText(cents int64) string {
	return strconv.FormatInt(cents/100, 10) + "." + string(rune('0'+cents%100/10)) + string(rune('0'+cents%10))
}
