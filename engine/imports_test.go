package engine_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbiddenImports are the packages the domain must never depend on:
// dependencies point inward (gateway → actors → engine, persistence →
// engine), and the engine does no I/O.
var forbiddenImports = []string{
	"kash/actors",
	"kash/persistence",
	"kash/gateway",
	"kash/metrics",
	"kash/cmd",
	"kash/bench",
	"github.com/valyala/fasthttp",
	"github.com/jackc/pgx",
	"github.com/asynkron/protoactor-go",
	"github.com/prometheus",
	"net",
	"database/sql", // the driver subpackage, which decimal uses for Value/Scan, is allowed
	"os/exec",
}

// forbidden returns the dependencies in deps that are, or are inside, a
// forbidden package.
func forbidden(deps []string) []string {
	var bad []string
	for _, d := range deps {
		for _, f := range forbiddenImports {
			if d == f || (strings.HasPrefix(d, f+"/") && d != "database/sql/driver") {
				bad = append(bad, d)
				break
			}
		}
	}
	return bad
}

func TestForbiddenCatchesSubpackages(t *testing.T) {
	deps := []string{"fmt", "kash/engine", "github.com/jackc/pgx/v5/pgconn", "kash/actors", "netip",
		"net/http", "database/sql/driver", "github.com/shopspring/decimal", "github.com/asynkron/protoactor-go/actor",
		"kash/gatewayish"}
	want := []string{"github.com/jackc/pgx/v5/pgconn", "kash/actors", "net/http", "github.com/asynkron/protoactor-go/actor"}
	if got := forbidden(deps); !slices.Equal(got, want) {
		t.Errorf("forbidden(%v) = %v, want %v", deps, got, want)
	}
}

// TestEngineImportsNoOuterLayer proves with the go tool that the engine
// package, and everything it pulls in, stays pure.
func TestEngineImportsNoOuterLayer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "kash/engine").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps kash/engine: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps kash/engine: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "kash/engine") || !slices.Contains(deps, "github.com/shopspring/decimal") {
		t.Fatalf("go list returned an implausible dependency list: %v", deps)
	}
	if bad := forbidden(deps); len(bad) > 0 {
		t.Errorf("kash/engine depends on %v", bad)
	}
}
