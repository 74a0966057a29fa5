package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// fmtRPS renders requests per second as a whole number with thousands
// separators: "12,345".
func fmtRPS(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// fmtUS renders microseconds as milliseconds with three significant digits
// or so: "0.412 ms", "3.21 ms", "21.4 ms", "120 ms".
func fmtUS(us float64) string {
	if math.IsNaN(us) {
		return "n/a"
	}
	ms := us / 1000
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// fmtLatency renders a resolver latency: "0 ms", "20 ms".
func fmtLatency(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
}

// fmtCalls renders resolver calls per request: "0", "<0.0001", "0.0002",
// "1.00".
func fmtCalls(x float64) string {
	switch {
	case math.IsNaN(x):
		return "n/a"
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

// fmtBytes renders a byte count: "512 B", "1010 B", "12.5 KiB", "23.4 MiB"
// (bytes up to 10 KiB, so that figures near 1 KiB stay exact).
func fmtBytes(b float64) string {
	abs := math.Abs(b)
	switch {
	case abs < 10*1024:
		return fmt.Sprintf("%.0f B", b)
	case abs < 1024*1024:
		return fmt.Sprintf("%.1f KiB", b/1024)
	}
	return fmt.Sprintf("%.1f MiB", b/(1024*1024))
}

// fmtNs renders nanoseconds per operation: "812 ns", "24.3 µs".
func fmtNs(ns float64) string {
	if math.IsNaN(ns) {
		return "n/a"
	}
	if ns < 1000 {
		return fmt.Sprintf("%.0f ns", ns)
	}
	return fmt.Sprintf("%.1f µs", ns/1000)
}
