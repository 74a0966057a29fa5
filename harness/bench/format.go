package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// fmtInt renders a count or a rate as a whole number with thousands
// separators: "12,345".
func fmtInt(x float64) string {
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fmtScaled renders x in the first of units (each 1000 times the one
// before) that keeps it under 1000, or the last, with three significant
// digits: "812 ns", "24.3 µs", "0.412 ms", "120 ms".
func fmtScaled(x float64, units ...string) string {
	for len(units) > 1 && math.Abs(x) >= 1000 {
		x, units = x/1000, units[1:]
	}
	decimals := 0
	switch a := math.Abs(x); {
	case a < 1:
		decimals = 3
	case a < 10:
		decimals = 2
	case a < 100:
		decimals = 1
	}
	return strconv.FormatFloat(x, 'f', decimals, 64) + " " + units[0]
}

// fmtMS renders microseconds as milliseconds: "0.412 ms", "21.4 ms".
func fmtMS(us float64) string { return fmtScaled(us/1000, "ms") }

// fmtNs renders nanoseconds per operation: "812 ns", "24.3 µs".
func fmtNs(ns float64) string { return fmtScaled(ns, "ns", "µs", "ms") }

// fmtCPU renders CPU microseconds per request: "120 µs"; n/a when unknown.
func fmtCPU(us float64) string {
	if us == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", us)
}

// fmtLatency renders a resolver latency: "0 ms", "20 ms".
func fmtLatency(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
}

// fmtCalls renders resolver calls per request: "0", "<0.0001", "0.0002",
// "1.00".
func fmtCalls(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x < 0.0001:
		return "<0.0001"
	case x < 0.01:
		return fmt.Sprintf("%.4f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// fmtRatio renders a throughput ratio: "0.87".
func fmtRatio(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

// fmtBytes renders a byte count: "1010 B", "12.5 KiB", "23.4 MiB" (bytes up
// to 10 KiB, so that figures near 1 KiB stay exact).
func fmtBytes(b float64) string {
	switch abs := math.Abs(b); {
	case abs < 10*1024:
		return fmt.Sprintf("%.0f B", b)
	case abs < 1024*1024:
		return fmt.Sprintf("%.1f KiB", b/1024)
	}
	return fmt.Sprintf("%.1f MiB", b/(1024*1024))
}

// fmtElapsed renders a run time: "42 s", "12 min 5 s".
func fmtElapsed(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}

// writeTable writes a Markdown table; with right, every column but the
// first is right-aligned.
func writeTable(b *strings.Builder, right bool, head []string, rows [][]string) {
	align := "---|"
	if right {
		align = "---:|"
	}
	fmt.Fprintf(b, "| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat(align, len(head)-1))
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(r, " | "))
	}
	b.WriteString("\n")
}
