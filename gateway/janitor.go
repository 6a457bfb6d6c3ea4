package gateway

import (
	"context"
	"time"
)

// janitorEvery is how often expired rows are deleted.
const janitorEvery = time.Hour

// janitor deletes what has outlived its use: idempotency keys past their
// expiry (kept at least 24 hours), quotes expired a day ago, and OTP codes
// older than a day (past their life and every rate-limit window).
func (s *Server) janitor(stop <-chan struct{}) {
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.purge()
		}
	}
}

func (s *Server) purge() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := s.cfg.Now()
	dayAgo := now.Add(-24 * time.Hour)
	if _, err := s.idem.Purge(ctx, now); err != nil {
		s.log.Warn("purge idempotency keys", "err", err)
	}
	if _, err := s.prices.PurgeQuotes(ctx, dayAgo); err != nil {
		s.log.Warn("purge quotes", "err", err)
	}
	otpBefore := now.Add(-s.cfg.OTPWindow - s.cfg.OTPTTL)
	if dayAgo.Before(otpBefore) {
		otpBefore = dayAgo
	}
	if _, err := s.identity.PurgeOTP(ctx, otpBefore); err != nil {
		s.log.Warn("purge otp codes", "err", err)
	}
}
