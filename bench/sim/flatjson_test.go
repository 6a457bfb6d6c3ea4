package sim

import (
	"encoding/json"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func scanToMap(b []byte) (map[string]string, error) {
	out := map[string]string{}
	err := scanFlatObject(b, func(k, v []byte, quoted bool) {
		if quoted {
			out[string(k)] = string(v)
		} else {
			out[string(k)] = "raw:" + string(v)
		}
	})
	return out, err
}

func TestScanFlatObjectAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.MapOf(rapid.StringMatching(`[a-z_]{1,12}`), rapid.String()).Draw(t, "object")
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scanToMap(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var want map[string]string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", b, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: key %q got %q, want %q", b, k, got[k], v)
			}
		}
	})
}

func TestScanFlatObjectCases(t *testing.T) {
	t.Parallel()
	ok := map[string]map[string]string{
		`{}`:                          {},
		` { "a" : "x" , "n": 12.5 } `: {"a": "x", "n": "raw:12.5"},
		`{"a":null,"b":true}`:         {"a": "raw:null", "b": "raw:true"},
		`{"e":"q\"uote\\ \u00e9"}`:    {"e": "q\"uote\\ é"},
		"{\"u\":\"caf\xc3\xa9\"}":     {"u": "café"},
	}
	for in, want := range ok {
		got, err := scanToMap([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: %q = %q, want %q", in, k, got[k], v)
			}
		}
	}
	for _, in := range []string{``, `[]`, `{"a":{}}`, `{"a":[1]}`, `{"a":"x"`, `{"a" "x"}`, `{"a":"x"} x`, `{"a":nul}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}"} {
		if _, err := scanToMap([]byte(in)); !errors.Is(err, errNotFlat) {
			t.Fatalf("%q: err %v, want errNotFlat", in, err)
		}
	}
}

func TestAppendJSONStringRoundTrips(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s")
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil || back != s {
			t.Fatalf("%q: got %q, %v", s, back, err)
		}
	})
}
