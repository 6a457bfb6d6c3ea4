package persistence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The set path writes a batch with one statement per kind of write (card
// updates, ledger entries, ...) over arrays, instead of one per row:
// Postgres then starts one executor per kind rather than per row, which is
// where most of its time went. It keeps the per-row path's outcome:
//
//   - Rounds. Every key is written at most once per statement: a key
//     written again later in the batch (by the same change or another) goes
//     to a later round, and rounds run in batch order. A row that
//     references a parent (a foreign key) runs in the round of the parent's
//     last earlier write, after it (kinds are ordered parents first), and
//     a parent written after the reference goes to a later round. So each
//     row sees what it would have seen row by row.
//   - Checks. Every checked statement returns the rows it matched: a
//     versioned update or a fence that misses its row fails its change
//     with ErrFenced; an insert skips a duplicate key (ON CONFLICT ON
//     CONSTRAINT the key DO NOTHING) and fails its change with a
//     DuplicateError on that constraint.
//   - Errors. Any other error (a check constraint, a foreign key, another
//     unique constraint) rolls back and the batch is redone row by row,
//     which names the change at fault (or fails them all if the connection
//     is gone).
//   - Culprits. Row counts fail the earliest failing change, which is the
//     one the per-row path would have failed, and every other failing change
//     that writes no key that another change writes (its outcome does not
//     depend on the rest); the others are retried.
//   - COMMIT is sent only after all checks passed.
//
// A kind with one row in a round is sent as its per-row statement, which
// costs Postgres less than unnest of one element; a duplicate key there
// raises instead of being skipped, and the row-by-row redo names it.

// errSetFallback says the set path could not decide and the batch must be
// redone row by row; the set transaction has been rolled back.
var errSetFallback = errors.New("journal: set statement failed")

// setStatement is the rows of one kind in one round.
type setStatement struct {
	kind   *writeKind
	args   [][]any    // each row's per-row arguments
	owners [][]rowRef // the writes that each row stands for (a fence is shared)
}

// rowRef is one write of the batch.
type rowRef struct {
	change int // index in the batch
	write  int // index in the change's writes
}

// setPlan is a batch laid out as set statements.
type setPlan struct {
	stmts  []*setStatement // in execution order
	shared []bool          // per change: it writes a key that another change writes too
	rows   int
}

// keyUse follows one key through the batch while the plan is made.
type keyUse struct {
	written, read int // the last round that wrote or referenced the key, -1 for none
	writer        int // the change that wrote it first, -1 for none
}

func planSet(batch []*pending) *setPlan {
	p := &setPlan{shared: make([]bool, len(batch))}
	keys := map[string]*keyUse{}
	use := func(k string) *keyUse {
		u := keys[k]
		if u == nil {
			u = &keyUse{written: -1, read: -1, writer: -1}
			keys[k] = u
		}
		return u
	}
	groups := map[int]*setStatement{} // by round*len(kinds) + kind order
	fences := map[string]int{}        // fence key → row in the fence statement
	for c, pend := range batch {
		for w, write := range pend.change.Writes {
			p.rows++
			k := write.kind
			ref := rowRef{change: c, write: w}
			if k.op == opFence {
				p.addFence(groups, fences, write, ref)
				continue
			}
			round := p.round(use, write, c)
			g := groups[round*len(kinds)+k.order]
			if g == nil {
				g = &setStatement{kind: k}
				groups[round*len(kinds)+k.order] = g
			}
			g.args = append(g.args, write.args)
			g.owners = append(g.owners, []rowRef{ref})
		}
	}
	order := make([]int, 0, len(groups))
	for i := range groups {
		order = append(order, i)
	}
	slices.Sort(order)
	for _, i := range order {
		p.stmts = append(p.stmts, groups[i])
	}
	return p
}

// addFence adds write's fence to the batch's fence statement once per
// (actor, epoch): every change that carries it depends on the one row.
func (p *setPlan) addFence(groups map[int]*setStatement, fences map[string]int, write rowWrite, ref rowRef) {
	g := groups[kindFence.order]
	if g == nil {
		g = &setStatement{kind: kindFence}
		groups[kindFence.order] = g
	}
	key := rowKey(kindFence.table, write.kind.key, write.args)
	if i, ok := fences[key]; ok {
		g.owners[i] = append(g.owners[i], ref)
		return
	}
	fences[key] = len(g.args)
	g.args = append(g.args, write.args)
	g.owners = append(g.owners, []rowRef{ref})
}

// round places one write of change c and records its key and references.
func (p *setPlan) round(use func(string) *keyUse, write rowWrite, c int) int {
	k := write.kind
	own := use(rowKey(k.table, k.key, write.args))
	round := max(own.written, own.read) + 1
	var refs []*keyUse
	for _, r := range k.refs {
		if write.args[r.col] == nil {
			continue
		}
		u := use(rowKey(r.table, []int{r.col}, write.args))
		round = max(round, u.written)
		refs = append(refs, u)
	}
	own.written = round
	switch {
	case own.writer < 0:
		own.writer = c
	case own.writer != c:
		p.shared[own.writer], p.shared[c] = true, true
	}
	for _, u := range refs {
		u.read = max(u.read, round)
	}
	return round
}

// rowKey identifies a row of table by the values of its key columns.
func rowKey(table string, key []int, args []any) string {
	var b strings.Builder
	b.WriteString(table)
	for _, c := range key {
		b.WriteByte(0)
		switch v := args[c].(type) {
		case string:
			b.WriteString(v)
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// trySet runs one set-based transaction of batch. It returns
// errSetFallback, with the transaction rolled back, when the batch must be
// redone row by row.
func (j *Journal) trySet(ctx context.Context, conn *pgxpool.Conn, batch []*pending) (int, []culprit, error) {
	plan := planSet(batch)
	var b pgx.Batch
	b.Queue("BEGIN")
	for _, s := range plan.stmts {
		if len(s.args) == 1 {
			b.Queue(s.kind.rowSQL, s.args[0]...)
			continue
		}
		args, err := s.kind.setArgs(s.args)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %w", errSetFallback, err)
		}
		b.Queue(s.kind.setSQL, args...)
	}
	j.stats.statements.Add(int64(len(plan.stmts)))
	br := conn.SendBatch(ctx, &b)
	missed, err := readSet(br, plan)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("journal: batch: %w", cerr)
	}
	if err == nil && len(missed) == 0 {
		return j.commit(ctx, conn, plan.rows)
	}
	rollback(ctx, conn)
	if err != nil {
		// Whatever went wrong, the per-row path finds out: it names the
		// change at fault, or fails them all if the connection is gone.
		return 0, nil, fmt.Errorf("%w: %w", errSetFallback, err)
	}
	culprits := plan.culprits(batch, missed)
	return 0, culprits, culprits[0].err
}

// readSet reads the statements' results and returns the writes that did
// not match their row.
func readSet(br pgx.BatchResults, plan *setPlan) ([]rowRef, error) {
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("journal: begin: %w", err)
	}
	var missed []rowRef
	for _, s := range plan.stmts {
		matched, err := readStatement(br, s)
		if err != nil {
			return nil, fmt.Errorf("journal: %s of %d rows: %w", s.kind.name, len(s.args), err)
		}
		for i, ok := range matched {
			if !ok {
				missed = append(missed, s.owners[i]...)
			}
		}
	}
	return missed, nil
}

// readStatement reads one statement's result: which of its rows matched
// (nil when its row count does not matter).
func readStatement(br pgx.BatchResults, s *setStatement) ([]bool, error) {
	if len(s.args) == 1 || !s.kind.checked() {
		tag, err := br.Exec()
		if err != nil || !s.kind.checked() {
			return nil, err
		}
		return []bool{tag.RowsAffected() == 1}, nil
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	matched := make([]bool, len(s.args))
	if s.kind.op == opInsert {
		err = matchKeys(rows, s, matched)
	} else {
		err = matchOrdinals(rows, matched)
	}
	if err != nil {
		return nil, err
	}
	return matched, rows.Err()
}

// matchOrdinals marks the rows whose ordinality (1-based) came back.
func matchOrdinals(rows pgx.Rows, matched []bool) error {
	for rows.Next() {
		var ord int64
		if err := rows.Scan(&ord); err != nil {
			return err
		}
		if ord < 1 || ord > int64(len(matched)) {
			return fmt.Errorf("returned row %d of %d", ord, len(matched))
		}
		matched[ord-1] = true
	}
	return nil
}

// matchKeys marks the inserted rows by the keys that came back. A key
// given twice in one statement belongs to one change (other changes' are
// in later rounds): the first row inserted it, the second was a duplicate.
func matchKeys(rows pgx.Rows, s *setStatement, matched []bool) error {
	byKey := make(map[string][]int, len(s.args))
	for i, a := range s.args {
		k := fmt.Sprint(a[s.kind.key[0]])
		byKey[k] = append(byKey[k], i)
	}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return err
		}
		idx := byKey[key]
		if len(idx) == 0 {
			return fmt.Errorf("returned key %q was not sent", key)
		}
		matched[idx[0]], byKey[key] = true, idx[1:]
	}
	return nil
}

