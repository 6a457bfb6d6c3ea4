package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
)

// profiler writes pprof profiles of each measured window alone: setup and
// checks would otherwise drown the engine's own costs.
type profiler struct {
	cpuPath, memPath string
	log              io.Writer

	cpuFile *os.File
	err     error
}

// profilePath turns "cpu.prof" into "cpu.settle.1.prof".
func profilePath(path, scenario string, repeat int, suffix string) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s.%s.%d%s%s", strings.TrimSuffix(path, ext), scenario, repeat, suffix, ext)
}

func (p *profiler) opened(scenario string, repeat int) {
	if p.err != nil {
		return
	}
	if p.memPath != "" {
		p.fail(writeHeap(profilePath(p.memPath, scenario, repeat, ".base")))
	}
	if p.cpuPath == "" {
		return
	}
	path := profilePath(p.cpuPath, scenario, repeat, "")
	f, err := os.Create(path)
	if err != nil {
		p.fail(fmt.Errorf("cpu profile: %w", err))
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		p.fail(fmt.Errorf("cpu profile: %w", err))
		return
	}
	p.cpuFile = f
	fmt.Fprintln(p.log, "kashbench: CPU profile of the window to", path)
}

func (p *profiler) closed(scenario string, repeat int) {
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		p.fail(p.cpuFile.Close())
		p.cpuFile = nil
	}
	if p.memPath != "" && p.err == nil {
		path := profilePath(p.memPath, scenario, repeat, "")
		p.fail(writeHeap(path))
		fmt.Fprintln(p.log, "kashbench: heap profiles of the window:", path, "(compare with -base", profilePath(p.memPath, scenario, repeat, ".base")+")")
	}
}

func (p *profiler) fail(err error) {
	if err != nil {
		p.err = errors.Join(p.err, err)
	}
}

func writeHeap(path string) error {
	runtime.GC() // the heap profile shows the state as of the last GC
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}
