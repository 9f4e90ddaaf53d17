#!/usr/bin/python3
"""store.postgres: durable App Mesh API throughput through one and two
trellis replicas sharing one PostgreSQL database, and the time a write made
through replica A takes to reach replica B (its catalog, and a proxy
connected to B's api.xds).

    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel
    /usr/bin/python3 tests/bench/postgres_bench.py --build-dir build-rel

PostgreSQL is a throwaway server (tests/integration/pg_cluster.py) with
fsync and synchronous_commit on, in --data-root (default the system
temporary directory: point it at the disk you care about). The workload is
api_bench.py's (mesh "bench" with 200 virtual nodes, meshes bench-u0 ...
with one router of 25 routes), with --meshes meshes for the updates.

Throughput, wrk with 64 keep-alive connections per replica
(tests/bench/wrk):
    DescribeVirtualNode   GET .../meshes/bench/virtualNodes/vn-NNN
    UpdateRoute           PUT .../meshes/bench-uK/virtualRouter/vr/routes/rt-NN
  through one replica, then through two at once: partitioned (each replica
  writes its own half of the meshes) and shared (both write every mesh: the
  replicas' writes to one mesh conflict in the database and are retried).
  Every acknowledged UpdateRoute is durable: committed with a WAL flush
  before the answer; the store's commit and batch counters are shown.

Propagation, one write at a time (and again under an UpdateRoute load on A):
  UpdateRoute through A until B's DescribeRoute shows the new version, and
  until a proxy connected to B (xds_probe, which ACKs every response) has
  received the new RouteConfiguration and B has seen its ACK. p50/p99.

Prints the machine, a table per measurement, and writes --json. Not run by
ctest (the figures depend on the machine).
"""
import argparse
import http.client
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "integration"))

import api_bench  # noqa: E402  (the shared workload, wrk runner and helpers)
import pg_cluster  # noqa: E402

REGION = api_bench.REGION
ACCOUNT = "111122223333"
WRK_DIR = api_bench.WRK_DIR
V = "/v20190125"


class Replica:
    """trellis serve: store.postgres, api.appmesh, api.admin, api.xds."""

    def __init__(self, build_dir, name, conninfo, schema, workdir):
        self.build_dir = Path(build_dir).resolve()
        self.binary = self.build_dir / "bin" / "trellis"
        if not self.binary.exists():
            raise SystemExit(f"{self.binary} does not exist: build trellis first")
        self.name = name
        self.workdir = Path(workdir) / name
        self.workdir.mkdir(parents=True)
        self.port = api_bench.free_port()
        self.admin_port = api_bench.free_port()
        self.xds_port = api_bench.free_port()
        config = {
            "plugin_path": [str(self.build_dir / "lib" / "trellis" / "plugins")],
            "region": REGION, "account_id": ACCOUNT, "log_level": "warn",
            "quota_virtual_nodes_per_mesh": 100000, "quota_meshes": 1000,
            "plugins": [
                {"plugin": "store.postgres", "name": "store",
                 "config": {"conninfo": conninfo, "schema": schema}},
                {"plugin": "api.appmesh", "name": "appmesh",
                 "config": {"listen": f"127.0.0.1:{self.port}"}},
                {"plugin": "api.admin", "name": "admin",
                 "config": {"listen": f"127.0.0.1:{self.admin_port}"}},
                {"plugin": "api.xds", "name": "xds",
                 "config": {"listen": f"127.0.0.1:{self.xds_port}"}},
            ],
        }
        self.config_path = self.workdir / "trellis.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log = open(self.workdir / "trellis.log", "wb")
        self.process = subprocess.Popen([str(self.binary), "serve", "-c", str(self.config_path)],
                                        cwd=self.workdir, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        api_bench.wait_port(self.port, f"trellis {name}", process=self.process)
        deadline = time.monotonic() + 30
        while self.http_status("GET", "/readyz", admin=True) != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"trellis {name} did not become ready")
            time.sleep(0.05)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def http_status(self, method, path, admin=False):
        port = self.admin_port if admin else self.port
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", method=method), timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def admin_json(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as r:
            return json.loads(r.read())

    def metrics(self):
        return api_bench.metric_totals(self.admin_port)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


# ---- workload ----

