package sim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// randomWorld drives a simulator with random provider traffic, faults
// included, so that a test can check that no money appeared or vanished.
type randomWorld struct {
	s      *started
	client *http.Client
	mu     sync.Mutex
	cards  []string // issuer card ids
}

var randomPhones = []string{
	"22990000011", "22990000012", "22990000013", "22990000014", "22991000000", "22991009999",
	"22996000021", "22996000022", "2290197000031", "22997000000",
}

func (w *randomWorld) step(r *rand.Rand, worker, i int) {
	ref := fmt.Sprintf("w%d-%d", worker, i)
	acct := w.s.cfg.Qosic[r.IntN(len(w.s.cfg.Qosic))]
	phone := randomPhones[r.IntN(len(randomPhones))]
	amount := strconv.Itoa(1 + r.IntN(60000))
	qosicAuth := map[string]string{"Authorization": basicAuth(acct.User, acct.Password)}
	flwAuth := map[string]string{"Authorization": "Bearer " + w.s.cfg.Flutterwave.SecretKey}
	post := func(path string, header map[string]string, body any) {
		_, _, _ = callWith(w.client, "POST", w.s.base+path, header, body)
	}
	switch op := r.IntN(12); op {
	case 0, 1:
		post("/QosicBridge/user/requestpayment", qosicAuth, payment(phone, amount, ref, acct.MTNClientID))
	case 2, 3:
		post("/QosicBridge/user/requestpaymentmv", qosicAuth, payment(phone, amount, ref, acct.MoovClientID))
	case 4:
		post("/QosicBridge/user/deposit", qosicAuth, payment(phone, amount, ref, acct.MTNClientID))
	case 5:
		post("/QosicBridge/user/settlement", qosicAuth, map[string]any{"transref": ref, "amount": amount, "clientid": acct.MoovClientID})
	case 6:
		w.create(r, ref, flwAuth)
	case 7, 8:
		if id := w.randomCard(r); id != "" {
			kind := []string{"fund", "withdraw"}[r.IntN(2)]
			post("/v3/virtual-cards/"+id+"/"+kind, flwAuth, map[string]any{"amount": fmt.Sprintf("%d.%02d", r.IntN(40), r.IntN(100)), "reference": ref})
		}
	case 9:
		if id := w.randomCard(r); id != "" {
			_, _, _ = w.s.spend(id, int64(1+r.IntN(3000)), "Shop")
		}
	case 10:
		if id := w.randomCard(r); id != "" {
			action := []string{"status/block", "status/unblock", "terminate"}[r.IntN(3)]
			_, _, _ = callWith(w.client, "PUT", w.s.base+"/v3/virtual-cards/"+id+"/"+action, flwAuth, nil)
		}
	case 11:
		w.s.DepositFloat(int64(r.IntN(5000)))
	}
}

func (w *randomWorld) create(r *rand.Rand, ref string, auth map[string]string) {
	amount := fmt.Sprintf("%d.%02d", 1+r.IntN(80), r.IntN(100))
	body := map[string]any{"currency": "USD", "amount": amount, "billing_name": "Rand", "reference": ref, "card_reference": "card_" + ref}
	status, out, err := callWith(w.client, "POST", w.s.base+"/v3/virtual-cards", auth, body)
	if err != nil || status != http.StatusOK {
		return
	}
	var resp struct {
		Data flwCard `json:"data"`
	}
	if decodeErr := json.Unmarshal(out, &resp); decodeErr == nil {
		w.mu.Lock()
		w.cards = append(w.cards, resp.Data.ID)
		w.mu.Unlock()
	}
}

func (w *randomWorld) randomCard(r *rand.Rand) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.cards) == 0 {
		return ""
	}
	return w.cards[r.IntN(len(w.cards))]
}

// TestBooksBalanceAfterRandomRun: money in = money out + balances, in both
// currencies, after concurrent random traffic with failures and timeouts.
func TestBooksBalanceAfterRandomRun(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{
		IssuerFloat: "2000.00", AsyncDelay: 5 * time.Millisecond, SweepDelay: 5 * time.Millisecond,
		TimeoutHang: 500 * time.Millisecond, WebhookURL: hooks.URL, Seed: 42,
	})
	go func() { // the engine side: accept every webhook
		for range hooks.events {
		}
	}()
	for _, target := range []string{TargetMomoCollect, TargetMomoPayout, TargetIssuerCreate, TargetIssuerFund, TargetIssuerWithdraw} {
		s.setFault(t, map[string]any{"target": target, "fail_rate": 0.1, "timeout_rate": 0.05, "latency_ms": []int{0, 2}})
	}
	s.setFault(t, map[string]any{"target": TargetWebhooks, "fail_rate": 0.1, "timeout_rate": 0.1, "duplicate_rate": 0.1, "reorder_rate": 0.1})

	w := &randomWorld{s: s, client: &http.Client{Timeout: 100 * time.Millisecond}}
	const workers, steps = 8, 150
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(k), 7))
			for i := 0; i < steps; i++ {
				w.step(r, k, i)
			}
		}(k)
	}
	wg.Wait()
	s.waitSettled(t)

	b := s.Books()
	if err := b.Check(); err != nil {
		t.Fatalf("%v\n%+v", err, b)
	}
	if b.Collections == 0 || b.Settled == 0 || b.Cards == 0 || b.Spent == 0 || b.Wallets == b.InitialWallets {
		t.Fatalf("the run exercised too little: %+v", b)
	}
	_, out := call(t, "GET", s.base+"/sim/books", nil, nil)
	if r := decode[map[string]any](t, out); r["ok"] != true {
		t.Fatalf("/sim/books: %s", out)
	}
	assertStateMatchesBooks(t, s.state(t), b)
}

// assertStateMatchesBooks checks that /sim/state adds up to the totals.
func assertStateMatchesBooks(t *testing.T, st State, b Books) {
	t.Helper()
	sum := func(amounts []string, parse func(string) (int64, error)) int64 {
		var total int64
		for _, a := range amounts {
			n, err := parse(a)
			if err != nil {
				t.Fatalf("amount %q: %v", a, err)
			}
			total += n
		}
		return total
	}
	parseInt := func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	var wallets, providers, cards []string
	for _, x := range st.Momo.Wallets {
		wallets = append(wallets, x.Balance.Amount)
	}
	for _, x := range st.Momo.Providers {
		providers = append(providers, x.Balance.Amount)
	}
	for _, x := range st.Issuer.Cards {
		cards = append(cards, x.Balance.Amount)
	}
	if got := sum(wallets, parseInt); got != b.Wallets {
		t.Fatalf("state wallets %d, books %d", got, b.Wallets)
	}
	if got := sum(providers, parseInt); got != b.Collections {
		t.Fatalf("state collections %d, books %d", got, b.Collections)
	}
	if got := sum(cards, parseCents); got != b.Cards {
		t.Fatalf("state cards %d, books %d", got, b.Cards)
	}
	if got := sum([]string{st.Issuer.Float.Amount}, parseCents); got != b.Float {
		t.Fatalf("state float %d, books %d", got, b.Float)
	}
}
