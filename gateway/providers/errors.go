package providers

import (
	"errors"
	"fmt"

	"kash/engine"
)

// Errors shared by all adapters. Whatever wraps them, an error returned by
// an adapter means the effect of the call is unknown; the Result that comes
// with it is always engine.OutcomeUnknown.
var (
	// ErrTimeout: the call's deadline passed before an answer arrived. The
	// provider may or may not have acted.
	ErrTimeout = errors.New("provider call timed out")
	// ErrTransport: the connection failed (refused, reset, TLS, DNS) before
	// a complete answer was read.
	ErrTransport = errors.New("provider transport error")
	// ErrMalformed: the provider answered something that could not be
	// parsed or did not have the documented shape.
	ErrMalformed = errors.New("malformed provider response")
	// ErrUnexpectedStatus: an HTTP status the protocol does not define as an
	// answer (5xx, 429, ...). Wrapped by *StatusError.
	ErrUnexpectedStatus = errors.New("unexpected provider HTTP status")
	// ErrNotFound: a status lookup found no operation under that reference.
	// It is not a failure: the original request may still be in flight, or
	// may never have arrived. Resending under the same reference is safe
	// only where the provider deduplicates by reference (Qosic by transref;
	// the simulator for every provider; not Flutterwave v3 in production).
	ErrNotFound = engine.ErrUnknownReference
	// ErrRejected: a notification provider refused the message for a reason
	// a retry will not fix (invalid recipient, no subscribed device, bad
	// credentials). The outbox should stop retrying and alert.
	ErrRejected = errors.New("provider rejected the message")
)

// StatusError is an HTTP answer outside the protocol. It matches
// ErrUnexpectedStatus with errors.Is. The body is not kept: it may echo
// request data.
type StatusError struct {
	Provider  string
	Operation string
	Status    int
}

// Error names the provider, operation and status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d", e.Provider, e.Operation, e.Status)
}

// Is reports whether target is ErrUnexpectedStatus.
func (e *StatusError) Is(target error) bool { return target == ErrUnexpectedStatus }

// Unknown returns the answer every adapter gives when it cannot know what a
// call did: OutcomeUnknown for ref, and err wrapped with the provider and
// operation for context.
func Unknown(ref, provider, operation string, err error) (engine.Result, error) {
	return engine.Result{Outcome: engine.OutcomeUnknown, Ref: ref},
		fmt.Errorf("%s %s %s: %w", provider, operation, ref, err)
}

// OutcomeOf classifies a call that returns only an error (notifications,
// reads) for metrics: nil succeeded, ErrRejected failed, anything else
// unknown.
func OutcomeOf(err error) engine.Outcome {
	switch {
	case err == nil:
		return engine.OutcomeSucceeded
	case errors.Is(err, ErrRejected):
		return engine.OutcomeFailed
	}
	return engine.OutcomeUnknown
}
