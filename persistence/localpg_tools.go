package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// serverUser is the account the cluster runs as when kash runs as root.
// The Debian postgresql packages create it.
const serverUser = "postgres"

// pgTools runs the PostgreSQL server binaries of one installation, as the
// account that owns the cluster.
type pgTools struct {
	binDir string
	owner  *osAccount // nil: run as the current user
}

// osAccount is an unprivileged Unix account the cluster is run as.
type osAccount struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

// findPgTools locates a directory holding initdb, pg_ctl and postgres: the
// one pg_ctl is found in through PATH, else the highest version under
// /usr/lib/postgresql.
func findPgTools() (pgTools, error) {
	owner, err := clusterOwner()
	if err != nil {
		return pgTools{}, err
	}
	binDir, err := firstServerBinDir(pgBinDirCandidates())
	if err != nil {
		return pgTools{}, err
	}
	return pgTools{binDir: binDir, owner: owner}, nil
}

func firstServerBinDir(candidates []string) (string, error) {
	for _, dir := range candidates {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrPostgresNotInstalled
}

func pgBinDirCandidates() []string {
	var dirs []string
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	installed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	return append(dirs, newestFirst(installed)...)
}

// newestFirst sorts /usr/lib/postgresql/<version>/bin directories by
// version, highest first.
func newestFirst(binDirs []string) []string {
	sort.SliceStable(binDirs, func(i, j int) bool {
		return pgMajor(binDirs[i]) > pgMajor(binDirs[j])
	})
	return binDirs
}

// pgMajor reads the version out of /usr/lib/postgresql/<version>/bin;
// unparsable names sort last.
func pgMajor(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// clusterOwner returns the account to run the server as: nil (the current
// user) unless we are root, which initdb and postgres refuse.
func clusterOwner() (*osAccount, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("running as root, the local Postgres must run as the unprivileged user %q, which does not exist (the Debian package postgresql creates it: run `make postgres`): %w", serverUser, err)
	}
	return accountOf(u)
}

func accountOf(u *user.User) (*osAccount, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	acct := &osAccount{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	groupIDs, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("user %s: groups: %w", u.Username, err)
	}
	for _, g := range groupIDs {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			acct.groups = append(acct.groups, uint32(n))
		}
	}
	return acct, nil
}

func (a *osAccount) inGroup(gid uint32) bool {
	if a.gid == gid {
		return true
	}
	for _, g := range a.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// chown gives path to the account; a nil account (current user) keeps it.
func (a *osAccount) chown(path string) error {
	if a == nil {
		return nil
	}
	if err := os.Lchown(path, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("give %s to user %s: %w", path, a.name, err)
	}
	return nil
}

// command builds a command for one of the server binaries. It runs in "/"
// (the caller's working directory may be unreadable for the cluster owner)
// with PG* variables removed, so that a PGDATA or PGPORT in the caller's
// environment cannot point it at another cluster.
func (t pgTools) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(t.binDir, name), args...)
	cmd.Dir = "/"
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if t.owner != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: t.owner.uid, Gid: t.owner.gid, Groups: t.owner.groups}
	}
	return cmd
}

func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// run runs a server binary and returns its combined output; the output is
// part of the error when it fails.
func (t pgTools) run(ctx context.Context, name string, args ...string) (string, error) {
	return t.runCmd(t.command(ctx, name, args...))
}

// runDetached runs a command in its own session, so that the server it
// starts survives the caller's Ctrl-C and exit: it is meant to be reused.
func (t pgTools) runDetached(ctx context.Context, name string, args ...string) (string, error) {
	cmd := t.command(ctx, name, args...)
	cmd.SysProcAttr.Setsid = true
	return t.runCmd(cmd)
}

func (t pgTools) runCmd(cmd *exec.Cmd) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// status runs pg_ctl status and returns its exit code: 0 running, 3 not
// running, 4 no cluster.
func (t pgTools) status(ctx context.Context, dataDir string) (int, string, error) {
	cmd := t.command(ctx, "pg_ctl", "status", "-D", dataDir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), strings.TrimSpace(string(out)), nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("pg_ctl status %s: %w", dataDir, err)
	}
	return 0, strings.TrimSpace(string(out)), nil
}

// postmasterPort reads the port line of a running cluster's postmaster.pid.
func postmasterPort(dataDir string) (int, error) {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", pidFile, err)
	}
	// Line 4 is the port (see PostgreSQL's LOCK_FILE_LINE_PORT).
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("read %s: no port line", pidFile)
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, fmt.Errorf("read %s: port %q: %w", pidFile, lines[3], err)
	}
	return port, nil
}

// tailFile returns at most the last n bytes of a file, for error messages.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	offset := max(info.Size()-n, 0)
	buf := make([]byte, info.Size()-offset)
	if _, err := f.ReadAt(buf, offset); err != nil {
		return ""
	}
	return string(buf)
}

// hasStatStatements reports whether the server's pg_stat_statements
// module is installed next to its binaries (<version>/lib), following the
// symlinks that put them on PATH.
func (t pgTools) hasStatStatements() bool {
	postgres, err := filepath.EvalSymlinks(filepath.Join(t.binDir, "postgres"))
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(filepath.Dir(postgres)), "lib", "pg_stat_statements.so"))
	return err == nil
}
