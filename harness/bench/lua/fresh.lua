-- A new session cookie on every request, so that each one misses the cache:
-- "session=fresh-<run>-<thread>-<n>". The run id comes after "--" on wrk's
-- command line, so that no two runs share a cookie.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = "session=fresh-" .. (args[1] or "0") .. "-" .. tid .. "-"
  n = 0
  headers = {}
end

function request()
  n = n + 1
  headers["Cookie"] = prefix .. n
  return wrk.format(nil, nil, headers)
end
