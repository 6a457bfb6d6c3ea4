package gateway

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"

	"kash/persistence"
)

// requestHash is what an Idempotency-Key must match on reuse: the method,
// the path and the body, byte for byte.
func requestHash(method, path string, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return h.Sum(nil)
}

// lease is how long a request holds its key: past the engine deadline, so
// that a live holder is never taken over, and short enough that a crashed
// process's keys free themselves quickly.
func (s *Server) lease() time.Duration { return s.cfg.CommandTimeout + requestTimeout }

// storable reports whether a response is the request's outcome, to replay
// on every retry. 5xx, 429 and 409 idempotency_in_progress are not: they
// say "try again", and a retry must be able to do the work.
func storable(status int) bool {
	return status < http.StatusInternalServerError && status != http.StatusTooManyRequests
}

// idempotent runs a request under its Idempotency-Key (API.md,
// Idempotency): the first request runs and its outcome is stored; the same
// key and body replay it with Idempotent-Replayed: true; another body is
// 422 idempotency_key_reused; while the first still runs, 409
// idempotency_in_progress. A request that ends without an outcome (5xx,
// 429, a panic) releases the key, so the client's retry takes over at once.
func (s *Server) idempotent(c *call, hash []byte, run func() reply) (r reply) {
	key := persistence.IdempotencyKey{Scope: c.scope(), Key: c.idemKey, Hash: hash}
	res, err := s.idem.Begin(c.context(), key, c.now, s.lease())
	if err != nil {
		return errorReply(unavailable("The service is busy; retry the same request shortly.", err))
	}
	switch res.State {
	case persistence.IdempotencyReplay:
		return s.replay(c, res)
	case persistence.IdempotencyInProgress:
		e := newError(codeIdempotencyInProgress, "A request with this Idempotency-Key is still being processed.")
		e.retryAfter = 1
		return errorReply(e)
	case persistence.IdempotencyMismatch:
		return errorReply(newError(codeIdempotencyKeyReused,
			"This Idempotency-Key was already used with a different request."))
	}
	completed := false
	defer func() {
		if !completed {
			// Runs on a panic too; the panic goes on to the recovery.
			if err := s.idem.Release(c.context(), key, s.cfg.Now()); err != nil {
				s.log.Warn("release idempotency key", "err", err)
			}
		}
	}()
	r = run()
	if storable(r.status) && r.stream == nil {
		body := r.body
		if c.rt.seal {
			body = s.sealer.seal(body)
		}
		if err := s.idem.Complete(c.context(), key, r.status, body); err != nil {
			// The outcome stands; the key stays leased until its lease ends,
			// then a retry takes over and reaches the same operation.
			s.log.Warn("complete idempotency key", "err", err)
		}
		completed = true
	}
	return r
}

func (s *Server) replay(c *call, res persistence.IdempotencyResult) reply {
	body := res.Body
	if c.rt.seal {
		plain, err := s.sealer.open(body)
		if err != nil {
			return errorReply(internalError(err))
		}
		body = plain
	}
	return reply{status: res.Status, body: body, replayed: true}
}
