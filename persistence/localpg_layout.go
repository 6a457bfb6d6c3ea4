package persistence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fallbackClusterBase holds clusters whose DataDir the server account cannot
// reach (for example a DataDir under /root, which is mode 0700). A variable
// so that tests can point it at a temporary directory.
var fallbackClusterBase = "/var/lib/kash"

// maxSocketPath is the longest Unix socket path the kernel accepts
// (sizeof(sockaddr_un.sun_path) minus the terminating NUL).
const maxSocketPath = 107

// clusterLayout is where one local cluster keeps its files:
//
//	<root>/data            the cluster (PGDATA), owned by the server account, 0700
//	<root>/data/kash.conf  kash's settings, rewritten at every start
//	<root>/postgres.log    the server log
//	<root>/port            the port last used
//	<root>/.lock           the file lock that serialises starters
//	<root>/.s.PGSQL.<port> the Unix socket, when the path is short enough
//
// root is <DataDir>/pg, or a directory under fallbackClusterBase when the
// server account cannot traverse DataDir's parents.
type clusterLayout struct {
	root     string
	data     string
	logFile  string
	portFile string
	lockFile string
	owner    *osAccount
}

func prepareLayout(dataDir string, owner *osAccount, log *slog.Logger) (clusterLayout, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return clusterLayout{}, fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	root := filepath.Join(dataDir, "pg")
	if blocked := untraversableDir(dataDir, owner); blocked != "" {
		root = fallbackRoot(dataDir)
		log.Info("local postgres cluster placed outside the data dir: the server account cannot traverse it",
			"data_dir", dataDir, "blocked_at", blocked, "account", owner.name, "cluster_root", root)
		note := fmt.Sprintf("The local Postgres cluster of this data dir lives in %s,\nbecause user %s cannot traverse %s.\n", root, owner.name, blocked)
		if err := os.WriteFile(filepath.Join(dataDir, "pg-location.txt"), []byte(note), 0o644); err != nil {
			return clusterLayout{}, fmt.Errorf("write cluster location note: %w", err)
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return clusterLayout{}, fmt.Errorf("create cluster root %s: %w", root, err)
	}
	if err := owner.chown(root); err != nil {
		return clusterLayout{}, err
	}
	return clusterLayout{
		root:     root,
		data:     filepath.Join(root, "data"),
		logFile:  filepath.Join(root, "postgres.log"),
		portFile: filepath.Join(root, "port"),
		lockFile: filepath.Join(root, ".lock"),
		owner:    owner,
	}, nil
}

// fallbackRoot is stable for a given DataDir, so the cluster is found again
// on the next start.
func fallbackRoot(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join(fallbackClusterBase, filepath.Base(dataDir)+"-"+hex.EncodeToString(sum[:6]))
}

// untraversableDir returns the first directory from dir up to / that the
// account may not search, or "" when it reaches dir (always for the current
// user). ACLs are not consulted; mode bits decide.
func untraversableDir(dir string, a *osAccount) string {
	if a == nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		if !searchable(d, a) {
			return d
		}
		if parent := filepath.Dir(d); parent == d {
			return ""
		}
	}
}

func searchable(dir string, a *osAccount) bool {
	info, err := os.Stat(dir)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := info.Mode().Perm()
	switch {
	case st.Uid == a.uid:
		return mode&0o100 != 0
	case a.inGroup(st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// includeKashConf makes postgresql.conf read kash.conf last, so kash's
// settings win over initdb's defaults.
func (l clusterLayout) includeKashConf() error {
	conf := filepath.Join(l.data, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", conf, err)
	}
	_, werr := f.WriteString("\n# Kash's settings, rewritten at every start.\ninclude_if_exists = 'kash.conf'\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("append include to %s: %w", conf, werr)
	}
	return nil
}

// writeKashConf writes the settings that kash relies on. fsync and
// synchronous_commit stay on: an acknowledged write must survive a crash
// (durability rule 1), also in development, so that benchmarks measure the
// real thing.
//
// With statStatements, the server also loads pg_stat_statements, so that
// ops and the bench can see which statements cost what.
func (l clusterLayout) writeKashConf(port int, statStatements bool) error {
	socketDir := l.root
	if len(filepath.Join(socketDir, ".s.PGSQL."+strconv.Itoa(port))) > maxSocketPath {
		socketDir = "" // TCP only: the path would be too long for a socket
	}
	settings := []string{
		"# Written by kash (persistence.StartLocal) at every start; edits are overwritten.",
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(port),
		"unix_socket_directories = '" + socketDir + "'",
		"unix_socket_permissions = 0700",
		"max_connections = 200",
		"shared_buffers = 256MB",
		"wal_buffers = 16MB",
		"checkpoint_timeout = 15min",
		"max_wal_size = 4GB",
		"fsync = on",
		"synchronous_commit = on",
		"full_page_writes = on",
		"timezone = 'UTC'",
		"log_timezone = 'UTC'",
		"logging_collector = off",
		"log_line_prefix = '%m [%p] %q%u@%d '",
		"log_min_duration_statement = 1000",
		"log_parameter_max_length = 0", // bind values may be secrets: never log them
		"log_parameter_max_length_on_error = 0",
	}
	if statStatements {
		settings = append(settings, "shared_preload_libraries = 'pg_stat_statements'")
	}
	path := filepath.Join(l.data, "kash.conf")
	if err := os.WriteFile(path, []byte(strings.Join(settings, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return l.owner.chown(path)
}

// choosePort returns the remembered port if free, else preferred if free,
// else the first free port above preferred.
func (l clusterLayout) choosePort(preferred int) (int, error) {
	var candidates []int
	if remembered, err := l.rememberedPort(); err == nil {
		candidates = append(candidates, remembered)
	}
	for p := preferred; p < preferred+200 && p <= 65535; p++ {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if portFree(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free TCP port on 127.0.0.1 in %d-%d for the local postgres", preferred, preferred+199)
}

func (l clusterLayout) rememberedPort() (int, error) {
	raw, err := os.ReadFile(l.portFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

func (l clusterLayout) rememberPort(port int) error {
	if err := os.WriteFile(l.portFile, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return fmt.Errorf("remember port in %s: %w", l.portFile, err)
	}
	return nil
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// lockFile takes an exclusive flock on path, waiting until ctx ends. flock
// locks belong to the open file, so goroutines of one process exclude each
// other as well as separate processes do, and the kernel drops the lock if
// the process dies.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
