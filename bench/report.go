package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Report is everything a suite measured, for Markdown and JSON.
type Report struct {
	Date        time.Time    `json:"date"`
	Machine     Machine      `json:"machine"`
	Postgres    string       `json:"postgres"`
	Load        string       `json:"load"`
	Cards       int          `json:"cards"`
	Users       int          `json:"users"`
	Seed        int64        `json:"seed"`
	Repeat      int          `json:"repeat"`
	Results     []Result     `json:"results"`
	Summary     []Summary    `json:"summary"`
	Comparisons []Comparison `json:"comparisons"`
	Passed      bool         `json:"passed"`
}

// Machine describes where a report was made.
type Machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
	Go        string  `json:"go"`
}

// Result is one run of one scenario.
type Result struct {
	Scenario       string                    `json:"scenario"`
	Repeat         int                       `json:"repeat"`
	Mode           string                    `json:"mode"`
	Rate           float64                   `json:"rate,omitempty"`
	Concurrency    int                       `json:"concurrency,omitempty"`
	DurationSecs   float64                   `json:"duration_seconds"`
	SetupSeconds   float64                   `json:"setup_seconds"`
	Facts          []Fact                    `json:"facts,omitempty"`
	Offered        int64                     `json:"offered"`
	Completed      int64                     `json:"completed"`
	Failed         int64                     `json:"failed"`
	Exhausted      bool                      `json:"exhausted"`
	OfferedSeconds float64                   `json:"offered_seconds"`
	ElapsedSeconds float64                   `json:"elapsed_seconds"`
	Throughput     float64                   `json:"throughput"`
	Latency        LatencySummary            `json:"latency"`
	Stages         map[string]LatencySummary `json:"stages,omitempty"`
	Errors         map[string]int64          `json:"errors"`
	Statuses       map[string]int64          `json:"statuses"`
	Journal        *JournalStats             `json:"journal,omitempty"`
	Database       DBStats                   `json:"database"`
	PerOp          PerOp                     `json:"per_op"`
	Processes      []ProcUsage               `json:"processes"`
	Statements     []Statement               `json:"statements,omitempty"`
	Series         []SecondPoint             `json:"series"`
	Checks         []Check                   `json:"checks"`
	Passed         bool                      `json:"passed"`
	Notes          []string                  `json:"notes,omitempty"`
}

// PerOp is what one completed operation cost the database.
type PerOp struct {
	Commits    float64 `json:"commits"`
	Rows       float64 `json:"rows"`
	WALBytes   float64 `json:"wal_bytes"`
	WALSyncs   float64 `json:"wal_syncs"`
	Statements float64 `json:"journal_statements,omitempty"`
}

// Summary is the median over the runs of one scenario.
type Summary struct {
	Scenario     string  `json:"scenario"`
	Runs         int     `json:"runs"`
	Throughput   float64 `json:"throughput"`
	P50          float64 `json:"p50_ms"`
	P99          float64 `json:"p99_ms"`
	RowsPerOp    float64 `json:"rows_per_op"`
	CommitsPerOp float64 `json:"commits_per_op"`
	Passed       bool    `json:"passed"`
	// Stages are the medians over the runs of each step's rate (successes
	// per second of the run) and latency, for scenarios that time steps.
	Stages []StageSummary `json:"stages,omitempty"`
}

