package onesignal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"kash/engine"
	"kash/gateway/providers"
	pt "kash/gateway/providers/internal/providertest"
)

const (
	appID   = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
	restKey = "onesignal-kash-sandbox-key"
)

func newNotifier(t *testing.T, url string, key string, timeout time.Duration) *Notifier {
	t.Helper()
	m, _ := pt.NewMetrics(t)
	n, err := New(Config{BaseURL: url, AppID: appID, RESTAPIKey: providers.Secret(key), Timeout: timeout}, m)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var push = engine.Message{Ref: "push-kyc-01HX", To: "usr_01HX", Title: "KYC approved", Body: "You can now order a card."}

func TestSend(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusOK, pt.Testdata(t, "notification_created.json")))
	n := newNotifier(t, srv.URL, restKey, time.Second)
	if err := n.Send(context.Background(), push); err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	if req.Path != "/api/v1/notifications" || req.Header["Authorization"] != "Basic "+restKey {
		t.Fatalf("request %s auth %q", req.Path, req.Header["Authorization"])
	}
	var body struct {
		AppID          string              `json:"app_id"`
		TargetChannel  string              `json:"target_channel"`
		IncludeAliases map[string][]string `json:"include_aliases"`
		Headings       map[string]string   `json:"headings"`
		Contents       map[string]string   `json:"contents"`
		ExternalID     string              `json:"external_id"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.AppID != appID || body.TargetChannel != "push" || body.IncludeAliases["external_id"][0] != "usr_01HX" ||
		body.Headings["en"] != push.Title || body.Contents["en"] != push.Body || body.ExternalID != IdempotencyKey(push.Ref) {
		t.Fatalf("body %s", req.Body)
	}
}

func TestNewKeysUseKeyScheme(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusOK, pt.Testdata(t, "notification_created.json")))
	n := newNotifier(t, srv.URL, "os_v2_app_abc", time.Second)
	if err := n.Send(context.Background(), push); err != nil {
		t.Fatal(err)
	}
	if got := srv.Last(t).Header["Authorization"]; got != "Key os_v2_app_abc" {
		t.Fatalf("Authorization %q", got)
	}
}

func TestSendOutcomes(t *testing.T) {
	cases := []struct {
		status int
		file   string
		want   error
	}{
		{http.StatusOK, "invalid_aliases.json", nil}, // created, some aliases unknown
		{http.StatusOK, "no_subscribers.json", providers.ErrRejected},
		{http.StatusBadRequest, "app_not_found.json", providers.ErrRejected},
		{http.StatusForbidden, "access_denied.json", providers.ErrRejected},
		{http.StatusInternalServerError, "internal_error.json", providers.ErrUnexpectedStatus},
		{http.StatusTooManyRequests, "internal_error.json", providers.ErrUnexpectedStatus},
	}
	srv := pt.Start(t, nil)
	n := newNotifier(t, srv.URL, restKey, time.Second)
	for _, c := range cases {
		srv.Handle(pt.Reply(c.status, pt.Testdata(t, c.file)))
		err := n.Send(context.Background(), push)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("HTTP %d %s: %v, want %v", c.status, c.file, err, c.want)
		}
	}
	srv.Handle(pt.ReplyText(http.StatusOK, "<html>"))
	if err := n.Send(context.Background(), push); !errors.Is(err, providers.ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
	srv.Handle(srv.Hang())
	slow := newNotifier(t, srv.URL, restKey, 150*time.Millisecond)
	if err := slow.Send(context.Background(), push); !errors.Is(err, providers.ErrTimeout) {
		t.Errorf("timeout: %v", err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	const uuid = "0B5AE0F6-9D62-4BD1-8C7E-3E4D6B6E2F10"
	if got := IdempotencyKey(uuid); got != strings.ToLower(uuid) {
		t.Fatalf("a UUID ref must be used as is: %s", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		ref := rapid.String().Draw(t, "ref")
		other := rapid.String().Draw(t, "other")
		k := IdempotencyKey(ref)
		if !uuidPattern.MatchString(k) {
			t.Fatalf("key %q is not a UUID", k)
		}
		if k != IdempotencyKey(ref) {
			t.Fatal("key is not deterministic")
		}
		if ref != other && !uuidPattern.MatchString(ref) && k == IdempotencyKey(other) {
			t.Fatalf("refs %q and %q share a key", ref, other)
		}
	})
}

func TestConfigNeverShowsTheKey(t *testing.T) {
	cfg := Config{AppID: appID, RESTAPIKey: restKey}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, restKey) {
			t.Fatalf("key leaked: %s", s)
		}
	}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %+v %#v", n, n, n, *n, *n); strings.Contains(s, restKey) {
		t.Fatalf("notifier printing leaked the key: %s", s)
	}
}
