package sim

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"
)

// slowWorld is a configuration under which nothing scheduled happens
// during a test: approvals and settlements stay in flight.
func slowWorld(file string) Config {
	return Config{StateFile: file, IssuerFloat: "1000.00", AsyncDelay: time.Hour, SweepDelay: time.Hour, Seed: 7}
}

// observed is everything a client can see of the world.
type observed struct {
	State     State
	Books     Books
	Cards     map[string]string // issuer card id → card object and transactions, raw
	Refs      map[string]string // issuer reference → the references endpoint's answer, raw
	Momo      map[string]qosicResponse
	Inbox     map[string]string // /sim/sms, /sim/push, /sim/ops, raw
	Float     string
	Scheduled int64 // Settling: approvals and settlements scheduled
}

// worldRefs names what observe looks at.
type worldRefs struct {
	cards      []string
	issuerRefs []string
	momo       map[string][]string // account name → transrefs
}

func (s *started) observe(t *testing.T, refs worldRefs) observed {
	t.Helper()
	o := observed{State: s.State(), Books: s.Books(), Cards: map[string]string{}, Refs: map[string]string{},
		Momo: map[string]qosicResponse{}, Inbox: map[string]string{}, Float: s.floatCents(t), Scheduled: s.Settling()}
	for _, id := range refs.cards {
		_, card := s.flw(t, "GET", "/virtual-cards/"+id, nil)
		_, txns := s.flw(t, "GET", "/virtual-cards/"+id+"/transactions?size=100", nil)
		o.Cards[id] = string(card.Data) + " " + string(txns.Data)
	}
	for _, ref := range refs.issuerRefs {
		status, r := s.flw(t, "GET", "/virtual-cards/references/"+ref, nil)
		o.Refs[ref] = strconv.Itoa(status) + " " + string(r.Data)
	}
	for _, a := range s.cfg.Qosic {
		for _, ref := range refs.momo[a.Name] {
			_, r := s.qosicAs(t, a, "gettransactionstatus", map[string]any{"transref": ref, "clientid": a.MTNClientID})
			o.Momo[a.Name+"/"+ref] = r
		}
	}
	for _, p := range []string{"/sim/sms", "/sim/push", "/sim/ops"} {
		_, out := call(t, "GET", s.base+p, nil, nil)
		o.Inbox[p] = string(out)
	}
	return o
}

func wantOK(t *testing.T, what string, status int, r flwResponseOf) {
	t.Helper()
	if status != http.StatusOK || r.Status != "success" {
		t.Fatalf("%s: %d %+v", what, status, r)
	}
}

