package gateway

import (
	"context"
	"errors"
	"sync"
)

// limiter bounds the engine commands in flight, in total and per card, so
// that a burst never queues unbounded work in the actors: beyond the
// bounds a request is refused at once (503 in total, 429 for one card) with
// Retry-After, instead of waiting.
type limiter struct {
	total   chan struct{}
	perCard int

	mu    sync.Mutex
	cards map[string]int
}

func newLimiter(total, perCard int) *limiter {
	return &limiter{total: make(chan struct{}, total), perCard: perCard, cards: map[string]int{}}
}

var (
	errTooBusy     = unavailable("Too many requests are in progress; retry shortly.", nil)
	errCardTooBusy = &apiError{code: codeRateLimited, message: "Too many requests on this card are in progress; retry shortly.",
		retryAfter: 1}
)

// acquire takes a slot for a command on cardID ("" for none); release
// gives it back.
func (l *limiter) acquire(cardID string) (release func(), err *apiError) {
	select {
	case l.total <- struct{}{}:
	default:
		return nil, errTooBusy
	}
	if cardID == "" {
		return func() { <-l.total }, nil
	}
	l.mu.Lock()
	if l.cards[cardID] >= l.perCard {
		l.mu.Unlock()
		<-l.total
		return nil, errCardTooBusy
	}
	l.cards[cardID]++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		if l.cards[cardID]--; l.cards[cardID] <= 0 {
			delete(l.cards, cardID)
		}
		l.mu.Unlock()
		<-l.total
	}, nil
}

// command runs one engine command on cardID within the limits and under
// the command deadline. The deadline's context is not the request's: a
// client that disconnects does not cancel a command halfway. When the
// deadline passes, the outcome is unknown and the answer is 503 with
// Retry-After: the command may still complete, and the client's retry
// with the same Idempotency-Key reaches the same operation.
func (s *Server) command(cardID string, run func(ctx context.Context) error) *apiError {
	if s.deps.Commands == nil || !s.deps.Commands.Ready() {
		return unavailable("The engine is starting; retry shortly.", nil)
	}
	release, lerr := s.limiter.acquire(cardID)
	if lerr != nil {
		return lerr
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CommandTimeout)
	defer cancel()
	err := run(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return unavailable("The request is taking longer than expected; retry it with the same Idempotency-Key.", err)
	}
	return engineError(err, "amount")
}
