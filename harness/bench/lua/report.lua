-- Loaded into every wrk run of bench: prints wrk's summary as one JSON line
-- (latencies in microseconds; errors: socket errors, timeouts and answers
-- with a status >= 400) for the Go program to read.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"errors\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
