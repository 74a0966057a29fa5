package main

import (
	"os"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, as nginx workers have.
	line := "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 123 456 789"
	cpu, err := statCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if cpu != 325*clockTick {
		t.Errorf("statCPU = %v, want %v", cpu, 325*clockTick)
	}
	ppid, err := statPPID(line)
	if err != nil || ppid != 4241 {
		t.Errorf("statPPID = %d, %v; want 4241", ppid, err)
	}
	if _, err := statCPU("4242 (x) S 1 2"); err == nil {
		t.Error("short line: no error")
	}
}

func TestProcessCPUSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c, err := processCPU([]int{os.Getpid(), 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if d := c[os.Getpid()]; len(c) != 1 || d < 0 || d > time.Hour {
		t.Errorf("own CPU time %v, readings %v (a missing process after the first is left out)", d, c)
	}
	if _, err := processCPU([]int{1 << 30}); err == nil {
		t.Error("missing first process: no error")
	}
}

func TestCPUTimesSince(t *testing.T) {
	before := cpuTimes{1: 100 * time.Millisecond, 2: 50 * time.Millisecond, 3: time.Second}
	after := cpuTimes{1: 300 * time.Millisecond, 2: 50 * time.Millisecond, 4: 20 * time.Millisecond}
	if got := after.since(before); got != 220*time.Millisecond {
		t.Errorf("since = %v, want 220ms (process 3 gone, process 4 new)", got)
	}
}