// buildWorld exercises every kind of record the state file keeps.
func buildWorld(t *testing.T, s *started) worldRefs {
	t.Helper()
	q, q2 := s.cfg.Qosic[0], s.cfg.Qosic[1]
	momo := []struct {
		acct MomoAccount
		op   string
		body map[string]any
		code string
	}{
		{q, "requestpaymentmv", payment("22990000001", "5000", "m-ok", q.MoovClientID), "0"},
		{q, "requestpaymentmv", payment("22990010000", "5000", "m-short", q.MoovClientID), "8"},
		{q2, "requestpaymentmv", payment("22990000002", "3000", "m-ok2", q2.MoovClientID), "0"},
		{q2, "requestpayment", payment("22990000003", "700", "p-pending", q2.MTNClientID), "01"},
		{q2, "requestpayment", payment("22990009999", "800", "p-never", q2.MTNClientID), "01"},
		{q, "deposit", payment("22990000004", "1000", "d-ok", q.MTNClientID), "00"},
		{q2, "depositmv", payment("22990000004", "999999", "d-short", q2.MoovClientID), "-1"},
		{q, "settlement", map[string]any{"transref": "s-flight", "amount": "1200", "clientid": q.MTNClientID}, "01"},
	}
	refs := worldRefs{momo: map[string][]string{}}
	for _, m := range momo {
		if _, r := s.qosicAs(t, m.acct, m.op, m.body); r.ResponseCode != m.code {
			t.Fatalf("%s %v: %+v, want %s", m.op, m.body, r, m.code)
		}
		refs.momo[m.acct.Name] = append(refs.momo[m.acct.Name], m.body["transref"].(string))
	}
	refs.momo[q.Name] = append(refs.momo[q.Name], "never-sent")

	c1 := s.createCardOK(t, "iss-1", "card_1", "25.00")
	c2 := s.createCardOK(t, "iss-2", "card_2", "5.00")
	c3 := s.createCardOK(t, "iss-3", "card_3", "7.50")
	status, r := s.flw(t, "POST", "/virtual-cards/"+c1.ID+"/fund", map[string]any{"amount": "10", "reference": "fnd-1"})
	wantOK(t, "fund", status, r)
	status, r = s.flw(t, "POST", "/virtual-cards/"+c1.ID+"/withdraw", map[string]any{"amount": "4.25", "reference": "wdr-1"})
	wantOK(t, "withdraw", status, r)
	if status, _ := s.flw(t, "POST", "/virtual-cards/"+c1.ID+"/withdraw", map[string]any{"amount": "999", "reference": "wdr-short"}); status != http.StatusBadRequest {
		t.Fatalf("withdraw beyond the balance: %d", status)
	}
	s.expectSpend(t, "card_1", "3.10", true, "")
	s.expectSpend(t, "card_1", "900.00", false, declineInsufficient)
	status, r = s.flw(t, "PUT", "/virtual-cards/"+c2.ID+"/status/block", map[string]any{"reference": "blk-2"})
	wantOK(t, "block", status, r)
	status, r = s.flw(t, "PUT", "/virtual-cards/"+c3.ID+"/terminate", map[string]any{"reference": "trm-3"})
	wantOK(t, "terminate", status, r)
	s.DepositFloat(12345)
	refs.cards = []string{c1.ID, c2.ID, c3.ID}
	refs.issuerRefs = []string{"iss-1", "iss-2", "iss-3", "fnd-1", "wdr-1", "wdr-short", "blk-2", "trm-3", "nothing"}

	if status, out := s.sendSMS(t, map[string]any{"originator": "Kash", "recipients": []any{"22990000001", "22990000002"}, "body": "Your code is 123456", "reference": "otp-1"}); status != http.StatusCreated {
		t.Fatalf("sms: %d %s", status, out)
	}
	push := map[string]any{"app_id": s.cfg.OneSignal.AppID, "include_external_user_ids": []string{"usr_1"}, "headings": map[string]string{"en": "Funded"},
		"contents": map[string]string{"en": "Your card was funded"}, "external_id": "push-1"}
	if status, out := call(t, "POST", s.base+"/api/v1/notifications", map[string]string{"Authorization": "Key " + s.cfg.OneSignal.RESTKey}, push); status != http.StatusOK {
		t.Fatalf("push: %d %s", status, out)
	}
	if status, out := call(t, "POST", s.base+s.cfg.SlackPath, nil, map[string]any{"text": "float low"}); status != http.StatusOK {
		t.Fatalf("ops: %d %s", status, out)
	}
	return refs
}

// TestStateFileRoundTripKeepsTheWorld: a world saved on Close and loaded by
// the next start looks the same in every respect a client can see, and
// the references it applied stay applied: re-sending them moves no money.
func TestStateFileRoundTripKeepsTheWorld(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sim-state.json")
	cfg := slowWorld(file)
	first := startSim(t, cfg)
	refs := buildWorld(t, first)
	before := first.observe(t, refs)
	if err := before.Books.Check(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v, want mode 0600", info, err)
	}

	second := startSim(t, cfg)
	after := second.observe(t, refs)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("the world changed across a restart:\nbefore %+v\nafter  %+v", before, after)
	}
	// The pending MTN collection and the settlement in flight are scheduled
	// again; the payer who never approves is not.
	if before.Scheduled != 2 || after.Scheduled != 2 {
		t.Fatalf("scheduled before %d, after %d, want 2", before.Scheduled, after.Scheduled)
	}

	resendApplied(t, second)
	if again := second.observe(t, refs); !reflect.DeepEqual(before, again) {
		t.Fatalf("re-sent references changed the world:\nbefore %+v\nafter  %+v", before, again)
	}
}

