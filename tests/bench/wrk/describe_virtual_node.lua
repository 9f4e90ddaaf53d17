-- DescribeVirtualNode over the mesh's 200 virtual nodes, round robin.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "common"

local mesh = os.getenv("BENCH_MESH") or "bench"
local nodes = tonumber(os.getenv("BENCH_NODES") or "200")

function request()
  counter = counter + 1
  local i = (counter * 7 + thread_id * 13) % nodes
  return wrk.format("GET", string.format("/v20190125/meshes/%s/virtualNodes/vn-%03d", mesh, i), bench_headers(false))
end
