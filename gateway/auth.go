package gateway

import (
	"errors"
	"net/http"

	"kash/engine"
	"kash/persistence"
)

var errForbidden = newError(codeForbidden, "This route is for ops only.")

// authenticate applies the route's access rule. The ops token is not a
// user: on user routes it is 401 like any token that is not a user's; a
// user's token on ops routes is 403.
func (s *Server) authenticate(c *call) *apiError {
	if c.rt.access == public {
		return nil
	}
	token := bearer(string(c.ctx.Request.Header.Peek("Authorization")))
	if token == "" {
		return errUnauthorized
	}
	if s.isAdminToken(token) {
		if c.rt.access == admin {
			c.isAdmin = true
			return nil
		}
		return errUnauthorized
	}
	claims, err := s.parseAccess(token)
	if err != nil {
		return errUnauthorized
	}
	if c.rt.access == admin {
		return errForbidden
	}
	c.userID, c.session = claims.Subject, claims.SessionID
	return nil
}

var errInvalidCode = newError(codeInvalidCode, "The code is wrong or has expired.")

// postOTP sends a login code by SMS: POST /v1/auth/otp.
func (s *Server) postOTP(c *call) reply {
	req, aerr := decodeOTPRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	code, err := newOTPCode()
	if err != nil {
		return errorReply(internalError(err))
	}
	id, err := s.identity.CreateOTP(c.context(), persistence.OTPRequest{
		Phone: req.Phone, CodeHash: s.hashOTP(req.Phone, code), ClientAddr: c.clientAddr(), Now: c.now,
		TTL: s.cfg.OTPTTL, Window: s.cfg.OTPWindow, PerPhone: s.cfg.OTPPerPhone, PerClient: s.cfg.OTPPerClient,
	})
	var limited *persistence.RateLimitError
	if errors.As(err, &limited) {
		return errorReply(&apiError{code: codeRateLimited, message: "Too many codes were requested; retry later.",
			retryAfter: int(limited.RetryAfter.Seconds() + 0.999)})
	}
	if err != nil {
		return errorReply(internalError(err))
	}
	// The code goes straight to the SMS port and never rests in the
	// outbox, so that it exists in clear nowhere but in the message.
	msg := engine.Message{Ref: "otp-" + itoa(id), To: req.Phone, Title: "Kash",
		Body: "Your Kash code is " + code + ". It expires in 10 minutes. Never share it."}
	if err := s.deps.SMS.Send(c.context(), msg); err != nil {
		return errorReply(unavailable("The code could not be sent; retry shortly.", err))
	}
	return jsonReply(http.StatusAccepted, map[string]int{"expires_in": int(s.cfg.OTPTTL.Seconds())})
}

type tokenView struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	User         userView `json:"user"`
}

// postToken exchanges a phone and its code for tokens: POST
// /v1/auth/token. The user is created on first login.
func (s *Server) postToken(c *call) reply {
	req, aerr := decodeTokenRequest(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	u, err := s.identity.Login(c.context(), req.Phone, s.hashOTP(req.Phone, req.Code), randomID("usr"), c.now,
		s.cfg.OTPAttempts)
	if errors.Is(err, persistence.ErrInvalidCode) {
		return errorReply(errInvalidCode)
	}
	if err != nil {
		return errorReply(internalError(err))
	}
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return errorReply(internalError(err))
	}
	family := randomID("ses")
	if err := s.identity.CreateRefresh(c.context(), persistence.RefreshToken{Hash: hash, UserID: u.ID,
		FamilyID: family, ExpiresAt: c.now.Add(s.cfg.RefreshTTL), Now: c.now}); err != nil {
		return errorReply(internalError(err))
	}
	return s.tokens(c, u, family, refresh)
}

func (s *Server) tokens(c *call, u persistence.User, family, refresh string) reply {
	access, err := s.issueAccess(u.ID, family, c.now)
	if err != nil {
		return errorReply(internalError(err))
	}
	return jsonReply(http.StatusOK, tokenView{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTTL.Seconds()), User: userOf(u)})
}

// postRefresh rotates a refresh token: POST /v1/auth/refresh. A token
// already rotated revokes its whole family (a copy is in other hands).
func (s *Server) postRefresh(c *call) reply {
	old, aerr := decodeRefreshToken(c.body, false)
	if aerr != nil {
		return errorReply(aerr)
	}
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return errorReply(internalError(err))
	}
	next, err := s.identity.RotateRefresh(c.context(), hashRefresh(old), persistence.RefreshToken{Hash: hash,
		ExpiresAt: c.now.Add(s.cfg.RefreshTTL), Now: c.now})
	if errors.Is(err, persistence.ErrInvalidToken) {
		return errorReply(newError(codeUnauthorized, "The refresh token is not valid; log in again."))
	}
	if err != nil {
		return errorReply(internalError(err))
	}
	u, err := s.identity.User(c.context(), next.UserID)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return s.tokens(c, u, next.FamilyID, refresh)
}

// postLogout ends a login session: POST /v1/auth/logout, with the access
// token, or with {"refresh_token"} when the access token has expired. The
// session's refresh tokens are revoked; its access tokens die within
// their short life.
func (s *Server) postLogout(c *call) reply {
	refresh, aerr := decodeRefreshToken(c.body, true)
	if aerr != nil {
		return errorReply(aerr)
	}
	family := ""
	if token := bearer(string(c.ctx.Request.Header.Peek("Authorization"))); token != "" {
		claims, err := s.parseAccess(token)
		if err != nil {
			return errorReply(errUnauthorized)
		}
		family = claims.SessionID
	} else if refresh != "" {
		f, _, err := s.identity.RefreshFamily(c.context(), hashRefresh(refresh), c.now)
		if errors.Is(err, persistence.ErrInvalidToken) {
			return errorReply(errUnauthorized)
		}
		if err != nil {
			return errorReply(internalError(err))
		}
		family = f
	} else {
		return errorReply(errUnauthorized)
	}
	if err := s.identity.RevokeFamily(c.context(), family, c.now); err != nil {
		return errorReply(internalError(err))
	}
	return noContent()
}
