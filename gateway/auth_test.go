package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLoginFlowCreatesTheUserOnce(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, id := e.login("+22990000001")
	me := e.get("/v1/me", access).want(t, http.StatusOK)
	if me["id"] != id || me["phone"] != "+22990000001" || me["kyc_status"] != "none" {
		t.Fatalf("me = %v", me)
	}
	_, _, again := e.login("+22990000001")
	if again != id {
		t.Fatalf("second login made user %s, want %s", again, id)
	}
	if n := e.count(`SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
	// Codes and tokens are stored only as hashes.
	code := e.sms.lastCode(t, "+22990000001")
	if n := e.count(`SELECT count(*) FROM otp_codes WHERE position($1::bytea in code_hash) > 0`, []byte(code)); n != 0 {
		t.Fatal("an OTP code is stored in clear")
	}
}

func TestWrongCodesAndExpiry(t *testing.T) {
	e, _ := newFakeServer(t)
	phone := "+2290100000002"
	e.post("/v1/auth/otp", "", map[string]string{"phone": phone}, "").want(t, http.StatusAccepted)
	code := e.sms.lastCode(t, phone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 5 {
		e.post("/v1/auth/token", "", map[string]string{"phone": phone, "code": wrong}, "").
			wantError(t, http.StatusUnauthorized, "invalid_code")
	}
	// Five wrong tries kill the code: the right one no longer works.
	e.post("/v1/auth/token", "", map[string]string{"phone": phone, "code": code}, "").
		wantError(t, http.StatusUnauthorized, "invalid_code")

	e.post("/v1/auth/otp", "", map[string]string{"phone": phone}, "").want(t, http.StatusAccepted)
	code = e.sms.lastCode(t, phone)
	e.clock.Advance(10*time.Minute + time.Second)
	e.post("/v1/auth/token", "", map[string]string{"phone": phone, "code": code}, "").
		wantError(t, http.StatusUnauthorized, "invalid_code")

	// A malformed code is just a wrong code.
	e.post("/v1/auth/token", "", map[string]string{"phone": phone, "code": "12ab"}, "").
		wantError(t, http.StatusUnauthorized, "invalid_code")
}

func TestOTPRateLimits(t *testing.T) {
	e, _ := newFakeServer(t, func(c *Config) { c.OTPPerClient = 8 })
	phone := "+22990000003"
	for range 5 {
		e.post("/v1/auth/otp", "", map[string]string{"phone": phone}, "").want(t, http.StatusAccepted)
	}
	r := e.post("/v1/auth/otp", "", map[string]string{"phone": phone}, "")
	r.wantError(t, http.StatusTooManyRequests, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra == "0" || strings.HasPrefix(ra, "-") {
		t.Fatalf("Retry-After %q", ra)
	}
	// Other phones from the same address: 3 more reach the per-client limit of 8.
	for i := range 3 {
		e.post("/v1/auth/otp", "", map[string]string{"phone": "+2299100000" + string(rune('0'+i))}, "").
			want(t, http.StatusAccepted)
	}
	e.post("/v1/auth/otp", "", map[string]string{"phone": "+22991000009"}, "").
		wantError(t, http.StatusTooManyRequests, "rate_limited")
	// An hour later both limits have room again.
	e.clock.Advance(time.Hour + time.Second)
	e.post("/v1/auth/otp", "", map[string]string{"phone": phone}, "").want(t, http.StatusAccepted)
}

func TestSMSFailureIsUnavailable(t *testing.T) {
	e, _ := newFakeServer(t)
	e.sms.fail = errors.New("sms provider down")
	e.post("/v1/auth/otp", "", map[string]string{"phone": "+22990000004"}, "").
		wantError(t, http.StatusServiceUnavailable, "unavailable")
}

func TestRefreshRotatesAndReuseRevokesTheFamily(t *testing.T) {
	e, _ := newFakeServer(t)
	_, r1, _ := e.login("+22990000005")
	m := e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": r1}, "").want(t, http.StatusOK)
	r2 := m["refresh_token"].(string)
	if r2 == r1 || m["token_type"] != "Bearer" {
		t.Fatalf("refresh answer %v", m)
	}
	e.get("/v1/me", m["access_token"].(string)).want(t, http.StatusOK)
	// r1 again: reuse. The family dies, r2 with it.
	e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": r1}, "").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": r2}, "").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": "krt_nonsense"}, "").
		wantError(t, http.StatusUnauthorized, "unauthorized")
	e.post("/v1/auth/refresh", "", map[string]any{"refresh_token": 42}, "").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "refresh_token")
}

func TestRefreshReplayWithTheSameKeyReturnsTheSameTokens(t *testing.T) {
	e, _ := newFakeServer(t)
	_, r1, _ := e.login("+22990000006")
	first := e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": r1}, "k-refresh")
	first.want(t, http.StatusOK)
	again := e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": r1}, "k-refresh")
	again.want(t, http.StatusOK)
	if string(first.body) != string(again.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs or is not marked: %s vs %s", first.body, again.body)
	}
	// The stored response holds tokens: it is sealed, not in clear.
	tok := first.json(t)["refresh_token"].(string)
	if n := e.count(`SELECT count(*) FROM idempotency_keys WHERE position($1::bytea in response_body) > 0`, []byte(tok)); n != 0 {
		t.Fatal("a refresh token is stored in clear in idempotency_keys")
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	e, _ := newFakeServer(t)
	access, refresh, _ := e.login("+22990000007")
	e.post("/v1/auth/logout", access, nil, "").want(t, http.StatusNoContent)
	e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}, "").wantError(t, http.StatusUnauthorized, "unauthorized")

	_, refresh2, _ := e.login("+22990000007")
	e.post("/v1/auth/logout", "", map[string]string{"refresh_token": refresh2}, "").want(t, http.StatusNoContent)
	e.post("/v1/auth/refresh", "", map[string]string{"refresh_token": refresh2}, "").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.post("/v1/auth/logout", "", "{}", "").wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestTokensAreCheckedStrictly(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, _ := e.login("+22990000008")
	for name, tok := range map[string]string{
		"garbage":      "not-a-token",
		"tampered":     access[:len(access)-2] + "xx",
		"alg none":     "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c3JfMSJ9.",
		"refresh used": "krt_abc",
	} {
		t.Run(name, func(t *testing.T) {
			e.get("/v1/me", tok).wantError(t, http.StatusUnauthorized, "unauthorized")
		})
	}
	e.get("/v1/me", "").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do(request{method: http.MethodGet, path: "/v1/me", headers: map[string]string{"Authorization": "Basic " + access}}).
		wantError(t, http.StatusUnauthorized, "unauthorized")
	// Access tokens are short-lived.
	e.clock.Advance(16 * time.Minute)
	e.get("/v1/me", access).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestOpsTokenIsNoUserAndUsersAreNoOps(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, _ := e.login("+22990000009")
	e.get("/v1/me", testAdminToken).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.get("/v1/cards", testAdminToken).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.get("/v1/admin/treasury", access).wantError(t, http.StatusForbidden, "forbidden")
	e.get("/v1/admin/treasury", "").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.get("/v1/admin/treasury", testAdminToken+"x").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.get("/v1/admin/treasury", testAdminToken).want(t, http.StatusOK)
}

func TestProfileAndDevices(t *testing.T) {
	e, _ := newFakeServer(t)
	access, _, id := e.login("+22990000010")
	m := e.do(request{method: http.MethodPatch, path: "/v1/me", token: access, body: map[string]string{"name": "Ada Kash"}}).
		want(t, http.StatusOK)
	if m["name"] != "Ada Kash" {
		t.Fatalf("name = %v", m["name"])
	}
	// A user can never write their own KYC status (defect 11).
	e.do(request{method: http.MethodPatch, path: "/v1/me", token: access,
		body: map[string]string{"name": "x", "kyc_status": "approved"}}).
		wantError(t, http.StatusUnprocessableEntity, "invalid_field", "kyc_status")
	e.do(request{method: http.MethodPatch, path: "/v1/me", token: access, body: map[string]string{"Name": "x"}}).
		wantError(t, http.StatusUnprocessableEntity, "invalid_field", "Name")
	if got := e.get("/v1/me", access).want(t, http.StatusOK)["kyc_status"]; got != "none" {
		t.Fatalf("kyc_status = %v", got)
	}
	e.post("/v1/me/devices", access, map[string]string{"device_id": "dev-1"}, "").want(t, http.StatusNoContent)
	if n := e.count(`SELECT count(*) FROM devices WHERE device_id = 'dev-1' AND user_id = $1`, id); n != 1 {
		t.Fatal("device not registered")
	}
	e.post("/v1/me/devices", access, map[string]string{"device_id": ""}, "").
		wantError(t, http.StatusUnprocessableEntity, "invalid_field", "device_id")
}