def build_update_meshes(endpoint, first, count):
    """bench-u<first> ... in api_bench's shape (two nodes, router vr, 25 routes)."""
    c = api_bench.client(endpoint)
    for k in range(first, first + count):
        mesh = f"bench-u{k}"
        c.create_mesh(meshName=mesh)
        for node in ("vn-a", "vn-b"):
            c.create_virtual_node(meshName=mesh, virtualNodeName=node, spec={
                "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
                "serviceDiscovery": {"dns": {"hostname": f"{node}.{mesh}.local"}}})
        c.create_virtual_router(meshName=mesh, virtualRouterName="vr", spec={
            "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]})
        for i in range(25):
            c.create_route(meshName=mesh, virtualRouterName="vr", routeName=f"rt-{i:02d}",
                           spec={"httpRoute": {
                               "action": {"weightedTargets": [
                                   {"virtualNode": "vn-a", "weight": 50},
                                   {"virtualNode": "vn-b", "weight": 50}]},
                               "match": {"prefix": f"/r{i}"}}})


def build_propagation_mesh(endpoint):
    """web -> api.local (router r, route rt -> api / api2): what a proxy sees."""
    c = api_bench.client(endpoint)
    c.create_mesh(meshName="prop")
    for node in ("api", "api2"):
        c.create_virtual_node(meshName="prop", virtualNodeName=node, spec={
            "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
            "serviceDiscovery": {"dns": {"hostname": f"{node}.local"}}})
    c.create_virtual_node(meshName="prop", virtualNodeName="web", spec={
        "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
        "serviceDiscovery": {"dns": {"hostname": "web.local"}},
        "backends": [{"virtualService": {"virtualServiceName": "api.local"}}]})
    c.create_virtual_router(meshName="prop", virtualRouterName="r", spec={
        "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]})
    c.create_route(meshName="prop", virtualRouterName="r", routeName="rt", spec=route_spec(50))
    c.create_virtual_service(meshName="prop", virtualServiceName="api.local", spec={
        "provider": {"virtualRouter": {"virtualRouterName": "r"}}})


def route_spec(weight):
    return {"httpRoute": {"action": {"weightedTargets": [
        {"virtualNode": "api", "weight": weight}, {"virtualNode": "api2", "weight": 100 - weight}]},
        "match": {"prefix": "/"}}}


# ---- throughput ----

def run_wrk_parallel(runs, duration, connections, threads):
    """runs: [(endpoint, script, env)] at the same time; their parsed results."""
    procs = []
    for endpoint, script, env in runs:
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "--timeout", "15s", "-s", str(WRK_DIR / script), endpoint]
        procs.append(subprocess.Popen(cmd, env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                      text=True))
    results = []
    for p in procs:
        out, _ = p.communicate()
        match = re.search(r"^BENCH (\{.*\})$", out, re.M)
        if p.returncode != 0 or not match:
            raise SystemExit(f"wrk failed:\n{out}")
        r = json.loads(match.group(1))
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["errors"] = sum(r[k] for k in r if k.startswith("errors_"))
        results.append(r)
    return results


def store_delta(before, after):
    def d(name):
        return sum(a.get(name, 0.0) for a in after) - sum(b.get(name, 0.0) for b in before)
    batches = d("trellis_store_postgres_batches_total")
    seconds = d("trellis_store_postgres_batch_seconds_sum")
    return {"commits": int(d("trellis_store_postgres_commits_total")),
            "conflicts": int(d("trellis_store_postgres_conflicts_total")),
            "batches": int(batches),
            "batch_ms_mean": seconds / batches * 1e3 if batches else 0.0}


def throughput(label, replicas, script, envs, args):
    before = [r.metrics() for r in replicas]
    runs = [(r.endpoint, script, env) for r, env in zip(replicas, envs)]
    results = run_wrk_parallel(runs, args.duration, args.connections, args.threads)
    after = [r.metrics() for r in replicas]
    store = store_delta(before, after)
    total = {"label": label, "rps": sum(r["rps"] for r in results),
             "p50_us": max(r["p50_us"] for r in results),
             "p99_us": max(r["p99_us"] for r in results),
             "errors": sum(r["errors"] for r in results),
             "errors_status": sum(r["errors_status"] for r in results),
             "per_replica_rps": [round(r["rps"]) for r in results], "store": store}
    extra = ""
    if store["commits"]:
        extra = (f"  store: {store['commits']} commits in {store['batches']} transactions "
                 f"({store['batch_ms_mean']:.2f} ms each), {store['conflicts']} conflicts")
    print(f"  {label:44s} {total['rps']:>8.0f} req/s  p50 {api_bench.fmt_ms(total['p50_us']):>9s}"
          f"  p99 {api_bench.fmt_ms(total['p99_us']):>9s}  non-2xx {total['errors_status']}"
          f"{extra}", flush=True)
    return total


# ---- propagation ----

class Probe:
    """xds_probe on B for mesh/prop/virtualNode/web; its events as they arrive."""

    def __init__(self, binary, replica):
        self.process = subprocess.Popen(
            [str(binary), "--server", f"127.0.0.1:{replica.xds_port}", "--node",
             "mesh/prop/virtualNode/web", "--max-ms", "3600000", "--quiet-ms", "3600000"],
            stdout=subprocess.PIPE)
        self.fd = self.process.stdout.fileno()
        self.pending = b""
        self.route_version = None
        self.next_route_version(10)  # the first RouteConfiguration

    def next_route_version(self, timeout):
        """Waits for a RouteConfiguration other than the last one seen;
        returns the time it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                event = json.loads(line)
                if (event.get("type") == "RouteConfiguration"
                        and event["version"] != self.route_version):
                    self.route_version = event["version"]
                    return time.monotonic()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise SystemExit("the proxy on B never received the route change")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise SystemExit("xds_probe ended")
            self.pending += chunk

    def close(self):
        self.process.kill()
        self.process.wait()


def acked_route_version(replica):
    for proxy in replica.admin_json("/debug/proxies").get("proxies", []):
        if proxy.get("identity") == "mesh/prop/virtualNode/web":
            return proxy["types"].get("RouteConfiguration", {}).get("version_acked")
    return None


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def propagation(a, b, probe, samples, label):
    """UpdateRoute through A; time until B's Describe has it, and until B's
    proxy received it and B saw the ACK."""
    conn_a = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    conn_b = http.client.HTTPConnection("127.0.0.1", b.port, timeout=30)
    path = f"{V}/meshes/prop/virtualRouter/r/routes/rt"
    conn_b.request("GET", path)
    current = json.loads(conn_b.getresponse().read())["metadata"]["version"]
    to_catalog, to_proxy, to_ack, answered = [], [], [], []
    for i in range(samples):
        weight = 1 + (i % 98)
        body = json.dumps({"spec": route_spec(weight)})
        started = time.monotonic()
        conn_a.request("PUT", path, body=body, headers={"Content-Type": "application/json"})
        response = conn_a.getresponse()
        data = json.loads(response.read())
        done_a = time.monotonic()
        if response.status != 200:
            raise SystemExit(f"UpdateRoute through A failed: {response.status} {data}")
        version = data["metadata"]["version"]
        assert version > current
        current = version
        answered.append(done_a - started)
        while True:
            conn_b.request("GET", path)
            seen = json.loads(conn_b.getresponse().read())["metadata"]["version"]
            if seen >= version:
                to_catalog.append(time.monotonic() - started)
                break
        arrived = probe.next_route_version(10)
        to_proxy.append(arrived - started)
        while acked_route_version(b) != probe.route_version:
            pass
        to_ack.append(time.monotonic() - started)
        time.sleep(0.01)
    conn_a.close()
    conn_b.close()

    def stats(values):
        return {"p50_ms": percentile(values, 50) * 1e3, "p99_ms": percentile(values, 99) * 1e3,
                "max_ms": max(values) * 1e3, "mean_ms": statistics.mean(values) * 1e3}
    out = {"label": label, "samples": samples, "a_answered": stats(answered),
           "b_catalog": stats(to_catalog), "b_proxy_received": stats(to_proxy),
           "b_proxy_acked": stats(to_ack)}
    for key, what in (("a_answered", "A answered (durable)"),
                      ("b_catalog", "B's DescribeRoute shows it"),
                      ("b_proxy_received", "B's proxy received it"),
                      ("b_proxy_acked", "B saw the proxy's ACK")):
        s = out[key]
        print(f"  {label:18s} {what:28s} p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms"
              f"  max {s['max_ms']:7.2f} ms", flush=True)
    return out


class BackgroundLoad:
    """wrk UpdateRoute on A while propagation is measured."""

    def __init__(self, replica, args):
        cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration * 3}s",
               "--timeout", "15s", "-s", str(WRK_DIR / "pg_update_route.lua"), replica.endpoint]
        self.process = subprocess.Popen(cmd, env=dict(os.environ, BENCH_MESH_FIRST="0",
                                                      BENCH_MESH_COUNT=str(args.meshes)),
                                        stdout=subprocess.DEVNULL)
        time.sleep(1)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(SOURCE_DIR / "build-rel"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="per replica")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads per replica")
    parser.add_argument("--meshes", type=int, default=16, help="meshes the updates spread over")
    parser.add_argument("--samples", type=int, default=200, help="propagation samples")
    parser.add_argument("--data-root", default=os.environ.get("TMPDIR"),
                        help="where PostgreSQL's data directory goes")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/install-deps.sh test)")
    probe_binary = Path(args.build_dir).resolve() / "bin" / "xds_probe"
    if not probe_binary.exists():
        raise SystemExit(f"{probe_binary} does not exist: build the tests too")

    info = api_bench.machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
          f"Linux {info['kernel']}; {info['date']}")
    pg = pg_cluster.PostgresCluster(base_dir=args.data_root)
    pg.start()
    pg.create_database()
    version = pg.psql("SHOW server_version").strip()
    settings = {k: pg.psql(f"SHOW {k}").strip()
                for k in ("fsync", "synchronous_commit", "wal_sync_method", "shared_buffers")}
    print(f"PostgreSQL {version} on the same machine: {settings}")
    print(f"wrk per replica: {args.threads} threads, {args.connections} keep-alive connections, "
          f"{args.duration} s per run; updates over {args.meshes} meshes", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="pg-bench-"))
    replicas = []
    results = {"machine": info, "postgres": {"version": version, **settings}}
    try:
        a = Replica(args.build_dir, "a", pg.conninfo(), "bench", workdir)
        replicas.append(a)
        started = time.monotonic()
        api_bench.build_workload(a.endpoint)
        build_update_meshes(a.endpoint, 8, max(0, args.meshes - 8))
        build_propagation_mesh(a.endpoint)
        print(f"workload built through A in {time.monotonic() - started:.1f} s", flush=True)
        api_bench.warm_up(a.endpoint, args.threads)

        half = args.meshes // 2
        tp = []
        print("one replica:")
        tp.append(throughput("DescribeVirtualNode, one replica", [a], "describe_virtual_node.lua",
                             [{}], args))
        tp.append(throughput("UpdateRoute, one replica", [a], "pg_update_route.lua",
                             [{"BENCH_MESH_FIRST": "0", "BENCH_MESH_COUNT": str(args.meshes)}],
                             args))
        b = Replica(args.build_dir, "b", pg.conninfo(), "bench", workdir)
        replicas.append(b)
        api_bench.warm_up(b.endpoint, args.threads)
        print("two replicas:")
        tp.append(throughput("DescribeVirtualNode, two replicas", [a, b],
                             "describe_virtual_node.lua", [{}, {}], args))
        tp.append(throughput("UpdateRoute, two replicas, partitioned", [a, b],
                             "pg_update_route.lua",
                             [{"BENCH_MESH_FIRST": "0", "BENCH_MESH_COUNT": str(half)},
                              {"BENCH_MESH_FIRST": str(half),
                               "BENCH_MESH_COUNT": str(args.meshes - half)}], args))
        tp.append(throughput("UpdateRoute, two replicas, shared meshes", [a, b],
                             "pg_update_route.lua",
                             [{"BENCH_MESH_FIRST": "0", "BENCH_MESH_COUNT": str(args.meshes)}] * 2,
                             args))
        results["throughput"] = tp

        print("propagation A -> B:")
        probe = Probe(probe_binary, b)
        try:
            prop = [propagation(a, b, probe, args.samples, "idle")]
            load = BackgroundLoad(a, args)
            try:
                prop.append(propagation(a, b, probe, args.samples, "A under load"))
            finally:
                load.stop()
        finally:
            probe.close()
        results["propagation"] = prop
    finally:
        for r in replicas:
            r.stop()
        pg.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
