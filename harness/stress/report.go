package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// row is one figure of the summary table: without a limit, informational.
type row struct{ part, figure, value, limit, result string }

// report collects the figures of a run.
type report struct{ rows []row }

// info records a figure that has no limit.
func (r *report) info(part, figure, value string) { r.check(part, figure, value, "", true) }

// check records a figure with its limit and whether it holds.
func (r *report) check(part, figure, value, limit string, pass bool) {
	x := row{part, figure, value, limit, map[bool]string{true: "PASS", false: "FAIL"}[pass]}
	if limit == "" {
		x.result = ""
	}
	r.rows = append(r.rows, x)
	fmt.Printf("  [%-4s] %-10s %-58s %s\n", x.result, part, figure, value)
}

// failed returns the rows whose limit does not hold.
func (r *report) failed() []row {
	var out []row
	for _, x := range r.rows {
		if x.result == "FAIL" {
			out = append(out, x)
		}
	}
	return out
}

// markdown renders the table.
func (r *report) markdown() string {
	esc := strings.NewReplacer("|", `\|`, "\n", " ").Replace // keeps a cell inside its column
	var b strings.Builder
	b.WriteString("| part | figure | value | limit | result |\n| --- | --- | --- | --- | --- |\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.part, esc(x.figure), esc(x.value), esc(x.limit),
			strings.ReplaceAll(x.result, "FAIL", "**FAIL**"))
	}
	return b.String()
}

// tally counts failures and keeps the first one's description.
type tally struct {
	n     int64
	first string
}

func (t *tally) add(what string) {
	if t.n++; t.first == "" {
		t.first = what
	}
}

// String renders the count and the first failure.
func (t tally) String() string {
	if t.n == 0 {
		return "0"
	}
	return count(t.n) + " (" + t.first + ")"
}

// mib renders a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// mibs renders byte counts in MiB, "a → b → ...".
func mibs(ns ...int64) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = mib(n)
	}
	return strings.Join(out, " → ")
}

// count renders an integer with thousands separators.
func count(n int64) string {
	if n < 0 {
		return "-" + count(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// statusCounts renders status counts sorted by status, e.g. "200: 1,234; 502: 56".
func statusCounts(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := fmt.Sprint(k)
		if k == statusTransportError {
			name = "conn error"
		}
		parts = append(parts, name+": "+count(m[k]))
	}
	return strings.Join(parts, "; ")
}
