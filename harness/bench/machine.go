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

// machine describes where the benchmark ran.
type machine struct {
	cpu       string // model name
	cores     int
	memory    string
	kernel    string
	traefik   string // "v3.6.12 (go1.x)"
	nginx     string
	wrk       string
	goVersion string
}

// describeMachine collects what the report says about the machine; a part
// that cannot be read is "unknown".
func describeMachine(ctx context.Context, traefikBin string) machine {
	m := machine{cores: runtime.NumCPU(), goVersion: runtime.Version(),
		cpu: "unknown CPU", memory: "unknown", kernel: "unknown", traefik: "unknown", nginx: "unknown", wrk: "unknown"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if v := procField(string(data), "model name"); v != "" {
			m.cpu = v
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v := procField(string(data), "MemTotal"); v != "" {
			if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
				m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(data))
	}
	if out := commandOutput(ctx, traefikBin, "version"); out != "" {
		v, g := procField(out, "Version"), procField(out, "Go version")
		if v != "" {
			m.traefik = v
			if g != "" {
				m.traefik += " (" + g + ")"
			}
		}
	}
	if out := commandOutput(ctx, nginxBin, "-v"); out != "" {
		m.nginx = strings.TrimPrefix(firstLine(out), "nginx version: ")
	}
	if out := commandOutput(ctx, "wrk", "-v"); out != "" {
		if f := strings.Fields(firstLine(out)); len(f) >= 2 {
			m.wrk = f[0] + " " + f[1]
		}
	}
	return m
}

// procField returns the value of the first "name: value" line (tabs and
// spaces around the colon allowed), as in /proc/cpuinfo and `traefik version`.
func procField(text, name string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
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
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
