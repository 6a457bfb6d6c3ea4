package sim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func createBody(ref, cardRef string, amount any) map[string]any {
	return map[string]any{"currency": "USD", "amount": amount, "billing_name": "Ada Kash", "debit_currency": "USD", "reference": ref, "card_reference": cardRef}
}

// createCardOK creates a card and returns the issuer's card object.
func (s *started) createCardOK(t *testing.T, ref, cardRef string, amount any) flwCard {
	t.Helper()
	status, r := s.flw(t, "POST", "/virtual-cards", createBody(ref, cardRef, amount))
	if status != http.StatusOK || r.Status != "success" {
		t.Fatalf("create: %d %+v", status, r)
	}
	return decode[flwCard](t, r.Data)
}

func (s *started) floatCents(t *testing.T) string {
	t.Helper()
	_, r := s.flw(t, "GET", "/balances/USD", nil)
	var b struct {
		Available json.Number `json:"available_balance"`
	}
	if err := json.Unmarshal(r.Data, &b); err != nil {
		t.Fatalf("balance %s: %v", r.Data, err)
	}
	return b.Available.String()
}

func TestFlutterwaveRefusesWrongSecretKey(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	status, out := call(t, "GET", s.base+"/v3/balances/USD", map[string]string{"Authorization": "Bearer wrong"}, nil)
	r := decode[flwResponseOf](t, out)
	if status != http.StatusUnauthorized || r.Status != "error" {
		t.Fatalf("got %d %s", status, out)
	}
}

func TestCreateCardIsIdempotentByReference(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	c := s.createCardOK(t, "iss-1", "card_A", 25)
	if c.Amount != "25.00" || c.Status != "active" || !c.IsActive || c.CardReference != "card_A" || c.Reference != "iss-1" ||
		len(c.CardPAN) != 16 || len(c.CVV) != 3 || c.MaskedPAN != c.CardPAN[:6]+"*******"+c.CardPAN[12:] {
		t.Fatalf("card %+v", c)
	}
	if luhnCheckDigit(c.CardPAN[:15]) != int(c.CardPAN[15]-'0') {
		t.Fatalf("PAN %s fails the Luhn check", c.CardPAN)
	}
	again := s.createCardOK(t, "iss-1", "card_A", 25)
	if again.ID != c.ID {
		t.Fatalf("repeated reference made a second card: %s then %s", c.ID, again.ID)
	}
	if got := s.floatCents(t); got != "99975.00" {
		t.Fatalf("float %s, want 99975.00", got)
	}
	if status, r := s.flw(t, "POST", "/virtual-cards", createBody("iss-1", "card_B", 25)); status != http.StatusConflict || r.Status != "error" {
		t.Fatalf("reference reused for another card: %d %+v", status, r)
	}
	st := s.state(t)
	if len(st.Issuer.Cards) != 1 || st.Issuer.Cards[0].Card != "card_A" || st.Issuer.Cards[0].Balance.Amount != "25.00" {
		t.Fatalf("state %+v", st.Issuer)
	}
}

func TestCreateCardValidatesAndNeedsFloat(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{IssuerFloat: "10.00"})
	bad := []map[string]any{
		createBody("v1", "c", 10.555),
		createBody("v2", "c", 0),
		createBody("v3", "c", -5),
		{"currency": "NGN", "amount": 5, "billing_name": "A", "reference": "v4", "card_reference": "c"},
		{"currency": "USD", "amount": 5, "billing_name": "A", "card_reference": "c"},
	}
	for i, b := range bad {
		if status, r := s.flw(t, "POST", "/virtual-cards", b); status != http.StatusBadRequest || r.Status != "error" {
			t.Fatalf("case %d: %d %+v", i, status, r)
		}
	}
	status, r := s.flw(t, "POST", "/virtual-cards", createBody("big", "c", "10.01"))
	if status != http.StatusBadRequest || r.Message != msgInsufficientFloat {
		t.Fatalf("create beyond float: %d %+v", status, r)
	}
	// The failure is the reference's outcome, even once float arrives.
	s.DepositFloat(1000)
	if status, r := s.flw(t, "POST", "/virtual-cards", createBody("big", "c", "10.01")); status != http.StatusBadRequest || r.Message != msgInsufficientFloat {
		t.Fatalf("retry of a failed create: %d %+v", status, r)
	}
	_, op := s.flw(t, "GET", "/virtual-cards/references/big", nil)
	if o := decode[flwOperation](t, op.Data); o.Status != "failed" || o.Message != msgInsufficientFloat || o.Operation != "create" {
		t.Fatalf("operation %+v", o)
	}
	s.createCardOK(t, "small", "c", "10.01")
}

