package persistence

import "kash/engine"

// CommitTogether commits changes as one batch, as the dispatcher hands a
// batch to a worker, and returns each change's outcome. Tests use it to
// know which changes shared a transaction.
func (j *Journal) CommitTogether(changes []engine.Change) []error {
	batch := make([]*pending, len(changes))
	errs := make([]error, len(changes))
	for i := range changes {
		batch[i] = &pending{change: writeSet{Stream: changes[i].Stream, Writes: changeWrites(&changes[i])},
			done: func(err error) { errs[i] = err }}
	}
	j.commitBatch(batch)
	return errs
}
