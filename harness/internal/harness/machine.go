package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine names the CPU, cores, RAM and kernel this process runs on, as the
// reports of make bench and make stress state them: "AMD EPYC × 2 cores,
// 23.5 GiB RAM, Linux 6.1.0". A figure that cannot be read is "unknown".
func Machine() string {
	read := func(path string) string { data, _ := os.ReadFile(path); return string(data) }
	memory := "unknown"
	if kb, err := strconv.ParseInt(strings.TrimSuffix(ProcField(read("/proc/meminfo"), "MemTotal"), " kB"), 10, 64); err == nil {
		memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
	}
	cpu := ProcField(read("/proc/cpuinfo"), "model name")
	if cpu == "" {
		cpu = "unknown CPU"
	}
	kernel := strings.TrimSpace(read("/proc/sys/kernel/osrelease"))
	if kernel == "" {
		kernel = "unknown"
	}
	return fmt.Sprintf("%s × %d cores, %s RAM, Linux %s", cpu, runtime.NumCPU(), memory, kernel)
}

// ProcField returns the value of the first "name: value" line of text, as
// in /proc/cpuinfo, or "".
func ProcField(text, name string) string {
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Commit names the git commit checked out at dir, "abc1234 (subject)", with
// " + uncommitted changes" when tracked files differ from it, or "unknown"
// outside a git checkout: what a report measured, so that a reader can
// tell whether it describes the code in front of them.
func Commit(ctx context.Context, dir string) string {
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	commit, err := git("log", "-1", "--format=%h (%s)")
	if err != nil || commit == "" {
		return "unknown"
	}
	if status, err := git("status", "--porcelain", "--untracked-files=no"); err != nil || status != "" {
		commit += " + uncommitted changes"
	}
	return commit
}
