package persistence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultLocalPort is the TCP port a new local cluster tries first. It is
// not 5432 so that a system Postgres on the same machine never collides with
// ours; when it is taken, StartLocal picks a free port nearby and remembers it.
const DefaultLocalPort = 54329

// localRole is the cluster's bootstrap superuser (initdb -U), so it exists
// from the first start without a CREATE ROLE.
const localRole = "kash"

// defaultLocalDatabase is the database StartLocal creates when
// LocalConfig.Database is empty.
const defaultLocalDatabase = "kash"

// localStartTimeout bounds how long pg_ctl waits for the server to accept
// connections or to stop.
const localStartTimeout = 60 * time.Second

// ErrPostgresNotInstalled is returned by StartLocal when no directory holds
// initdb, pg_ctl and postgres.
var ErrPostgresNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or /usr/lib/postgresql/*/bin: run `make postgres`")

// LocalConfig says where and how StartLocal runs the private cluster.
type LocalConfig struct {
	// DataDir is kash's directory on disk (KASH_DATA_DIR); the cluster lives
	// in DataDir/pg. A relative path is made absolute.
	DataDir string
	// Port is the TCP port on 127.0.0.1 tried first when the cluster is
	// started; 0 means DefaultLocalPort. A port once used is remembered in
	// DataDir/pg/port and preferred on later starts.
	Port int
	// Database is created when missing; empty means "kash".
	Database string
	// Logger receives one line per start or stop; nil means slog.Default().
	Logger *slog.Logger
}

// LocalServer is a private Postgres cluster started (or found running) by
// StartLocal. It keeps running after the process exits so that the next
// start reuses it; Stop shuts it down.
type LocalServer struct {
	layout   clusterLayout
	tools    pgTools
	database string
	port     int
	reused   bool
	log      *slog.Logger
}

// StartLocal makes sure a private Postgres cluster runs under cfg.DataDir and
// that its database exists, then returns it.
//
// The first call runs initdb; later calls start the existing cluster, or just
// connect when it already runs. Concurrent callers, in one process or many,
// serialise on a file lock, so exactly one of them initialises and starts the
// cluster. When the process runs as root the server runs as the unprivileged
// "postgres" user, because initdb and postgres refuse to run as root.
func StartLocal(ctx context.Context, cfg LocalConfig) (*LocalServer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tools, err := findPgTools()
	if err != nil {
		return nil, err
	}
	layout, err := prepareLayout(cfg.DataDir, tools.owner, cfg.Logger)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, layout.lockFile)
	if err != nil {
		return nil, err
	}
	defer unlock()

	s := &LocalServer{layout: layout, tools: tools, database: cfg.Database, log: cfg.Logger}
	if err := s.ensureInitialised(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureRunning(ctx, cfg.Port); err != nil {
		return nil, err
	}
	if err := s.ensureDatabase(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (c LocalConfig) withDefaults() (LocalConfig, error) {
	if c.DataDir == "" {
		return c, errors.New("start local postgres: LocalConfig.DataDir is empty")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, fmt.Errorf("start local postgres: resolve data dir %q: %w", c.DataDir, err)
	}
	c.DataDir = abs
	if c.Port == 0 {
		c.Port = DefaultLocalPort
	}
	if c.Port < 1024 || c.Port > 65535 {
		return c, fmt.Errorf("start local postgres: port %d outside 1024-65535", c.Port)
	}
	if c.Database == "" {
		c.Database = defaultLocalDatabase
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// URL is the connection URL of the cluster's database, over TCP on
// 127.0.0.1 with trust authentication.
func (s *LocalServer) URL() string {
	return s.URLFor(s.database)
}

// URLFor is the connection URL of another database on the same cluster.
func (s *LocalServer) URLFor(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(localRole),
		Host:     "127.0.0.1:" + strconv.Itoa(s.port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port the cluster listens on.
func (s *LocalServer) Port() int { return s.port }

// Reused reports whether StartLocal found the cluster already running.
func (s *LocalServer) Reused() bool { return s.reused }

// ClusterDir is the cluster's data directory (PGDATA).
func (s *LocalServer) ClusterDir() string { return s.layout.data }

// LogFile is the file the server logs to.
func (s *LocalServer) LogFile() string { return s.layout.logFile }

// StopCommand is the shell command that stops the cluster from outside,
// for humans reading the logs.
func (s *LocalServer) StopCommand() string {
	cmd := filepath.Join(s.tools.binDir, "pg_ctl") + " stop -D " + s.layout.data
	if s.tools.owner != nil {
		return "runuser -u " + s.tools.owner.name + " -- " + cmd
	}
	return cmd
}

// Stop shuts the cluster down (fast mode: open transactions are rolled back)
// and waits for it to exit. Stopping a cluster that is not running is not an
// error.
func (s *LocalServer) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), localStartTimeout+10*time.Second)
	defer cancel()
	unlock, err := lockFile(ctx, s.layout.lockFile)
	if err != nil {
		return err
	}
	defer unlock()
	if _, running, err := s.runningPort(ctx); err != nil || !running {
		return err
	}
	if _, err := s.tools.run(ctx, "pg_ctl", "stop", "-D", s.layout.data, "-m", "fast", "-w",
		"-t", strconv.Itoa(int(localStartTimeout.Seconds()))); err != nil {
		return fmt.Errorf("stop local postgres in %s: %w", s.layout.data, err)
	}
	s.log.Info("local postgres stopped", "cluster_dir", s.layout.data)
	return nil
}

// ensureInitialised runs initdb unless the cluster exists. A data directory
// without PG_VERSION is what an interrupted initdb leaves; it is removed and
// made again (the caller holds the lock, so nobody else is using it).
func (s *LocalServer) ensureInitialised(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.layout.data, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.RemoveAll(s.layout.data); err != nil {
		return fmt.Errorf("remove incomplete cluster %s: %w", s.layout.data, err)
	}
	s.log.Info("initialising local postgres", "cluster_dir", s.layout.data)
	if _, err := s.tools.run(ctx, "initdb", "-D", s.layout.data, "-U", localRole,
		"-A", "trust", "-E", "UTF8", "--locale=C"); err != nil {
		return fmt.Errorf("initdb %s: %w", s.layout.data, err)
	}
	return s.layout.includeKashConf()
}

// ensureRunning connects to a running cluster or starts it. A start that
// fails because another process took the port in the meantime is retried
// on another port.
func (s *LocalServer) ensureRunning(ctx context.Context, preferred int) error {
	port, running, err := s.runningPort(ctx)
	if err != nil {
		return err
	}
	if running {
		s.port, s.reused = port, true
		s.log.Info("local postgres already running", "port", port, "cluster_dir", s.layout.data)
		return nil
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port, err := s.layout.choosePort(preferred)
		if err != nil {
			return err
		}
		err = s.start(ctx, port)
		if err == nil {
			s.port = port
			s.log.Info("local postgres started", "port", port, "cluster_dir", s.layout.data, "log_file", s.layout.logFile)
			return s.layout.rememberPort(port)
		}
		if attempt == attempts || portFree(port) {
			return err
		}
	}
}

func (s *LocalServer) start(ctx context.Context, port int) error {
	if err := s.layout.writeKashConf(port, s.tools.hasStatStatements()); err != nil {
		return err
	}
	_, err := s.tools.runDetached(ctx, "pg_ctl", "start", "-D", s.layout.data, "-l", s.layout.logFile,
		"-w", "-t", strconv.Itoa(int(localStartTimeout.Seconds())), "-s")
	if err != nil {
		return fmt.Errorf("start local postgres on port %d (log: %s): %w\n%s",
			port, s.layout.logFile, err, tailFile(s.layout.logFile, 2048))
	}
	return nil
}

// runningPort asks pg_ctl whether the cluster runs and, if so, reads its
// port from postmaster.pid.
func (s *LocalServer) runningPort(ctx context.Context) (port int, running bool, err error) {
	code, out, err := s.tools.status(ctx, s.layout.data)
	if err != nil {
		return 0, false, err
	}
	switch code {
	case 0:
		port, err := postmasterPort(s.layout.data)
		return port, err == nil, err
	case 3:
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("pg_ctl status %s: exit %d: %s", s.layout.data, code, out)
	}
}

// ensureDatabase creates the configured database when missing. The server
// may still be finishing its start (when another tool started it), so the
// first connection is retried for a while.
func (s *LocalServer) ensureDatabase(ctx context.Context) error {
	conn, err := connectWithRetry(ctx, s.URLFor("postgres"), 30*time.Second)
	if err != nil {
		return fmt.Errorf("connect to local postgres on port %d: %w", s.port, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", s.database, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.database}.Sanitize()); err != nil {
		return fmt.Errorf("create database %q: %w", s.database, err)
	}
	s.log.Info("created database", "database", s.database)
	return nil
}

func connectWithRetry(ctx context.Context, connString string, patience time.Duration) (*pgx.Conn, error) {
	deadline := time.Now().Add(patience)
	for {
		conn, err := pgx.Connect(ctx, connString)
		if err == nil {
			return conn, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
