package persistence

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// These tests start their own clusters in temporary directories (the
// pgtest cluster is shared and must not be stopped), and stop them at the end.

const testStartTimeout = 2 * time.Minute

// reachableTempDir returns a temporary directory that the server account can
// reach: t.TempDir creates its directories 0700.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freePort returns a port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startLocal(t *testing.T, cfg LocalConfig) *LocalServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testStartTimeout)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := StartLocal(ctx, cfg)
	if err != nil {
		t.Fatalf("StartLocal: %v", err)
	}
	return srv
}

func stopOnCleanup(t *testing.T, srv *LocalServer) {
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

func queryInt(t *testing.T, dbURL, sql string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func exec1(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestStartLocalReusesTheRunningCluster(t *testing.T) {
	t.Parallel()
	dataDir := reachableTempDir(t)
	first := startLocal(t, LocalConfig{DataDir: dataDir})
	stopOnCleanup(t, first)
	if first.Reused() {
		t.Fatal("first start of a new data dir reported reuse")
	}
	if got := first.ClusterDir(); got != filepath.Join(dataDir, "pg", "data") {
		t.Fatalf("cluster dir = %s, want under the data dir", got)
	}
	const checkpointerPID = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
	pid := queryInt(t, first.URL(), checkpointerPID)

	second := startLocal(t, LocalConfig{DataDir: dataDir})
	if !second.Reused() {
		t.Fatal("second start did not reuse the running cluster")
	}
	if second.URL() != first.URL() {
		t.Fatalf("second URL %s, first %s", second.URL(), first.URL())
	}
	if again := queryInt(t, second.URL(), checkpointerPID); again != pid {
		t.Fatalf("server processes changed (checkpointer %d, then %d): it was restarted", pid, again)
	}
}

func TestStartLocalKeepsDataAndPortAcrossRestarts(t *testing.T) {
	t.Parallel()
	dataDir := reachableTempDir(t)
	// Away from the ports the other parallel tests scan from, so none of
	// them takes this one while the cluster is stopped.
	srv := startLocal(t, LocalConfig{DataDir: dataDir, Port: freePort(t)})
	stopOnCleanup(t, srv)
	exec1(t, srv.URL(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop of a stopped cluster: %v", err)
	}

	restarted := startLocal(t, LocalConfig{DataDir: dataDir, Port: DefaultLocalPort})
	if restarted.Reused() {
		t.Fatal("restart after Stop reported reuse")
	}
	if restarted.Port() != srv.Port() {
		t.Fatalf("port changed across restart: %d then %d", srv.Port(), restarted.Port())
	}
	if v := queryInt(t, restarted.URL(), "SELECT v FROM kept"); v != 42 {
		t.Fatalf("kept row = %d, want 42", v)
	}
}

func TestStartLocalAppliesKashSettings(t *testing.T) {
	t.Parallel()
	srv := startLocal(t, LocalConfig{DataDir: reachableTempDir(t), Database: "settings_db"})
	stopOnCleanup(t, srv)
	if !strings.HasSuffix(strings.SplitN(srv.URL(), "?", 2)[0], "/settings_db") {
		t.Fatalf("URL %s does not name the configured database", srv.URL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	want := map[string]string{
		"fsync":              "on",
		"synchronous_commit": "on",
		"shared_buffers":     "256MB",
		"max_connections":    "200",
		"wal_buffers":        "16MB",
		"checkpoint_timeout": "15min",
		"max_wal_size":       "4GB",
		"listen_addresses":   "127.0.0.1",
	}
	for name, value := range want {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatalf("current_setting(%s): %v", name, err)
		}
		if got != value {
			t.Errorf("%s = %s, want %s", name, got, value)
		}
	}
	if _, err := os.Stat(srv.LogFile()); err != nil {
		t.Errorf("server log file: %v", err)
	}
}

func TestStartLocalAvoidsABusyPortAndRemembersItsChoice(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	dataDir := reachableTempDir(t)
	srv := startLocal(t, LocalConfig{DataDir: dataDir, Port: busyPort})
	stopOnCleanup(t, srv)
	if srv.Port() == busyPort {
		t.Fatalf("started on the busy port %d", busyPort)
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "pg", "port"))
	if err != nil {
		t.Fatalf("port file: %v", err)
	}
	if strings.TrimSpace(string(raw)) != strconv.Itoa(srv.Port()) {
		t.Fatalf("port file says %q, server on %d", raw, srv.Port())
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	again := startLocal(t, LocalConfig{DataDir: dataDir, Port: busyPort})
	if again.Port() != srv.Port() {
		t.Fatalf("restart chose port %d, want the remembered %d", again.Port(), srv.Port())
	}
}

// TestStartLocalPlacesUnreachableClustersElsewhere covers a DataDir whose
// parents the server account cannot traverse (as /root is). Run as root, the
// server runs as "postgres", and the cluster must move to the fallback base;
// run as anyone else, the server runs as ourselves and it stays in DataDir.
func TestStartLocalPlacesUnreachableClustersElsewhere(t *testing.T) {
	base := reachableTempDir(t)
	saved := fallbackClusterBase
	fallbackClusterBase = filepath.Join(base, "fallback")
	t.Cleanup(func() { fallbackClusterBase = saved })

	private := filepath.Join(base, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(private, "kash")
	srv := startLocal(t, LocalConfig{DataDir: dataDir})
	stopOnCleanup(t, srv)
	if n := queryInt(t, srv.URL(), "SELECT 1"); n != 1 {
		t.Fatalf("SELECT 1 = %d", n)
	}
	if os.Geteuid() != 0 {
		if want := filepath.Join(dataDir, "pg", "data"); srv.ClusterDir() != want {
			t.Fatalf("cluster in %s, want %s", srv.ClusterDir(), want)
		}
		return
	}
	if !strings.HasPrefix(srv.ClusterDir(), fallbackClusterBase) {
		t.Fatalf("cluster in %s, want under %s", srv.ClusterDir(), fallbackClusterBase)
	}
	note, err := os.ReadFile(filepath.Join(dataDir, "pg-location.txt"))
	if err != nil || !strings.Contains(string(note), fallbackClusterBase) {
		t.Fatalf("location note %q (%v) does not point at the cluster", note, err)
	}
}

func TestMissingBinariesAreExplained(t *testing.T) {
	_, err := firstServerBinDir([]string{t.TempDir(), "/nonexistent/bin"})
	if !errors.Is(err, ErrPostgresNotInstalled) || !strings.Contains(err.Error(), "make postgres") {
		t.Fatalf("err = %v, want ErrPostgresNotInstalled mentioning make postgres", err)
	}
}

func TestBinariesOfTheNewestVersionComeFirst(t *testing.T) {
	got := newestFirst([]string{
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/odd/bin",
		"/usr/lib/postgresql/15/bin",
	})
	want := []string{
		"/usr/lib/postgresql/16/bin",
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/9.6/bin",
		"/usr/lib/postgresql/odd/bin",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// childStartEnv makes the test binary, run as a child, call StartLocal once
// on the given data dir and print the result instead of running tests.
const childStartEnv = "KASH_TEST_CHILD_START_DIR"

// TestMain lets the test binary act as one of the concurrent starters of
// TestStartLocalSerialisesConcurrentProcesses.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childStartEnv); dir != "" {
		os.Exit(runChildStart(dir))
	}
	os.Exit(m.Run())
}

func runChildStart(dir string) int {
	ctx, cancel := context.WithTimeout(context.Background(), testStartTimeout)
	defer cancel()
	srv, err := StartLocal(ctx, LocalConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "StartLocal:", err)
		return 1
	}
	fmt.Printf("RESULT %s %t\n", srv.URL(), srv.Reused())
	return 0
}

// TestStartLocalSerialisesConcurrentProcesses starts one new cluster from
// several processes at once: exactly one initialises and starts it, the
// others find it running.
func TestStartLocalSerialisesConcurrentProcesses(t *testing.T) {
	t.Parallel()
	dataDir := reachableTempDir(t)
	const processes = 4
	results := make(chan childResult, processes)
	for range processes {
		go func() {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childStartEnv+"="+dataDir)
			out, err := cmd.CombinedOutput()
			results <- parseChildResult(out, err)
		}()
	}
	var urls []string
	fresh := 0
	for range processes {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		urls = append(urls, r.url)
		if !r.reused {
			fresh++
		}
	}
	srv := startLocal(t, LocalConfig{DataDir: dataDir})
	stopOnCleanup(t, srv)
	if fresh != 1 {
		t.Errorf("%d processes started the cluster, want exactly 1", fresh)
	}
	for _, u := range urls {
		if u != srv.URL() {
			t.Errorf("a process got URL %s, want %s", u, srv.URL())
		}
	}
}

// childResult is what one child starter process reported.
type childResult struct {
	url    string
	reused bool
	err    error
}

func parseChildResult(out []byte, err error) (r childResult) {
	if err != nil {
		r.err = fmt.Errorf("child: %v\n%s", err, out)
		return r
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "RESULT" {
			r.url, r.reused = fields[1], fields[2] == "true"
			return r
		}
	}
	r.err = fmt.Errorf("child printed no result:\n%s", out)
	return r
}
