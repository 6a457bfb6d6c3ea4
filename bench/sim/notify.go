package sim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// maxLogged bounds each message log; the oldest half goes when it is full.
const maxLogged = 100_000

// Message is one notification the simulator received: an SMS, a push or an
// ops-chat message.
type Message struct {
	To    string    `json:"to"`
	Title string    `json:"title,omitempty"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
	ref   string
	id    string
}

// messageLog keeps messages in arrival order and their references, so that
// a repeated reference is recognised.
type messageLog struct {
	mu      sync.Mutex
	items   []Message
	refs    map[string]int // reference → index in items
	changes *atomic.Uint64 // the simulator's change count, for its saver
}

func newMessageLog(changes *atomic.Uint64) *messageLog {
	return &messageLog{refs: make(map[string]int), changes: changes}
}

// add records msgs under ref unless ref is known; it returns the id of the
// first message recorded under ref.
func (l *messageLog) add(ref string, newID func() string, msgs ...Message) (id string, repeated bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ref != "" {
		if i, ok := l.refs[ref]; ok {
			return l.items[i].id, true
		}
	}
	id = newID()
	if len(l.items)+len(msgs) > maxLogged {
		l.trim()
	}
	for k, m := range msgs {
		m.ref, m.id = ref, id
		if ref != "" && k == 0 {
			l.refs[ref] = len(l.items)
		}
		l.items = append(l.items, m)
	}
	l.changes.Add(1)
	return id, false
}

func (l *messageLog) trim() {
	l.items = append([]Message(nil), l.items[len(l.items)/2:]...)
	l.reindex()
}

// reindex rebuilds the references of the messages kept, each pointing to
// the first message recorded under it.
func (l *messageLog) reindex() {
	l.refs = make(map[string]int, len(l.items))
	for i, m := range l.items {
		if m.ref != "" {
			if _, ok := l.refs[m.ref]; !ok {
				l.refs[m.ref] = i
			}
		}
	}
}

// known reports whether ref is recorded.
func (l *messageLog) known(ref string) bool {
	if ref == "" {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.refs[ref]
	return ok
}

// newest returns the messages that match, newest first.
func (l *messageLog) newest(match func(Message) bool) []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Message{}
	for i := len(l.items) - 1; i >= 0; i-- {
		if match == nil || match(l.items[i]) {
			out = append(out, l.items[i])
		}
	}
	return out
}

// faultAnswer applies the target's fault to a notification request. It
// reports whether the handler must stop: the request hangs, or failed.
func (s *Sim) faultAnswer(ctx *fasthttp.RequestCtx, target string, known bool, apply func(), fail func()) bool {
	d := s.drawFault(target, known)
	switch d.kind {
	case faultTimeout:
		if d.applied {
			apply()
		}
		s.hang(ctx)
		return true
	case faultFail:
		fail()
		return true
	}
	return false
}

// MessageBird

type mbError struct {
	Code        int     `json:"code"`
	Description string  `json:"description"`
	Parameter   *string `json:"parameter"`
}

func mbErrors(ctx *fasthttp.RequestCtx, status, code int, description, parameter string) {
	e := mbError{Code: code, Description: description}
	if parameter != "" {
		e.Parameter = &parameter
	}
	writeJSON(ctx, status, map[string][]mbError{"errors": {e}})
}

type mbRequest struct {
	Originator string            `json:"originator"`
	Recipients []json.RawMessage `json:"recipients"`
	Body       string            `json:"body"`
	Reference  string            `json:"reference"`
}

func (s *Sim) serveMessageBird(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		mbErrors(ctx, fasthttp.StatusMethodNotAllowed, 20, "method not allowed", "")
		return
	}
	if subtle.ConstantTimeCompare(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization), []byte("AccessKey "+s.cfg.MessageBird.AccessKey)) != 1 {
		mbErrors(ctx, fasthttp.StatusUnauthorized, 2, "Request not allowed (incorrect access_key)", "access_key")
		return
	}
	var req mbRequest
	if err := decodeJSON(ctx, &req); err != nil {
		mbErrors(ctx, fasthttp.StatusUnprocessableEntity, 9, err.Error(), "body")
		return
	}
	recipients := mbRecipients(req.Recipients)
	switch {
	case req.Originator == "":
		mbErrors(ctx, fasthttp.StatusUnprocessableEntity, 9, "originator is required", "originator")
		return
	case req.Body == "":
		mbErrors(ctx, fasthttp.StatusUnprocessableEntity, 9, "body is required", "body")
		return
	case len(recipients) == 0:
		mbErrors(ctx, fasthttp.StatusUnprocessableEntity, 9, "no (correct) recipients found", "recipients")
		return
	}
	now := s.now()
	msgs := make([]Message, len(recipients))
	for i, r := range recipients {
		msgs[i] = Message{To: "+" + r, Body: req.Body, At: now}
	}
	record := func() (string, bool) { return s.sms.add(req.Reference, s.ids.messageID, msgs...) }
	if s.faultAnswer(ctx, TargetSMS, s.sms.known(req.Reference), func() { record() }, func() {
		mbErrors(ctx, fasthttp.StatusInternalServerError, 25, "internal error", "")
	}) {
		return
	}
	id, _ := record()
	writeJSON(ctx, fasthttp.StatusCreated, mbMessage(id, req, recipients, now))
}

// mbRecipients reads recipients given as numbers or strings, keeping digits.
func mbRecipients(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		v := strings.Trim(string(bytes.TrimSpace(r)), `"`)
		v = strings.TrimPrefix(strings.TrimSpace(v), "+")
		if v != "" && digitsOnly(v) {
			out = append(out, v)
		}
	}
	return out
}

