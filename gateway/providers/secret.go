package providers

import (
	"encoding/json"
	"log/slog"
)

// redacted is what a Secret prints as, whatever the verb.
const redacted = "[redacted]"

// Secret is a credential (API key, password, webhook URL). It prints, logs
// and marshals as "[redacted]" so that a Config dumped into a log line or an
// error message cannot leak it; Reveal is the one way to read it, and only
// the code that builds an outgoing request calls it.
type Secret string

// Reveal returns the secret's value for use on the wire.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether no secret was configured.
func (s Secret) IsZero() bool { return s == "" }

// String hides the value from %s and %v.
func (Secret) String() string { return redacted }

// GoString hides the value from %#v.
func (Secret) GoString() string { return redacted }

// LogValue hides the value from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON hides the value from encoding/json (for example a config dump).
func (Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
