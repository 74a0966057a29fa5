package authgear

import (
	"strings"
	"sync"
)

// A cached answer would otherwise keep its own copy of the header names and
// of values most answers share ("true", "pwd", "admin,editor"). With tens of
// thousands of sessions cached, those copies are most of an entry's memory,
// so answers share them through these bounded, process-wide tables. Only
// resolver answers feed them, never client input.
var (
	internMu      sync.Mutex              // protects the two maps
	sharedLayouts = map[string][]string{} // sorted header names, joined by "\n"
	sharedValues  = map[string][]string{} // single header values
)

// maxShared bounds each table; past it, answers keep their own copies.
const maxShared = 4096

// sharedLayout returns a shared slice equal to names (sorted).
func sharedLayout(names []string) []string {
	key := strings.Join(names, "\n")
	internMu.Lock()
	defer internMu.Unlock()
	if shared, ok := sharedLayouts[key]; ok {
		return shared
	}
	if len(sharedLayouts) < maxShared {
		sharedLayouts[key] = names
	}
	return names
}

// sharedValue returns a shared one-element slice holding value. Its len and
// cap are 1, so that appending to it never writes into the shared array.
func sharedValue(value string) []string {
	internMu.Lock()
	defer internMu.Unlock()
	if shared, ok := sharedValues[value]; ok {
		return shared
	}
	v := []string{value}
	if len(sharedValues) < maxShared {
		sharedValues[value] = v
	}
	return v
}
