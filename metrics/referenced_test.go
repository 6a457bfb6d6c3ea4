package metrics

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestReferencedNamesAreAllRegisteredByNew(t *testing.T) {
	names, err := ReferencedNames()
	if err != nil {
		t.Fatalf("ReferencedNames: %v", err)
	}
	if len(names) < 30 {
		t.Fatalf("only %d names referenced, the parser is missing queries: %v", len(names), names)
	}
	registered := New().Names()
	for _, n := range names {
		if !slices.Contains(registered, n) {
			t.Errorf("%s is queried by the dashboard or an alert but metrics.New() does not register it", n)
		}
	}
}

// TestEveryRegisteredFamilyIsOnTheDashboard keeps the dashboard complete:
// a metric nobody can see is a metric nobody watches.
func TestEveryRegisteredFamilyIsOnTheDashboard(t *testing.T) {
	queries, err := dashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	onDashboard := map[string]bool{}
	for _, q := range queries {
		for _, n := range metricNames(q.Expr, "kash_") {
			onDashboard[FamilyName(n)] = true
		}
	}
	for _, n := range New().Names() {
		if !onDashboard[n] {
			t.Errorf("%s is exported but no dashboard panel shows it", n)
		}
	}
}

func TestSelectorsUseOnlyLabelsTheMetricHas(t *testing.T) {
	m := New()
	queries, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	targetLabels := []string{"job", "instance"} // added by Prometheus at scrape
	for _, q := range queries {
		for name, labels := range selectorLabels(q.Expr, "kash_") {
			f, ok := m.family(name)
			if !ok {
				continue // reported by TestReferencedNamesAreAllRegisteredByNew
			}
			have := f.labels
			if f.histogram {
				have = append(slices.Clone(have), "le") // the bucket series' label
			}
			for _, l := range labels {
				if !slices.Contains(have, l) && !slices.Contains(targetLabels, l) {
					t.Errorf("%s: %s has no label %q (it has %v)", q.Source, name, l, have)
				}
			}
		}
	}
}

func TestRuntimeNamesOnTheDashboardAreExported(t *testing.T) {
	queries, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := New().Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
	}
	checked := 0
	for _, q := range queries {
		for _, prefix := range []string{"go_", "process_"} {
			for _, n := range metricNames(q.Expr, prefix) {
				checked++
				if !exported[FamilyName(n)] {
					t.Errorf("%s: %s is not exported by the Go runtime or process collector", q.Source, n)
				}
			}
		}
	}
	if checked == 0 {
		t.Error("the dashboard shows no Go runtime or process metric")
	}
}

func TestMetricNamesSkipsLabelValuesAndFunctions(t *testing.T) {
	expr := `histogram_quantile(0.99, sum by (le) (rate(kash_a_seconds_bucket{route="kash_not_a_metric", x='kash_nor_this'}[5m])))
	  / on(instance) kash_b_total + xkash_c + kash_d:ratio`
	got := metricNames(expr, "kash_")
	want := []string{"kash_a_seconds_bucket", "kash_b_total", "kash_d:ratio"}
	if !slices.Equal(got, want) {
		t.Errorf("metricNames = %v, want %v", got, want)
	}
	if FamilyName("kash_a_seconds_bucket") != "kash_a_seconds" || FamilyName("kash_x_count") != "kash_x" ||
		FamilyName("kash_x_sum") != "kash_x" || FamilyName("kash_y_total") != "kash_y_total" {
		t.Error("FamilyName strips the wrong suffixes")
	}
	labels := selectorLabels(`rate(kash_a_bucket{le="0.1", route=~"/v1/.*"}[1m]) + kash_b{code_class!="5xx"}`, "kash_")
	if !slices.Equal(labels["kash_a"], []string{"le", "route"}) || !slices.Equal(labels["kash_b"], []string{"code_class"}) {
		t.Errorf("selectorLabels = %v", labels)
	}
}

// TestDashboardShape checks what Grafana needs to import the dashboard and
// what the issue asks of it: the seven rows in order, a datasource variable,
// and a PromQL query on every panel.
func TestDashboardShape(t *testing.T) {
	raw, err := files.ReadFile(DashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource map[string]any `json:"datasource"`
	}
	type panel struct {
		ID         int            `json:"id"`
		Type       string         `json:"type"`
		Title      string         `json:"title"`
		Datasource map[string]any `json:"datasource"`
		GridPos    struct{ H, W, X, Y int }
		Targets    []target `json:"targets"`
	}
	var d struct {
		UID           string  `json:"uid"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("parse dashboard: %v", err)
	}
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("schemaVersion %d, uid %q: want a modern schema and a stable uid", d.SchemaVersion, d.UID)
	}
	hasDatasourceVar := slices.ContainsFunc(d.Templating.List, func(v struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Query any    `json:"query"`
	}) bool {
		return v.Type == "datasource" && v.Name == "datasource" && v.Query == "prometheus"
	})
	if !hasDatasourceVar {
		t.Error("no Prometheus datasource variable named datasource")
	}
	var rows []string
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if p.Datasource["uid"] != "${datasource}" {
			t.Errorf("%q: datasource %v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" {
				t.Errorf("%q: target %+v lacks an expr or refId", p.Title, tg)
			}
		}
	}
	wantRows := []string{"Traffic", "Money flow", "Queues", "Float", "Providers", "Persistence", "Runtime"}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("rows %v, want %v", rows, wantRows)
	}
}
