package simtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers"
	"kash/gateway/providers/messagebird"
	"kash/gateway/providers/onesignal"
	"kash/gateway/providers/slack"
)

func TestMessageBirdSMS(t *testing.T) {
	e := startSim(t, sim.Config{})
	n, err := messagebird.New(messagebird.Config{BaseURL: e.URL, AccessKey: providers.Secret(e.Sim.Config().MessageBird.AccessKey)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := engine.Message{Ref: "otp-1", To: "+22990000001", Body: "Your Kash code is 123456"}
	for range 2 { // at-least-once: the retry is deduplicated by reference
		if err := n.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	got := e.messages(t, "/sim/sms?to=%2B22990000001")
	if len(got) != 1 || got[0].Body != msg.Body || got[0].To != "+22990000001" {
		t.Fatalf("/sim/sms: %+v", got)
	}
	e.fault(t, map[string]any{"target": "sms", "next_failures": 1})
	if err := n.Send(context.Background(), engine.Message{Ref: "otp-2", To: "+22990000001", Body: "x"}); !errors.Is(err, providers.ErrUnexpectedStatus) {
		t.Fatalf("injected failure: %v", err)
	}
	bad, _ := messagebird.New(messagebird.Config{BaseURL: e.URL, AccessKey: "wrong"}, nil)
	if err := bad.Send(context.Background(), msg); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestOneSignalPush(t *testing.T) {
	e := startSim(t, sim.Config{})
	cfg := e.Sim.Config().OneSignal
	n, err := onesignal.New(onesignal.Config{BaseURL: e.URL, AppID: cfg.AppID, RESTAPIKey: providers.Secret(cfg.RESTKey)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := engine.Message{Ref: "push-1", To: "usr_1", Title: "Card funded", Body: "Your card received 10.00 USD"}
	for range 2 {
		if err := n.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	got := e.messages(t, "/sim/push")
	if len(got) != 1 || got[0].To != "usr_1" || got[0].Title != msg.Title || got[0].Body != msg.Body {
		t.Fatalf("/sim/push: %+v", got)
	}
	e.fault(t, map[string]any{"target": "push", "timeout_rate": 1, "timeout_applied_rate": 1})
	slow, _ := onesignal.New(onesignal.Config{BaseURL: e.URL, AppID: cfg.AppID, RESTAPIKey: providers.Secret(cfg.RESTKey), Timeout: 300 * time.Millisecond}, nil)
	second := engine.Message{Ref: "push-2", To: "usr_1", Body: "second"}
	if err := slow.Send(context.Background(), second); !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
	e.clearFaults(t)
	if err := n.Send(context.Background(), second); err != nil { // the outbox's retry
		t.Fatal(err)
	}
	if got := e.messages(t, "/sim/push"); len(got) != 2 {
		t.Fatalf("after a lost answer and a retry: %d notifications, want 2", len(got))
	}
	wrongApp, _ := onesignal.New(onesignal.Config{BaseURL: e.URL, AppID: "00000000-0000-0000-0000-000000000000", RESTAPIKey: providers.Secret(cfg.RESTKey)}, nil)
	if err := wrongApp.Send(context.Background(), msg); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("wrong app: %v", err)
	}
}

func TestSlackOps(t *testing.T) {
	e := startSim(t, sim.Config{})
	n, err := slack.New(slack.Config{WebhookURL: providers.Secret(e.URL + e.Sim.Config().SlackPath)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := engine.Message{Ref: "ops-1", To: "ops", Title: "New KYC", Body: "usr_1 sent a passport"}
	if err := n.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := e.messages(t, "/sim/ops")
	if len(got) != 1 || got[0].Body != slack.Text(msg) {
		t.Fatalf("/sim/ops: %+v", got)
	}
	wrong, _ := slack.New(slack.Config{WebhookURL: providers.Secret(e.URL + "/services/T0/B0/nope")}, nil)
	if err := wrong.Send(context.Background(), msg); !errors.Is(err, providers.ErrRejected) {
		t.Fatalf("wrong webhook: %v", err)
	}
	e.fault(t, map[string]any{"target": "ops", "fail_rate": 1})
	if err := n.Send(context.Background(), msg); !errors.Is(err, providers.ErrUnexpectedStatus) {
		t.Fatalf("injected failure: %v", err)
	}
}
