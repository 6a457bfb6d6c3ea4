package persistence_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"kash/engine"
	"kash/persistence"
	"kash/persistence/pgtest"
)

func otpRequest(phone, addr string, now time.Time) persistence.OTPRequest {
	return persistence.OTPRequest{Phone: phone, CodeHash: []byte("hash-" + phone), ClientAddr: netip.MustParseAddr(addr),
		Now: now, TTL: 10 * time.Minute, Window: time.Hour, PerPhone: 5, PerClient: 7}
}

// TestOTPLimitsHoldUnderConcurrency fires more requests than the limit at
// once: the advisory locks let exactly the limit through.
func TestOTPLimitsHoldUnderConcurrency(t *testing.T) {
	ids := persistence.NewIdentity(pgtest.NewPool(t))
	ctx, now := context.Background(), time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ids.CreateOTP(ctx, otpRequest("+22990000001", "10.0.0.1", now))
			mu.Lock()
			defer mu.Unlock()
			var rl *persistence.RateLimitError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &rl) && errors.Is(err, persistence.ErrRateLimited):
				limited++
				if rl.Limit != "phone" || rl.RetryAfter <= 0 || rl.RetryAfter > time.Hour {
					t.Errorf("limit %+v", rl)
				}
			default:
				t.Errorf("create otp: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || limited != 7 {
		t.Fatalf("%d created, %d limited; want 5 and 7", ok, limited)
	}
	// The client limit (7) counts across phones.
	_, err := ids.CreateOTP(ctx, otpRequest("+22990000002", "10.0.0.1", now))
	_, err2 := ids.CreateOTP(ctx, otpRequest("+22990000003", "10.0.0.1", now))
	_, err3 := ids.CreateOTP(ctx, otpRequest("+22990000004", "10.0.0.1", now))
	var rl *persistence.RateLimitError
	if err != nil || err2 != nil || !errors.As(err3, &rl) || rl.Limit != "client" {
		t.Fatalf("client limit: %v, %v, %v", err, err2, err3)
	}
	if _, err := ids.CreateOTP(ctx, otpRequest("+22990000004", "10.0.0.2", now)); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestLoginConsumesTheLatestCodeOnce(t *testing.T) {
	ids := persistence.NewIdentity(pgtest.NewPool(t))
	ctx, now := context.Background(), time.Now()
	req := otpRequest("+22990000001", "10.0.0.1", now)
	if _, err := ids.CreateOTP(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Login(ctx, req.Phone, []byte("wrong"), "usr_a", now, 5); !errors.Is(err, persistence.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	u, err := ids.Login(ctx, req.Phone, req.CodeHash, "usr_a", now, 5)
	if err != nil || u.ID != "usr_a" || u.KYCStatus != "none" {
		t.Fatalf("login: %+v %v", u, err)
	}
	if _, err := ids.Login(ctx, req.Phone, req.CodeHash, "usr_b", now, 5); !errors.Is(err, persistence.ErrInvalidCode) {
		t.Fatalf("a code worked twice: %v", err)
	}
	if _, err := ids.User(ctx, "usr_missing"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
}

func TestRefreshFamilies(t *testing.T) {
	ids := persistence.NewIdentity(pgtest.NewPool(t))
	ctx, now := context.Background(), time.Now()
	req := otpRequest("+22990000001", "10.0.0.1", now)
	if _, err := ids.CreateOTP(ctx, req); err != nil {
		t.Fatal(err)
	}
	u, err := ids.Login(ctx, req.Phone, req.CodeHash, "usr_a", now, 5)
	if err != nil {
		t.Fatal(err)
	}
	t1 := persistence.RefreshToken{Hash: []byte("t1"), UserID: u.ID, FamilyID: "fam", ExpiresAt: now.Add(time.Hour), Now: now}
	if err := ids.CreateRefresh(ctx, t1); err != nil {
		t.Fatal(err)
	}
	t2, err := ids.RotateRefresh(ctx, []byte("t1"), persistence.RefreshToken{Hash: []byte("t2"), ExpiresAt: now.Add(time.Hour), Now: now})
	if err != nil || t2.UserID != u.ID || t2.FamilyID != "fam" {
		t.Fatalf("rotate: %+v %v", t2, err)
	}
	_, err = ids.RotateRefresh(ctx, []byte("t1"), persistence.RefreshToken{Hash: []byte("t3"), ExpiresAt: now.Add(time.Hour), Now: now})
	if !errors.Is(err, persistence.ErrTokenReused) || !errors.Is(err, persistence.ErrInvalidToken) {
		t.Fatalf("reuse: %v", err)
	}
	if _, _, err := ids.RefreshFamily(ctx, []byte("t2"), now); !errors.Is(err, persistence.ErrInvalidToken) {
		t.Fatalf("the family survived a reuse: %v", err)
	}
	// Expired tokens do not rotate.
	t4 := persistence.RefreshToken{Hash: []byte("t4"), UserID: u.ID, FamilyID: "fam2", ExpiresAt: now.Add(time.Minute), Now: now}
	if err := ids.CreateRefresh(ctx, t4); err != nil {
		t.Fatal(err)
	}
	_, err = ids.RotateRefresh(ctx, []byte("t4"), persistence.RefreshToken{Hash: []byte("t5"), ExpiresAt: now.Add(2 * time.Hour),
		Now: now.Add(2 * time.Minute)})
	if !errors.Is(err, persistence.ErrInvalidToken) || errors.Is(err, persistence.ErrTokenReused) {
		t.Fatalf("expired: %v", err)
	}
}

func TestKYCOneLiveSubmissionAndReview(t *testing.T) {
	pool := pgtest.NewPool(t)
	ids := persistence.NewIdentity(pool)
	ctx, now := context.Background(), time.Now()
	req := otpRequest("+22990000001", "10.0.0.1", now)
	if _, err := ids.CreateOTP(ctx, req); err != nil {
		t.Fatal(err)
	}
	u, err := ids.Login(ctx, req.Phone, req.CodeHash, "usr_a", now, 5)
	if err != nil {
		t.Fatal(err)
	}
	k := func(id string) persistence.KYC {
		return persistence.KYC{ID: id, UserID: u.ID, DocumentType: "passport", DocumentKey: "d/" + id,
			DocumentContentType: "application/pdf", SelfieKey: "s/" + id, SelfieContentType: "image/png", CreatedAt: now}
	}
	ops := func(id string) engine.OutboxMessage {
		return engine.OutboxMessage{Channel: "ops", DedupeKey: "kyc:" + id, Recipient: "ops", Body: "new"}
	}
	// Two at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"kyc_1", "kyc_2"} {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = ids.CreateKYC(ctx, k(id), ops(id)) }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !(errors.Is(errs[0], persistence.ErrKYCExists) || errors.Is(errs[1], persistence.ErrKYCExists)) {
		t.Fatalf("concurrent submissions: %v", errs)
	}
	live, err := ids.LatestKYC(ctx, u.ID)
	if err != nil || live.Status != "pending" {
		t.Fatalf("latest: %+v %v", live, err)
	}
	got, err := ids.ReviewKYC(ctx, persistence.KYCReview{ID: live.ID, Reason: "blurry", Actor: "ops", Now: now,
		Push: engine.OutboxMessage{Title: "no", Body: "no"}})
	if err != nil || got.Status != "rejected" || got.RejectionReason != "blurry" || got.ReviewedAt.IsZero() {
		t.Fatalf("reject: %+v %v", got, err)
	}
	if _, err := ids.ReviewKYC(ctx, persistence.KYCReview{ID: live.ID, Approve: true, Actor: "ops", Now: now}); !errors.Is(err, engine.ErrInvalidState) {
		t.Fatalf("second review: %v", err)
	}
	if _, err := ids.ReviewKYC(ctx, persistence.KYCReview{ID: "kyc_none", Approve: true, Actor: "ops", Now: now}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if u, _ := ids.User(ctx, u.ID); u.KYCStatus != "rejected" {
		t.Fatalf("user kyc_status %s", u.KYCStatus)
	}
	page, next, err := ids.ListKYC(ctx, "rejected", persistence.Page{})
	if err != nil || len(page) != 1 || next != "" {
		t.Fatalf("list: %v %q %v", page, next, err)
	}
	var pushes int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE channel = 'push' AND recipient = $1`, u.ID).Scan(&pushes); err != nil || pushes != 1 {
		t.Fatalf("%d pushes, %v", pushes, err)
	}
}
