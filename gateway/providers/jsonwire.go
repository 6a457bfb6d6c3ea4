package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DecodeJSON parses a provider's answer into v. Any failure wraps
// ErrMalformed: an answer we cannot read tells us nothing about the outcome.
func DecodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// FlexString is a JSON field that providers send sometimes as a string and
// sometimes as a number ("00" vs 0, "12.50" vs 12.5). It keeps the text as
// sent: a number keeps its literal digits, so "00" and 0 stay different.
// null leaves it empty.
type FlexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("flexible string %s: %w", b, err)
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("flexible string %s: %w", b, err)
	}
	*f = FlexString(n)
	return nil
}

// String returns the text.
func (f FlexString) String() string { return string(f) }
