package gateway

import (
	"net/http"
)

// getMe returns the caller: GET /v1/me.
func (s *Server) getMe(c *call) reply {
	u, err := s.identity.User(c.context(), c.userID)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, userOf(u))
}

// patchMe changes the caller's name, the only field a user may write:
// PATCH /v1/me. Any other field, kyc_status included, is 422
// invalid_field.
func (s *Server) patchMe(c *call) reply {
	name, aerr := decodeProfile(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	u, err := s.identity.SetName(c.context(), c.userID, name)
	if err != nil {
		return errorReply(engineError(err, ""))
	}
	return jsonReply(http.StatusOK, userOf(u))
}

// postDevice registers a push target: POST /v1/me/devices.
func (s *Server) postDevice(c *call) reply {
	device, aerr := decodeDevice(c.body)
	if aerr != nil {
		return errorReply(aerr)
	}
	if err := s.identity.SetDevice(c.context(), c.userID, device); err != nil {
		return errorReply(internalError(err))
	}
	return noContent()
}