// resendApplied repeats requests whose references the world already holds.
func resendApplied(t *testing.T, s *started) {
	t.Helper()
	q, q2 := s.cfg.Qosic[0], s.cfg.Qosic[1]
	if status, r := s.qosicAs(t, q, "requestpaymentmv", payment("22990000001", "5000", "m-ok", q.MoovClientID)); status != http.StatusOK || r.ResponseCode != "0" {
		t.Fatalf("repeated collection: %d %+v", status, r)
	}
	if _, r := s.qosicAs(t, q, "deposit", payment("22990000004", "1000", "d-ok", q.MTNClientID)); r.ResponseCode != "00" {
		t.Fatalf("repeated payout: %+v", r)
	}
	if status, r := s.qosicAs(t, q2, "requestpayment", payment("22990000003", "700", "p-pending", q2.MTNClientID)); status != http.StatusOK || r.ResponseCode != "01" {
		t.Fatalf("repeated pending collection: %d %+v", status, r)
	}
	if status, r := s.qosicAs(t, q, "deposit", payment("22990000004", "1000", "m-ok", q.MTNClientID)); status != http.StatusConflict {
		t.Fatalf("a transref reused for another kind: %d %+v", status, r)
	}
	status, r := s.flw(t, "POST", "/virtual-cards", createBody("iss-1", "card_1", "25.00"))
	wantOK(t, "repeated create", status, r)
	if c := decode[flwCard](t, r.Data); c.CardReference != "card_1" {
		t.Fatalf("repeated create answered %+v", c)
	}
	card := decode[flwCard](t, r.Data)
	status, r = s.flw(t, "POST", "/virtual-cards/"+card.ID+"/fund", map[string]any{"amount": "10", "reference": "fnd-1"})
	wantOK(t, "repeated fund", status, r)
	if status, _ := s.flw(t, "POST", "/virtual-cards/"+card.ID+"/withdraw", map[string]any{"amount": "1", "reference": "fnd-1"}); status != http.StatusConflict {
		t.Fatalf("an issuer reference reused for another operation: %d", status)
	}
	if status, out := s.sendSMS(t, map[string]any{"originator": "Kash", "recipients": []any{"22990000001"}, "body": "again", "reference": "otp-1"}); status != http.StatusCreated {
		t.Fatalf("repeated sms: %d %s", status, out)
	}
}

// TestPendingApprovalSurvivesARestart: an MTN collection awaiting its payer
// and a settlement on its way when the simulator stops complete after the
// next start, with their webhooks.
func TestPendingApprovalSurvivesARestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sim-state.json")
	first := startSim(t, slowWorld(file))
	q := first.cfg.Qosic[0]
	if status, r := first.qosic(t, "requestpaymentmv", payment("22991000001", "9000", "fill", q.MoovClientID)); status != http.StatusOK || r.ResponseCode != "0" {
		t.Fatalf("collection: %d %+v", status, r)
	}
	status, pending := first.qosic(t, "requestpayment", payment("22991000002", "4000", "approve-later", q.MTNClientID))
	if status != http.StatusAccepted || pending.ResponseCode != "01" {
		t.Fatalf("MTN collection: %d %+v", status, pending)
	}
	if _, r := first.qosic(t, "settlement", map[string]any{"transref": "sweep-later", "amount": "6000", "clientid": q.MTNClientID}); r.ResponseCode != "01" {
		t.Fatalf("settlement: %+v", r)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	hooks := startHookServer(t)
	cfg := slowWorld(file)
	cfg.AsyncDelay, cfg.SweepDelay, cfg.WebhookURL = 10*time.Millisecond, 10*time.Millisecond, hooks.URL
	second := startSim(t, cfg)
	second.waitSettled(t)

	if _, r := second.qosic(t, "gettransactionstatus", map[string]any{"transref": "approve-later", "clientid": q.MTNClientID}); r.ResponseCode != "00" || r.ServiceRef != pending.ServiceRef {
		t.Fatalf("collection after the restart: %+v, want 00 with serviceref %s", r, pending.ServiceRef)
	}
	if _, r := second.qosic(t, "gettransactionstatus", map[string]any{"transref": "sweep-later", "clientid": q.MTNClientID}); r.ResponseCode != "00" {
		t.Fatalf("settlement after the restart: %+v", r)
	}
	seen := map[string]map[string]string{}
	for len(seen) < 2 {
		h := hooks.next(t)
		h.verify(t)
		seen[h.Event.Type] = h.Event.Data
	}
	if d := seen[EventPaymentStatus]; d["transref"] != "approve-later" || d["status"] != "succeeded" {
		t.Fatalf("payment.status %v", d)
	}
	if d := seen[EventFloatCredited]; d["reference"] != "sweep-later" || d["amount"] != "10.00" || d["source"] != "sweep" {
		t.Fatalf("issuer.float_credited %v", d)
	}
	if got := second.walletBalance(t, "+22991000002"); got != "996000" {
		t.Fatalf("payer's wallet %s, want 996000", got)
	}
	if got := second.collection(t, q.Name); got != "7000" {
		t.Fatalf("collection %s, want 9000 + 4000 - 6000", got)
	}
	if got := second.floatCents(t); got != "1010.00" {
		t.Fatalf("float %s, want 1010.00", got)
	}
	if err := second.Books().Check(); err != nil {
		t.Fatal(err)
	}
}

