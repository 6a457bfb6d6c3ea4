package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func result(name string, repeat int, throughput float64, checksOK bool) Result {
	return Result{Scenario: name, Repeat: repeat, Mode: "closed", Concurrency: 8, Throughput: throughput,
		Completed: 100, Offered: 100, Latency: LatencySummary{Count: 100, P50: 1, P99: 2},
		Series: []SecondPoint{{Second: 0, Completed: 60, P50: 1, P99: 2}, {Second: 1}, {Second: 2, Completed: 40, P50: 1.5, P99: 3}},
		Checks: []Check{{Name: "ledger balances", OK: checksOK, Detail: "details"}}, Passed: checksOK}
}

func testRegs() []Registration {
	return []Registration{{Name: "settle", ComparedTo: "baseline"}, {Name: "baseline"}}
}

func TestReportMediansAndRatio(t *testing.T) {
	rep := &Report{Results: []Result{
		result("settle", 1, 100, true), result("baseline", 1, 20, true),
		result("settle", 2, 300, true), result("baseline", 2, 40, true),
		result("settle", 3, 200, true), result("baseline", 3, 30, true),
	}}
	rep.summarize(testRegs())
	if len(rep.Summary) != 2 || rep.Summary[0].Throughput != 200 || rep.Summary[1].Throughput != 30 {
		t.Fatalf("summary %+v, want medians 200 and 30", rep.Summary)
	}
	if len(rep.Comparisons) != 1 || rep.Comparisons[0].Ratio < 6.66 || rep.Comparisons[0].Ratio > 6.67 {
		t.Fatalf("comparisons %+v, want settle/baseline 6.67", rep.Comparisons)
	}
	if !rep.Passed {
		t.Fatal("a report whose checks all pass did not pass")
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"settle / baseline throughput: 6.7×", "| settle | 3 | 200 |", "**PASSED", "- [x] ledger balances"} {
		if !contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestReportFailsWhenAnyCheckFails(t *testing.T) {
	rep := &Report{Results: []Result{result("settle", 1, 10_000, true), result("baseline", 1, 20, false)}}
	rep.summarize(testRegs())
	if rep.Passed {
		t.Fatal("a report with a failed check passed")
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**FAILED: baseline run 1: ledger balances (details)", "- [ ] ledger balances", "| FAIL |"} {
		if !contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestApplyComputesCostsPerOperation(t *testing.T) {
	r := Result{Completed: 200, Database: DBStats{Commits: 50, RowsWritten: 1600, WALBytes: 2000, WALSyncs: 10}}
	r.apply(Outcome{Checks: []Check{{Name: "c", OK: true}}, Journal: &JournalStats{Statements: 1800}})
	want := PerOp{Commits: 0.25, Rows: 8, WALBytes: 10, WALSyncs: 0.05, Statements: 9}
	if r.PerOp != want || !r.Passed {
		t.Fatalf("per op %+v passed %v, want %+v and passed", r.PerOp, r.Passed, want)
	}
	r2 := Result{Completed: 0}
	r2.apply(Outcome{Checks: []Check{{Name: "c", OK: true}}})
	if r2.Passed {
		t.Fatal("a run that completed nothing passed")
	}
}

func TestReportJSONRoundTrips(t *testing.T) {
	rep := &Report{Date: time.Unix(1_700_000_000, 0).UTC(), Results: []Result{result("settle", 1, 1234.5, true)}}
	rep.summarize(testRegs())
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Results[0].Throughput != 1234.5 || back.Summary[0].Scenario != "settle" || !back.Date.Equal(rep.Date) {
		t.Fatalf("round trip lost data: %+v", back)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -12345: "-12,345"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

// wellFormed parses an SVG document fully and returns its element names.
func wellFormed(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var names []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, se.Name.Local)
			if len(names) == 1 && (se.Name.Local != "svg" || se.Name.Space != "http://www.w3.org/2000/svg") {
				t.Fatalf("root element %v, want svg in the SVG namespace", se.Name)
			}
		}
	}
	return names
}

func TestChartIsWellFormedSVGWithTwoLinesPerRun(t *testing.T) {
	rep := &Report{Results: []Result{result("settle <&> \"quoted\"", 1, 10, true), result("baseline", 1, 5, true)}}
	var buf bytes.Buffer
	if err := rep.WriteChart(&buf); err != nil {
		t.Fatal(err)
	}
	names := wellFormed(t, buf.Bytes())
	polylines := 0
	for _, n := range names {
		if n == "polyline" {
			polylines++
		}
	}
	if polylines != 4 {
		t.Fatalf("%d polylines, want p50 and p99 for each of 2 runs", polylines)
	}
	// The empty second of each run is a gap, not a point at zero latency.
	if strings.Count(buf.String(), `points="`) != 4 || strings.Count(strings.Split(buf.String(), `points="`)[1], ",") != 2 {
		t.Fatalf("a line does not have exactly the 2 seconds that had completions:\n%s", buf.String())
	}
}

func TestChartOfNothingIsStillWellFormed(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Report{Results: []Result{{Scenario: "empty"}}}).WriteChart(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, buf.Bytes())
	buf.Reset()
	if err := (&Report{}).WriteChart(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, buf.Bytes())
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ in, top, step float64 }{{0, 1, 0.2}, {7.3, 8, 2}, {42, 50, 10}, {0.37, 0.4, 0.1}, {1200, 1500, 500}} {
		top, step := niceScale(c.in)
		if top < c.in || top != c.top || step != c.step {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.in, top, step, c.top, c.step)
		}
	}
}

func TestParseStatCountsFieldsFromTheLastParenthesis(t *testing.T) {
	line := "4242 (postgres: kash kashbench 127.0.0.1(51234) idle) S 77 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 100 0 0"
	st, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 77 || st.cpu != 3*time.Second {
		t.Fatalf("ppid %d cpu %v, want 77 and 3s (300 ticks)", st.ppid, st.cpu)
	}
	if _, err := parseStat("4242 no command"); err == nil {
		t.Fatal("accepted a line without a command")
	}
}

func TestSelfWatcherSeesCPUAndMemory(t *testing.T) {
	w := SelfWatcher("self")
	w.Start()
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	w.Sample()
	u := w.Stop()
	if u.CPUSeconds <= 0 || u.RSSBytes == 0 || u.PeakRSSBytes < u.RSSBytes || u.PIDs != 1 || x == 0 {
		t.Fatalf("usage %+v: want CPU, RSS and one process", u)
	}
}

// The Postgres watcher follows postmaster.pid to the postmaster and its
// children; this process stands in for a postmaster with one child.
func TestPostgresPIDsFollowPostmasterPid(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/postmaster.pid", []byte(strconv.Itoa(os.Getpid())+"\n/data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	}()
	pids, err := postgresPIDs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pids[0] != os.Getpid() || !slices.Contains(pids, child.Process.Pid) {
		t.Fatalf("pids %v, want this process first and child %d", pids, child.Process.Pid)
	}
	if _, err := postgresPIDs(t.TempDir()); err == nil {
		t.Fatal("found a postmaster without postmaster.pid")
	}
}
