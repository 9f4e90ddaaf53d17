-- ListVirtualNodes of the mesh (200 nodes): the first page, 100 items.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua"
require "common"

local mesh = os.getenv("BENCH_MESH") or "bench"

function request()
  counter = counter + 1
  return wrk.format("GET", string.format("/v20190125/meshes/%s/virtualNodes", mesh), bench_headers(false))
end
