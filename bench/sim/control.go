package sim

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/valyala/fasthttp"
)

var errNotFound = errors.New("not found")

// apiError is API.md's error body.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func controlError(ctx *fasthttp.RequestCtx, status int, code, field, message string) {
	writeJSON(ctx, status, apiError{Error: apiErrorBody{Code: code, Message: message, Field: field}})
}

func (s *Sim) serveControl(ctx *fasthttp.RequestCtx, path string) {
	method := string(ctx.Method())
	switch method + " " + path {
	case "GET /sim/sms":
		s.listMessages(ctx, s.sms, true)
	case "GET /sim/push":
		s.listMessages(ctx, s.push, false)
	case "GET /sim/ops":
		s.listMessages(ctx, s.ops, false)
	case "POST /sim/spend":
		s.controlSpend(ctx)
	case "POST /sim/issuer/float":
		s.controlFloat(ctx)
	case "GET /sim/state":
		writeJSON(ctx, fasthttp.StatusOK, s.State())
	case "GET /sim/books":
		b := s.Books()
		writeJSON(ctx, fasthttp.StatusOK, b.report())
	case "GET /sim/webhooks":
		writeJSON(ctx, fasthttp.StatusOK, s.WebhookStats())
	case "GET /sim/faults":
		writeJSON(ctx, fasthttp.StatusOK, map[string][]Fault{"data": s.Faults()})
	case "POST /sim/faults":
		s.controlSetFault(ctx)
	case "DELETE /sim/faults":
		if err := s.ClearFaults(string(ctx.QueryArgs().Peek("target"))); err != nil {
			controlError(ctx, fasthttp.StatusUnprocessableEntity, "invalid_field", "target", err.Error())
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	default:
		controlError(ctx, fasthttp.StatusNotFound, "not_found", "", "no such simulator endpoint")
	}
}

func (s *Sim) listMessages(ctx *fasthttp.RequestCtx, l *messageLog, byPhone bool) {
	var match func(Message) bool
	if to := string(ctx.QueryArgs().Peek("to")); to != "" {
		want := to
		if byPhone {
			// A literal '+' in a query string decodes as a space.
			if p, ok := normalizeMSISDN(to); ok {
				want = "+" + p
			}
		}
		match = func(m Message) bool { return m.To == want }
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string][]Message{"data": l.newest(match)})
}

