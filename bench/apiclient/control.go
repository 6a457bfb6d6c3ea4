package apiclient

import (
	"fmt"
	"io"
	"net/http"
)

// Fault is a simulator fault setting (POST /sim/faults): on Target, a
// share of requests fail (FailRate) or hang (TimeoutRate), each after a
// latency drawn from LatencyMS [min, max]; NextFailures fails the next n.
type Fault struct {
	Target         string   `json:"target"`
	FailRate       float64  `json:"fail_rate,omitempty"`
	TimeoutRate    float64  `json:"timeout_rate,omitempty"`
	LatencyMS      []int    `json:"latency_ms,omitempty"`
	NextFailures   int      `json:"next_failures,omitempty"`
	DuplicateRate  float64  `json:"duplicate_rate,omitempty"`
	ReorderRate    float64  `json:"reorder_rate,omitempty"`
	TimeoutApplied *float64 `json:"timeout_applied_rate,omitempty"`
}

// SetFault replaces the simulator's fault settings of f.Target.
func (c *Client) SetFault(f Fault) error {
	return c.Do("POST", c.Sim+"/sim/faults", "", "", f, nil)
}

// ClearFaults removes every fault from the simulator.
func (c *Client) ClearFaults() error {
	return c.Do("DELETE", c.Sim+"/sim/faults", "", "", nil, nil)
}

// SimState is the simulator's view of the world (GET /sim/state).
type SimState struct {
	Issuer struct {
		Float Money `json:"float"`
		Cards []struct {
			Card    string `json:"card"`
			Balance Money  `json:"balance"`
			Status  string `json:"status"`
		} `json:"cards"`
	} `json:"issuer"`
	Momo struct {
		Providers []struct {
			Provider string `json:"provider"`
			Balance  Money  `json:"balance"`
		} `json:"providers"`
		Wallets []struct {
			Phone   string `json:"phone"`
			Balance Money  `json:"balance"`
		} `json:"wallets"`
	} `json:"momo"`
}

// State reads the simulator's books (GET /sim/state).
func (c *Client) State() (SimState, error) {
	var st SimState
	err := c.Do("GET", c.Sim+"/sim/state", "", "", nil, &st)
	return st, err
}

// SimBooks is the simulator's own conservation check (GET /sim/books).
type SimBooks struct {
	OK    bool             `json:"ok"`
	Error string           `json:"error"`
	XOF   map[string]Money `json:"xof"`
	USD   map[string]Money `json:"usd"`
}

// Books reads the simulator's conservation check (GET /sim/books).
func (c *Client) Books() (SimBooks, error) {
	var b SimBooks
	err := c.Do("GET", c.Sim+"/sim/books", "", "", nil, &b)
	return b, err
}

// DepositFloat adds usd to the issuer float at the simulator, which tells
// the engine by webhook (POST /sim/issuer/float).
func (c *Client) DepositFloat(usd string) error {
	return c.Do("POST", c.Sim+"/sim/issuer/float", "", "", map[string]string{"amount": usd, "currency": "USD"}, nil)
}

// Treasury is the ops view of the float and its queue.
type Treasury struct {
	Float struct {
		Available Money `json:"available"`
		Reserved  Money `json:"reserved"`
	} `json:"float"`
	Queue struct {
		Count         int   `json:"count"`
		Amount        Money `json:"amount"`
		OldestSeconds int64 `json:"oldest_seconds"`
	} `json:"queue"`
	Collections []struct {
		Provider string `json:"provider"`
		Balance  Money  `json:"balance"`
	} `json:"collections"`
	Sweeps []Sweep `json:"sweeps"`
}

// Sweep is a transfer of collected XOF to the issuer float.
type Sweep struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Amount   Money  `json:"amount"`
	Status   string `json:"status"`
}

// Treasury reads GET /v1/admin/treasury.
func (c *Client) Treasury() (Treasury, error) {
	var t Treasury
	err := c.Do("GET", c.API+"/v1/admin/treasury", c.AdminToken, "", nil, &t)
	return t, err
}

// StartSweep asks for xof of provider's collections to be swept to the
// issuer float (POST /v1/admin/treasury/sweeps); key makes it idempotent.
func (c *Client) StartSweep(key, provider, xof string) (Sweep, error) {
	var sw Sweep
	err := c.Do("POST", c.API+"/v1/admin/treasury/sweeps", c.AdminToken, key,
		map[string]string{"provider": provider, "amount": xof, "currency": "XOF"}, &sw)
	return sw, err
}

// Metrics returns kashd's Prometheus text (GET /metrics).
func (c *Client) Metrics() (string, error) {
	resp, err := c.HTTP.Get(c.API + "/metrics")
	if err != nil {
		return "", fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET /metrics: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &Error{Status: resp.StatusCode, Code: "metrics", Message: "GET /metrics answered " + resp.Status}
	}
	return string(b), nil
}