func TestFundWithdrawBlockTerminateLifecycle(t *testing.T) {
	t.Parallel()
	hooks := startHookServer(t)
	s := startSim(t, Config{WebhookURL: hooks.URL})
	c := s.createCardOK(t, "iss", "card_L", "20.00")
	path := "/virtual-cards/" + c.ID

	for i := 0; i < 2; i++ {
		if status, r := s.flw(t, "POST", path+"/fund", map[string]any{"amount": 10.5, "debit_currency": "USD", "reference": "fund-1"}); status != http.StatusOK || r.Message != "Card funded successfully" {
			t.Fatalf("fund %d: %d %+v", i, status, r)
		}
	}
	if status, r := s.flw(t, "POST", path+"/withdraw", map[string]any{"amount": "100", "reference": "wd-big"}); status != http.StatusBadRequest || r.Message != msgInsufficientCard {
		t.Fatalf("withdraw too much: %d %+v", status, r)
	}
	if status, r := s.flw(t, "POST", path+"/withdraw", map[string]any{"amount": "5.25", "reference": "wd-1"}); status != http.StatusOK || r.Message != "Card withdrawal successful" {
		t.Fatalf("withdraw: %d %+v", status, r)
	}
	if status, r := s.flw(t, "POST", path+"/withdraw", map[string]any{"amount": "5.25", "reference": "fund-1"}); status != http.StatusConflict {
		t.Fatalf("fund reference reused for a withdrawal: %d %+v", status, r)
	}
	_, got := s.flw(t, "GET", path, nil)
	if card := decode[flwCard](t, got.Data); card.Amount != "25.25" {
		t.Fatalf("balance %s, want 25.25", card.Amount)
	}

	// Blocked: spends are declined, funding still works.
	if status, r := s.flw(t, "PUT", path+"/status/block", nil); status != http.StatusOK || r.Message != "Card blocked successfully" {
		t.Fatalf("block: %d %+v", status, r)
	}
	s.expectSpend(t, "card_L", "1.00", false, declineBlocked)
	h := hooks.nextOf(t, EventCardDecline)
	h.verify(t)
	if d := h.Event.Data; d["card_reference"] != "card_L" || d["card_id"] != c.ID || d["reason"] != declineBlocked || d["amount"] != "1.00" || h.VerifHash == "" {
		t.Fatalf("decline webhook %+v", h.Event)
	}
	if status, _ := s.flw(t, "POST", path+"/fund", map[string]any{"amount": 1, "reference": "fund-blocked"}); status != http.StatusOK {
		t.Fatalf("fund a blocked card: %d", status)
	}
	if status, _ := s.flw(t, "PUT", path+"/status/unblock", map[string]any{"reference": "unblock-1"}); status != http.StatusOK {
		t.Fatalf("unblock: %d", status)
	}
	s.expectSpend(t, "card_L", "6.25", true, "")
	h = hooks.nextOf(t, EventCardSpend)
	h.verify(t)
	if d := h.Event.Data; d["balance"] != "20.00" || d["status"] != "successful" || d["merchant"] != "Netflix" {
		t.Fatalf("spend webhook %+v", h.Event)
	}
	s.expectSpend(t, c.ID, "20.01", false, declineInsufficient)

	floatBefore := s.floatCents(t)
	for i := 0; i < 2; i++ {
		if status, r := s.flw(t, "PUT", path+"/terminate", nil); status != http.StatusOK || r.Message != "Card terminated successfully" {
			t.Fatalf("terminate %d: %d %+v", i, status, r)
		}
	}
	if floatBefore != "99973.75" || s.floatCents(t) != "99993.75" {
		t.Fatalf("float %s before termination, %s after; want 99973.75 then 99993.75", floatBefore, s.floatCents(t))
	}
	if status, r := s.flw(t, "POST", path+"/fund", map[string]any{"amount": 1, "reference": "fund-late"}); status != http.StatusBadRequest || r.Message != msgTerminated {
		t.Fatalf("fund a terminated card: %d %+v", status, r)
	}
	if status, _ := s.flw(t, "PUT", path+"/status/unblock", nil); status != http.StatusBadRequest {
		t.Fatalf("unblock a terminated card: %d", status)
	}
	s.expectSpend(t, "card_L", "0.01", false, declineTerminated)

	_, list := s.flw(t, "GET", path+"/transactions?index=1&size=3", nil)
	txns := decode[[]flwTxn](t, list.Data)
	if len(txns) != 3 || txns[0].Type != txnDecline || txns[0].Status != "Failed" || txns[1].Type != txnTermination || txns[1].Indicator != "D" {
		t.Fatalf("transactions %+v", txns)
	}
	if err := s.Books().Check(); err != nil {
		t.Fatal(err)
	}
}