type spendRequest struct {
	Card     string `json:"card"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Merchant string `json:"merchant"`
}

func (s *Sim) controlSpend(ctx *fasthttp.RequestCtx) {
	var req spendRequest
	if err := decodeJSON(ctx, &req); err != nil {
		controlError(ctx, fasthttp.StatusBadRequest, "invalid_json", "", err.Error())
		return
	}
	cents, ok := controlUSD(ctx, req.Amount, req.Currency)
	if !ok {
		return
	}
	if req.Card == "" {
		controlError(ctx, fasthttp.StatusUnprocessableEntity, "invalid_field", "card", "card is required")
		return
	}
	if req.Merchant == "" {
		req.Merchant = "Simulated merchant"
	}
	approved, reason, err := s.spend(req.Card, cents, req.Merchant)
	if err != nil {
		controlError(ctx, fasthttp.StatusNotFound, "not_found", "card", err.Error())
		return
	}
	var r *string
	if !approved {
		r = &reason
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"approved": approved, "reason": r})
}

// controlUSD validates an API.md amount and currency for USD.
func controlUSD(ctx *fasthttp.RequestCtx, amount, currency string) (int64, bool) {
	if currency != "USD" {
		controlError(ctx, fasthttp.StatusUnprocessableEntity, "unsupported_currency", "currency", "currency must be USD")
		return 0, false
	}
	cents, err := parseCents(amount)
	if err != nil || cents <= 0 {
		controlError(ctx, fasthttp.StatusUnprocessableEntity, "invalid_amount", "amount", "amount must be a positive decimal string with at most 2 decimals")
		return 0, false
	}
	return cents, true
}

func (s *Sim) controlFloat(ctx *fasthttp.RequestCtx) {
	var req struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := decodeJSON(ctx, &req); err != nil {
		controlError(ctx, fasthttp.StatusBadRequest, "invalid_json", "", err.Error())
		return
	}
	cents, ok := controlUSD(ctx, req.Amount, req.Currency)
	if !ok {
		return
	}
	balance := s.DepositFloat(cents)
	writeJSON(ctx, fasthttp.StatusOK, map[string]money{"float": usdMoney(balance)})
}

// DepositFloat adds cents of USD to the issuer float, as a bank deposit
// would, tells the engine by webhook, and returns the new float.
func (s *Sim) DepositFloat(cents int64) int64 {
	s.beginChange()
	balance := s.issuer.creditFloat(cents, &s.issuer.deposits)
	reference := s.ids.depositRef()
	s.endChange()
	s.hooks.floatCredited(floatCredit{cents: cents, balance: balance, source: "deposit", reference: reference})
	return balance
}

func (s *Sim) controlSetFault(ctx *fasthttp.RequestCtx) {
	var f Fault
	if err := decodeJSON(ctx, &f); err != nil {
		controlError(ctx, fasthttp.StatusBadRequest, "invalid_json", "", err.Error())
		return
	}
	if err := s.SetFault(f); err != nil {
		field := "target"
		if errors.Is(err, ErrInvalidFault) {
			field = ""
		}
		controlError(ctx, fasthttp.StatusUnprocessableEntity, "invalid_field", field, err.Error())
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, f)
}

// Faults returns the current fault settings, with the next_failures left.
func (s *Sim) Faults() []Fault {
	out := s.faults.list()
	if out == nil {
		out = []Fault{}
	}
	return out
}

// WebhookStats returns the webhook delivery counters.
func (s *Sim) WebhookStats() WebhookStats { return s.hooks.stats() }

// State is the simulator's view of the world, as GET /sim/state shows it.
type State struct {
	Issuer IssuerState `json:"issuer"`
	Momo   MomoState   `json:"momo"`
}

// IssuerState is the issuer's float and cards.
type IssuerState struct {
	Float money       `json:"float"`
	Cards []CardState `json:"cards"`
}

// CardState is one card: the engine's id, its balance and status.
type CardState struct {
	Card    string `json:"card"`
	Balance money  `json:"balance"`
	Status  string `json:"status"`
}

// MomoState is the mobile-money side: collections and wallets.
type MomoState struct {
	Providers []ProviderState `json:"providers"`
	Wallets   []WalletState   `json:"wallets"`
}

// ProviderState is one provider account's collection balance.
type ProviderState struct {
	Provider string `json:"provider"`
	Balance  money  `json:"balance"`
}

// WalletState is one wallet's balance.
type WalletState struct {
	Phone   string `json:"phone"`
	Balance money  `json:"balance"`
}

// State returns a snapshot of the books (consistent when nothing is in flight).
func (s *Sim) State() State {
	st := State{
		Issuer: IssuerState{Float: usdMoney(s.issuer.float.Load()), Cards: []CardState{}},
		Momo:   MomoState{Providers: []ProviderState{}, Wallets: []WalletState{}},
	}
	for _, c := range s.issuer.cards() {
		c.mu.Lock()
		name := c.ref
		if name == "" {
			name = c.id
		}
		st.Issuer.Cards = append(st.Issuer.Cards, CardState{Card: name, Balance: usdMoney(c.balance), Status: c.status})
		c.mu.Unlock()
	}
	for _, a := range s.momo.accounts {
		st.Momo.Providers = append(st.Momo.Providers, ProviderState{Provider: a.Name, Balance: xofMoney(a.collected.Load())})
	}
	s.momo.wallets.each(func(phone uint64, balance int64) {
		st.Momo.Wallets = append(st.Momo.Wallets, WalletState{Phone: "+" + strconv.FormatUint(phone, 10), Balance: xofMoney(balance)})
	})
	sort.Slice(st.Momo.Wallets, func(i, j int) bool { return st.Momo.Wallets[i].Phone < st.Momo.Wallets[j].Phone })
	return st
}

// Books are the simulator's conservation totals. XOF (whole francs): every
// franc that ever was in a wallet is in a wallet, in a collection, or was
// settled to the issuer. USD (cents): the float's start plus what came in
// (deposits, settlements) is on the float, on cards, or was spent.
type Books struct {
	InitialWallets int64 // XOF
	Wallets        int64
	Collections    int64
	Settled        int64
	InitialFloat   int64 // USD cents
	Deposits       int64
	SweptIn        int64
	Float          int64
	Cards          int64
	Spent          int64
}

// ErrUnbalanced is returned by Books.Check when money appeared or vanished.
var ErrUnbalanced = errors.New("books do not balance")

// Check reports whether both currencies balance.
func (b Books) Check() error {
	var errs []error
	if in, out := b.InitialWallets, b.Wallets+b.Collections+b.Settled; in != out {
		errs = append(errs, fmt.Errorf("%w: XOF in %d, out %d", ErrUnbalanced, in, out))
	}
	if in, out := b.InitialFloat+b.Deposits+b.SweptIn, b.Float+b.Cards+b.Spent; in != out {
		errs = append(errs, fmt.Errorf("%w: USD cents in %d, out %d", ErrUnbalanced, in, out))
	}
	return errors.Join(errs...)
}

// Books totals the books. It is exact when no operation is in flight (the
// counters are read one after the other, not under one lock).
func (s *Sim) Books() Books {
	var b Books
	s.momo.wallets.each(func(_ uint64, balance int64) { b.Wallets += balance })
	for _, a := range s.momo.accounts {
		b.Collections += a.collected.Load()
	}
	b.Settled = s.momo.settled.Load()
	b.InitialWallets = s.momo.wallets.initial.Load()
	for _, c := range s.issuer.cards() {
		c.mu.Lock()
		b.Cards += c.balance
		c.mu.Unlock()
	}
	b.InitialFloat = s.issuer.initialFloat
	b.Deposits = s.issuer.deposits.Load()
	b.SweptIn = s.issuer.sweptIn.Load()
	b.Float = s.issuer.float.Load()
	b.Spent = s.issuer.spent.Load()
	return b
}

func (b Books) report() map[string]any {
	err := b.Check()
	r := map[string]any{
		"ok": err == nil,
		"xof": map[string]money{
			"initial_wallets": xofMoney(b.InitialWallets), "wallets": xofMoney(b.Wallets),
			"collections": xofMoney(b.Collections), "settled": xofMoney(b.Settled),
		},
		"usd": map[string]money{
			"initial_float": usdMoney(b.InitialFloat), "deposits": usdMoney(b.Deposits), "swept_in": usdMoney(b.SweptIn),
			"float": usdMoney(b.Float), "cards": usdMoney(b.Cards), "spent": usdMoney(b.Spent),
		},
	}
	if err != nil {
		r["error"] = err.Error()
	}
	return r
}