// StageSummary is the median over runs of one step of an operation.
type StageSummary struct {
	Name    string  `json:"name"`
	PerSec  float64 `json:"per_second"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Samples int     `json:"runs"`
}

// Comparison is the throughput ratio of a scenario to the one it is
// measured against, from medians of the same invocation.
type Comparison struct {
	Scenario string  `json:"scenario"`
	Against  string  `json:"against"`
	Ratio    float64 `json:"ratio"`
}

func newReport(pg *Postgres, o Options, repeat int) *Report {
	r := &Report{Date: time.Now().UTC(), Machine: thisMachine(), Load: describeLoad(o.Load),
		Cards: o.Cards, Users: o.Users, Seed: o.Seed, Repeat: repeat}
	if pg != nil {
		r.Postgres = pg.Describe
	}
	return r
}

func newResult(name string, repeat int, load Load, run *Run, setup time.Duration, fixedWork bool) Result {
	completed, failed := run.Recorder.Counts()
	r := Result{Scenario: name, Repeat: repeat, Mode: load.Mode(), Rate: load.Rate, DurationSecs: load.Duration.Seconds(),
		SetupSeconds: setup.Seconds(), Offered: run.Offered, Completed: completed, Failed: failed,
		Exhausted: run.Exhausted, OfferedSeconds: run.OfferedIn.Seconds(), ElapsedSeconds: run.Elapsed.Seconds(),
		Throughput: run.Throughput(), Latency: run.Recorder.Summary(), Errors: run.Recorder.Errors(),
		Series: run.Recorder.Series()}
	if load.Rate == 0 {
		r.Concurrency = load.Concurrency
	}
	if run.Exhausted && !fixedWork {
		r.Notes = append(r.Notes, fmt.Sprintf("the seeded work (%d operations) ran out after %.1fs of %.0fs: seed more with --work",
			run.Offered, run.OfferedIn.Seconds(), load.Duration.Seconds()))
	}
	return r
}

// apply adds a scenario's outcome and decides whether the run passed.
func (r *Result) apply(o Outcome) {
	r.Checks, r.Statuses, r.Facts, r.Stages, r.Journal = o.Checks, o.Statuses, o.Facts, o.Stages, o.Journal
	r.Notes = append(r.Notes, o.Notes...)
	if r.Completed > 0 {
		n := float64(r.Completed)
		r.PerOp = PerOp{Commits: float64(r.Database.Commits) / n, Rows: float64(r.Database.RowsWritten) / n,
			WALBytes: float64(r.Database.WALBytes) / n, WALSyncs: float64(r.Database.WALSyncs) / n}
		if r.Journal != nil {
			r.PerOp.Statements = float64(r.Journal.Statements) / n
		}
	}
	for i := range r.Processes {
		if r.Completed > 0 {
			r.Processes[i].CPUPerOpMS = r.Processes[i].CPUSeconds * 1000 / float64(r.Completed)
		}
	}
	r.Passed = len(r.Checks) > 0 && r.Completed > 0
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.OK
	}
}

func (rep *Report) summarize(regs []Registration) {
	rep.Passed = len(rep.Results) > 0
	by := map[string][]Result{}
	for _, r := range rep.Results {
		by[r.Scenario] = append(by[r.Scenario], r)
		rep.Passed = rep.Passed && r.Passed
	}
	medianOf := map[string]float64{}
	for _, reg := range regs {
		rs := by[reg.Name]
		if len(rs) == 0 {
			continue
		}
		s := Summary{Scenario: reg.Name, Runs: len(rs), Passed: true}
		s.Throughput = median(rs, func(r Result) float64 { return r.Throughput })
		s.P50 = median(rs, func(r Result) float64 { return r.Latency.P50 })
		s.P99 = median(rs, func(r Result) float64 { return r.Latency.P99 })
		s.RowsPerOp = median(rs, func(r Result) float64 { return r.PerOp.Rows })
		s.CommitsPerOp = median(rs, func(r Result) float64 { return r.PerOp.Commits })
		for _, r := range rs {
			s.Passed = s.Passed && r.Passed
		}
		s.Stages = stageMedians(rs)
		medianOf[reg.Name] = s.Throughput
		rep.Summary = append(rep.Summary, s)
	}
	for _, reg := range regs {
		a, okA := medianOf[reg.Name]
		b, okB := medianOf[reg.ComparedTo]
		if reg.ComparedTo != "" && okA && okB && b > 0 {
			rep.Comparisons = append(rep.Comparisons, Comparison{Scenario: reg.Name, Against: reg.ComparedTo, Ratio: a / b})
		}
	}
}

// stageMedians is, for each step timed in every one of rs, the median of
// its rate and latency percentiles.
func stageMedians(rs []Result) []StageSummary {
	var out []StageSummary
	for _, name := range sortedKeys(rs[0].Stages) {
		var with []Result
		for _, r := range rs {
			if _, ok := r.Stages[name]; ok {
				with = append(with, r)
			}
		}
		if len(with) < len(rs) {
			continue
		}
		out = append(out, StageSummary{Name: name, Samples: len(with),
			PerSec: median(with, func(r Result) float64 {
				if r.ElapsedSeconds <= 0 {
					return 0
				}
				return float64(r.Stages[name].Count) / r.ElapsedSeconds
			}),
			P50: median(with, func(r Result) float64 { return r.Stages[name].P50 }),
			P99: median(with, func(r Result) float64 { return r.Stages[name].P99 })})
	}
	return out
}

func median(rs []Result, f func(Result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report for humans.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	m := rep.Machine
	fmt.Fprintf(b, "# kashbench report\n\n")
	fmt.Fprintf(b, "%s · %d CPUs (%s), %.0f GiB · Linux %s · %s · %s\n\n", rep.Date.Format("2006-01-02 15:04 UTC"),
		m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.Go, rep.Postgres)
	world := "each scenario's default world size"
	if rep.Cards > 0 {
		world = fmt.Sprintf("%d cards", rep.Cards)
		if rep.Users > 0 {
			world += fmt.Sprintf(", %d users", rep.Users)
		}
	}
	fmt.Fprintf(b, "Load: %s · %s · seed %d · %d run(s) of each scenario, interleaved (each run's own load and world are below)\n\n",
		rep.Load, world, rep.Seed, rep.Repeat)
	rep.writeSummary(b)
	for i := range rep.Results {
		rep.Results[i].writeMarkdown(b)
	}
	verdict := "PASSED: every run's correctness checks passed"
	if !rep.Passed {
		verdict = "FAILED: " + strings.Join(rep.failures(), "; ")
	}
	fmt.Fprintf(b, "## Result\n\n**%s**\n", verdict)
	return b.Flush()
}

func (rep *Report) failures() []string {
	var out []string
	for _, r := range rep.Results {
		for _, c := range r.Checks {
			if !c.OK {
				out = append(out, fmt.Sprintf("%s run %d: %s (%s)", r.Scenario, r.Repeat, c.Name, c.Detail))
			}
		}
		if r.Completed == 0 {
			out = append(out, fmt.Sprintf("%s run %d: nothing completed", r.Scenario, r.Repeat))
		}
	}
	if len(rep.Results) == 0 {
		out = append(out, "no run")
	}
	return out
}

func (rep *Report) writeSummary(b *bufio.Writer) {
	fmt.Fprintf(b, "## Summary (median of runs)\n\n")
	fmt.Fprintf(b, "| scenario | runs | throughput (ops/s) | p50 (ms) | p99 (ms) | rows/op | commits/op | checks |\n")
	fmt.Fprintf(b, "|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range rep.Summary {
		fmt.Fprintf(b, "| %s | %d | %s | %.2f | %.2f | %.2f | %.3f | %s |\n", s.Scenario, s.Runs,
			thousands(s.Throughput), s.P50, s.P99, s.RowsPerOp, s.CommitsPerOp, passFail(s.Passed))
	}
	b.WriteString("\n")
	for _, s := range rep.Summary {
		if len(s.Stages) == 0 {
			continue
		}
		fmt.Fprintf(b, "%s, steps (median of %d runs; latency from the intended send time):\n\n", s.Scenario, s.Runs)
		fmt.Fprintf(b, "| step | per second | p50 (ms) | p99 (ms) |\n|---|---:|---:|---:|\n")
		for _, st := range s.Stages {
			fmt.Fprintf(b, "| %s | %s | %.2f | %.2f |\n", st.Name, thousands(st.PerSec), st.P50, st.P99)
		}
		b.WriteString("\n")
	}
	for _, c := range rep.Comparisons {
		fmt.Fprintf(b, "**%s / %s throughput: %.1f×** (medians, same invocation, same machine)\n\n", c.Scenario, c.Against, c.Ratio)
	}
}

func (r *Result) writeMarkdown(b *bufio.Writer) {
	fmt.Fprintf(b, "## %s, run %d: %s\n\n", r.Scenario, r.Repeat, passFail(r.Passed))
	load := fmt.Sprintf("closed loop, %d workers", r.Concurrency)
	if r.Mode == "open" {
		load = fmt.Sprintf("open loop at %.0f/s (latency from the intended send time)", r.Rate)
	}
	fmt.Fprintf(b, "%s for %.0fs; set up in %.1fs.\n\n", load, r.DurationSecs, r.SetupSeconds)
	if len(r.Facts) > 0 {
		for _, f := range r.Facts {
			fmt.Fprintf(b, "- %s: %s\n", f.Name, f.Value)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "| offered | completed | failed | elapsed (s) | throughput (ops/s) |\n|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(b, "| %d | %d | %d | %.2f | %s |\n\n", r.Offered, r.Completed, r.Failed, r.ElapsedSeconds, thousands(r.Throughput))
	fmt.Fprintf(b, "| latency (ms) | count | mean | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	writeLatencyRow(b, "operation", r.Latency)
	for _, name := range sortedKeys(r.Stages) {
		writeLatencyRow(b, name, r.Stages[name])
	}
	b.WriteString("\n")
	writeCounts(b, "Errors by code", r.Errors)
	writeCounts(b, "Final statuses", r.Statuses)
	r.writeCosts(b)
	if len(r.Statements) > 0 {
		fmt.Fprintf(b, "Top statements (pg_stat_statements):\n\n| calls | total ms | mean ms | rows | query |\n|---:|---:|---:|---:|---|\n")
		for _, s := range r.Statements {
			fmt.Fprintf(b, "| %d | %.0f | %.3f | %d | `%s` |\n", s.Calls, s.TotalMS, s.MeanMS, s.Rows, oneLine(s.Query, 110))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "Checks:\n\n")
	for _, c := range r.Checks {
		mark := "x"
		if !c.OK {
			mark = " "
		}
		fmt.Fprintf(b, "- [%s] %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(b, ": %s", c.Detail)
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "\nNote: %s\n", n)
	}
	b.WriteString("\n")
}

func (r *Result) writeCosts(b *bufio.Writer) {
	d, p := r.Database, r.PerOp
	fmt.Fprintf(b, "Postgres during the window: %d commits (%.3f per op), %d rows written (%.2f per op: %d inserted, %d updated, %d deleted), %s of WAL (%.0f B per op), %d WAL fsyncs (%.4f per op).\n\n",
		d.Commits, p.Commits, d.RowsWritten, p.Rows, d.Inserted, d.Updated, d.Deleted, bytesText(d.WALBytes), p.WALBytes, d.WALSyncs, p.WALSyncs)
	if j := r.Journal; j != nil && j.FromMetrics {
		fmt.Fprintf(b, "Journal (kashd's /metrics): %d batches (%.0f commits/s, %d failed), %.1f changes and %.1f rows per commit, commit mean %.2f ms.\n\n",
			j.Batches, j.CommitsPerSec, j.Failed, j.ChangesPer, j.RowsPer, j.MeanBatchMS)
	} else if j != nil {
		fmt.Fprintf(b, "Journal: %d batches (%.0f commits/s, %d failed), %.1f changes and %.1f statements per commit (max %d changes), batch round trip mean %.2f ms, max %.2f ms; %.2f statements per op.\n\n",
			j.Batches, j.CommitsPerSec, j.Failed, j.ChangesPer, j.StatementsPer, j.MaxChanges, j.MeanBatchMS, j.MaxBatchMS, p.Statements)
	}
	fmt.Fprintf(b, "| process | pids | CPU (s) | cores | CPU ms/op | RSS at end | peak RSS | note |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, u := range r.Processes {
		fmt.Fprintf(b, "| %s | %d | %.1f | %.2f | %.3f | %s | %s | %s |\n", u.Name, u.PIDs, u.CPUSeconds, u.Cores, u.CPUPerOpMS,
			bytesText(int64(u.RSSBytes)), bytesText(int64(u.PeakRSSBytes)), u.Note)
	}
	b.WriteString("\n")
}

func writeLatencyRow(b *bufio.Writer, name string, s LatencySummary) {
	fmt.Fprintf(b, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", name, s.Count, s.Mean, s.P50, s.P90, s.P99, s.P999, s.Max)
}

func writeCounts(b *bufio.Writer, title string, m map[string]int64) {
	if len(m) == 0 {
		fmt.Fprintf(b, "%s: none.\n\n", title)
		return
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	fmt.Fprintf(b, "%s: %s.\n\n", title, strings.Join(parts, ", "))
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// thousands formats a rate with thousands separators, as reports read.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func thisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if total, err := statusField("/proc/meminfo", "MemTotal:"); err == nil {
		m.MemoryGiB = float64(total) / (1 << 30)
	}
	return m
}
