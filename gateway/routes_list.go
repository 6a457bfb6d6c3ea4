package gateway

// Routes returns the method and pattern of every route of the API, in the
// order they were registered (for example {"POST", "/v1/cards/{id}/fundings"}),
// so that kashd can create each route's metric series before its first
// request. The probes (/healthz, /readyz, /metrics) are not API routes and
// are not listed.
func (s *Server) Routes() [][2]string {
	out := make([][2]string, 0, len(s.router.routes))
	for _, rt := range s.router.routes {
		out = append(out, [2]string{rt.method, rt.pattern})
	}
	return out
}
