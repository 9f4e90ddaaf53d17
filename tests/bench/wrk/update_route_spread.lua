-- UpdateRoute like update_route.lua, but over 8 meshes (bench-u0 ... bench-u7,
-- one router with 25 routes each): writes to different meshes share the
-- store's syncs, writes to one mesh are serialized (docs/performance.md).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "common"

function request()
  counter = counter + 1
  local m = (counter + thread_id) % 8
  local i = (counter * 11 + thread_id * 17) % 25
  local w = counter % 100 + 1
  local body = string.format(
    '{"spec":{"httpRoute":{"action":{"weightedTargets":[' ..
    '{"virtualNode":"vn-a","weight":%d},{"virtualNode":"vn-b","weight":%d}]},' ..
    '"match":{"prefix":"/r%d"}}}}', w, 100 - w, i)
  return wrk.format("PUT", string.format("/v20190125/meshes/bench-u%d/virtualRouter/vr/routes/rt-%02d",
                                         m, i), bench_headers(true), body)
end