// culprits picks the failing changes to fail now: the earliest, which the
// per-row path would have failed first, and every other whose outcome does
// not depend on another change of the batch. Each gets the error of its
// first failing write.
func (p *setPlan) culprits(batch []*pending, missed []rowRef) []culprit {
	first := map[int]int{} // change → its first failing write
	for _, m := range missed {
		if w, ok := first[m.change]; !ok || m.write < w {
			first[m.change] = m.write
		}
	}
	earliest := len(batch)
	for c := range first {
		earliest = min(earliest, c)
	}
	out := []culprit{{index: earliest, err: missError(batch[earliest], first[earliest])}}
	for c, w := range first {
		if c != earliest && !p.shared[c] {
			out = append(out, culprit{index: c, err: missError(batch[c], w)})
		}
	}
	return out
}

// missError says why write w of p matched no row.
func missError(p *pending, w int) error {
	write := p.change.Writes[w]
	k := write.kind
	switch k.op {
	case opInsert:
		return fmt.Errorf("journal: stream %q write %d (%s): %w", p.change.Stream, w, k.name,
			&DuplicateError{Table: k.table, Constraint: k.pkey})
	case opFence:
		return fmt.Errorf("%w: stream %q write %d (%s): epoch %v of actor %v is no longer current",
			ErrFenced, p.change.Stream, w, k.name, write.args[1], write.args[0])
	}
	return fmt.Errorf("%w: stream %q write %d (%s) matched no row", ErrFenced, p.change.Stream, w, k.name)
}
