package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// flexString accepts a JSON string or a JSON number and keeps its text:
// provider SDKs send amounts either way.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("flexString: %w", err)
		}
		*f = flexString(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if !json.Valid(b) || len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return errors.New("flexString: want a string or a number")
	}
	*f = flexString(b)
	return nil
}

// parseXOF reads a whole, positive XOF amount.
func parseXOF(s flexString) (int64, error) {
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || n <= 0 || n > 1_000_000_000_000 {
		return 0, fmt.Errorf("amount %q is not a positive whole number of XOF", string(s))
	}
	return n, nil
}

// parseUSD reads a positive USD amount with at most two decimals.
func parseUSD(s flexString) (int64, error) {
	cents, err := parseCents(string(s))
	if err != nil {
		return 0, err
	}
	if cents <= 0 {
		return 0, fmt.Errorf("amount %q must be positive", string(s))
	}
	return cents, nil
}

// errAmount is wrapped by every amount parsing error.
var errAmount = errors.New("invalid amount")

// parseCents reads a strict USD decimal ("12", "12.5", "12.50") into cents:
// digits, at most one '.', at most two decimals, no sign or exponent.
func parseCents(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case whole == "" || (dot && frac == "") || len(frac) > 2 || len(whole) > 13:
		return 0, fmt.Errorf("%w: %q is not a decimal with at most 2 decimals", errAmount, s)
	case !digitsOnly(whole) || !digitsOnly(frac):
		return 0, fmt.Errorf("%w: %q is not a decimal with at most 2 decimals", errAmount, s)
	}
	frac += "00"[len(frac):]
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", errAmount, s, err)
	}
	return n, nil
}

// usd formats cents as "12.50".
func usd(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// usdNumber formats cents as a JSON number such as 12.50.
type usdNumber int64

// MarshalJSON implements json.Marshaler.
func (u usdNumber) MarshalJSON() ([]byte, error) { return []byte(usd(int64(u))), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (u *usdNumber) UnmarshalJSON(b []byte) error {
	cents, err := parseCents(string(b))
	if err != nil {
		return err
	}
	*u = usdNumber(cents)
	return nil
}

// money is API.md's Money object.
type money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func usdMoney(cents int64) money { return money{Amount: usd(cents), Currency: "USD"} }
func xofMoney(n int64) money     { return money{Amount: strconv.FormatInt(n, 10), Currency: "XOF"} }

// decodeJSON decodes the request body into v; an empty body decodes as {}.
func decodeJSON(ctx *fasthttp.RequestCtx, v any) error {
	body := ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}

// writeJSON answers status with v as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("internal error")
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func writeText(ctx *fasthttp.RequestCtx, status int, text string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(text)
}
