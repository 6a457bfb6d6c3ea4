package bench

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// stages are the named latency recorders of an HTTP scenario's steps: per
// kind of operation, "accepted" (POST → 202) and "completed" (POST → final
// status), each from the operation's intended send time.
type stages struct {
	mu   sync.Mutex
	recs map[string]*Recorder
	at   time.Time
}

func (s *stages) reset(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs, s.at = map[string]*Recorder{}, at
}

func (s *stages) get(name string) *Recorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs == nil {
		s.recs, s.at = map[string]*Recorder{}, time.Now()
	}
	r := s.recs[name]
	if r == nil {
		r = NewRecorder(s.at)
		s.recs[name] = r
	}
	return r
}

func (s *stages) record(name string, intended time.Time, err error) {
	s.get(name).Record(intended, time.Now(), err)
}

func (s *stages) summaries() map[string]LatencySummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]LatencySummary, len(s.recs))
	for name, r := range s.recs {
		out[name] = r.Summary()
	}
	return out
}

// count is how many of stage name succeeded.
func (s *stages) count(name string) int64 {
	c, _ := s.get(name).Counts()
	return c
}

// send makes one request; with the world's retry policy on, it retries
// what a real app retries, with the same Idempotency-Key, until ctx ends.
func (w *apiWorld) send(ctx context.Context, toSim bool, r request, out any) error {
	backoff := 50 * time.Millisecond
	for {
		_, err := w.fast.call(ctx, toSim, r, out)
		if err == nil || !w.cfg.retry || !retryable(err) || ctx.Err() != nil {
			return err
		}
		if !sleepCtx(ctx, backoff) {
			return err
		}
		backoff = min(backoff*2, time.Second)
	}
}

// retryable says whether a request may be sent again: there was no
// answer, or the answer says "not now".
func retryable(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch he.Status {
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusConflict:
		return he.Code == "idempotency_in_progress"
	}
	return false
}

// saga is what the API answers about a funding or a withdrawal.
type saga struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// final reports whether a funding or withdrawal status is final.
func final(status string) bool {
	return status == "succeeded" || status == "failed" || status == "refunded"
}

// waitFinal long-polls a funding or withdrawal until its status is final.
func (w *apiWorld) waitFinal(ctx context.Context, kind, token, id string) (string, error) {
	path := "/v1/fundings/" + id + "?wait=30"
	if kind == kindWithdrawal {
		path = "/v1/withdrawals/" + id + "?wait=30"
	}
	for {
		var s saga
		if err := w.send(ctx, false, request{method: "GET", path: path, token: token}, &s); err != nil {
			return "", err
		}
		if final(s.Status) {
			w.tally.final(kind, id)
			return s.Status, nil
		}
		if ctx.Err() != nil {
			return s.Status, ctx.Err()
		}
	}
}

// sagaOp is one funding, issuance or withdrawal: POST, then long polls
// until final, timed from the intended send time into "<label>: accepted"
// and "<label>: completed" (and into the "all" labels too).
type sagaOp struct {
	kind     string // kindFunding or kindWithdrawal
	labels   []string
	path     string // the POST
	token    string
	key      string
	body     []byte
	intended time.Time
	// issuance answers {"card", "funding"}.
	issuance bool
}

// run performs the operation and returns its final status.
func (w *apiWorld) run(ctx context.Context, st *stages, op sagaOp) (string, error) {
	var s saga
	var iss struct {
		Card    saga `json:"card"`
		Funding saga `json:"funding"`
	}
	var out any = &s
	if op.issuance {
		out = &iss
	}
	err := w.send(ctx, false, request{method: "POST", path: op.path, token: op.token, key: op.key, body: op.body}, out)
	for _, l := range op.labels {
		st.record(l+": accepted", op.intended, err)
	}
	if err != nil {
		// Without an answer the outcome is unknown: the saga may exist.
		var he *HTTPError
		if !errors.As(err, &he) {
			w.tally.abandon()
		}
		return "", opErr(errorCode(err), err)
	}
	if op.issuance {
		s = iss.Funding
		w.tally.cardIssued(iss.Card.ID)
	}
	w.tally.accepted(op.kind, s.ID, op.key)
	status := s.Status
	if !final(status) {
		if status, err = w.waitFinal(ctx, op.kind, op.token, s.ID); err != nil {
			w.tally.unfollow()
		}
	} else {
		w.tally.final(op.kind, s.ID)
	}
	if err == nil && status != "succeeded" {
		err = opErr("status "+status, nil)
	}
	for _, l := range op.labels {
		st.record(l+": completed", op.intended, err)
	}
	if err != nil {
		var oe *OpError
		if errors.As(err, &oe) {
			return status, err
		}
		return status, opErr(errorCode(err), err)
	}
	return status, nil
}

// spendAt spends cents on card at the simulated issuer.
func (w *apiWorld) spendAt(ctx context.Context, card string, cents int64) (bool, error) {
	var out struct {
		Approved bool `json:"approved"`
	}
	// A spend is not idempotent at the simulator: it is never retried, and
	// one without an answer is counted as abandoned (its outcome unknown).
	_, err := w.fast.call(ctx, true, request{method: "POST", path: "/sim/spend", body: spendBody(card, cents)}, &out)
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			w.tally.abandon()
		}
		return false, err
	}
	w.tally.spend(card, cents, out.Approved)
	return out.Approved, nil
}
