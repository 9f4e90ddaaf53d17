-- CreateVirtualNode with fresh names, spread over BENCH_CREATE_MESHES meshes
-- (bench-c0, bench-c1, ...). Durable on trellis: answered after fsync.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "common"

local meshes = tonumber(os.getenv("BENCH_CREATE_MESHES") or "8")
local run = os.getenv("BENCH_RUN") or "0"

function request()
  counter = counter + 1
  local body = string.format(
    '{"virtualNodeName":"r%s-t%d-%d","spec":{"listeners":[{"portMapping":' ..
    '{"port":8080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"n%d.local"}}}}',
    run, thread_id, counter, counter)
  return wrk.format("PUT", string.format("/v20190125/meshes/bench-c%d/virtualNodes",
                                         (counter + thread_id) % meshes), bench_headers(true), body)
end
