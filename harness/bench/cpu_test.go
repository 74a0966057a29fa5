package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, as nginx workers have.
	cpu, err := statCPU("4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 123 456 789")
	if err != nil || cpu != 325*clockTick {
		t.Errorf("statCPU = %v, %v; want %v", cpu, err, 325*clockTick)
	}
	if _, err := statCPU("4242 (x) S 1 2"); err == nil {
		t.Error("short line: no error")
	}
	before := cpuTimes{1: 100 * time.Millisecond, 2: 50 * time.Millisecond, 3: time.Second}
	after := cpuTimes{1: 300 * time.Millisecond, 2: 50 * time.Millisecond, 4: 20 * time.Millisecond}
	if got := after.since(before); got != 220*time.Millisecond {
		t.Errorf("since = %v, want 220ms (process 3 gone, process 4 new)", got)
	}
}

func TestTreeCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	child := exec.Command("sleep", "10")
	if err := child.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer child.Process.Kill()
	c, err := treeCPU(os.Getpid())
	own, ok := c[os.Getpid()]
	if _, childOK := c[child.Process.Pid]; err != nil || !ok || !childOK || own < 0 || own > time.Hour {
		t.Errorf("treeCPU = %v, %v; want this process's CPU time, and its child %d's", c, err, child.Process.Pid)
	}
	if _, err := treeCPU(1 << 30); err == nil {
		t.Error("missing process: no error")
	}
}