func mbMessage(id string, req mbRequest, recipients []string, now time.Time) map[string]any {
	ts := now.Format(rfc3339)
	items := make([]map[string]any, len(recipients))
	for i, r := range recipients {
		n, _ := strconv.ParseInt(r, 10, 64)
		items[i] = map[string]any{"recipient": n, "status": "sent", "statusDatetime": ts}
	}
	var reference any
	if req.Reference != "" {
		reference = req.Reference
	}
	return map[string]any{
		"id": id, "href": "https://rest.messagebird.com/messages/" + id, "direction": "mt", "type": "sms",
		"originator": req.Originator, "body": req.Body, "reference": reference, "validity": nil, "gateway": 10,
		"typeDetails": map[string]any{}, "datacoding": "plain", "mclass": 1, "scheduledDatetime": nil,
		"createdDatetime": ts,
		"recipients": map[string]any{
			"totalCount": len(recipients), "totalSentCount": len(recipients), "totalDeliveredCount": 0,
			"totalDeliveryFailedCount": 0, "items": items,
		},
	}
}

// OneSignal

type osRequest struct {
	AppID                  string              `json:"app_id"`
	IncludeExternalUserIDs []string            `json:"include_external_user_ids"`
	IncludePlayerIDs       []string            `json:"include_player_ids"`
	IncludeAliases         map[string][]string `json:"include_aliases"`
	Headings               map[string]string   `json:"headings"`
	Contents               map[string]string   `json:"contents"`
	ExternalID             string              `json:"external_id"`
	IdempotencyKey         string              `json:"idempotency_key"`
}

func (r osRequest) targets() []string {
	out := append([]string{}, r.IncludeExternalUserIDs...)
	out = append(out, r.IncludePlayerIDs...)
	return append(out, r.IncludeAliases["external_id"]...)
}

func osErrors(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeJSON(ctx, status, map[string][]string{"errors": {msg}})
}

func (s *Sim) serveOneSignal(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		osErrors(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	if !s.oneSignalAuthorized(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) {
		osErrors(ctx, fasthttp.StatusForbidden, "Access denied.  Please include an 'Authorization: ...' header with a valid API key")
		return
	}
	var req osRequest
	if err := decodeJSON(ctx, &req); err != nil {
		osErrors(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if req.AppID != s.cfg.OneSignal.AppID {
		osErrors(ctx, fasthttp.StatusBadRequest, "app_id not found")
		return
	}
	if req.Contents["en"] == "" {
		osErrors(ctx, fasthttp.StatusBadRequest, "Message Notifications must have English language content")
		return
	}
	targets := req.targets()
	if len(targets) == 0 {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"id": "", "recipients": 0, "errors": []string{"All included players are not subscribed"}})
		return
	}
	ref := req.ExternalID
	if ref == "" {
		ref = req.IdempotencyKey
	}
	now := s.now()
	msgs := make([]Message, len(targets))
	for i, t := range targets {
		msgs[i] = Message{To: t, Title: req.Headings["en"], Body: req.Contents["en"], At: now}
	}
	record := func() (string, bool) { return s.push.add(ref, s.ids.notificationID, msgs...) }
	if s.faultAnswer(ctx, TargetPush, s.push.known(ref), func() { record() }, func() {
		osErrors(ctx, fasthttp.StatusInternalServerError, "Internal Server Error")
	}) {
		return
	}
	id, _ := record()
	resp := map[string]any{"id": id, "recipients": len(targets)}
	if ref != "" {
		resp["external_id"] = ref
	}
	writeJSON(ctx, fasthttp.StatusOK, resp)
}

func (s *Sim) oneSignalAuthorized(h []byte) bool {
	key := []byte(s.cfg.OneSignal.RESTKey)
	for _, scheme := range []string{"Basic ", "Key "} {
		if bytes.HasPrefix(h, []byte(scheme)) && subtle.ConstantTimeCompare(h[len(scheme):], key) == 1 {
			return true
		}
	}
	return false
}

// Slack

func (s *Sim) serveSlack(ctx *fasthttp.RequestCtx, path string) {
	if subtle.ConstantTimeCompare([]byte(path), []byte(s.cfg.SlackPath)) != 1 {
		writeText(ctx, fasthttp.StatusNotFound, "no_service")
		return
	}
	if !ctx.IsPost() {
		writeText(ctx, fasthttp.StatusMethodNotAllowed, "invalid_method")
		return
	}
	var req struct {
		Text    string `json:"text"`
		Channel string `json:"channel"`
	}
	if err := decodeJSON(ctx, &req); err != nil || req.Text == "" {
		writeText(ctx, fasthttp.StatusBadRequest, "invalid_payload")
		return
	}
	to := req.Channel
	if to == "" {
		to = "ops"
	}
	record := func() { s.ops.add("", s.ids.messageID, Message{To: to, Body: req.Text, At: s.now()}) }
	if s.faultAnswer(ctx, TargetOps, false, record, func() { writeText(ctx, fasthttp.StatusInternalServerError, "internal_error") }) {
		return
	}
	record()
	writeText(ctx, fasthttp.StatusOK, "ok")
}
