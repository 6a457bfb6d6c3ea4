package engine

import "errors"

// Business-rule errors that commands return. The gateway maps each to its
// API error code; they never carry internals.
var (
	ErrNotFound            = errors.New("not found")
	ErrCardNotActive       = errors.New("card not active")
	ErrInsufficientBalance = errors.New("insufficient balance")
	ErrInvalidState        = errors.New("invalid state")
	// ErrBusy means the engine refused new work to protect work in flight
	// (backpressure); the client should retry after a pause.
	ErrBusy = errors.New("engine busy")
)

// ErrExists means a create command named an operation that already exists
// (a retried request that already took effect): read it instead.
var ErrExists = errors.New("already exists")

// Errors of the Journal port.
var (
	// ErrFenced means a versioned write matched no row: another activation
	// (or a lost race) changed it first. The writer reloads its state.
	ErrFenced = errors.New("write fenced (stale version)")
	// ErrDuplicate means a change repeats something already durable (a
	// ledger entry ref, an operation id).
	ErrDuplicate = errors.New("duplicate write")
)

// DuplicateError is an ErrDuplicate that names the unique constraint that
// fired, so that a writer can tell which of its records already exists (a
// float reservation's primary key, say, from a collision of its queue seq).
type DuplicateError struct {
	Table      string // the table written, when known
	Constraint string // the unique constraint or index that fired
}

func (e *DuplicateError) Error() string {
	if e.Table == "" {
		return ErrDuplicate.Error() + ": " + e.Constraint
	}
	return ErrDuplicate.Error() + ": " + e.Table + " (" + e.Constraint + ")"
}

// Is makes errors.Is(err, ErrDuplicate) hold for every DuplicateError.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }
