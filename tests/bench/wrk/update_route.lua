-- UpdateRoute over the mesh's 200 routes (4 routers x 50), each update a new
-- 2-target weight split. Durable on trellis: answered after fsync.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "common"

local mesh = os.getenv("BENCH_MESH") or "bench"
local routes = tonumber(os.getenv("BENCH_ROUTES") or "200")
local per_router = 50

function request()
  counter = counter + 1
  local i = (counter * 11 + thread_id * 17) % routes
  local w = counter % 100 + 1
  local body = string.format(
    '{"spec":{"httpRoute":{"action":{"weightedTargets":[' ..
    '{"virtualNode":"vn-%03d","weight":%d},{"virtualNode":"vn-%03d","weight":%d}]},' ..
    '"match":{"prefix":"/r%d"}}}}',
    i % 200, w, (i + 1) % 200, 100 - w, i)
  return wrk.format("PUT", string.format("/v20190125/meshes/%s/virtualRouter/vr-%d/routes/rt-%03d",
                                         mesh, math.floor(i / per_router), i), bench_headers(true), body)
end
