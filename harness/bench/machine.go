package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// describeMachine says where the benchmark runs: "AMD EPYC × 2 cores, 23.5
// GiB RAM, Linux 6.1. Traefik v3.6.12 (go1.x), nginx ..., wrk ...; bench
// built with go1.x"; a part that cannot be read is "unknown".
func describeMachine(ctx context.Context, traefikBin string) string {
	or := func(v, def string) string {
		if strings.Trim(v, " ()") == "" {
			return def
		}
		return v
	}
	read := func(path string) string { data, _ := os.ReadFile(path); return string(data) }
	memory := "unknown"
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField(read("/proc/meminfo"), "MemTotal"), " kB"), 10, 64); err == nil {
		memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
	}
	traefik := commandOutput(ctx, traefikBin, "version")
	wrk := strings.Fields(firstLine(commandOutput(ctx, "wrk", "-v")))
	return fmt.Sprintf("%s × %d cores, %s RAM, Linux %s. Traefik %s, nginx %s, %s; bench built with %s",
		or(procField(read("/proc/cpuinfo"), "model name"), "unknown CPU"), runtime.NumCPU(), memory,
		or(strings.TrimSpace(read("/proc/sys/kernel/osrelease")), "unknown"),
		or(procField(traefik, "Version")+" ("+procField(traefik, "Go version")+")", "unknown"),
		or(strings.TrimPrefix(firstLine(commandOutput(ctx, nginxBin, "-v")), "nginx version: "), "unknown"),
		or(strings.Join(wrk[:min(2, len(wrk))], " "), "unknown"), runtime.Version())
}

// procField returns the value of the first "name: value" line (tabs and
// spaces around the colon allowed), as in /proc/cpuinfo and `traefik version`.
func procField(text, name string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// commandOutput runs a command for at most 10 s and returns its stdout and
// stderr, whatever its exit status (wrk -v exits 1).
func commandOutput(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	_ = cmd.Run()
	return buf.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// loadAverage returns the 1-minute load average, "unknown" when unreadable.
func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
