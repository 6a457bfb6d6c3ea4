package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"github.com/valyala/fasthttp"
)

// Webhook event types.
const (
	EventPaymentStatus = "payment.status"
	EventCardSpend     = "card.spend"
	EventCardDecline   = "card.decline"
	EventFloatCredited = "issuer.float_credited"
)

// Webhook delivery tuning.
const (
	webhookQueue       = 1 << 16
	webhookWorkers     = 16
	webhookAttempts    = 12
	webhookFirstRetry  = 250 * time.Millisecond
	webhookMaxBackoff  = 30 * time.Second
	webhookTimeout     = 5 * time.Second
	reorderMinHold     = 200 * time.Millisecond
	reorderMaxHold     = time.Second
	providerQosic      = "qosic"
	providerFlutterwav = "flutterwave"
)

// SignatureHeader carries the webhook signature: "sha256=<hex HMAC-SHA256(secret, body)>".
const SignatureHeader = "X-Sim-Signature"

// Sign returns the X-Sim-Signature value for body under secret; receivers
// and tests use it to check a webhook.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type envelope struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Data      any    `json:"data"`
}

// outEvent is one webhook on its way; body and signature are fixed at
// creation so that every delivery of it is byte-identical.
type outEvent struct {
	id        string
	provider  string
	body      []byte
	signature string
	attempt   int
	redeliver bool // deliver once more after success: the answer was "lost"
}

// WebhookStats counts what happened to webhooks.
type WebhookStats struct {
	Queued     int64 `json:"queued"`
	Delivered  int64 `json:"delivered"`
	Retried    int64 `json:"retried"`
	GaveUp     int64 `json:"gave_up"`
	Dropped    int64 `json:"dropped"`    // by fault
	Overflowed int64 `json:"overflowed"` // queue full
	Duplicated int64 `json:"duplicated"`
	Disabled   int64 `json:"disabled"` // no WebhookURL
}

type dispatcher struct {
	s      *Sim
	base   string
	client *fasthttp.Client
	queue  chan *outEvent
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	queued, delivered, retried, gaveUp, dropped, overflowed, duplicated, disabled atomic.Int64
}

func newDispatcher(s *Sim) *dispatcher {
	d := &dispatcher{
		s:     s,
		base:  strings.TrimRight(s.cfg.WebhookURL, "/"),
		queue: make(chan *outEvent, webhookQueue),
		done:  make(chan struct{}),
		client: &fasthttp.Client{
			Name: "kash-providersim", ReadTimeout: webhookTimeout, WriteTimeout: webhookTimeout,
			MaxConnsPerHost: webhookWorkers * 2, NoDefaultUserAgentHeader: false,
		},
	}
	if d.base == "" {
		return d
	}
	for i := 0; i < webhookWorkers; i++ {
		d.wg.Add(1)
		go d.work()
	}
	return d
}

func (d *dispatcher) close() {
	d.once.Do(func() {
		close(d.done)
		d.wg.Wait()
		d.client.CloseIdleConnections()
	})
}

func (d *dispatcher) stats() WebhookStats {
	return WebhookStats{
		Queued: d.queued.Load(), Delivered: d.delivered.Load(), Retried: d.retried.Load(), GaveUp: d.gaveUp.Load(),
		Dropped: d.dropped.Load(), Overflowed: d.overflowed.Load(), Duplicated: d.duplicated.Load(), Disabled: d.disabled.Load(),
	}
}

// emit builds, signs and sends an event through the webhooks faults.
func (d *dispatcher) emit(provider, typ string, data any) {
	if d.base == "" {
		d.disabled.Add(1)
		return
	}
	id := d.s.ids.eventID()
	body, err := json.Marshal(envelope{ID: id, Type: typ, CreatedAt: d.s.now().Format(rfc3339), Data: data})
	if err != nil {
		d.s.cfg.Logger.Error("sim: webhook not encoded", "type", typ, "err", err)
		return
	}
	ev := &outEvent{id: id, provider: provider, body: body, signature: Sign(d.s.cfg.WebhookSecret, body)}
	f := d.s.faults
	dec := f.draw(TargetWebhooks, false)
	if dec.kind == faultFail {
		d.dropped.Add(1)
		return
	}
	ev.redeliver = dec.kind == faultTimeout
	delay := dec.latency
	if spec := f.spec(TargetWebhooks); spec != nil {
		if f.chance(spec.DuplicateRate) {
			d.duplicated.Add(1)
			d.later(delay, &outEvent{id: id, provider: provider, body: body, signature: ev.signature})
		}
		if f.chance(spec.ReorderRate) {
			delay += f.between(reorderMinHold, reorderMaxHold)
		}
	}
	d.later(delay, ev)
}

