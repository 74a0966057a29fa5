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

// machine describes where the benchmark ran; a part that cannot be read is
// "unknown".
type machine struct {
	cpu, memory, kernel string
	cores               int
	traefik             string // "v3.6.12 (go1.x)"
	nginx, wrk          string
	goVersion           string
}

// describeMachine collects what the report says about the machine.
func describeMachine(ctx context.Context, traefikBin string) machine {
	m := machine{cores: runtime.NumCPU(), goVersion: runtime.Version(), cpu: "unknown CPU",
		memory: "unknown", kernel: "unknown", traefik: "unknown", nginx: "unknown", wrk: "unknown"}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	read := func(path string) string { data, _ := os.ReadFile(path); return string(data) }
	set(&m.cpu, procField(read("/proc/cpuinfo"), "model name"))
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField(read("/proc/meminfo"), "MemTotal"), " kB"), 10, 64); err == nil {
		m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
	}
	set(&m.kernel, strings.TrimSpace(read("/proc/sys/kernel/osrelease")))
	if out := commandOutput(ctx, traefikBin, "version"); procField(out, "Version") != "" {
		m.traefik = procField(out, "Version") + " (" + procField(out, "Go version") + ")"
	}
	set(&m.nginx, strings.TrimPrefix(firstLine(commandOutput(ctx, nginxBin, "-v")), "nginx version: "))
	if f := strings.Fields(firstLine(commandOutput(ctx, "wrk", "-v"))); len(f) >= 2 {
		m.wrk = f[0] + " " + f[1]
	}
	return m
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
