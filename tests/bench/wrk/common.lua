-- Shared by the api_bench.py wrk scripts: per-thread ids and a JSON summary
-- line that api_bench.py parses ("BENCH {...}").
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

counter = 0

-- Every request carries a SigV4-shaped Authorization header, as SDK calls
-- do: moto_server picks the service (appmesh) from its credential scope;
-- trellis accepts and ignores it.
auth = "AWS4-HMAC-SHA256 Credential=bench/20260101/us-west-2/appmesh/aws4_request, " ..
       "SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)

function bench_headers(json)
  local h = {["Authorization"] = auth, ["X-Amz-Date"] = "20260101T000000Z"}
  if json then
    h["Content-Type"] = "application/json"
  end
  return h
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, ' ..
    '"errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