// later enqueues ev after delay without ever blocking the caller.
func (d *dispatcher) later(delay time.Duration, ev *outEvent) {
	if delay <= 0 {
		d.enqueue(ev)
		return
	}
	d.s.after(delay, func() { d.enqueue(ev) })
}

func (d *dispatcher) enqueue(ev *outEvent) {
	select {
	case d.queue <- ev:
		d.queued.Add(1)
	default:
		d.overflowed.Add(1)
	}
}

func (d *dispatcher) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.done:
			return
		case ev := <-d.queue:
			d.deliver(ev)
		}
	}
}

func (d *dispatcher) deliver(ev *outEvent) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(d.base + "/v1/webhooks/" + ev.provider)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(SignatureHeader, ev.signature)
	if ev.provider == providerFlutterwav {
		req.Header.Set("verif-hash", d.s.cfg.Flutterwave.VerifHash)
	}
	req.SetBodyRaw(ev.body)
	err := d.client.DoTimeout(req, resp, webhookTimeout)
	ok := err == nil && resp.StatusCode() >= 200 && resp.StatusCode() < 300
	if ok {
		d.delivered.Add(1)
		if ev.redeliver {
			ev.redeliver = false
			d.duplicated.Add(1)
			d.later(webhookFirstRetry, ev)
		}
		return
	}
	ev.attempt++
	if ev.attempt >= webhookAttempts {
		d.gaveUp.Add(1)
		d.s.cfg.Logger.Warn("sim: webhook given up", "id", ev.id, "attempts", ev.attempt)
		return
	}
	d.retried.Add(1)
	d.later(backoff(ev.attempt), ev)
}

func backoff(attempt int) time.Duration {
	b := webhookFirstRetry << (attempt - 1)
	if b <= 0 || b > webhookMaxBackoff {
		return webhookMaxBackoff
	}
	return b
}

// paymentStatus tells the engine an MTN collection became final.
func (d *dispatcher) paymentStatus(acct *momoAccount, tx momoTx) {
	r := d.s.renderTx(tx, false)
	status := "succeeded"
	if tx.status == statusFailed {
		status = "failed"
	}
	d.emit(providerQosic, EventPaymentStatus, map[string]string{
		"provider": providerQosic, "account": acct.Name, "clientid": acct.clientID(tx.operator), "operator": tx.operator.String(),
		"kind": "collection", "transref": tx.transref, "serviceref": r.ServiceRef, "msisdn": strconv.FormatUint(tx.msisdn, 10),
		"amount": strconv.FormatInt(tx.amount, 10), "currency": "XOF", "status": status,
		"responsecode": r.ResponseCode, "responsemsg": r.ResponseMsg, "reason": tx.outcome.reason(),
	})
}

type cardEvent struct {
	cardID, cardRef string
	txnID           int64
	cents           int64
	merchant        string
	balance         int64
	reason          string
}

// cardEvent tells the engine about a spend or a decline.
func (d *dispatcher) cardEvent(e cardEvent) {
	typ, status := EventCardSpend, "successful"
	if e.reason != "" {
		typ, status = EventCardDecline, "failed"
	}
	d.emit(providerFlutterwav, typ, map[string]string{
		"card_id": e.cardID, "card_reference": e.cardRef, "transaction_id": strconv.FormatInt(e.txnID, 10),
		"amount": usd(e.cents), "currency": "USD", "merchant": e.merchant, "balance": usd(e.balance),
		"status": status, "reason": e.reason,
	})
}

type floatCredit struct {
	cents, balance int64
	source         string
	reference      string
	account        string
	xof            int64
	rate           decimal.Decimal
}

// floatCredited tells the engine its issuer float grew.
func (d *dispatcher) floatCredited(f floatCredit) {
	data := map[string]string{
		"amount": usd(f.cents), "currency": "USD", "balance": usd(f.balance), "source": f.source, "reference": f.reference,
	}
	if f.source == "sweep" {
		data["account"] = f.account
		data["xof_amount"] = strconv.FormatInt(f.xof, 10)
		data["rate"] = f.rate.String()
	}
	d.emit(providerFlutterwav, EventFloatCredited, data)
}