// issuedIDs are the ids one run of the simulator handed out.
type issuedIDs []string

// issueIDs makes the simulator hand out one id of every kind, with
// references unique to run.
func issueIDs(t *testing.T, s *started, hooks *hookServer, run string) issuedIDs {
	t.Helper()
	var ids issuedIDs
	q := s.cfg.Qosic[0]
	_, r := s.qosic(t, "requestpaymentmv", payment("22992000001", "100", "moov-"+run, q.MoovClientID))
	_, mtn := s.qosic(t, "requestpayment", payment("22992000001", "100", "mtn-"+run, q.MTNClientID))
	ids = append(ids, r.ServiceRef, mtn.ServiceRef)
	c := s.createCardOK(t, "iss-"+run, "card_"+run, "3.00")
	ids = append(ids, c.ID)
	s.expectSpend(t, "card_"+run, "1.00", true, "")
	s.DepositFloat(100)
	_, txns := s.flw(t, "GET", "/virtual-cards/"+c.ID+"/transactions", nil)
	for _, txn := range decode[[]flwTxn](t, txns.Data) {
		ids = append(ids, "txn "+strconv.FormatInt(txn.ID, 10))
	}
	_, out := s.sendSMS(t, map[string]any{"originator": "Kash", "recipients": []any{"22992000001"}, "body": "hi", "reference": "sms-" + run})
	ids = append(ids, decode[map[string]any](t, out)["id"].(string))
	for got := 0; got < 3; got++ { // payment.status, card.spend, issuer.float_credited
		h := hooks.next(t)
		ids = append(ids, h.Event.ID)
		if ref := h.Event.Data["reference"]; h.Event.Type == EventFloatCredited {
			ids = append(ids, ref)
		}
	}
	return ids
}

// TestIdsNeverRepeatAcrossRestarts: ids handed out after a restart differ
// from those handed out before, whether the world was saved or lost, and
// even with the same explicit seed.
func TestIdsNeverRepeatAcrossRestarts(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sim-state.json")
	hooks := startHookServer(t)
	cfg := Config{StateFile: file, AsyncDelay: time.Millisecond, WebhookURL: hooks.URL, WebhookSecret: testSecret, Seed: 3}
	seen := map[string]string{}
	for run, loseState := range []bool{false, false, true} {
		if loseState {
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
		}
		s := startSim(t, cfg)
		name := "run" + strconv.Itoa(run)
		ids := issueIDs(t, s, hooks, name)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id == "" {
				t.Fatalf("%s: an empty id among %v", name, ids)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("%s handed out %q again (first in %s)", name, id, prev)
			}
			seen[id] = name
		}
	}
}

// TestCardDataIsReproducibleOnlyWithAnExplicitSeed: PAN and CVV follow an
// explicit seed; without one every start draws its own. Card ids differ
// either way.
func TestCardDataIsReproducibleOnlyWithAnExplicitSeed(t *testing.T) {
	t.Parallel()
	first := func(seed uint64) flwCard {
		s := startSim(t, Config{Seed: seed})
		return s.createCardOK(t, "iss", "card", "1.00")
	}
	a, b := first(11), first(11)
	if a.CardPAN != b.CardPAN || a.CVV != b.CVV || a.ID == b.ID {
		t.Fatalf("seed 11 twice: %s/%s %s/%s ids %s %s", a.CardPAN, b.CardPAN, a.CVV, b.CVV, a.ID, b.ID)
	}
	if c, d := first(0), first(0); c.CardPAN == d.CardPAN || c.ID == d.ID {
		t.Fatalf("unseeded starts gave the same card data: %s %s", c.CardPAN, c.ID)
	}
}

