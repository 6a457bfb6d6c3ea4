package gateway

import (
	"strings"
)

// access says who may call a route.
type access int

const (
	public access = iota // no token (auth, webhooks, the OpenAPI document)
	user                 // a user's access token; the ops token is refused (401)
	admin                // the ops token; a user token is refused (403)
)

// idempotency says how a route treats the Idempotency-Key header.
type idempotency int

const (
	idemNone     idempotency = iota // ignored (GETs; webhooks, deduplicated by event id)
	idemOptional                    // honoured when given (every other POST)
	idemRequired                    // required (the four money POSTs)
)

// bodyKind says what a route reads.
type bodyKind int

const (
	bodyNone      bodyKind = iota
	bodyJSON               // read whole, at most maxJSONBody
	bodyMultipart          // streamed by the handler, at most maxMultipartBody
)

// route is one line of the API.
type route struct {
	method  string
	pattern string // "/v1/cards/{id}/fundings"
	access  access
	idem    idempotency
	body    bodyKind
	// seal stores the replayable response encrypted (it holds tokens).
	seal     bool
	handle   func(*call) reply
	segments []string
}

// router matches a method and a path to a route. Patterns are literal
// segments and {name} parameters, which match one non-empty segment.
type router struct {
	routes []*route
}

func (r *router) add(rt *route) {
	rt.segments = strings.Split(strings.Trim(rt.pattern, "/"), "/")
	r.routes = append(r.routes, rt)
}

// match returns the route for method and path and its parameters in
// pattern order; a path that exists under another method is not found
// (the API's vocabulary has no 405).
func (r *router) match(method, path string) (*route, []string) {
	if path == "/" || !strings.HasPrefix(path, "/") {
		return nil, nil
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if strings.HasSuffix(path, "/") && len(path) > 1 {
		return nil, nil
	}
	for _, rt := range r.routes {
		if rt.method != method || len(rt.segments) != len(segs) {
			continue
		}
		if params, ok := rt.bind(segs); ok {
			return rt, params
		}
	}
	return nil, nil
}

func (rt *route) bind(segs []string) ([]string, bool) {
	var params []string
	for i, s := range rt.segments {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, segs[i])
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return params, true
}
