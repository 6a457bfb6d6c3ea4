package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The hot provider endpoints take and give small flat JSON objects. These
// helpers read and write them without reflection and, for the common case,
// without allocating; anything they do not handle falls back to
// encoding/json, so behaviour stays that of a JSON parser.

// errNotFlat means the body is valid for encoding/json to judge, but not a
// flat object of scalars.
var errNotFlat = errors.New("not a flat JSON object")

// scanFlatObject calls member for every key of a JSON object whose values
// are strings, numbers, booleans or null. Keys are raw (unescaped only when
// they hold no escape); val is the raw number/literal, or the string's
// content with escapes resolved. It returns errNotFlat for anything else.
func scanFlatObject(b []byte, member func(key, val []byte, quoted bool)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotFlat
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		key, next, err := readString(b, i)
		if err != nil {
			return err
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return errNotFlat
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return errNotFlat
		}
		var val []byte
		quoted := b[i] == '"'
		if quoted {
			val, next, err = readString(b, i)
		} else {
			val, next, err = readScalar(b, i)
		}
		if err != nil {
			return err
		}
		member(key, val, quoted)
		i = skipSpace(b, next)
		if i >= len(b) {
			return errNotFlat
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return trailing(b, i+1)
		default:
			return errNotFlat
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errNotFlat
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// readString reads the JSON string starting at b[i] == '"'.
func readString(b []byte, i int) (val []byte, next int, err error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, errNotFlat
	}
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			if !escaped {
				if !utf8.Valid(b[i+1 : j]) {
					return nil, 0, errNotFlat
				}
				return b[i+1 : j], j + 1, nil
			}
			var s string
			if err := json.Unmarshal(b[i:j+1], &s); err != nil {
				return nil, 0, fmt.Errorf("malformed JSON string: %w", err)
			}
			return []byte(s), j + 1, nil
		case c < 0x20:
			return nil, 0, errNotFlat
		}
	}
	return nil, 0, errNotFlat
}

// readScalar reads a number, true, false or null starting at b[i].
func readScalar(b []byte, i int) (val []byte, next int, err error) {
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	tok := b[i:j]
	if len(tok) == 0 || tok[0] == '{' || tok[0] == '[' || !json.Valid(tok) {
		return nil, 0, errNotFlat
	}
	return tok, j, nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
