package metrics

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Paths of the ops files inside files, relative to this package.
const (
	DashboardPath  = "grafana/kash-dashboard.json"
	AlertRulesPath = "prometheus/alerts.yml"
)

// files holds the dashboard and the alert rules so that ReferencedNames
// checks exactly what ships, from any working directory.
//
//go:embed grafana/kash-dashboard.json prometheus/alerts.yml
var files embed.FS

// ErrNoQueries means an ops file yielded no PromQL at all: a parser that
// silently finds nothing would make every name check pass vacuously.
var ErrNoQueries = errors.New("no PromQL queries found")

// Query is one PromQL expression of the shipped dashboard or alert rules.
type Query struct {
	Source string // "dashboard: <panel title>" or "alert: <alert name>"
	Expr   string
}

// ReferencedNames returns the sorted, distinct kash_ metric names that the
// shipped Grafana dashboard and Prometheus alert rules query, with the
// histogram suffixes _bucket, _sum and _count stripped, so that each is the
// name of a family a kashd must export.
func ReferencedNames() ([]string, error) {
	queries, err := Queries()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, q := range queries {
		for _, name := range metricNames(q.Expr, "kash_") {
			seen[FamilyName(name)] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// FamilyName strips a histogram or summary series suffix (_bucket, _sum,
// _count) from a series name.
func FamilyName(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok {
			return base
		}
	}
	return series
}

// Queries returns every PromQL expression of the shipped dashboard (panel
// targets and template variable queries) and alert rules.
func Queries() ([]Query, error) {
	dash, err := dashboardQueries()
	if err != nil {
		return nil, err
	}
	rules, err := ruleQueries()
	if err != nil {
		return nil, err
	}
	return append(dash, rules...), nil
}

func dashboardQueries() ([]Query, error) {
	raw, err := files.ReadFile(DashboardPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", DashboardPath, err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", DashboardPath, err)
	}
	var out []Query
	collectDashboardExprs(doc, "dashboard", &out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", DashboardPath, ErrNoQueries)
	}
	return out, nil
}

// collectDashboardExprs walks the whole JSON tree rather than a fixed
// panels[].targets[] path, so that panels nested in collapsed rows and
// variable queries are not missed.
func collectDashboardExprs(node any, source string, out *[]Query) {
	switch n := node.(type) {
	case map[string]any:
		if title, ok := n["title"].(string); ok {
			source = "dashboard: " + title
		} else if name, ok := n["name"].(string); ok {
			source = "dashboard variable: " + name
		}
		for key, v := range n {
			if s, ok := v.(string); ok && (key == "expr" || key == "query" || key == "definition") {
				*out = append(*out, Query{Source: source, Expr: s})
				continue
			}
			collectDashboardExprs(v, source, out)
		}
	case []any:
		for _, v := range n {
			collectDashboardExprs(v, source, out)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string `yaml:"alert"`
			Record string `yaml:"record"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func ruleQueries() ([]Query, error) {
	raw, err := files.ReadFile(AlertRulesPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", AlertRulesPath, err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		return nil, fmt.Errorf("parse %s: %w", AlertRulesPath, err)
	}
	var out []Query
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if name == "" {
				name = r.Record
			}
			out = append(out, Query{Source: "alert: " + name, Expr: r.Expr})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", AlertRulesPath, ErrNoQueries)
	}
	return out, nil
}

// identifier matches a PromQL metric-name token. The leading group stops a
// match inside a longer identifier (foo_kash_x) or a label value's tail.
var identifier = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:"])([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// metricNames returns the identifiers in expr that start with prefix.
// Quoted strings are blanked first so that label values never count.
func metricNames(expr, prefix string) []string {
	var names []string
	for _, m := range identifier.FindAllStringSubmatch(blankStrings(expr), -1) {
		if strings.HasPrefix(m[1], prefix) {
			names = append(names, m[1])
		}
	}
	return names
}

// blankStrings replaces the contents of PromQL string literals ("..." and
// '...', with backslash escapes) by spaces.
func blankStrings(expr string) string {
	b := []byte(expr)
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote != 0 && c == '\\' && i+1 < len(b):
			b[i], b[i+1] = ' ', ' '
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			b[i] = ' '
		}
	}
	return string(b)
}

// selectorLabels returns, for each metric selector name{...} in expr, the
// label names it matches on, keyed by family name.
func selectorLabels(expr, prefix string) map[string][]string {
	out := map[string][]string{}
	for _, m := range selector.FindAllStringSubmatch(expr, -1) {
		name := FamilyName(m[1])
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, lm := range labelMatcher.FindAllStringSubmatch(m[2], -1) {
			out[name] = append(out[name], lm[1])
		}
	}
	return out
}

var (
	selector     = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
	labelMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
)
