package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access tokens are HS256 JWTs for this API only.
const (
	tokenIssuer   = "kash"
	tokenAudience = "kash-api"
)

// accessClaims are an access token's claims: the user (sub) and the login
// session (sid, the refresh token family) that logout revokes.
type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

// derive returns a sub-key of secret for one purpose, so that one
// configured secret never serves two purposes.
func derive(secret []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

func (s *Server) issueAccess(userID, sessionID string, now time.Time) (string, error) {
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{tokenAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
		},
		SessionID: sessionID,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.jwtKey)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return tok, nil
}

var errBadToken = errors.New("bad access token")

// parseAccess verifies an access token: HS256 only, our issuer and
// audience, an expiry that has not passed.
func (s *Server) parseAccess(token string) (accessClaims, error) {
	var claims accessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.jwtKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithTimeFunc(s.cfg.Now), jwt.WithLeeway(5*time.Second))
	if err != nil || claims.Subject == "" || claims.SessionID == "" {
		return accessClaims{}, errBadToken
	}
	return claims, nil
}

// isAdminToken compares in constant time (hashes first, so that even the
// length does not leak through timing).
func (s *Server) isAdminToken(token string) bool {
	if s.cfg.AdminToken == "" {
		return false
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(s.cfg.AdminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// refreshPrefix marks Kash refresh tokens, so that a leaked one is
// recognisable by secret scanners.
const refreshPrefix = "krt_"

// newRefreshToken returns a random opaque token and the hash stored for it.
func newRefreshToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("refresh token: %w", err)
	}
	token = refreshPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashRefresh(token), nil
}

// hashRefresh is what the database keeps of a refresh token. Tokens have
// 256 random bits, so a plain SHA-256 is enough to make a stolen table
// useless.
func hashRefresh(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newOTPCode returns a uniformly random 6-digit code.
func newOTPCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("otp code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// hashOTP keys the code's hash with a server secret and binds it to the
// phone: a million codes are easy to try against a bare hash, not against
// an HMAC whose key is not in the database.
func (s *Server) hashOTP(phone, code string) []byte {
	mac := hmac.New(sha256.New, s.cfg.OTPSecret)
	mac.Write([]byte(phone))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return mac.Sum(nil)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns prefix_ and 26 random base32 characters (130 bits).
func randomID(prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("gateway: crypto/rand: %v", err))
	}
	return prefix + "_" + idEncoding.EncodeToString(b)
}

// derivedID is the id of the operation of one kind that an idempotency key
// names: the same scope and key give the same id, so that a retried
// request reaches the operation the first one started.
func derivedID(prefix, kind, scope, key string) string {
	h := sha256.New()
	for _, part := range []string{kind, scope, key} {
		fmt.Fprintf(h, "%d:%s|", len(part), part)
	}
	return prefix + "_" + idEncoding.EncodeToString(h.Sum(nil)[:16])
}

// sealer encrypts stored responses that hold secrets (the token pairs of
// /v1/auth/token and /v1/auth/refresh): a replay must return them, and the
// database must never hold them in the clear.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) sealer {
	block, err := aes.NewCipher(derive(secret, "kash idempotency responses"))
	if err != nil {
		panic(fmt.Sprintf("gateway: sealer: %v", err)) // a 32-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("gateway: sealer: %v", err))
	}
	return sealer{aead: aead}
}

func (s sealer) seal(plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("gateway: crypto/rand: %v", err))
	}
	return s.aead.Seal(nonce, nonce, plain, nil)
}

func (s sealer) open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed response too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("open sealed response: %w", err)
	}
	return plain, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
