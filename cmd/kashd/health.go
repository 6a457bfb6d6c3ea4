package main

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

// readinessTimeout bounds one /readyz check, so a hung database makes the
// probe answer 503 rather than hang the prober.
const readinessTimeout = 2 * time.Second

// readinessCheck reports nil when kashd can serve traffic.
type readinessCheck func(context.Context) error

// newHTTPHandler serves the probes. Until the gateway is wired in, every
// other path is 404.
func newHTTPHandler(ready readinessCheck) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			writeJSON(ctx, fasthttp.StatusNotFound, `{"error":{"code":"not_found","message":"No such route."}}`)
			return
		}
		switch string(ctx.Path()) {
		case "/healthz":
			writeJSON(ctx, fasthttp.StatusOK, `{"status":"ok"}`)
		case "/readyz":
			serveReadiness(ctx, ready)
		default:
			writeJSON(ctx, fasthttp.StatusNotFound, `{"error":{"code":"not_found","message":"No such route."}}`)
		}
	}
}

func serveReadiness(ctx *fasthttp.RequestCtx, ready readinessCheck) {
	checkCtx, cancel := context.WithTimeout(context.Background(), readinessTimeout)
	defer cancel()
	if err := ready(checkCtx); err != nil {
		// The cause stays in our logs; probes only need the verdict.
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, `{"error":{"code":"unavailable","message":"The database is not answering yet."}}`)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, `{"status":"ready"}`)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(body)
}
