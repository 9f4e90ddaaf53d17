-- UpdateRoute over a range of the meshes bench-u0 ... bench-u7 (api_bench.py's
-- workload: one router "vr" with 25 routes each), for postgres_bench.py:
-- BENCH_MESH_FIRST and BENCH_MESH_COUNT pick the range, so two replicas can
-- write disjoint meshes (partitioned) or the same ones (shared).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "common"

local first = tonumber(os.getenv("BENCH_MESH_FIRST") or "0")
local count = tonumber(os.getenv("BENCH_MESH_COUNT") or "8")

function request()
  counter = counter + 1
  local m = first + (counter + thread_id) % count
  local i = (counter * 11 + thread_id * 17) % 25
  local w = counter % 100 + 1
  local body = string.format(
    '{"spec":{"httpRoute":{"action":{"weightedTargets":[' ..
    '{"virtualNode":"vn-a","weight":%d},{"virtualNode":"vn-b","weight":%d}]},' ..
    '"match":{"prefix":"/r%d"}}}}', w, 100 - w, i)
  return wrk.format("PUT", string.format("/v20190125/meshes/bench-u%d/virtualRouter/vr/routes/rt-%02d",
                                         m, i), bench_headers(true), body)
end
