package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kash/bench/apiclient"
	"kash/bench/sim"
	"kash/persistence/pgtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// startKashd runs kashd's main loop in process with the embedded simulator
// on a fresh database, and returns a client of both.
func startKashd(t *testing.T) *apiclient.Client {
	t.Helper()
	api, simAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"KASH_SIM_ASYNC_DELAY_MS": "100"}
	cfg := config{HTTPAddr: api, DatabaseURL: pgtest.NewURL(t), DataDir: t.TempDir(), AdminToken: "ops-token",
		Dev: true, SimAddr: simAddr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v after cancel", err)
			}
		case <-time.After(time.Minute):
			t.Error("run did not return after its context ended")
		}
	})
	c := apiclient.New("http://"+api, "http://"+simAddr, "ops-token")
	waitReady(t, c, done)
	return c
}

func waitReady(t *testing.T, c *apiclient.Client, done <-chan error) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < time.Minute {
		select {
		case err := <-done:
			t.Fatalf("kashd exited before becoming ready: %v", err)
		default:
		}
		if c.Ready() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("kashd never became ready")
	return 0
}

// A newcomer's purchase, end to end through kashd and the simulator over
// HTTP: OTP from the SMS inbox, KYC, ops approval, a card bought with MTN
// (the payer approves on the phone), a spend, a withdrawal; the books agree.
func TestPurchaseThroughKashd(t *testing.T) {
	c := startKashd(t)
	if status, body := get(t, c.API+"/metrics"); status != 200 || !strings.Contains(body, "kash_treasury_float_available") {
		t.Fatalf("/metrics: %d", status)
	}
	token, err := c.Login("+22997000101")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(token); err != nil {
		t.Fatal(err)
	}
	card, f, err := c.IssueCard(token, "buy-1", "25.00", "+22997000101", "mtn-bj")
	if err != nil {
		t.Fatal(err)
	}
	if f, err = c.WaitFunding(token, f.ID, 20); err != nil || f.Status != "succeeded" {
		t.Fatalf("issuance: %+v %v", f, err)
	}
	if ok, err := c.Spend(card.ID, "5.00"); err != nil || !ok {
		t.Fatalf("spend: %v %v", ok, err)
	}
	w, err := c.Withdraw(token, "wd-1", card.ID, "10.00", "+22996000101", "moov-bj")
	if err != nil {
		t.Fatal(err)
	}
	if w, err = c.WaitWithdrawal(token, w.ID, 20); err != nil || w.Status != "succeeded" {
		t.Fatalf("withdrawal: %+v %v", w, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		card, err = c.Card(token, card.ID)
		if err == nil && card.Balance.Amount == "10.00" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if card.Balance.Amount != "10.00" {
		t.Fatalf("balance %s, want 10.00 (25 − 5 spent − 10 withdrawn)", card.Balance.Amount)
	}
	checkBooks(t, c)
}

func checkBooks(t *testing.T, c *apiclient.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lc, err1 := c.LedgerCheck()
		rc, err2 := c.Reconcile()
		if err1 == nil && err2 == nil && lc.OK && rc.OK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("books disagree: ledger %+v (%v), reconciliation %+v (%v)", lc, err1, rc, err2)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kashd is killed with SIGKILL while payments are in flight, twice; each
// time it is ready again quickly, and afterwards every saga is final,
// nothing is lost or duplicated, and the books agree with the providers'.
func TestKashdRecoversFromSIGKILL(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kashd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build kashd: %v\n%s", err, out)
	}
	api, simAddr := freeAddr(t), freeAddr(t)
	const secret = "sigkill-webhook-secret"
	simCfg := sim.DefaultConfig()
	simCfg.WebhookURL, simCfg.WebhookSecret, simCfg.AsyncDelay = "http://"+api, secret, 300*time.Millisecond
	s := sim.New(simCfg)
	ln, err := net.Listen("tcp", simAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })

	dbURL := pgtest.NewURL(t)
	dataDir := t.TempDir()
	start := func() (*exec.Cmd, <-chan error) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "KASH_HTTP_ADDR="+api, "KASH_DATABASE_URL="+dbURL, "KASH_DATA_DIR="+dataDir,
			"KASH_DEV=true", "KASH_ADMIN_TOKEN=ops-token", "KASH_WEBHOOK_SECRET="+secret, "KASH_SIM_URL=http://"+simAddr)
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done
	}
	c := apiclient.New("http://"+api, "http://"+simAddr, "ops-token")
	cmd, done := start()
	waitReady(t, c, done)

	type user struct{ token, card string }
	users := make([]user, 8)
	for i := range users {
		phone := fmt.Sprintf("+229970002%02d", i)
		tok, err := c.Login(phone)
		if err == nil {
			err = c.Verify(tok)
		}
		if err != nil {
			t.Fatal(err)
		}
		card, f, err := c.IssueCard(tok, "buy", "20.00", phone, "moov-bj")
		if err != nil {
			t.Fatal(err)
		}
		if f, err = c.WaitFunding(tok, f.ID, 20); err != nil || f.Status != "succeeded" {
			t.Fatalf("issuance: %+v %v", f, err)
		}
		users[i] = user{tok, card.ID}
	}

	// Load while kashd dies: MTN fundings (pending on the payer's phone) and
	// withdrawals, each retried with its Idempotency-Key until accepted.
	var fundings, withdrawals sync.Map
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 6 {
				key := fmt.Sprintf("op-%d-%d", i, j)
				for attempt := 0; attempt < 200; attempt++ {
					var id string
					var err error
					if j%2 == 0 {
						var f apiclient.Funding
						f, err = c.Fund(u.token, key, u.card, "5.00", fmt.Sprintf("+229970003%02d", i), "mtn-bj")
						id = f.ID
					} else {
						var w apiclient.Withdrawal
						w, err = c.Withdraw(u.token, key, u.card, "1.00", fmt.Sprintf("+229960003%02d", i), "moov-bj")
						id = w.ID
					}
					if err == nil {
						if j%2 == 0 {
							fundings.Store(id, u.token)
						} else {
							withdrawals.Store(id, u.token)
						}
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	var recoveries []time.Duration
	for range 2 {
		time.Sleep(400 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		cmd, done = start()
		recoveries = append(recoveries, waitReady(t, c, done))
	}
	wg.Wait()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-done })
	for i, d := range recoveries {
		t.Logf("recovery %d: ready %s after restart", i+1, d.Round(time.Millisecond))
		if d > 10*time.Second {
			t.Errorf("recovery %d took %s, want under 10 s", i+1, d)
		}
	}
	final := func(m *sync.Map, wait func(tok, id string) (string, error)) {
		m.Range(func(k, v any) bool {
			status, err := wait(v.(string), k.(string))
			if err != nil || !apiclient.Final(status) {
				t.Errorf("%s still %q after recovery (%v)", k, status, err)
			}
			return true
		})
	}
	final(&fundings, func(tok, id string) (string, error) { f, err := c.WaitFunding(tok, id, 30); return f.Status, err })
	final(&withdrawals, func(tok, id string) (string, error) { w, err := c.WaitWithdrawal(tok, id, 30); return w.Status, err })
	checkBooks(t, c)
}
