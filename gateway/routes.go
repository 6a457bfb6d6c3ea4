package gateway

import (
	"net/http"
)

// routes is the API of shared/API.md, line by line; openapi.yaml describes
// the same list (a test keeps the two equal).
func (s *Server) routes() {
	get := func(pattern string, a access, h func(*call) reply) {
		s.router.add(&route{method: http.MethodGet, pattern: pattern, access: a, handle: h})
	}
	post := func(pattern string, a access, idem idempotency, h func(*call) reply) *route {
		rt := &route{method: http.MethodPost, pattern: pattern, access: a, idem: idem, body: bodyJSON, handle: h}
		s.router.add(rt)
		return rt
	}

	get("/v1/openapi.json", public, s.getOpenAPI)

	post("/v1/auth/otp", public, idemOptional, s.postOTP)
	post("/v1/auth/token", public, idemOptional, s.postToken).seal = true
	post("/v1/auth/refresh", public, idemOptional, s.postRefresh).seal = true
	post("/v1/auth/logout", public, idemOptional, s.postLogout)

	get("/v1/me", user, s.getMe)
	s.router.add(&route{method: http.MethodPatch, pattern: "/v1/me", access: user, body: bodyJSON, handle: s.patchMe})
	post("/v1/me/devices", user, idemOptional, s.postDevice)

	s.router.add(&route{method: http.MethodPost, pattern: "/v1/kyc", access: user, idem: idemOptional,
		body: bodyMultipart, handle: s.postKYC})
	get("/v1/kyc", user, s.getKYC)

	post("/v1/quotes", user, idemOptional, s.postQuote)

	post("/v1/cards", user, idemRequired, s.postCard)
	get("/v1/cards", user, s.listCards)
	get("/v1/cards/{id}", user, s.getCard)
	get("/v1/cards/{id}/sensitive", user, s.getSensitive)
	post("/v1/cards/{id}/fundings", user, idemRequired, s.postFunding)
	get("/v1/cards/{id}/fundings", user, s.listFundings)
	post("/v1/cards/{id}/withdrawals", user, idemRequired, s.postWithdrawal)
	get("/v1/cards/{id}/withdrawals", user, s.listWithdrawals)
	post("/v1/cards/{id}/freeze", user, idemOptional, s.postFreeze(true))
	post("/v1/cards/{id}/unfreeze", user, idemOptional, s.postFreeze(false))
	post("/v1/cards/{id}/terminate", user, idemRequired, s.postTerminate)
	get("/v1/cards/{id}/transactions", user, s.listTransactions)
	get("/v1/fundings/{id}", user, s.getFunding)
	get("/v1/withdrawals/{id}", user, s.getWithdrawal)

	// Webhooks are deduplicated by event id, not by Idempotency-Key.
	post("/v1/webhooks/{provider}", public, idemNone, s.postWebhook)

	get("/v1/admin/kyc", admin, s.listKYC)
	get("/v1/admin/kyc/{id}/document", admin, s.getKYCFile("document"))
	get("/v1/admin/kyc/{id}/selfie", admin, s.getKYCFile("selfie"))
	post("/v1/admin/kyc/{id}/approve", admin, idemOptional, s.reviewKYC(true))
	post("/v1/admin/kyc/{id}/reject", admin, idemOptional, s.reviewKYC(false))
	get("/v1/admin/treasury", admin, s.getTreasury)
	post("/v1/admin/treasury/sweeps", admin, idemOptional, s.postSweep)
	post("/v1/admin/rates", admin, idemOptional, s.postRates)
	get("/v1/admin/rates", admin, s.getRates)
	get("/v1/admin/earnings", admin, s.getEarnings)
	get("/v1/admin/fundings", admin, adminList(s, fundingStatuses, s.queries.Fundings, adminFundingOf))
	get("/v1/admin/withdrawals", admin, adminList(s, withdrawalStatuses, s.queries.Withdrawals, adminWithdrawalOf))
	get("/v1/admin/payments", admin, adminList(s, paymentStatuses, s.queries.Payments, paymentOf))
	get("/v1/admin/ledger/check", admin, s.getLedgerCheck)
	get("/v1/admin/reconciliation", admin, s.getReconciliation)
}
