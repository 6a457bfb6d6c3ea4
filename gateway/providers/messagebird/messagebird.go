// Package messagebird is the SMS engine.Notifier (OTP codes, payment
// notices) over MessageBird's REST API: POST /messages with an AccessKey.
//
// MessageBird does not deduplicate; the message's Ref travels as the
// client "reference" so that a provider that does (the simulator) or a
// delivery report can tie retries together. Sends are at least once.
package messagebird

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kash/engine"
	"kash/gateway/providers"
)

// DefaultBaseURL is MessageBird's REST host.
const DefaultBaseURL = "https://rest.messagebird.com"

const opSend = "send"

// Config is the SMS account. AccessKey never appears in String, GoString or
// LogValue.
type Config struct {
	// Name labels metrics. Default "messagebird".
	Name string
	// BaseURL default DefaultBaseURL.
	BaseURL   string
	AccessKey providers.Secret
	// Originator is the sender shown on the phone (11 characters at most, or
	// a number). Default "Kash".
	Originator string
	Timeout    time.Duration
	HTTP       providers.HTTPConfig
}

// String describes the account without its key.
func (c Config) String() string {
	return fmt.Sprintf("messagebird.Config{Name:%q BaseURL:%q AccessKey:%s Originator:%q Timeout:%s}",
		c.Name, c.BaseURL, c.AccessKey, c.Originator, c.Timeout)
}

// GoString is String.
func (c Config) GoString() string { return c.String() }

// LogValue describes the account for slog without its key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("base_url", c.BaseURL),
		slog.Any("access_key", c.AccessKey), slog.String("originator", c.Originator))
}

// Notifier sends SMS. It is safe for concurrent use.
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
		cfg.Name = "messagebird"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Originator == "" {
		cfg.Originator = "Kash"
	}
	if cfg.Timeout > 0 {
		cfg.HTTP.Timeout = cfg.Timeout
	}
	if cfg.AccessKey.IsZero() {
		return nil, fmt.Errorf("messagebird %s: access key is required", cfg.Name)
	}
	base, err := providers.BaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("messagebird %s: %w", cfg.Name, err)
	}
	return &Notifier{
		cfg: cfg, url: base + "/messages", auth: providers.Secret("AccessKey " + cfg.AccessKey.Reveal()),
		http: providers.NewHTTPClient(cfg.HTTP), metrics: metrics,
	}, nil
}

// String describes the notifier without credentials.
func (n Notifier) String() string { return "messagebird.Notifier{" + n.cfg.Name + "}" }

// GoString is String, so that %#v cannot print credentials either.
func (n Notifier) GoString() string { return n.String() }

type messageBody struct {
	Originator string   `json:"originator"`
	Recipients []string `json:"recipients"`
	Body       string   `json:"body"`
	Reference  string   `json:"reference,omitempty"`
}

type messageAnswer struct {
	ID         string `json:"id"`
	Recipients struct {
		TotalCount int `json:"totalCount"`
	} `json:"recipients"`
	Errors []struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
		Parameter   string `json:"parameter"`
	} `json:"errors"`
}

// Send texts msg.Body to msg.To (E.164). A refusal that a retry cannot fix
// (bad number, empty body, bad key) wraps providers.ErrRejected; any other
// error is transient and the outbox retries with the same Ref.
func (n *Notifier) Send(ctx context.Context, msg engine.Message) error {
	start := time.Now()
	err := n.send(ctx, msg)
	n.metrics.Observe(n.cfg.Name, opSend, providers.OutcomeOf(err), start)
	return err
}

func (n *Notifier) send(ctx context.Context, msg engine.Message) error {
	to := strings.TrimPrefix(strings.TrimSpace(msg.To), "+")
	if to == "" || msg.Body == "" {
		return fmt.Errorf("messagebird %s: %w: recipient and body are required", msg.Ref, providers.ErrRejected)
	}
	payload, err := json.Marshal(messageBody{Originator: n.cfg.Originator, Recipients: []string{to}, Body: msg.Body, Reference: msg.Ref})
	if err != nil {
		return fmt.Errorf("messagebird %s: encode: %w", msg.Ref, err)
	}
	resp, err := n.http.Do(ctx, providers.Request{
		Method: http.MethodPost, URL: n.url, Body: payload,
		Header: []providers.Header{{Name: "Authorization", Value: n.auth.Reveal()}},
	})
	if err != nil {
		return fmt.Errorf("messagebird %s: %w", msg.Ref, err)
	}
	var ans messageAnswer
	decodeErr := providers.DecodeJSON(resp.Body, &ans)
	switch {
	case resp.Status == http.StatusCreated || resp.Status == http.StatusOK:
		if decodeErr != nil {
			return fmt.Errorf("messagebird %s: %w", msg.Ref, decodeErr)
		}
		if ans.ID == "" {
			return fmt.Errorf("messagebird %s: %w: no message id", msg.Ref, providers.ErrMalformed)
		}
		return nil
	case resp.Status >= 400 && resp.Status < 500 && resp.Status != http.StatusTooManyRequests:
		return fmt.Errorf("messagebird %s: %w: HTTP %d %s", msg.Ref, providers.ErrRejected, resp.Status, describe(ans))
	}
	return fmt.Errorf("messagebird %s: %w", msg.Ref,
		&providers.StatusError{Provider: n.cfg.Name, Operation: opSend, Status: resp.Status})
}

func describe(ans messageAnswer) string {
	parts := make([]string, 0, len(ans.Errors))
	for _, e := range ans.Errors {
		parts = append(parts, fmt.Sprintf("%d %s (%s)", e.Code, e.Description, e.Parameter))
	}
	return strings.Join(parts, "; ")
}
