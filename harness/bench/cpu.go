package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux that Go supports.
const clockTick = 10 * time.Millisecond

// statFields returns the fields of a /proc/PID/stat line after the command
// name (which may hold spaces and parentheses): field 3 (state) comes first.
func statFields(stat string) ([]string, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, fmt.Errorf("no command name in stat line %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("short stat line %q", stat)
	}
	return f, nil
}

// statCPU returns utime+stime of a /proc/PID/stat line.
func statCPU(stat string) (time.Duration, error) {
	f, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in stat line %q", stat)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// statPPID returns the parent PID of a /proc/PID/stat line.
func statPPID(stat string) (int, error) {
	f, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1]) // field 4
}

// cpuTimes is the CPU time (user and system) used so far by each process.
type cpuTimes map[int]time.Duration

// processCPU reads the CPU times of the processes, children not included.
// A process that has exited is left out (nginx's cache loader exits a
// minute after start), unless it is the first one, the one that matters.
func processCPU(pids []int) (cpuTimes, error) {
	out := cpuTimes{}
	for i, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			if i > 0 && os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		d, err := statCPU(string(data))
		if err != nil {
			return nil, err
		}
		out[pid] = d
	}
	return out, nil
}

// since returns the CPU time used between two readings by the processes
// of the later one (a process new since the earlier one counts in full).
func (after cpuTimes) since(before cpuTimes) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// withChildren returns pid and the PIDs of its direct children (nginx's
// workers).
func withChildren(pid int) ([]int, error) {
	out := []int{pid}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if ppid, err := statPPID(string(data)); err == nil && ppid == pid {
			out = append(out, child)
		}
	}
	return out, nil
}