// TestUnusableStateFileStopsTheStart: a file that is not a balanced world
// of this configuration is an error, and is left as it is.
func TestUnusableStateFileStopsTheStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	s := startSim(t, slowWorld(good))
	buildWorld(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	saved, found, err := readStateFile(good)
	if err != nil || !found {
		t.Fatalf("read back: %v %v", found, err)
	}
	unbalanced := *saved
	unbalanced.Issuer.Float++
	alien := *saved
	alien.Momo.Accounts = append([]savedAccount{{Name: "elsewhere"}}, saved.Momo.Accounts...)
	future := *saved
	future.Version = stateVersion + 1
	cases := map[string][]byte{"garbage": []byte("{\"version\":1,"), "empty": nil, "trailing": []byte("{\"version\":1} {}")}
	for name, w := range map[string]savedWorld{"unbalanced": unbalanced, "alien": alien, "future": future} {
		raw, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		cases[name] = raw
	}
	for name, raw := range cases {
		file := filepath.Join(dir, name+".json")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(slowWorld(file)); !errors.Is(err, ErrStateFile) {
			t.Fatalf("%s: Open returned %v, want ErrStateFile", name, err)
		}
		if name == "unbalanced" {
			if _, err := Open(slowWorld(file)); !errors.Is(err, ErrUnbalanced) {
				t.Fatalf("unbalanced: %v does not say why", err)
			}
		}
		refusesToServe(t, slowWorld(file))
		if after, _ := os.ReadFile(file); string(after) != string(raw) {
			t.Fatalf("%s: the file was rewritten", name)
		}
	}
}

// refusesToServe checks that New, which cannot return the load error,
// gives a simulator that will not serve and never saves.
func refusesToServe(t *testing.T, cfg Config) {
	t.Helper()
	s := New(cfg)
	s.DepositFloat(100) // a change that must not reach the file
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrStateFile) {
		t.Fatalf("Serve returned %v, want ErrStateFile", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMissingStateFileIsAFreshWorldSavedWhileRunning(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "later", "sim-state.json")
	s := startSim(t, Config{StateFile: file})
	if st := s.state(t); st.Issuer.Float.Amount != "100000.00" || len(st.Issuer.Cards) != 0 || len(st.Momo.Wallets) != 0 {
		t.Fatalf("fresh world %+v", st)
	}
	s.DepositFloat(250)
	// The saver writes a changed world without waiting for Close.
	deadline := time.Now().Add(20 * time.Second)
	for {
		saved, found, err := readStateFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if found && saved.Issuer.Deposits == 250 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the changed world was not saved")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSnapshotsBalanceUnderConcurrentTraffic: a snapshot taken while
// requests move money is still a balanced world, which a new simulator
// loads.
func TestSnapshotsBalanceUnderConcurrentTraffic(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{IssuerFloat: "2000.00", AsyncDelay: time.Millisecond, SweepDelay: time.Millisecond, Seed: 5})
	w := &randomWorld{s: s, client: &http.Client{Timeout: 2 * time.Second}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := 0; k < 4; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(k), 11))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				w.step(r, k, i)
			}
		}(k)
	}
	dir := t.TempDir()
	var moved int
	for i := 0; i < 20; i++ {
		file := filepath.Join(dir, "snap-"+strconv.Itoa(i)+".json")
		if err := writeStateFile(file, s.snapshot()); err != nil {
			t.Fatal(err)
		}
		loaded, err := Open(Config{StateFile: file, AsyncDelay: time.Hour, SweepDelay: time.Hour})
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("snapshot %d: %v", i, err)
		}
		if b := loaded.Books(); b.Collections > 0 || b.Cards > 0 {
			moved++
		}
		_ = loaded.Close()
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if moved == 0 {
		t.Fatal("no snapshot saw any money move: the test exercised nothing")
	}
}
