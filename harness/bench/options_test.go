package main

import (
	"io"
	"reflect"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := options{duration: 10 * time.Second, warmup: time.Second, connections: 32, threads: 2, reps: 3, burst: 200, sessions: 100000,
		latencies: []time.Duration{0, 20 * time.Millisecond}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults = %+v, want %+v", o, want)
	}
	o, err = parseOptions([]string{"-quick", "-reps", "2", "-latency", "0,5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.quick || o.duration != 2*time.Second || o.sessions != 20000 || o.reps != 2 {
		t.Errorf("-quick with -reps 2 = %+v, want quick defaults, and the flag's reps", o)
	}
	if !reflect.DeepEqual(o.latencies, []time.Duration{0, 5 * time.Millisecond}) {
		t.Errorf("latencies = %v (a bare number is milliseconds)", o.latencies)
	}
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-warmup", "-1s"}, {"-reps", "0"}, {"-threads", "4", "-connections", "2"},
		{"-latency", "-5ms"}, {"-latency", ","}, {"stray"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
