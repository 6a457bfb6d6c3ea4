package gateway

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"kash/engine"
)

func TestTreasuryAndSweeps(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000081")
	activeCard(e, f, token, "c", "20.00")
	tr := e.get("/v1/admin/treasury", testAdminToken).want(t, http.StatusOK)
	fl := tr["float"].(map[string]any)
	if fl["available"].(map[string]any)["amount"] != "0.00" || tr["queue"].(map[string]any)["count"] != float64(0) {
		t.Fatalf("treasury = %v", tr)
	}
	cols := tr["collections"].([]any)
	if len(cols) != 1 || cols[0].(map[string]any)["provider"] != "qosic" {
		t.Fatalf("collections = %v", cols)
	}
	sw := e.post("/v1/admin/treasury/sweeps", testAdminToken, map[string]string{"provider": "qosic", "amount": "5000",
		"currency": "XOF"}, "sweep-1").want(t, http.StatusAccepted)
	if sw["status"] != "requested" || sw["amount"].(map[string]any)["amount"] != "5000" {
		t.Fatalf("sweep = %v", sw)
	}
	again := e.post("/v1/admin/treasury/sweeps", testAdminToken, map[string]string{"provider": "qosic", "amount": "5000",
		"currency": "XOF"}, "sweep-1")
	if again.json(t)["id"] != sw["id"] || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("sweep not idempotent")
	}
	e.post("/v1/admin/treasury/sweeps", testAdminToken, map[string]string{"provider": "nope", "amount": "5000",
		"currency": "XOF"}, "").wantError(t, http.StatusUnprocessableEntity, "invalid_field", "provider")
	e.post("/v1/admin/treasury/sweeps", testAdminToken, map[string]string{"provider": "qosic", "amount": "50.00",
		"currency": "USD"}, "").wantError(t, http.StatusUnprocessableEntity, "unsupported_currency", "currency")
	if got := e.get("/v1/admin/treasury", testAdminToken).want(t, http.StatusOK)["sweeps"].([]any); len(got) != 1 {
		t.Fatalf("sweeps in the treasury view: %v", got)
	}
	if n := e.count(`SELECT count(*) FROM admin_audit_log WHERE action = 'treasury.sweep'`); n < 1 {
		t.Fatal("sweep not audited")
	}
}

func TestAdminListsEarningsAndLedgerCheck(t *testing.T) {
	e, f := newFakeServer(t)
	token, _ := e.verifiedUser("+22990000082")
	card := activeCard(e, f, token, "c1", "20.00")
	e.issue(token, "c2", "10.00")

	for path, want := range map[string]int{
		"/v1/admin/fundings":                           2,
		"/v1/admin/fundings?status=succeeded":          1,
		"/v1/admin/fundings?status=awaiting_payment":   1,
		"/v1/admin/fundings?status=refunded":           0,
		"/v1/admin/withdrawals?status=pending":         0,
		"/v1/admin/payments?status=pending":            2,
		"/v1/admin/payments?limit=1":                   1,
		"/v1/admin/kyc":                                1,
		"/v1/admin/fundings?status=succeeded&limit=10": 1,
	} {
		got := e.get(path, testAdminToken).want(t, http.StatusOK)["data"].([]any)
		if len(got) != want {
			t.Errorf("%s: %d items, want %d", path, len(got), want)
		}
	}
	e.get("/v1/admin/fundings?status=lost", testAdminToken).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "status")

	byOp := e.get("/v1/admin/earnings", testAdminToken).want(t, http.StatusOK)["data"].([]any)
	if len(byOp) != 1 || byOp[0].(map[string]any)["key"] != "issuance" || byOp[0].(map[string]any)["count"] != float64(1) {
		t.Fatalf("earnings by operation: %v", byOp)
	}
	byDay := e.get("/v1/admin/earnings?group_by=day&from=2020-01-01&to=2099-12-31", testAdminToken).want(t, http.StatusOK)["data"].([]any)
	if len(byDay) != 1 {
		t.Fatalf("earnings by day: %v", byDay)
	}
	none := e.get("/v1/admin/earnings?to=2020-01-01T00:00:00Z", testAdminToken).want(t, http.StatusOK)["data"].([]any)
	if len(none) != 0 {
		t.Fatalf("earnings before 2020: %v", none)
	}
	e.get("/v1/admin/earnings?group_by=week", testAdminToken).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "group_by")
	e.get("/v1/admin/earnings?from=yesterday", testAdminToken).wantError(t, http.StatusUnprocessableEntity, "invalid_field", "from")

	check := e.get("/v1/admin/ledger/check", testAdminToken).want(t, http.StatusOK)
	if check["ok"] != true || check["entries"] != float64(3) {
		t.Fatalf("ledger check = %v", check)
	}
	// A card balance that is not its ledger balance is found.
	e.exec(`UPDATE cards SET balance_minor = balance_minor + 1 WHERE id = $1`, card)
	check = e.get("/v1/admin/ledger/check", testAdminToken).want(t, http.StatusOK)
	ims := check["imbalances"].([]any)
	if check["ok"] != false || len(ims) != 1 || ims[0].(map[string]any)["kind"] != "card_balance" {
		t.Fatalf("ledger check after corruption = %v", check)
	}
}

