package gateway

import (
	"strconv"
	"time"

	"kash/engine"
	"kash/persistence"
)

// The JSON shapes of API.md. Times are RFC 3339 UTC; money is
// {"amount": "5.00", "currency": "USD"} with the amount a decimal string.

type moneyView struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func money(m engine.Money) moneyView {
	return moneyView{Amount: m.String(), Currency: string(m.Currency)}
}

func usd(minor int64) moneyView { return money(engine.NewMoney(minor, engine.USD)) }
func xof(minor int64) moneyView { return money(engine.NewMoney(minor, engine.XOF)) }

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optionalTimestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

type listView[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func list[R, T any](records []R, next string, view func(R) T) listView[T] {
	out := listView[T]{Data: make([]T, 0, len(records)), NextCursor: optional(next)}
	for _, r := range records {
		out.Data = append(out.Data, view(r))
	}
	return out
}

type userView struct {
	ID        string `json:"id"`
	Phone     string `json:"phone"`
	Name      string `json:"name"`
	KYCStatus string `json:"kyc_status"`
	CreatedAt string `json:"created_at"`
}

func userOf(u persistence.User) userView {
	return userView{ID: u.ID, Phone: u.Phone, Name: u.Name, KYCStatus: u.KYCStatus, CreatedAt: timestamp(u.CreatedAt)}
}

type cardView struct {
	ID          string    `json:"id"`
	Nickname    string    `json:"nickname"`
	Status      string    `json:"status"`
	Last4       *string   `json:"last4"`
	ExpiryMonth *int      `json:"expiry_month"`
	ExpiryYear  *int      `json:"expiry_year"`
	Balance     moneyView `json:"balance"`
	Available   moneyView `json:"available"`
	CreatedAt   string    `json:"created_at"`
}

func cardOf(c engine.CardRecord) cardView {
	return cardView{ID: c.ID, Nickname: c.Nickname, Status: c.Status, Last4: optional(c.Last4),
		ExpiryMonth: optionalInt(c.ExpiryMonth), ExpiryYear: optionalInt(c.ExpiryYear),
		Balance: usd(c.Balance), Available: usd(max(c.Available(), 0)), CreatedAt: timestamp(c.CreatedAt)}
}

type fundingView struct {
	ID            string    `json:"id"`
	CardID        string    `json:"card_id"`
	Kind          string    `json:"kind"`
	Status        string    `json:"status"`
	CardAmount    moneyView `json:"card_amount"`
	MomoAmount    moneyView `json:"momo_amount"`
	Fees          moneyView `json:"fees"`
	Rate          string    `json:"rate"`
	Phone         string    `json:"phone"`
	Operator      string    `json:"operator"`
	FailureReason *string   `json:"failure_reason"`
	CreatedAt     string    `json:"created_at"`
	UpdatedAt     string    `json:"updated_at"`
}

func fundingOf(f engine.FundingRecord) fundingView {
	return fundingView{ID: f.ID, CardID: f.CardID, Kind: f.Kind, Status: f.Status, CardAmount: usd(f.CardAmount),
		MomoAmount: xof(f.MomoAmount), Fees: xof(f.Fees), Rate: f.Rate.String(), Phone: f.Phone,
		Operator: string(f.Operator), FailureReason: optional(f.FailureReason), CreatedAt: timestamp(f.CreatedAt),
		UpdatedAt: timestamp(f.UpdatedAt)}
}

// adminFundingView adds what ops need to a funding.
type adminFundingView struct {
	fundingView
	UserID       string `json:"user_id"`
	Provider     string `json:"provider"`
	ManualReview bool   `json:"manual_review"`
}

func adminFundingOf(f engine.FundingRecord) adminFundingView {
	return adminFundingView{fundingView: fundingOf(f), UserID: f.UserID, Provider: f.Provider, ManualReview: f.ManualReview}
}

type withdrawalView struct {
	ID            string    `json:"id"`
	CardID        string    `json:"card_id"`
	Status        string    `json:"status"`
	CardAmount    moneyView `json:"card_amount"`
	MomoAmount    moneyView `json:"momo_amount"`
	Fees          moneyView `json:"fees"`
	Rate          string    `json:"rate"`
	Phone         string    `json:"phone"`
	Operator      string    `json:"operator"`
	FailureReason *string   `json:"failure_reason"`
	CreatedAt     string    `json:"created_at"`
	UpdatedAt     string    `json:"updated_at"`
}

func withdrawalOf(w engine.WithdrawalRecord) withdrawalView {
	return withdrawalView{ID: w.ID, CardID: w.CardID, Status: w.Status, CardAmount: usd(w.CardAmount),
		MomoAmount: xof(w.MomoAmount), Fees: xof(w.Fees), Rate: w.Rate.String(), Phone: w.Phone,
		Operator: string(w.Operator), FailureReason: optional(w.FailureReason), CreatedAt: timestamp(w.CreatedAt),
		UpdatedAt: timestamp(w.UpdatedAt)}
}

type adminWithdrawalView struct {
	withdrawalView
	UserID       string `json:"user_id"`
	Provider     string `json:"provider"`
	Purpose      string `json:"purpose"`
	ManualReview bool   `json:"manual_review"`
}

func adminWithdrawalOf(w engine.WithdrawalRecord) adminWithdrawalView {
	return adminWithdrawalView{withdrawalView: withdrawalOf(w), UserID: w.UserID, Provider: w.Provider,
		Purpose: w.Purpose, ManualReview: w.ManualReview}
}

type paymentView struct {
	Ref         string    `json:"ref"`
	Kind        string    `json:"kind"`
	OwnerKind   string    `json:"owner_kind"`
	OwnerID     string    `json:"owner_id"`
	CardID      *string   `json:"card_id"`
	Provider    string    `json:"provider"`
	Operator    *string   `json:"operator"`
	Phone       *string   `json:"phone"`
	Amount      moneyView `json:"amount"`
	Status      string    `json:"status"`
	ProviderRef *string   `json:"provider_ref"`
	Reason      *string   `json:"reason"`
	Attempts    int       `json:"attempts"`
	CreatedAt   string    `json:"created_at"`
	UpdatedAt   string    `json:"updated_at"`
}

func paymentOf(p engine.PaymentRecord) paymentView {
	return paymentView{Ref: p.Ref, Kind: p.Kind, OwnerKind: p.OwnerKind, OwnerID: p.OwnerID, CardID: optional(p.CardID),
		Provider: p.Provider, Operator: optional(string(p.Operator)), Phone: optional(p.Phone),
		Amount: money(engine.NewMoney(p.Amount, p.Currency)), Status: p.Status, ProviderRef: optional(p.ProviderRef),
		Reason: optional(p.Reason), Attempts: p.Attempts, CreatedAt: timestamp(p.CreatedAt), UpdatedAt: timestamp(p.UpdatedAt)}
}

type transactionView struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Amount      moneyView `json:"amount"`
	Status      string    `json:"status"`
	Description string    `json:"description"`
	CreatedAt   string    `json:"created_at"`
}

