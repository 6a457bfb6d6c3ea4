// Package providers is the outbound side of the gateway: the HTTP adapters
// through which Kash talks to the outside world — mobile-money collection and
// payout (Qosic), the virtual-card issuer (Flutterwave), SMS (MessageBird),
// push (OneSignal) and the ops chat (a Slack incoming webhook).
//
// Each provider lives in its own subpackage and implements one engine port
// (engine.MomoProvider, engine.CardIssuer or engine.Notifier). This package
// holds what they share and nothing provider-specific:
//
//   - HTTPClient, one small fasthttp-based transport with a per-call deadline
//     (the earlier of the context's deadline and the configured timeout),
//     context cancellation, TLS verification always on and bounded bodies;
//   - Metrics, the Prometheus collectors every adapter and the router report
//     to (kash_provider_requests_total, kash_provider_request_duration_seconds,
//     kash_provider_circuit_state), registered on a Registerer the caller
//     passes in, never on the global registry;
//   - Secret, a string type for credentials that refuses to be printed or
//     logged;
//   - the error vocabulary: any error an adapter returns means the outcome of
//     the call is unknown (engine.OutcomeUnknown), and the caller resolves it
//     by asking for the status of the same reference, never by resending under
//     a new one.
//
// The subpackage routing chooses, per operator, which momo provider account
// takes a new payment (health score and circuit breaker); webhooksig signs
// and verifies the simulator's X-Sim-Signature.
package providers