func (s *started) expectSpend(t *testing.T, card, amount string, approved bool, reason string) {
	t.Helper()
	status, out := call(t, "POST", s.base+"/sim/spend", nil, map[string]any{"card": card, "amount": amount, "currency": "USD", "merchant": "Netflix"})
	r := decode[struct {
		Approved bool    `json:"approved"`
		Reason   *string `json:"reason"`
	}](t, out)
	if status != http.StatusOK || r.Approved != approved || (reason == "") != (r.Reason == nil) || (r.Reason != nil && *r.Reason != reason) {
		t.Fatalf("spend %s on %s: %d %s, want approved=%v reason %q", amount, card, status, out, approved, reason)
	}
}

func TestOperationByReference(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	c := s.createCardOK(t, "iss-r", "card_R", 7)
	status, r := s.flw(t, "GET", "/virtual-cards/references/iss-r", nil)
	op := decode[flwOperation](t, r.Data)
	if status != http.StatusOK || op.Status != "successful" || op.Operation != "create" || op.CardID != c.ID || op.CardReference != "card_R" || op.Amount != "7.00" || op.Card == nil || op.Card.ID != c.ID {
		t.Fatalf("create op: %d %+v", status, op)
	}
	if status, r := s.flw(t, "GET", "/virtual-cards/references/nothing", nil); status != http.StatusNotFound || r.Status != "error" {
		t.Fatalf("unknown reference: %d %+v", status, r)
	}
	s.flw(t, "PUT", "/virtual-cards/"+c.ID+"/status/block", map[string]any{"reference": "blk"})
	_, r = s.flw(t, "GET", "/virtual-cards/references/blk", nil)
	if op := decode[flwOperation](t, r.Data); op.Operation != "block" || op.Status != "successful" || op.Card != nil {
		t.Fatalf("block op %+v", op)
	}
}

func TestUnknownCardAndRoute(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{})
	if status, r := s.flw(t, "POST", "/virtual-cards/nope/fund", map[string]any{"amount": 1, "reference": "x"}); status != http.StatusNotFound || r.Message != msgCardNotFound {
		t.Fatalf("fund unknown card: %d %+v", status, r)
	}
	if status, _ := s.flw(t, "DELETE", "/virtual-cards/nope", nil); status != http.StatusNotFound {
		t.Fatalf("unknown route: %d", status)
	}
	if status, _ := s.flw(t, "GET", "/balances/NGN", nil); status != http.StatusBadRequest {
		t.Fatalf("NGN balance: %d", status)
	}
	if status, out := call(t, "POST", s.base+"/sim/spend", nil, map[string]any{"card": "nope", "amount": "1.00", "currency": "USD"}); status != http.StatusNotFound {
		t.Fatalf("spend on unknown card: %d %s", status, out)
	}
}
