package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux that Go supports.
const clockTick = 10 * time.Millisecond

// statCPU returns utime+stime of a /proc/PID/stat line. The fields are
// counted after the command name, which may hold spaces and parentheses.
func statCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	f := strings.Fields(stat[i+1:]) // field 3 (state) first
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("short stat line %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in stat line %q", stat)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuTimes is the CPU time (user and system) used so far by each process.
type cpuTimes map[int]time.Duration

// since returns the CPU time used between two readings by the processes
// of the later one (a process new since the earlier one counts in full).
func (after cpuTimes) since(before cpuTimes) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// treeCPU reads the CPU times of pid and its direct children (nginx's
// master and its workers). A child that has exited is left out (nginx's
// cache loader exits a minute after start).
func treeCPU(pid int) (cpuTimes, error) {
	pids, err := withChildren(pid)
	out := cpuTimes{}
	for i, p := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if i > 0 && os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if out[p], err = statCPU(string(data)); err != nil {
			return nil, err
		}
	}
	return out, err
}

// withChildren returns pid and the PIDs of its direct children (nginx's
// workers), from /proc/PID/task/*/children (each thread lists the children
// it forked).
func withChildren(pid int) ([]int, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	out := []int{pid}
	for _, f := range files {
		data, _ := os.ReadFile(f) // a thread may have exited
		for _, field := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(field)
			if err != nil {
				return nil, fmt.Errorf("%s: %q", f, data)
			}
			out = append(out, child)
		}
	}
	return out, err
}
