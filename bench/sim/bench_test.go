// Throughput of the simulator alone, over real loopback HTTP: a fasthttp
// client with 256 connections and 128 goroutines shares the machine (2
// cores) with the server, so these figures are a floor for the simulator.
//
//	go test -run '^$' -bench . -benchtime 4s ./bench/sim/
//
// Measured on the 2-core dev machine (Go 1.26.8, 2026-11-27; shared with
// other work, so runs vary):
//
//	BenchmarkMoovCollect         66,000 req/s  (Moov collection, a new transref each)
//	BenchmarkMTNStatus           76,000 req/s  (gettransactionstatus of a known transref)
//	BenchmarkFlutterwaveFund     65,000 req/s  (card funding, a new reference each)
//	BenchmarkHandlerMoovCollect 454,000 req/s  (the handler alone, no network: about
//	                                           2.2 µs of CPU per request; over loopback
//	                                           the rest is the HTTP stack and the client)
package sim

import (
	"encoding/base64"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// loadClient is a fasthttp client sized like a load generator.
func loadClient() *fasthttp.Client {
	return &fasthttp.Client{MaxConnsPerHost: 256, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
}

// runLoad sends b.N requests built by fill from parallel goroutines and
// reports requests per second; any answer other than want fails the run.
func runLoad(b *testing.B, s *started, want int, fill func(req *fasthttp.Request, n uint64)) {
	c := loadClient()
	var seq atomic.Uint64
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			req.Reset()
			fill(req, seq.Add(1))
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != want {
				b.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func BenchmarkMoovCollect(b *testing.B) {
	s := startSim(b, Config{})
	a := s.cfg.Qosic[0]
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password))
	url := s.base + "/QosicBridge/user/requestpaymentmv"
	runLoad(b, s, fasthttp.StatusOK, func(req *fasthttp.Request, n uint64) {
		req.SetRequestURI(url)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.Set(fasthttp.HeaderAuthorization, auth)
		req.Header.SetContentType("application/json")
		phone := strconv.FormatUint(22990000001+n%5000, 10)
		req.SetBodyString(`{"msisdn":"` + phone + `","amount":"100","firstname":"A","lastname":"K","transref":"b` + strconv.FormatUint(n, 10) + `","clientid":"KASH_MOOV"}`)
	})
}

func BenchmarkMTNStatus(b *testing.B) {
	s := startSim(b, Config{})
	a := s.cfg.Qosic[0]
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password))
	s.qosic(b, "requestpayment", payment("22990000001", "100", "known", "KASH_MTN"))
	url := s.base + "/QosicBridge/user/gettransactionstatus"
	runLoad(b, s, fasthttp.StatusOK, func(req *fasthttp.Request, _ uint64) {
		req.SetRequestURI(url)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.Set(fasthttp.HeaderAuthorization, auth)
		req.Header.SetContentType("application/json")
		req.SetBodyString(`{"transref":"known","clientid":"KASH_MTN"}`)
	})
}

func BenchmarkFlutterwaveFund(b *testing.B) {
	s := startSim(b, Config{IssuerFloat: "100000000.00"})
	c := loadClient()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI(s.base + "/v3/virtual-cards")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+s.cfg.Flutterwave.SecretKey)
	req.SetBodyString(`{"currency":"USD","amount":5,"billing_name":"Bench","reference":"iss","card_reference":"card_bench"}`)
	if err := c.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
		b.Fatalf("create: %v %s", err, resp.Body())
	}
	id := s.issuer.cards()[0].id
	url := s.base + "/v3/virtual-cards/" + id + "/fund"
	runLoad(b, s, fasthttp.StatusOK, func(req *fasthttp.Request, n uint64) {
		req.SetRequestURI(url)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+s.cfg.Flutterwave.SecretKey)
		req.Header.SetContentType("application/json")
		req.SetBodyString(`{"amount":0.01,"debit_currency":"USD","reference":"f` + strconv.FormatUint(n, 10) + `"}`)
	})
}

// BenchmarkHandlerMoovCollect measures the simulator's own cost per request,
// without the network: the handler called on a prepared request.
func BenchmarkHandlerMoovCollect(b *testing.B) {
	s := New(Config{})
	defer s.Close()
	a := s.cfg.Qosic[0]
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password))
	h := s.Handler()
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			n := seq.Add(1)
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/QosicBridge/user/requestpaymentmv")
			ctx.Request.Header.SetMethod(fasthttp.MethodPost)
			ctx.Request.Header.Set(fasthttp.HeaderAuthorization, auth)
			phone := strconv.FormatUint(22990000001+n%5000, 10)
			ctx.Request.SetBodyString(`{"msisdn":"` + phone + `","amount":"100","firstname":"A","lastname":"K","transref":"b` + strconv.FormatUint(n, 10) + `","clientid":"KASH_MOOV"}`)
			h(&ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusOK {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