type fakeReconciler struct {
	r   Reconciliation
	err error
}

func (f fakeReconciler) Reconcile(context.Context) (Reconciliation, error) { return f.r, f.err }

func TestReconciliation(t *testing.T) {
	e, _ := newFakeServer(t)
	e.get("/v1/admin/reconciliation", testAdminToken).wantError(t, http.StatusServiceUnavailable, "unavailable")
	with := func(r Reconciler) func(*Deps) { return func(d *Deps) { d.Reconciler = r } }
	e, _ = newFakeServer(t, with(fakeReconciler{r: Reconciliation{OK: false, Differences: []Difference{{Kind: "card",
		Subject: "crd_1", Engine: engine.NewMoney(500, engine.USD), Provider: engine.NewMoney(450, engine.USD),
		Detail: "spend not mirrored"}}}}))
	m := e.get("/v1/admin/reconciliation", testAdminToken).want(t, http.StatusOK)
	if m["ok"] != false || len(m["differences"].([]any)) != 1 {
		t.Fatalf("reconciliation = %v", m)
	}
	e, _ = newFakeServer(t, with(fakeReconciler{err: errors.New("issuer down")}))
	e.get("/v1/admin/reconciliation", testAdminToken).wantError(t, http.StatusServiceUnavailable, "unavailable")
}

func TestHealthAndReadiness(t *testing.T) {
	e, _ := newFakeServer(t)
	e.get("/healthz", "").want(t, http.StatusOK)
	e.get("/readyz", "").want(t, http.StatusOK)
	e.get("/metrics", "").wantError(t, http.StatusNotFound, "not_found")

	// No engine yet (recovering): alive, not ready, and commands refused.
	starting := newTestServer(t, nil, func(d *Deps) {
		d.Metrics = func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("kash_up 1\n") }
	})
	starting.get("/healthz", "").want(t, http.StatusOK)
	starting.get("/readyz", "").wantError(t, http.StatusServiceUnavailable, "unavailable")
	if m := starting.get("/metrics", ""); m.status != 200 || string(m.body) != "kash_up 1\n" {
		t.Fatalf("metrics: %d %q", m.status, m.body)
	}
	token, _ := starting.verifiedUser("+22990000083")
	starting.post("/v1/cards", token, issueBody("10.00", "USD"), "k").wantError(t, http.StatusServiceUnavailable, "unavailable")
	// The 503 is not stored: once the engine is up the same key works.
	if n := starting.count(`SELECT count(*) FROM idempotency_keys WHERE status = 'done' AND key = 'k'`); n != 0 {
		t.Fatal("a 503 was stored as the key's outcome")
	}
}

func TestJanitorPurgesOnlyWhatExpired(t *testing.T) {
	e, _ := newFakeServer(t)
	token, _, _ := e.login("+22990000084")
	e.post("/v1/quotes", token, map[string]string{"operation": "funding", "amount": "10.00", "currency": "USD"}, "q1").
		want(t, http.StatusCreated)
	e.srv.purge()
	if e.count(`SELECT count(*) FROM idempotency_keys`) != 1 || e.count(`SELECT count(*) FROM quotes`) != 1 ||
		e.count(`SELECT count(*) FROM otp_codes`) != 1 {
		t.Fatal("the janitor deleted live rows")
	}
	e.clock.Advance(49 * time.Hour)
	e.srv.purge()
	if e.count(`SELECT count(*) FROM idempotency_keys`) != 0 || e.count(`SELECT count(*) FROM quotes`) != 0 ||
		e.count(`SELECT count(*) FROM otp_codes`) != 0 {
		t.Fatal("the janitor left expired rows")
	}
}
