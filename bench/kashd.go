package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrKashdExited is returned when kashd exits while the harness waits for
// it to become ready.
var ErrKashdExited = errors.New("kashd exited")

// builds holds the kashd binary built for this process: the HTTP scenarios
// run the real server as a child, built once from this module's source.
var builds struct {
	sync.Mutex
	dir, path string
}

// KashdBinary returns a kashd binary: given, when path is not empty, else
// built once per process with `go build` from the module the working
// directory belongs to (kashbench runs from the repository).
func KashdBinary(ctx context.Context, path string, log io.Writer) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("kashd binary: %w", err)
		}
		return path, nil
	}
	builds.Lock()
	defer builds.Unlock()
	if builds.path != "" {
		return builds.path, nil
	}
	dir, err := os.MkdirTemp("", "kashbench-kashd-")
	if err != nil {
		return "", fmt.Errorf("build kashd: %w", err)
	}
	bin := filepath.Join(dir, "kashd")
	fmt.Fprintln(log, "kashbench: building kashd (go build kash/cmd/kashd)")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "kash/cmd/kashd")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("build kashd (run kashbench inside the repository, or give --kashd): %w\n%s", err, out)
	}
	builds.dir, builds.path = dir, bin
	return bin, nil
}

// RemoveBuilds deletes the kashd binary built by KashdBinary, if any.
func RemoveBuilds() {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
		builds.dir, builds.path = "", ""
	}
}

// freeAddr returns a loopback address no one listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Kashd is kashd run as a child process: started, killed with SIGKILL and
// restarted on the same address, database and data directory, as an
// operator's supervisor would.
type Kashd struct {
	bin     string
	env     []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
	logF *os.File
}

// NewKashd prepares kashd from bin with env (KASH_* settings; the parent's
// own KASH_* variables are not passed on), logging to logPath.
func NewKashd(bin string, env []string, logPath string) *Kashd {
	base := make([]string, 0, len(os.Environ())+len(env))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KASH_") {
			base = append(base, kv)
		}
	}
	return &Kashd{bin: bin, env: append(base, env...), logPath: logPath}
}

// Start starts the process; it does not wait for it to be ready.
func (k *Kashd) Start() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd != nil {
		return errors.New("kashd already running")
	}
	logF, err := os.OpenFile(k.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("kashd log: %w", err)
	}
	cmd := exec.Command(k.bin)
	cmd.Env = k.env
	cmd.Stdout, cmd.Stderr = logF, logF
	if err := cmd.Start(); err != nil {
		_ = logF.Close()
		return fmt.Errorf("start kashd: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	k.cmd, k.done, k.logF = cmd, done, logF
	return nil
}

// PID is the running process's id (0 when none).
func (k *Kashd) PID() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd == nil {
		return 0
	}
	return k.cmd.Process.Pid
}

// WaitReady polls ready until it reports true, the process exits, or
// timeout passes; it returns how long it waited.
func (k *Kashd) WaitReady(ctx context.Context, ready func() bool, timeout time.Duration) (time.Duration, error) {
	k.mu.Lock()
	done := k.done
	k.mu.Unlock()
	start := time.Now()
	for time.Since(start) < timeout {
		select {
		case err := <-done:
			k.reap(err)
			return 0, fmt.Errorf("%w before becoming ready (%v); see %s", ErrKashdExited, err, k.logPath)
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		if ready() {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("kashd not ready after %s; see %s", timeout, k.logPath)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (k *Kashd) Kill() error {
	return k.signal(syscall.SIGKILL, 0)
}

// Stop asks kashd to shut down (SIGTERM), and kills it after patience.
func (k *Kashd) Stop(patience time.Duration) error {
	return k.signal(syscall.SIGTERM, patience)
}

func (k *Kashd) signal(sig syscall.Signal, patience time.Duration) error {
	k.mu.Lock()
	cmd, done := k.cmd, k.done
	k.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal kashd: %w", err)
	}
	var err error
	if patience <= 0 {
		err = <-done
	} else {
		select {
		case err = <-done:
		case <-time.After(patience):
			_ = cmd.Process.Kill()
			err = <-done
		}
	}
	k.reap(err)
	return nil
}

// reap forgets an exited process.
func (k *Kashd) reap(error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.logF != nil {
		_ = k.logF.Close()
	}
	k.cmd, k.done, k.logF = nil, nil, nil
}

// LogPath is where kashd's output goes.
func (k *Kashd) LogPath() string { return k.logPath }
