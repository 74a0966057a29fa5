package main

import (
	"io"
	"reflect"
	"testing"
	"time"
)

func TestParseOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 10*time.Second || o.connections != 32 || o.threads != 2 || o.reps != 3 || o.burst != 200 || o.sessions != 100000 {
		t.Errorf("defaults = %+v", o)
	}
	if !reflect.DeepEqual(o.latencies, []time.Duration{0, 20 * time.Millisecond}) {
		t.Errorf("latencies = %v", o.latencies)
	}
}

func TestParseOptionsQuickEnvAndFlags(t *testing.T) {
	env := map[string]string{"BENCH_CONNECTIONS": "16", "BENCH_QUICK": "1"}
	o, err := parseOptions([]string{"-reps", "2", "-latency", "0,5"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.quick || o.duration != 2*time.Second || o.sessions != 20000 {
		t.Errorf("quick defaults not applied: %+v", o)
	}
	if o.reps != 2 {
		t.Errorf("reps = %d, want the flag's 2 over -quick's 1", o.reps)
	}
	if o.connections != 16 {
		t.Errorf("connections = %d, want BENCH_CONNECTIONS", o.connections)
	}
	if !reflect.DeepEqual(o.latencies, []time.Duration{0, 5 * time.Millisecond}) {
		t.Errorf("latencies = %v (a bare number is milliseconds)", o.latencies)
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"},
		{"-threads", "4", "-connections", "2"},
		{"-rows", "plugin-hit,nope"},
		{"-skip", "everything"},
		{"-latency", "-5ms"},
		{"stray"},
	} {
		if _, err := parseOptions(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