func transactionOf(t persistence.Transaction) transactionView {
	return transactionView{ID: t.ID, Type: t.Type, Amount: money(t.Amount), Status: t.Status,
		Description: t.Description, CreatedAt: timestamp(t.CreatedAt)}
}

type kycView struct {
	ID              string  `json:"id"`
	Status          string  `json:"status"`
	DocumentType    string  `json:"document_type"`
	RejectionReason *string `json:"rejection_reason"`
	CreatedAt       string  `json:"created_at"`
}

func kycOf(k persistence.KYC) kycView {
	return kycView{ID: k.ID, Status: k.Status, DocumentType: k.DocumentType,
		RejectionReason: optional(k.RejectionReason), CreatedAt: timestamp(k.CreatedAt)}
}

type adminKYCView struct {
	kycView
	UserID     string  `json:"user_id"`
	ReviewedAt *string `json:"reviewed_at"`
}

func adminKYCOf(k persistence.KYC) adminKYCView {
	return adminKYCView{kycView: kycOf(k), UserID: k.UserID, ReviewedAt: optionalTimestamp(k.ReviewedAt)}
}

type quoteView struct {
	ID         string    `json:"id"`
	Operation  string    `json:"operation"`
	CardAmount moneyView `json:"card_amount"`
	MomoAmount moneyView `json:"momo_amount"`
	Fees       moneyView `json:"fees"`
	Rate       string    `json:"rate"`
	ExpiresAt  string    `json:"expires_at"`
}

func quoteOf(q engine.Quote) quoteView {
	return quoteView{ID: q.ID, Operation: string(q.Operation), CardAmount: money(q.CardAmount),
		MomoAmount: money(q.MomoAmount), Fees: money(q.Fees), Rate: q.Rate.String(), ExpiresAt: timestamp(q.ExpiresAt)}
}

type sweepView struct {
	ID        string     `json:"id"`
	Provider  string     `json:"provider"`
	Amount    moneyView  `json:"amount"`
	Credited  *moneyView `json:"credited"`
	Status    string     `json:"status"`
	Reason    string     `json:"reason"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt string     `json:"updated_at"`
}

func sweepOf(s engine.SweepRecord) sweepView {
	v := sweepView{ID: s.ID, Provider: s.Provider, Amount: xof(s.Amount), Status: s.Status, Reason: s.Reason,
		CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.UpdatedAt)}
	if s.USD > 0 {
		c := usd(s.USD)
		v.Credited = &c
	}
	return v
}

type rateSetView struct {
	ID               string    `json:"id"`
	CostRate         string    `json:"cost_rate"`
	FundingMargin    string    `json:"funding_margin"`
	WithdrawalSpread string    `json:"withdrawal_spread"`
	ChargedRate      string    `json:"charged_rate"`
	WithdrawalRate   string    `json:"withdrawal_rate"`
	IssuanceFee      moneyView `json:"issuance_fee"`
	CreatedAt        *string   `json:"created_at"`
	CreatedBy        string    `json:"created_by"`
}

func rateSetOf(r persistence.RateSet) rateSetView {
	id := "default"
	if r.ID != 0 {
		id = "rates_" + strconv.FormatInt(r.ID, 10)
	}
	by := r.CreatedBy
	if by == "" {
		by = "default"
	}
	return rateSetView{ID: id, CostRate: r.Rates.CostRate.String(), FundingMargin: r.Rates.FundingMargin.String(),
		WithdrawalSpread: r.Rates.WithdrawalSpread.String(), ChargedRate: r.Rates.ChargedRate().String(),
		WithdrawalRate: r.Rates.WithdrawalRate().String(), IssuanceFee: money(r.Rates.IssuanceFee),
		CreatedAt: optionalTimestamp(r.CreatedAt), CreatedBy: by}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
