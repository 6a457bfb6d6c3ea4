package messagebird

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

const key = "test_kash_sandbox_key"

func newNotifier(t *testing.T, url string, timeout time.Duration) *Notifier {
	t.Helper()
	m, _ := pt.NewMetrics(t)
	n, err := New(Config{BaseURL: url, AccessKey: key, Timeout: timeout}, m)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var otp = engine.Message{Ref: "otp-01HX", To: "+22990000001", Body: "Your Kash code is 123456"}

func TestSend(t *testing.T) {
	srv := pt.Start(t, pt.Reply(http.StatusCreated, pt.Testdata(t, "message_created.json")))
	n := newNotifier(t, srv.URL, time.Second)
	if err := n.Send(context.Background(), otp); err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	if req.Path != "/messages" || req.Header["Authorization"] != "AccessKey "+key {
		t.Fatalf("request %s auth %q", req.Path, req.Header["Authorization"])
	}
	want := `{"originator":"Kash","recipients":["22990000001"],"body":"Your Kash code is 123456","reference":"otp-01HX"}`
	if string(req.Body) != want {
		t.Fatalf("body %s, want %s", req.Body, want)
	}
}

func TestSendFailures(t *testing.T) {
	cases := []struct {
		status int
		file   string
		want   error
	}{
		{http.StatusUnauthorized, "error_access_key.json", providers.ErrRejected},
		{http.StatusUnprocessableEntity, "error_recipients.json", providers.ErrRejected},
		{http.StatusInternalServerError, "error_internal.json", providers.ErrUnexpectedStatus},
		{http.StatusTooManyRequests, "error_internal.json", providers.ErrUnexpectedStatus},
		{http.StatusCreated, "error_internal.json", providers.ErrMalformed}, // no message id
	}
	srv := pt.Start(t, nil)
	n := newNotifier(t, srv.URL, time.Second)
	for _, c := range cases {
		srv.Handle(pt.Reply(c.status, pt.Testdata(t, c.file)))
		err := n.Send(context.Background(), otp)
		if !errors.Is(err, c.want) {
			t.Errorf("HTTP %d %s: %v, want %v", c.status, c.file, err, c.want)
		}
	}
	srv.Handle(pt.ReplyText(http.StatusCreated, "not json"))
	if err := n.Send(context.Background(), otp); !errors.Is(err, providers.ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
	srv.Handle(srv.Hang())
	slow := newNotifier(t, srv.URL, 150*time.Millisecond)
	if err := slow.Send(context.Background(), otp); !errors.Is(err, providers.ErrTimeout) {
		t.Errorf("timeout: %v", err)
	}
	if err := n.Send(context.Background(), engine.Message{Ref: "x", To: "", Body: "b"}); !errors.Is(err, providers.ErrRejected) {
		t.Errorf("no recipient: %v", err)
	}
}

func TestConfigNeverShowsTheKey(t *testing.T) {
	cfg := Config{AccessKey: key}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, key) {
			t.Fatalf("key leaked: %s", s)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Fatal("missing key accepted")
	}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %+v %#v", n, n, n, *n, *n); strings.Contains(s, key) {
		t.Fatalf("notifier printing leaked the key: %s", s)
	}
}
