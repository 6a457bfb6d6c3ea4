// Package gateway is Kash's REST API, served by fasthttp: the mobile app's
// routes (auth, profile, KYC, quotes, cards and their money movements), the
// ops routes, and the provider webhooks coming in, exactly as
// shared/API.md defines them and as the OpenAPI document it serves at
// GET /v1/openapi.json describes.
//
// The gateway validates and authenticates, then hands every money command
// to the actor engine through the Commands interface and answers from what
// the engine made durable; reads go straight to Postgres through
// kash/persistence and never through the actors. It owns the API's
// cross-cutting rules: strict JSON decoding, the error vocabulary,
// idempotency keys (stored in Postgres, with operation ids derived from the
// key so that a retry reaches the same operation), backpressure with a
// deadline on every command, long polls, OTP login with JWT access tokens
// and rotating refresh tokens, the ops token, and webhook signatures.
//
// Dependencies point inward: gateway imports engine and persistence, and
// reaches the actors only through Commands, which kashd wires to them.
package gateway
