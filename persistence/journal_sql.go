package persistence

import (
	"fmt"
	"strconv"
	"strings"
)

// writeOp is what a write kind does to its table.
type writeOp int

const (
	// opInsert inserts a row that must not exist yet: a duplicate key
	// fails the change with a DuplicateError.
	opInsert writeOp = iota
	// opInsertIgnore inserts a row unless its key exists (a repeated
	// history status, an outbox message already written).
	opInsertIgnore
	// opUpdate updates one existing row under a condition (guard); a row
	// that does not match fails the change with ErrFenced.
	opUpdate
	// opFence locks the actor's epoch row FOR SHARE; a missing row (the
	// epoch moved on) fails the change with ErrFenced.
	opFence
)

// colType is the SQL type of a column's values.
type colType int

const (
	colText colType = iota
	colInt8
	colInt4
	colBool
	colTimestamptz
	// colNumeric travels as text and is cast in SQL, as the per-row path's
	// decimal.Decimal does (its driver.Value is its string): both paths
	// store the same numeric, scale included.
	colNumeric
	// Array columns hold a whole array per row (a ledger entry's postings).
	colTextArray
	colInt8Array
)

var colTypeNames = map[string]colType{"text": colText, "int8": colInt8, "int4": colInt4, "bool": colBool,
	"timestamptz": colTimestamptz, "numeric": colNumeric, "text[]": colTextArray, "int8[]": colInt8Array}

// arrayType is the SQL type of the parameter that carries a column's values
// of many rows.
func (t colType) arrayType() string {
	return [...]string{colText: "text[]", colInt8: "bigint[]", colInt4: "int[]", colBool: "boolean[]",
		colTimestamptz: "timestamptz[]", colNumeric: "text[]", colTextArray: "text[]", colInt8Array: "bigint[]"}[t]
}

func (t colType) isArray() bool { return t == colTextArray || t == colInt8Array }

type column struct {
	name string
	typ  colType
}

// cols parses "name type" column specs; a wrong spec is a programming
// error caught by every test run, hence the panic at init.
func cols(specs ...string) []column {
	out := make([]column, len(specs))
	for i, s := range specs {
		name, typ, ok := strings.Cut(s, " ")
		t, known := colTypeNames[typ]
		if !ok || !known {
			panic(fmt.Sprintf("journal: bad column spec %q", s))
		}
		out[i] = column{name: name, typ: t}
	}
	return out
}

// reference is a foreign key: column col holds the key of a row of table.
// The set path orders a round's statements so that a parent written in the
// same round comes first, and keeps a row that references a parent written
// later in the batch in an earlier round, so that a foreign key fails
// exactly when it would have failed row by row.
type reference struct {
	col   int
	table string
}

// writeKind is one way of writing one table, with its per-row and set
// statements.
type writeKind struct {
	name  string
	table string
	op    writeOp
	cols  []column // in the order of a row's arguments
	key   []int    // the columns that identify the row
	// pkey is the unique constraint on key that an insert must not hit;
	// the set statement names it in ON CONFLICT and a skipped row is
	// reported as a DuplicateError on it.
	pkey     string
	refs     []reference
	extraSet string                               // update: a SET item computed from the row itself
	guard    func(val func(string) string) string // update: the condition besides the key
	order    int                                  // position in kinds: statement order in a round

	rowSQL string // one row, arguments $1..$n in cols order
	setSQL string // many rows: one array argument per column (two more per array column)
}

// versioned makes k an update that applies only where the stored version is
// the one before the row's (fencing, durability rule 4).
func versioned(k *writeKind) *writeKind {
	k.op, k.key = opUpdate, []int{0}
	k.guard = func(val func(string) string) string { return "t.version = " + val("version") + " - 1" }
	return k
}

// expect is the number of rows one write of k must affect, or AnyRows.
func (k *writeKind) expect() int64 {
	if k.op == opInsertIgnore {
		return AnyRows
	}
	return 1
}

// checked reports whether a write of k can fail its change by its row
// count, so that its set statement must say which rows it matched.
func (k *writeKind) checked() bool { return k.op != opInsertIgnore }

func (k *writeKind) compile() {
	dollar := func(c string) string { return "$" + strconv.Itoa(k.colIndex(c)+1) }
	k.rowSQL = k.statement(k.valuesClause(), dollar)
	k.setSQL = k.statement(k.unnestClause(), k.setValue)
}

// setValue names column c of the current unnest row, cast back to the
// column's type where it travels as another.
func (k *writeKind) setValue(c string) string {
	switch k.cols[k.colIndex(c)].typ {
	case colNumeric:
		return "u." + c + "::numeric"
	case colTextArray, colInt8Array:
		panic(fmt.Sprintf("journal: %s: array column %s can only be inserted", k.name, c))
	}
	return "u." + c
}

