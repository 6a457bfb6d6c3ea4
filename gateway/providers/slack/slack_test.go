package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kash/engine"
	"kash/gateway/providers"
	pt "kash/gateway/providers/internal/providertest"
)

const hookPath = "/services/TKASHSIM0/BKASHSIM0/kashsandboxtoken"

func newNotifier(t *testing.T, url string, timeout time.Duration) *Notifier {
	t.Helper()
	m, _ := pt.NewMetrics(t)
	n, err := New(Config{WebhookURL: providers.Secret(url), Timeout: timeout}, m)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var alert = engine.Message{Ref: "ops-kyc-01HX", To: "ops", Title: "New KYC document", Body: "usr_01HX sent a passport"}

func TestSend(t *testing.T) {
	srv := pt.Start(t, pt.ReplyText(http.StatusOK, string(pt.Testdata(t, "ok.txt"))))
	n := newNotifier(t, srv.URL+hookPath, time.Second)
	if err := n.Send(context.Background(), alert); err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	want := `{"text":"*New KYC document*\nusr_01HX sent a passport\n_ref ops-kyc-01HX_"}`
	if req.Path != hookPath || string(req.Body) != want {
		t.Fatalf("request %s %s", req.Path, req.Body)
	}
}

func TestSendFailures(t *testing.T) {
	cases := []struct {
		status int
		file   string
		want   error
	}{
		{http.StatusBadRequest, "invalid_payload.txt", providers.ErrRejected},
		{http.StatusNotFound, "no_service.txt", providers.ErrRejected},
		{http.StatusGone, "channel_is_archived.txt", providers.ErrRejected},
		{http.StatusInternalServerError, "rollup_error.txt", providers.ErrUnexpectedStatus},
		{http.StatusTooManyRequests, "rollup_error.txt", providers.ErrUnexpectedStatus},
	}
	srv := pt.Start(t, nil)
	n := newNotifier(t, srv.URL+hookPath, time.Second)
	for _, c := range cases {
		srv.Handle(pt.ReplyText(c.status, string(pt.Testdata(t, c.file))))
		if err := n.Send(context.Background(), alert); !errors.Is(err, c.want) {
			t.Errorf("HTTP %d: %v, want %v", c.status, err, c.want)
		}
	}
	srv.Handle(srv.Hang())
	slow := newNotifier(t, srv.URL+hookPath, 150*time.Millisecond)
	err := slow.Send(context.Background(), alert)
	if !errors.Is(err, providers.ErrTimeout) || strings.Contains(err.Error(), "kashsandboxtoken") {
		t.Errorf("timeout: %v (must be a timeout and must not show the webhook URL)", err)
	}
	if err := n.Send(context.Background(), engine.Message{Ref: "x"}); !errors.Is(err, providers.ErrRejected) {
		t.Errorf("empty message: %v", err)
	}
}

func TestWebhookURLIsSecret(t *testing.T) {
	cfg := Config{WebhookURL: "https://hooks.slack.com" + hookPath}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "kashsandboxtoken") {
			t.Fatalf("webhook URL leaked: %s", s)
		}
	}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %+v %#v", n, n, n, *n, *n); strings.Contains(s, "kashsandboxtoken") {
		t.Fatalf("notifier printing leaked the webhook URL: %s", s)
	}
	_, err = New(Config{WebhookURL: "ftp://hooks.slack.com" + hookPath}, nil)
	if err == nil || strings.Contains(err.Error(), "kashsandboxtoken") {
		t.Fatalf("bad URL: %v", err)
	}
}
