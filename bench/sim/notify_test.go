package sim

import (
	"net/http"
	"testing"
)

type listed struct {
	Data []struct {
		To    string `json:"to"`
		Title string `json:"title"`
		Body  string `json:"body"`
		At    string `json:"at"`
	} `json:"data"`
}

func (s *started) sendSMS(t *testing.T, body map[string]any) (int, []byte) {
	t.Helper()
	return call(t, "POST", s.base+"/messages", map[string]string{"Authorization": "AccessKey " + s.cfg.MessageBird.AccessKey}, body)
}

func TestMessageBirdSMSIsReadableByPhoneAndDeduplicatedByReference(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	if status, _ := call(t, "POST", s.base+"/messages", map[string]string{"Authorization": "AccessKey wrong"}, map[string]any{}); status != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", status)
	}
	sms := map[string]any{"originator": "Kash", "recipients": []any{"+22990000001"}, "body": "Your code is 111111", "reference": "otp-1"}
	var firstID string
	for i := 0; i < 2; i++ {
		status, out := s.sendSMS(t, sms)
		m := decode[map[string]any](t, out)
		if status != http.StatusCreated || m["id"] == "" || m["reference"] != "otp-1" || m["direction"] != "mt" {
			t.Fatalf("send %d: %d %s", i, status, out)
		}
		if i == 0 {
			firstID = m["id"].(string)
		} else if m["id"] != firstID {
			t.Fatalf("repeated reference got a new id %v", m["id"])
		}
	}
	s.sendSMS(t, map[string]any{"originator": "Kash", "recipients": []any{22990000001}, "body": "Your code is 222222"})
	s.sendSMS(t, map[string]any{"originator": "Kash", "recipients": []any{"22990000002"}, "body": "other"})

	for _, to := range []string{"+22990000001", "22990000001"} {
		_, out := call(t, "GET", s.base+"/sim/sms?to="+query(to), nil, nil)
		l := decode[listed](t, out)
		if len(l.Data) != 2 || l.Data[0].Body != "Your code is 222222" || l.Data[1].Body != "Your code is 111111" || l.Data[0].To != "+22990000001" || l.Data[0].At == "" {
			t.Fatalf("sms to %s: %s", to, out)
		}
	}
	_, out := call(t, "GET", s.base+"/sim/sms", nil, nil)
	if l := decode[listed](t, out); len(l.Data) != 3 {
		t.Fatalf("all sms: %s", out)
	}
	if status, out := s.sendSMS(t, map[string]any{"originator": "Kash", "recipients": []any{}, "body": "x"}); status != http.StatusUnprocessableEntity {
		t.Fatalf("no recipients: %d %s", status, out)
	}
}

func TestOneSignalPushDeduplicatedByExternalID(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	auth := map[string]string{"Authorization": "Basic " + s.cfg.OneSignal.RESTKey}
	push := map[string]any{
		"app_id": s.cfg.OneSignal.AppID, "include_external_user_ids": []string{"usr_1"},
		"headings": map[string]string{"en": "KYC"}, "contents": map[string]string{"en": "Approved"}, "external_id": "0d5c1e0a-0000-4000-8000-000000000001",
	}
	var id any
	for i := 0; i < 2; i++ {
		status, out := call(t, "POST", s.base+"/api/v1/notifications", auth, push)
		r := decode[map[string]any](t, out)
		if status != http.StatusOK || r["id"] == "" || r["recipients"] != float64(1) {
			t.Fatalf("push %d: %d %s", i, status, out)
		}
		if i == 1 && r["id"] != id {
			t.Fatalf("repeated external_id got id %v, first was %v", r["id"], id)
		}
		id = r["id"]
	}
	_, out := call(t, "GET", s.base+"/sim/push", nil, nil)
	if l := decode[listed](t, out); len(l.Data) != 1 || l.Data[0].To != "usr_1" || l.Data[0].Title != "KYC" || l.Data[0].Body != "Approved" {
		t.Fatalf("pushes: %s", out)
	}
	if status, _ := call(t, "POST", s.base+"/api/v1/notifications", map[string]string{"Authorization": "Key wrong"}, push); status != http.StatusForbidden {
		t.Fatalf("wrong key: %d", status)
	}
	push["app_id"] = "other"
	if status, _ := call(t, "POST", s.base+"/api/v1/notifications", auth, push); status != http.StatusBadRequest {
		t.Fatalf("wrong app: %d", status)
	}
}

func TestSlackIncomingWebhookFeedsOpsLog(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	status, out := call(t, "POST", s.base+s.cfg.SlackPath, nil, map[string]any{"text": "New KYC document"})
	if status != http.StatusOK || string(out) != "ok" {
		t.Fatalf("post: %d %s", status, out)
	}
	if status, out := call(t, "POST", s.base+"/services/T0/B0/wrong", nil, map[string]any{"text": "x"}); status != http.StatusNotFound || string(out) != "no_service" {
		t.Fatalf("wrong token: %d %s", status, out)
	}
	if status, out := call(t, "POST", s.base+s.cfg.SlackPath, nil, map[string]any{}); status != http.StatusBadRequest || string(out) != "invalid_payload" {
		t.Fatalf("no text: %d %s", status, out)
	}
	_, out = call(t, "GET", s.base+"/sim/ops", nil, nil)
	if l := decode[listed](t, out); len(l.Data) != 1 || l.Data[0].Body != "New KYC document" || l.Data[0].To != "ops" {
		t.Fatalf("ops: %s", out)
	}
}