func (k *writeKind) colIndex(name string) int {
	for i, c := range k.cols {
		if c.name == name {
			return i
		}
	}
	panic(fmt.Sprintf("journal: %s has no column %q", k.name, name))
}

// statement builds k's SQL around source: a VALUES list or an unnest
// FROM item, with val naming a column's value in the row.
func (k *writeKind) statement(source rowSource, val func(string) string) string {
	keyCond := make([]string, len(k.key))
	for i, c := range k.key {
		keyCond[i] = "t." + k.cols[c].name + " = " + val(k.cols[c].name)
	}
	where := strings.Join(keyCond, " AND ")
	if k.guard != nil {
		where += " AND " + k.guard(val)
	}
	switch k.op {
	case opFence:
		if source.from == "" {
			return "SELECT 1 FROM " + k.table + " AS t WHERE " + where + " FOR SHARE"
		}
		return "SELECT u.ord FROM " + source.from + " JOIN " + k.table + " AS t ON " + where + " FOR SHARE OF t"
	case opUpdate:
		sets := make([]string, 0, len(k.cols))
		for i, c := range k.cols {
			if !k.isKey(i) {
				sets = append(sets, c.name+" = "+val(c.name))
			}
		}
		if k.extraSet != "" {
			sets = append(sets, k.extraSet)
		}
		sql := "UPDATE " + k.table + " AS t SET " + strings.Join(sets, ", ")
		if source.from == "" {
			return sql + " WHERE " + where
		}
		return sql + " FROM " + source.from + " WHERE " + where + " RETURNING u.ord"
	}
	names := make([]string, len(k.cols))
	for i, c := range k.cols {
		names[i] = c.name
	}
	sql := "INSERT INTO " + k.table + " (" + strings.Join(names, ", ") + ") " + source.rows
	switch {
	case k.op == opInsertIgnore:
		return sql + " ON CONFLICT (" + k.keyNames() + ") DO NOTHING"
	case source.from != "":
		// A duplicate key is skipped, and found missing from RETURNING,
		// instead of aborting the whole set; other unique constraints
		// still raise, and the journal then finds the culprit row by row.
		return sql + " ON CONFLICT ON CONSTRAINT " + k.pkey + " DO NOTHING RETURNING " + k.keyNames()
	}
	return sql
}

// rowSource is where a statement's rows come from: rows is the
// INSERT's source, from the FROM item of an UPDATE or a fence (empty for a
// single row, whose values are parameters).
type rowSource struct {
	rows string
	from string
}

func (k *writeKind) valuesClause() rowSource {
	ps := make([]string, len(k.cols))
	for i := range k.cols {
		ps[i] = "$" + strconv.Itoa(i+1)
	}
	return rowSource{rows: "VALUES (" + strings.Join(ps, ", ") + ")"}
}

// unnestClause turns the set arguments into rows u(cols..., ord). An array
// column cannot ride in unnest (it would be flattened): all rows' elements
// travel in one flat array argument, and each row carries the bounds of
// its slice of it.
func (k *writeKind) unnestClause() rowSource {
	var args, names, selects, flat []string
	n := 0
	next := func(typ string) string { n++; return "$" + strconv.Itoa(n) + "::" + typ }
	for _, c := range k.cols {
		switch {
		case c.typ.isArray():
			args = append(args, next("int[]"), next("int[]"))
			names = append(names, c.name+"_lo", c.name+"_hi")
		default:
			args = append(args, next(c.typ.arrayType()))
			names = append(names, c.name)
		}
	}
	for _, c := range k.cols {
		if c.typ.isArray() {
			flat = append(flat, next(c.typ.arrayType()))
			selects = append(selects, "("+flat[len(flat)-1]+")[u."+c.name+"_lo:u."+c.name+"_hi]")
		} else {
			selects = append(selects, k.setValue(c.name))
		}
	}
	from := "unnest(" + strings.Join(args, ", ") + ") WITH ORDINALITY AS u(" + strings.Join(names, ", ") + ", ord)"
	return rowSource{rows: "SELECT " + strings.Join(selects, ", ") + " FROM " + from, from: from}
}

func (k *writeKind) isKey(col int) bool {
	for _, c := range k.key {
		if c == col {
			return true
		}
	}
	return false
}

func (k *writeKind) keyNames() string {
	names := make([]string, len(k.key))
	for i, c := range k.key {
		names[i] = k.cols[c].name
	}
	return strings.Join(names, ", ")
}
