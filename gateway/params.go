package gateway

import (
	"strconv"
	"strings"
	"time"

	"kash/persistence"
)

// Query parameters: every one is checked, and a bad one is 422
// invalid_field naming it.

func query(c *call, name string) (string, bool) {
	args := c.ctx.QueryArgs()
	if !args.Has(name) {
		return "", false
	}
	return string(args.Peek(name)), true
}

// pageParam reads ?limit= (1–100, default 20) and ?cursor=.
func pageParam(c *call) (persistence.Page, *apiError) {
	var p persistence.Page
	if v, ok := query(c, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > persistence.MaxPageLimit {
			return p, fieldError(codeInvalidField, "limit", "limit must be an integer from 1 to 100.")
		}
		p.Limit = n
	}
	if v, ok := query(c, "cursor"); ok {
		if _, err := persistence.ParseCursor(v); err != nil || len(v) > 300 {
			return p, fieldError(codeInvalidField, "cursor", "The cursor is not valid.")
		}
		p.Cursor = v
	}
	return p, nil
}

// queryEnum reads an optional parameter that must be one of allowed.
func queryEnum(c *call, name string, allowed ...string) (string, *apiError) {
	v, ok := query(c, name)
	if !ok || v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fieldError(codeInvalidField, name, name+" must be one of "+strings.Join(allowed, ", ")+".")
}

// waitParam reads ?wait= in whole seconds, 0 to the longest long poll.
func waitParam(c *call) (time.Duration, *apiError) {
	v, ok := query(c, "wait")
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || time.Duration(n)*time.Second > c.s.cfg.MaxWait {
		return 0, fieldError(codeInvalidField, "wait", "wait must be a whole number of seconds from 0 to "+
			strconv.Itoa(int(c.s.cfg.MaxWait.Seconds()))+".")
	}
	return time.Duration(n) * time.Second, nil
}

// timeParam reads an optional RFC 3339 time or a YYYY-MM-DD day (UTC
// midnight; endOfDay moves it to the next midnight, so that a day given as
// the end of a range is included).
func timeParam(c *call, name string, endOfDay bool) (time.Time, *apiError) {
	v, ok := query(c, name)
	if !ok || v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fieldError(codeInvalidField, name, name+" must be an RFC 3339 time or a YYYY-MM-DD day.")
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
