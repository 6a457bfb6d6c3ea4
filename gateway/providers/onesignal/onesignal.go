// Package onesignal is the push engine.Notifier over OneSignal's REST API:
// POST /api/v1/notifications to one user, targeted by the engine's user id
// as OneSignal External ID.
//
// Duplicates are dropped on OneSignal's side: every notification carries an
// external_id (OneSignal's idempotency key, a UUID) derived from the
// message's Ref, so the outbox's at-least-once retries reach the phone once.
package onesignal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"kash/engine"
	"kash/gateway/providers"
)

// DefaultBaseURL is OneSignal's API host.
const DefaultBaseURL = "https://onesignal.com"

const opSend = "send"

// Config is the OneSignal app. RESTAPIKey never appears in String, GoString
// or LogValue.
type Config struct {
	// Name labels metrics. Default "onesignal".
	Name string
	// BaseURL default DefaultBaseURL.
	BaseURL    string
	AppID      string
	RESTAPIKey providers.Secret
	Timeout    time.Duration
	HTTP       providers.HTTPConfig
}

// String describes the app without its key.
func (c Config) String() string {
	return fmt.Sprintf("onesignal.Config{Name:%q BaseURL:%q AppID:%q RESTAPIKey:%s Timeout:%s}",
		c.Name, c.BaseURL, c.AppID, c.RESTAPIKey, c.Timeout)
}

// GoString is String.
func (c Config) GoString() string { return c.String() }

// LogValue describes the app for slog without its key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("base_url", c.BaseURL),
		slog.String("app_id", c.AppID), slog.Any("rest_api_key", c.RESTAPIKey))
}

// Notifier sends push notifications. It is safe for concurrent use.
type Notifier struct {
	cfg     Config
	url     string
	auth    providers.Secret
	http    *providers.HTTPClient
	metrics *providers.Metrics
}

var _ engine.Notifier = (*Notifier)(nil)

// New builds the notifier. metrics may be nil.
func New(cfg Config, metrics *providers.Metrics) (*Notifier, error) {
	if cfg.Name == "" {
		cfg.Name = "onesignal"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout > 0 {
		cfg.HTTP.Timeout = cfg.Timeout
	}
	if cfg.AppID == "" || cfg.RESTAPIKey.IsZero() {
		return nil, fmt.Errorf("onesignal %s: app id and REST API key are required", cfg.Name)
	}
	base, err := providers.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("onesignal %s: %w", cfg.Name, err)
	}
	return &Notifier{
		cfg: cfg, url: base + "/api/v1/notifications", auth: providers.Secret(authorization(cfg.RESTAPIKey.Reveal())),
		http: providers.NewHTTPClient(cfg.HTTP), metrics: metrics,
	}, nil
}

// String describes the notifier without credentials.
func (n Notifier) String() string { return "onesignal.Notifier{" + n.cfg.Name + "}" }

// GoString is String, so that %#v cannot print credentials either.
func (n Notifier) GoString() string { return n.String() }

// authorization picks the scheme: current keys (os_v2_...) use "Key",
// legacy REST API keys "Basic".
func authorization(key string) string {
	if strings.HasPrefix(key, "os_v2_") {
		return "Key " + key
	}
	return "Basic " + key
}

type notificationBody struct {
	AppID          string              `json:"app_id"`
	TargetChannel  string              `json:"target_channel"`
	IncludeAliases map[string][]string `json:"include_aliases"`
	Headings       map[string]string   `json:"headings,omitempty"`
	Contents       map[string]string   `json:"contents"`
	ExternalID     string              `json:"external_id"`
}

type notificationAnswer struct {
	ID         string          `json:"id"`
	Recipients int             `json:"recipients"`
	Errors     json.RawMessage `json:"errors"`
}

// Send pushes msg to the user msg.To (the engine's user id, OneSignal's
// External ID). A user with no subscribed device, a bad app id or key wrap
// providers.ErrRejected; other errors are transient and the outbox retries
// with the same Ref.
func (n *Notifier) Send(ctx context.Context, msg engine.Message) error {
	start := time.Now()
	err := n.send(ctx, msg)
	n.metrics.Observe(n.cfg.Name, opSend, providers.OutcomeOf(err), start)
	return err
}

func (n *Notifier) send(ctx context.Context, msg engine.Message) error {
	if msg.To == "" || msg.Body == "" || msg.Ref == "" {
		return fmt.Errorf("onesignal %s: %w: recipient, body and ref are required", msg.Ref, providers.ErrRejected)
	}
	body := notificationBody{
		AppID:          n.cfg.AppID,
		TargetChannel:  "push",
		IncludeAliases: map[string][]string{"external_id": {msg.To}},
		Contents:       map[string]string{"en": msg.Body},
		ExternalID:     IdempotencyKey(msg.Ref),
	}
	if msg.Title != "" {
		body.Headings = map[string]string{"en": msg.Title}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("onesignal %s: encode: %w", msg.Ref, err)
	}
	resp, err := n.http.Do(ctx, providers.Request{
		Method: http.MethodPost, URL: n.url, Body: payload,
		Header: []providers.Header{{Name: "Authorization", Value: n.auth.Reveal()}},
	})
	if err != nil {
		return fmt.Errorf("onesignal %s: %w", msg.Ref, err)
	}
	return n.classify(msg.Ref, resp)
}

func (n *Notifier) classify(ref string, resp providers.Response) error {
	var ans notificationAnswer
	decodeErr := providers.DecodeJSON(resp.Body, &ans)
	switch {
	case resp.Status == http.StatusOK && decodeErr != nil:
		return fmt.Errorf("onesignal %s: %w", ref, decodeErr)
	case resp.Status == http.StatusOK && ans.ID != "":
		// Partial errors (some aliases unknown) still mean it was sent.
		return nil
	case resp.Status == http.StatusOK:
		// No id: nothing was created, typically no subscribed device.
		return fmt.Errorf("onesignal %s: %w: %s", ref, providers.ErrRejected, ans.Errors)
	case resp.Status == http.StatusConflict:
		// Same external_id already accepted: the duplicate was dropped.
		return nil
	case resp.Status >= 400 && resp.Status < 500 && resp.Status != http.StatusTooManyRequests:
		return fmt.Errorf("onesignal %s: %w: HTTP %d %s", ref, providers.ErrRejected, resp.Status, ans.Errors)
	}
	return fmt.Errorf("onesignal %s: %w", ref,
		&providers.StatusError{Provider: n.cfg.Name, Operation: opSend, Status: resp.Status})
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IdempotencyKey is the external_id sent for ref: ref itself when it is a
// UUID, else a UUID (version 8, RFC 9562) derived from ref's SHA-256, so
// that every retry of one message carries the same key.
func IdempotencyKey(ref string) string {
	if uuidPattern.MatchString(ref) {
		return strings.ToLower(ref)
	}
	sum := sha256.Sum256([]byte("kash-push:" + ref))
	b := sum[:16]
	b[6] = (b[6] & 0x0f) | 0x80 // version 8: custom
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
