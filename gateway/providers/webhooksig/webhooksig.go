// Package webhooksig signs and verifies webhook bodies with the scheme the
// provider simulator uses, X-Sim-Signature: sha256=<hex HMAC-SHA256(secret,
// raw body)>. The gateway verifies every webhook with it before parsing
// anything; the simulator and tests sign with it.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Header is the request header carrying the signature.
const Header = "X-Sim-Signature"

const prefix = "sha256="

// Sign returns the header value for body: "sha256=" and the lower-case hex
// HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return prefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is a valid signature of body under secret.
// The comparison is constant-time. An empty secret never verifies, so that
// an unconfigured secret cannot accept unsigned webhooks; a missing,
// malformed or differently-prefixed header does not either.
func Verify(secret, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), prefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
