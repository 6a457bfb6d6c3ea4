package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/<pid>/stat; Linux
// exposes 100 on every architecture, whatever the kernel's HZ.
const clockTicks = 100

// ProcUsage is what a set of processes cost during a measured window.
type ProcUsage struct {
	Name       string  `json:"name"`
	PIDs       int     `json:"pids"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Cores      float64 `json:"cores"` // CPU seconds per second of the window
	// CPUPerOpMS is CPU milliseconds per completed operation: steadier
	// than throughput on a shared, noisy machine, and what a gain must cut.
	CPUPerOpMS float64 `json:"cpu_ms_per_op"`
	// RSSBytes is the resident memory at the end of the window; for
	// Postgres it is the proportional set size (PSS) summed over its
	// processes, so that shared buffers count once, not once per backend.
	RSSBytes     uint64 `json:"rss_bytes"`
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	Note         string `json:"note,omitempty"`
}

// procSample is the CPU time and memory of a set of processes at a moment.
type procSample struct {
	at   time.Time
	cpu  map[int]time.Duration // per pid, so processes that come and go are not miscounted
	rss  uint64
	pids int
}

// ProcWatcher samples a set of processes (found anew at each sample) at the
// start of a window, during it for peak memory, and at its end.
type ProcWatcher struct {
	name  string
	find  func() ([]int, error)
	rssOf func(pid int) (uint64, error)
	note  string
	// edgesOnly samples only at Start and Stop: reading smaps_rollup of
	// every Postgres process costs tens of milliseconds of kernel time,
	// which a per-second sample would charge to the window.
	edgesOnly bool
	// machine samples the whole machine (/proc/stat, /proc/meminfo)
	// instead of processes.
	machine bool

	mu    sync.Mutex
	first procSample
	peak  uint64
	err   error
}

// SelfWatcher watches this process (the load generator, and for in-process
// scenarios the engine too).
func SelfWatcher(name string) *ProcWatcher {
	return &ProcWatcher{name: name, find: func() ([]int, error) { return []int{os.Getpid()}, nil }, rssOf: rssOf}
}

// PIDWatcher watches the process whose id pid returns at each sample (0:
// none running), such as kashd run as a child and restarted: each
// incarnation's CPU counts from its start, and the CPU of one killed
// within the window after its last sample is not counted.
func PIDWatcher(name string, pid func() int) *ProcWatcher {
	return &ProcWatcher{name: name, rssOf: rssOf, find: func() ([]int, error) {
		if p := pid(); p > 0 {
			return []int{p}, nil
		}
		return nil, nil
	}}
}

// MachineWatcher watches the whole machine: the CPU every process used
// (busy time in /proc/stat) and the memory in use (MemTotal −
// MemAvailable). On a shared machine it shows how much of the window went
// to processes the harness does not watch.
func MachineWatcher() *ProcWatcher {
	return &ProcWatcher{name: "whole machine (every process)", machine: true, edgesOnly: true,
		note: "CPU of every process; memory in use (MemTotal − MemAvailable)"}
}

func machineSample(s procSample) (procSample, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, fmt.Errorf("read /proc/stat: %w", err)
	}
	busy, err := parseCPULine(string(b))
	if err != nil {
		return s, err
	}
	s.cpu[0] = busy
	total, err1 := statusField("/proc/meminfo", "MemTotal:")
	avail, err2 := statusField("/proc/meminfo", "MemAvailable:")
	if err := errors.Join(err1, err2); err != nil {
		return s, err
	}
	s.rss, s.pids = total-avail, 0
	return s, nil
}

// parseCPULine reads the busy time of the machine from the aggregate
// "cpu" line of /proc/stat: user, nice, system, irq, softirq and steal
// (idle and iowait are not busy; guest time is inside user).
func parseCPULine(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var ticks uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat field %d: %w", i, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// PostgresWatcher watches the postmaster whose data directory is dataDir
// and all its children (backends, WAL writer, checkpointer...). It works
// when the server runs on this machine and its postmaster.pid is readable.
func PostgresWatcher(dataDir string) *ProcWatcher {
	return &ProcWatcher{name: "postgres", rssOf: pssOf, find: func() ([]int, error) { return postgresPIDs(dataDir) },
		note: "PSS summed over the postmaster and its children; peak of start and end", edgesOnly: true}
}

// Start takes the first sample of the window.
func (w *ProcWatcher) Start() {
	s, err := w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.first, w.peak, w.err = s, s.rss, err
}

// Sample records memory for the peak; call it periodically.
func (w *ProcWatcher) Sample() {
	if w.edgesOnly {
		return
	}
	s, err := w.sample()
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.peak = max(w.peak, s.rss)
}

// Stop takes the last sample and returns the window's usage.
func (w *ProcWatcher) Stop() ProcUsage {
	last, err := w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	u := ProcUsage{Name: w.name, Note: w.note}
	if err = errors.Join(w.err, err); err != nil {
		u.Note = "unavailable: " + err.Error()
		return u
	}
	var cpu time.Duration
	for pid, c := range last.cpu {
		cpu += c - w.first.cpu[pid] // a process born in the window started at 0
	}
	u.PIDs = last.pids
	u.CPUSeconds = cpu.Seconds()
	if wall := last.at.Sub(w.first.at).Seconds(); wall > 0 {
		u.Cores = u.CPUSeconds / wall
	}
	u.RSSBytes = last.rss
	u.PeakRSSBytes = max(w.peak, last.rss)
	return u
}

func (w *ProcWatcher) sample() (procSample, error) {
	s := procSample{at: time.Now(), cpu: map[int]time.Duration{}}
	if w.machine {
		return machineSample(s)
	}
	pids, err := w.find()
	if err != nil {
		return s, err
	}
	for _, pid := range pids {
		cpu, err := cpuOf(pid)
		if err != nil {
			continue // the process exited between listing and reading
		}
		rss, err := w.rssOf(pid)
		if err != nil {
			continue
		}
		s.cpu[pid] = cpu
		s.rss += rss
		s.pids++
	}
	return s, nil
}

// cpuOf is the user+system CPU time of pid so far.
func cpuOf(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return st.cpu, nil
}

type procStat struct {
	ppid int
	cpu  time.Duration
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseStat(string(b))
}

// parseStat reads ppid, utime and stime from a /proc/<pid>/stat line. The
// command name (field 2) may hold spaces and parentheses, as Postgres's
// "postgres: kash kash 127.0.0.1(4242) idle" does, so fields are counted
// from the last ')'.
func parseStat(line string) (procStat, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("stat line without a command: %q", line)
	}
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat line too short: %q", line)
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseUint(f[11], 10, 64)
	stime, err3 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("stat line %q: %w", line, err)
	}
	ticks := utime + stime
	return procStat{ppid: ppid, cpu: time.Duration(ticks) * time.Second / clockTicks}, nil
}

// rssOf is the resident set size of pid (VmRSS).
func rssOf(pid int) (uint64, error) {
	return statusField(filepath.Join("/proc", strconv.Itoa(pid), "status"), "VmRSS:")
}

// pssOf is the proportional set size of pid, from smaps_rollup.
func pssOf(pid int) (uint64, error) {
	return statusField(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"), "Pss:")
}

// statusField reads a "Name:   1234 kB" line of a /proc file, in bytes.
func statusField(path, name string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s in %s: %w", name, path, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s: no %s line", path, name)
}

// postgresPIDs returns the postmaster of dataDir (the first line of its
// postmaster.pid) and every process whose parent it is.
func postgresPIDs(dataDir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil, fmt.Errorf("find the postmaster: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("postmaster.pid of %s: %w", dataDir, err)
	}
	if err := syscall.Kill(postmaster, 0); err != nil {
		return nil, fmt.Errorf("postmaster %d of %s: %w", postmaster, dataDir, err)
	}
	pids := []int{postmaster}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if st, err := readStat(pid); err == nil && st.ppid == postmaster {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
