// Package apiclient is a small client of the Kash HTTP API and of the
// provider simulator's control API, as the mobile app and an ops tool use
// them. The bench harness and kashd's process-level tests drive the engine
// through it, end to end, exactly as outside clients do.
package apiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// Client talks to one kashd (API) and one simulator (Sim).
type Client struct {
	API        string // e.g. http://127.0.0.1:8080
	Sim        string // e.g. http://127.0.0.1:8090
	AdminToken string
	HTTP       *http.Client
}

// New returns a client with a bounded HTTP timeout.
func New(api, sim, adminToken string) *Client {
	return &Client{API: api, Sim: sim, AdminToken: adminToken,
		HTTP: &http.Client{Timeout: 45 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
}

// Error is an API error answer.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Do sends a JSON request and decodes a JSON answer into out (when not
// nil). A non-2xx answer is an *Error.
func (c *Client) Do(method, url, token, idemKey string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, token, idemKey, out)
}

func (c *Client) send(req *http.Request, token, idemKey string, out any) error {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// Money is the API's money object.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Card, Funding and Withdrawal carry the fields clients use.
type (
	Card struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Balance   Money  `json:"balance"`
		Available Money  `json:"available"`
	}
	Funding struct {
		ID            string `json:"id"`
		CardID        string `json:"card_id"`
		Status        string `json:"status"`
		FailureReason string `json:"failure_reason"`
		CardAmount    Money  `json:"card_amount"`
		MomoAmount    Money  `json:"momo_amount"`
	}
	Withdrawal struct {
		ID         string `json:"id"`
		CardID     string `json:"card_id"`
		Status     string `json:"status"`
		CardAmount Money  `json:"card_amount"`
		MomoAmount Money  `json:"momo_amount"`
	}
)

var otpPattern = regexp.MustCompile(`\b(\d{6})\b`)

// Login signs phone in through the real OTP flow: it asks for a code, reads
// it from the simulator's SMS inbox, and exchanges it for tokens.
func (c *Client) Login(phone string) (token string, err error) {
	return c.LoginFrom(phone, "")
}

// LoginFrom is Login for a client at clientAddr, sent as X-Forwarded-For as
// a proxy in front of kashd would (kashd counts OTP requests per client
// address only from that header when KASH_TRUST_FORWARDED_FOR is set). The
// bench signs thousands of users in from one machine, each as its own
// client; "" sends no header.
func (c *Client) LoginFrom(phone, clientAddr string) (token string, err error) {
	body, err := json.Marshal(map[string]string{"phone": phone})
	if err != nil {
		return "", fmt.Errorf("encode OTP request: %w", err)
	}
	req, err := http.NewRequest("POST", c.API+"/v1/auth/otp", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("OTP request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if clientAddr != "" {
		req.Header.Set("X-Forwarded-For", clientAddr)
	}
	if err := c.send(req, "", "", nil); err != nil {
		return "", err
	}
	var code string
	for range 100 {
		var inbox struct {
			Data []struct{ Body string } `json:"data"`
		}
		if err := c.Do("GET", c.Sim+"/sim/sms?to="+phone, "", "", nil, &inbox); err != nil {
			return "", err
		}
		if len(inbox.Data) > 0 {
			if m := otpPattern.FindStringSubmatch(inbox.Data[0].Body); m != nil {
				code = m[1]
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code == "" {
		return "", errors.New("no OTP code reached the SMS inbox of " + phone)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.Do("POST", c.API+"/v1/auth/token", "", "", map[string]string{"phone": phone, "code": code}, &tok); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// Verify uploads KYC documents for the user and approves them as ops.
func (c *Client) Verify(token string) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("document_type", "passport")
	for _, name := range []string{"document", "selfie"} {
		part, err := w.CreateFormFile(name, name+".png")
		if err != nil {
			return err
		}
		if _, err := part.Write(tinyPNG); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	req, err := http.NewRequest("POST", c.API+"/v1/kyc", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	var kyc struct {
		ID string `json:"id"`
	}
	if err := c.send(req, token, "", &kyc); err != nil {
		return fmt.Errorf("kyc upload: %w", err)
	}
	return c.Do("POST", c.API+"/v1/admin/kyc/"+kyc.ID+"/approve", c.AdminToken, "", nil, nil)
}

// tinyPNG is a valid 1×1 PNG, enough for content sniffing.
var tinyPNG = []byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
	0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
	0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 0, 2, 0, 1, 0xe5, 0x27, 0xde, 0xfc, 0, 0, 0, 0, 0x49, 0x45, 0x4e,
	0x44, 0xae, 0x42, 0x60, 0x82}

// IssueCard buys a card loaded with usd (e.g. "5.00") paid from phone.
func (c *Client) IssueCard(token, key, usd, phone, operator string) (Card, Funding, error) {
	var out struct {
		Card    Card    `json:"card"`
		Funding Funding `json:"funding"`
	}
	err := c.Do("POST", c.API+"/v1/cards", token, key, map[string]string{"amount": usd, "currency": "USD",
		"phone": phone, "operator": operator}, &out)
	return out.Card, out.Funding, err
}

// Fund tops up a card.
func (c *Client) Fund(token, key, cardID, usd, phone, operator string) (Funding, error) {
	var f Funding
	err := c.Do("POST", c.API+"/v1/cards/"+cardID+"/fundings", token, key, map[string]string{"amount": usd,
		"currency": "USD", "phone": phone, "operator": operator}, &f)
	return f, err
}

// Withdraw moves usd from a card to a wallet.
func (c *Client) Withdraw(token, key, cardID, usd, phone, operator string) (Withdrawal, error) {
	var w Withdrawal
	err := c.Do("POST", c.API+"/v1/cards/"+cardID+"/withdrawals", token, key, map[string]string{"amount": usd,
		"currency": "USD", "phone": phone, "operator": operator}, &w)
	return w, err
}

// WaitFunding long-polls a funding for up to wait seconds.
func (c *Client) WaitFunding(token, id string, wait int) (Funding, error) {
	var f Funding
	err := c.Do("GET", c.API+"/v1/fundings/"+id+"?wait="+strconv.Itoa(wait), token, "", nil, &f)
	return f, err
}

// WaitWithdrawal long-polls a withdrawal for up to wait seconds.
func (c *Client) WaitWithdrawal(token, id string, wait int) (Withdrawal, error) {
	var w Withdrawal
	err := c.Do("GET", c.API+"/v1/withdrawals/"+id+"?wait="+strconv.Itoa(wait), token, "", nil, &w)
	return w, err
}

// Card reads a card.
func (c *Client) Card(token, id string) (Card, error) {
	var card Card
	err := c.Do("GET", c.API+"/v1/cards/"+id, token, "", nil, &card)
	return card, err
}

// Spend spends usd on a card at the simulated issuer.
func (c *Client) Spend(cardID, usd string) (approved bool, err error) {
	var out struct {
		Approved bool `json:"approved"`
	}
	err = c.Do("POST", c.Sim+"/sim/spend", "", "", map[string]string{"card": cardID, "amount": usd,
		"currency": "USD", "merchant": "bench"}, &out)
	return out.Approved, err
}

// Check is the answer of the ledger check and of reconciliation.
type Check struct {
	OK          bool              `json:"ok"`
	Entries     int               `json:"entries"`
	Imbalances  []json.RawMessage `json:"imbalances"`
	Differences []json.RawMessage `json:"differences"`
}

// LedgerCheck runs GET /v1/admin/ledger/check.
func (c *Client) LedgerCheck() (Check, error) {
	var out Check
	err := c.Do("GET", c.API+"/v1/admin/ledger/check", c.AdminToken, "", nil, &out)
	return out, err
}

// Reconcile runs GET /v1/admin/reconciliation.
func (c *Client) Reconcile() (Check, error) {
	var out Check
	err := c.Do("GET", c.API+"/v1/admin/reconciliation", c.AdminToken, "", nil, &out)
	return out, err
}

// Ready reports whether kashd answers /readyz with 200.
func (c *Client) Ready() bool {
	resp, err := c.HTTP.Get(c.API + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Final reports whether a funding or withdrawal status is final.
func Final(status string) bool {
	return status == "succeeded" || status == "failed" || status == "refunded"
}
