package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestSignMatchesDefinition(t *testing.T) {
	secret, body := []byte("whsec"), []byte(`{"id":"evt_1"}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := Sign(secret, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret, body := []byte("whsec"), []byte(`{"id":"evt_1"}`)
	good := Sign(secret, body)
	cases := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   bool
	}{
		{"valid", secret, body, good, true},
		{"valid upper-case hex", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"missing header", secret, body, "", false},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), false},
		{"other algorithm", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), false},
		{"not hex", secret, body, "sha256=zz", false},
		{"truncated", secret, body, good[:len(good)-2], false},
		{"body changed", secret, []byte(`{"id":"evt_2"}`), good, false},
		{"wrong secret", []byte("other"), body, good, false},
		{"empty secret", nil, body, Sign(nil, body), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Verify(c.secret, c.body, c.header); got != c.want {
				t.Fatalf("Verify = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSignVerifyRoundTripAndTamper(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		secret := rapid.SliceOfN(rapid.Byte(), 1, 64).Draw(t, "secret")
		body := rapid.SliceOf(rapid.Byte()).Draw(t, "body")
		sig := Sign(secret, body)
		if !Verify(secret, body, sig) {
			t.Fatalf("own signature rejected")
		}
		tampered := append(append([]byte(nil), body...), rapid.Byte().Draw(t, "extra"))
		if Verify(secret, tampered, sig) {
			t.Fatalf("signature accepted for a different body")
		}
	})
}
