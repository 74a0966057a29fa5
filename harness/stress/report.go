package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// row is one figure of the summary table.
type row struct {
	part   string
	figure string
	value  string
	limit  string // empty: informational, no limit
	pass   bool
}

// report collects the figures of a run; safe for concurrent use.
type report struct {
	mu   sync.Mutex
	rows []row
}

// info records a figure that has no limit.
func (r *report) info(part, figure, value string) {
	r.add(row{part: part, figure: figure, value: value, pass: true})
}

// check records a figure with its limit and whether it holds.
func (r *report) check(part, figure, value, limit string, pass bool) {
	r.add(row{part: part, figure: figure, value: value, limit: limit, pass: pass})
}

func (r *report) add(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, x)
	verdict := "    "
	if x.limit != "" {
		verdict = "PASS"
		if !x.pass {
			verdict = "FAIL"
		}
	}
	fmt.Printf("  [%s] %-10s %-58s %s\n", verdict, x.part, x.figure, x.value)
}

// failed returns the rows whose limit does not hold.
func (r *report) failed() []row {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []row
	for _, x := range r.rows {
		if x.limit != "" && !x.pass {
			out = append(out, x)
		}
	}
	return out
}

// markdown renders the table.
func (r *report) markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("| part | figure | value | limit | result |\n| --- | --- | --- | --- | --- |\n")
	for _, x := range r.rows {
		result := ""
		if x.limit != "" {
			result = "PASS"
			if !x.pass {
				result = "**FAIL**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.part, esc(x.figure), esc(x.value), esc(x.limit), result)
	}
	return b.String()
}

// esc keeps a cell inside its column.
func esc(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// mib renders a byte count in MiB.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// count renders an integer with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
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
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := fmt.Sprint(k)
		if k == statusTransportError {
			name = "conn error"
		}
		parts = append(parts, name+": "+count(m[k]))
	}
	return strings.Join(parts, "; ")
}
