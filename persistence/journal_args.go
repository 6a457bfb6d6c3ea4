package persistence

import (
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// setArgs turns rows (each one write's per-row arguments, in k.cols order)
// into the arguments of k's set statement: one array per column, in the
// order unnestClause numbers them. A value of an unexpected Go type is an
// error, never a silent NULL; the journal then writes the batch row by row.
func (k *writeKind) setArgs(rows [][]any) ([]any, error) {
	args := make([]any, 0, len(k.cols)+2)
	var flats []any
	for c, col := range k.cols {
		if col.typ.isArray() {
			lo, hi, flat, err := sliceColumn(col.typ, rows, c)
			if err != nil {
				return nil, fmt.Errorf("%s column %s: %w", k.name, col.name, err)
			}
			args = append(args, lo, hi)
			flats = append(flats, flat)
			continue
		}
		a, err := scalarColumn(col.typ, rows, c)
		if err != nil {
			return nil, fmt.Errorf("%s column %s: %w", k.name, col.name, err)
		}
		args = append(args, a)
	}
	return append(args, flats...), nil
}

func scalarColumn(t colType, rows [][]any, c int) (any, error) {
	var err error
	switch t {
	case colText, colNumeric:
		out := make([]pgtype.Text, len(rows))
		for i, r := range rows {
			if out[i], err = textValue(r[c]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case colInt8, colInt4:
		return intColumn(t, rows, c)
	case colBool:
		out := make([]pgtype.Bool, len(rows))
		for i, r := range rows {
			b, ok := r[c].(bool)
			if !ok {
				return nil, fmt.Errorf("row %d: %T is not a bool", i, r[c])
			}
			out[i] = pgtype.Bool{Bool: b, Valid: true}
		}
		return out, nil
	case colTimestamptz:
		out := make([]pgtype.Timestamptz, len(rows))
		for i, r := range rows {
			switch v := r[c].(type) {
			case nil:
			case time.Time:
				out[i] = pgtype.Timestamptz{Time: v, Valid: true}
			default:
				return nil, fmt.Errorf("row %d: %T is not a time", i, v)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("column type %d is not scalar", t)
}

// textValue takes what pgx would send as text: strings (named string types
// too) and driver.Valuers that give a string, such as decimal.Decimal.
func textValue(v any) (pgtype.Text, error) {
	switch x := v.(type) {
	case nil:
		return pgtype.Text{}, nil
	case string:
		return pgtype.Text{String: x, Valid: true}, nil
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return pgtype.Text{}, fmt.Errorf("value of %T: %w", v, err)
		}
		return textValue(dv)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return pgtype.Text{String: rv.String(), Valid: true}, nil
	}
	return pgtype.Text{}, fmt.Errorf("%T is not text", v)
}

func intColumn(t colType, rows [][]any, c int) (any, error) {
	vals := make([]pgtype.Int8, len(rows))
	for i, r := range rows {
		switch v := r[c].(type) {
		case nil:
		case int64:
			vals[i] = pgtype.Int8{Int64: v, Valid: true}
		case int:
			vals[i] = pgtype.Int8{Int64: int64(v), Valid: true}
		default:
			rv := reflect.ValueOf(v)
			if !rv.CanInt() {
				return nil, fmt.Errorf("row %d: %T is not an integer", i, v)
			}
			vals[i] = pgtype.Int8{Int64: rv.Int(), Valid: true}
		}
	}
	if t == colInt8 {
		return vals, nil
	}
	out := make([]pgtype.Int4, len(vals))
	for i, v := range vals {
		if v.Int64 < math.MinInt32 || v.Int64 > math.MaxInt32 {
			return nil, fmt.Errorf("row %d: %d is out of range for int4", i, v.Int64)
		}
		out[i] = pgtype.Int4{Int32: int32(v.Int64), Valid: v.Valid}
	}
	return out, nil
}

// sliceColumn flattens a column of per-row arrays into one array and the
// 1-based bounds of each row's slice of it (hi < lo for an empty array).
func sliceColumn(t colType, rows [][]any, c int) (lo, hi []int32, flat any, err error) {
	lo, hi = make([]int32, len(rows)), make([]int32, len(rows))
	// Never nil: a nil flat array would be NULL, and so would every slice.
	texts, ints := []string{}, []int64{}
	for i, r := range rows {
		var n int
		switch v := r[c].(type) {
		case []string:
			if v == nil {
				return nil, nil, nil, fmt.Errorf("row %d: a nil array (NULL) cannot be sliced", i)
			}
			if t != colTextArray {
				return nil, nil, nil, fmt.Errorf("row %d: %T in an int8[] column", i, v)
			}
			texts, n = append(texts, v...), len(v)
		case []int64:
			if v == nil {
				return nil, nil, nil, fmt.Errorf("row %d: a nil array (NULL) cannot be sliced", i)
			}
			if t != colInt8Array {
				return nil, nil, nil, fmt.Errorf("row %d: %T in a text[] column", i, v)
			}
			ints, n = append(ints, v...), len(v)
		default:
			return nil, nil, nil, fmt.Errorf("row %d: %T is not a slice of the column's type", i, v)
		}
		end := max(len(texts), len(ints))
		lo[i], hi[i] = int32(end-n+1), int32(end)
	}
	if t == colTextArray {
		return lo, hi, texts, nil
	}
	return lo, hi, ints, nil
}
