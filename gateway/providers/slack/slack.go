// Package slack is the ops-chat engine.Notifier: a Slack incoming webhook
// (new KYC documents, treasury alerts, manual-review cases).
//
// The webhook URL is the credential (the path is the secret), so it is a
// providers.Secret. Slack does not deduplicate; the message's Ref is
// appended to the text so that a human can spot a repeated alert.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kash/engine"
	"kash/gateway/providers"
)

const opSend = "send"

// Config is the incoming webhook. WebhookURL never appears in String,
// GoString or LogValue.
type Config struct {
	// Name labels metrics. Default "slack".
	Name string
	// WebhookURL is the full incoming-webhook URL,
	// https://hooks.slack.com/services/T.../B.../... in production.
	WebhookURL providers.Secret
	Timeout    time.Duration
	HTTP       providers.HTTPConfig
}

// String describes the webhook without its URL.
func (c Config) String() string {
	return fmt.Sprintf("slack.Config{Name:%q WebhookURL:%s Timeout:%s}", c.Name, c.WebhookURL, c.Timeout)
}

// GoString is String.
func (c Config) GoString() string { return c.String() }

// LogValue describes the webhook for slog without its URL.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.Any("webhook_url", c.WebhookURL))
}

// Notifier posts to the ops channel. It is safe for concurrent use.
type Notifier struct {
	cfg     Config
	url     providers.Secret
	http    *providers.HTTPClient
	metrics *providers.Metrics
}

var _ engine.Notifier = (*Notifier)(nil)

// New builds the notifier. metrics may be nil.
func New(cfg Config, metrics *providers.Metrics) (*Notifier, error) {
	if cfg.Name == "" {
		cfg.Name = "slack"
	}
	if cfg.Timeout > 0 {
		cfg.HTTP.Timeout = cfg.Timeout
	}
	if cfg.WebhookURL.IsZero() {
		return nil, fmt.Errorf("slack %s: webhook URL is required", cfg.Name)
	}
	u, err := providers.BaseURL(cfg.WebhookURL.Reveal())
	if err != nil {
		// The URL is secret: do not echo it.
		return nil, fmt.Errorf("slack %s: invalid webhook URL", cfg.Name)
	}
	return &Notifier{cfg: cfg, url: providers.Secret(u), http: providers.NewHTTPClient(cfg.HTTP), metrics: metrics}, nil
}

// String describes the notifier without its webhook URL.
func (n Notifier) String() string { return "slack.Notifier{" + n.cfg.Name + "}" }

// GoString is String, so that %#v cannot print the webhook URL either.
func (n Notifier) GoString() string { return n.String() }

type payload struct {
	Text string `json:"text"`
}

// Send posts msg (title in bold, then the body). A refusal a retry cannot
// fix (invalid payload, revoked or archived webhook) wraps
// providers.ErrRejected; other errors are transient.
func (n *Notifier) Send(ctx context.Context, msg engine.Message) error {
	start := time.Now()
	err := n.send(ctx, msg)
	n.metrics.Observe(n.cfg.Name, opSend, providers.OutcomeOf(err), start)
	return err
}

func (n *Notifier) send(ctx context.Context, msg engine.Message) error {
	text := Text(msg)
	if strings.TrimSpace(msg.Title+msg.Body) == "" {
		return fmt.Errorf("slack %s: %w: empty message", msg.Ref, providers.ErrRejected)
	}
	body, err := json.Marshal(payload{Text: text})
	if err != nil {
		return fmt.Errorf("slack %s: encode: %w", msg.Ref, err)
	}
	resp, err := n.http.Do(ctx, providers.Request{Method: http.MethodPost, URL: n.url.Reveal(), Body: body})
	if err != nil {
		return fmt.Errorf("slack %s: %w", msg.Ref, scrub(err, n.url.Reveal()))
	}
	switch {
	case resp.Status == http.StatusOK:
		return nil
	case resp.Status >= 400 && resp.Status < 500 && resp.Status != http.StatusTooManyRequests:
		return fmt.Errorf("slack %s: %w: HTTP %d %s", msg.Ref, providers.ErrRejected, resp.Status, firstLine(resp.Body))
	}
	return fmt.Errorf("slack %s: %w", msg.Ref,
		&providers.StatusError{Provider: n.cfg.Name, Operation: opSend, Status: resp.Status})
}

// Text is the message as posted: *title*, body, and the reference.
func Text(msg engine.Message) string {
	var b strings.Builder
	if msg.Title != "" {
		b.WriteString("*" + msg.Title + "*\n")
	}
	b.WriteString(msg.Body)
	if msg.Ref != "" {
		b.WriteString("\n_ref " + msg.Ref + "_")
	}
	return b.String()
}

// scrub removes the secret URL from a transport error's text, keeping the
// error's kind (timeout or transport) for errors.Is.
func scrub(err error, secretURL string) error {
	if !strings.Contains(err.Error(), secretURL) {
		return err
	}
	kind := providers.ErrTransport
	if errors.Is(err, providers.ErrTimeout) {
		kind = providers.ErrTimeout
	}
	return fmt.Errorf("%w: (details withheld: they contain the webhook URL)", kind)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
