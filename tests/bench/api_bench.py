#!/usr/bin/python3
"""App Mesh API throughput: trellis (store.file, fsync on) beside moto
(`moto_server`, in memory) on the same workload, driven by wrk.

    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel
    /usr/bin/python3 tests/bench/api_bench.py --build-dir build-rel

Workload, built on both servers through boto3: mesh "bench" with 200
virtual nodes (vn-000 ... vn-199, http 8080, DNS discovery), 4 virtual
routers with 50 routes each (rt-000 ... rt-199, two weighted targets),
8 empty meshes bench-c0 ... bench-c7 for the creates, and 8 meshes
bench-u0 ... bench-u7 with one router of 25 routes each. Then, per server, wrk
with 64 keep-alive connections (tests/bench/wrk/*.lua):

    DescribeVirtualNode   GET  .../meshes/bench/virtualNodes/vn-NNN
    ListVirtualNodes      GET  .../meshes/bench/virtualNodes       (100 items)
    UpdateRoute           PUT  .../virtualRouter/vr-K/routes/rt-NNN (a new weight split)
    CreateVirtualNode     PUT  .../meshes/bench-cK/virtualNodes     (fresh names)
    UpdateRoute (8 meshes) the same updates over meshes bench-u0 ... bench-u7

trellis answers a write only after store.file's fsync; moto keeps
everything in memory. Prints a table (req/s, p50/p99 latency, errors) per
server and the trellis/moto ratio, with the machine. Not run by ctest.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent.parent
WRK_DIR = HERE / "wrk"
MOTO = "/root/.pyenv/shims/moto_server"
REGION = "us-west-2"

OPERATIONS = [
    ("DescribeVirtualNode", "describe_virtual_node.lua"),
    ("ListVirtualNodes", "list_virtual_nodes.lua"),
    ("UpdateRoute", "update_route.lua"),
    ("CreateVirtualNode", "create_virtual_node.lua"),
    ("UpdateRoute (8 meshes)", "update_route_spread.lua"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, timeout=30.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited ({process.returncode}) before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on port {port} within {timeout}s")


def client(endpoint):
    import boto3
    import botocore.config
    return boto3.session.Session().client(
        "appmesh", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def build_workload(endpoint):
    c = client(endpoint)
    started = time.monotonic()
    c.create_mesh(meshName="bench")
    for i in range(200):
        c.create_virtual_node(meshName="bench", virtualNodeName=f"vn-{i:03d}", spec={
            "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}],
            "serviceDiscovery": {"dns": {"hostname": f"vn-{i:03d}.bench.local"}}})
    for r in range(4):
        c.create_virtual_router(meshName="bench", virtualRouterName=f"vr-{r}", spec={
            "listeners": [{"portMapping": {"port": 8080, "protocol": "http"}}]})
        for j in range(50):
            i = r * 50 + j
            c.create_route(meshName="bench", virtualRouterName=f"vr-{r}", routeName=f"rt-{i:03d}",
                           spec={"httpRoute": {
                               "action": {"weightedTargets": [
                                   {"virtualNode": f"vn-{i % 200:03d}", "weight": 50},
                                   {"virtualNode": f"vn-{(i + 1) % 200:03d}", "weight": 50}]},
                               "match": {"prefix": f"/r{i}"}}})
    for k in range(8):
        c.create_mesh(meshName=f"bench-c{k}")
    # For UpdateRoute spread over meshes: bench-u0..7, one router, 25 routes.
    for k in range(8):
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
    # Sanity: the shapes the wrk scripts rely on.
    assert len(c.list_virtual_nodes(meshName="bench", limit=100)["virtualNodes"]) == 100
    c.describe_route(meshName="bench", virtualRouterName="vr-3", routeName="rt-199")
    return time.monotonic() - started


def run_wrk(endpoint, script, duration, connections, threads, run_id):
    env = dict(os.environ, BENCH_RUN=run_id)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
           "--timeout", "10s", "-s", str(WRK_DIR / script), endpoint]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if not match:
        raise SystemExit(f"no BENCH line in wrk output:\n{out}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in result if k.startswith("errors_"))
    return result


def warm_up(endpoint, threads):
    # A short pass so both servers have their code and data warm.
    run_wrk(endpoint, "describe_virtual_node.lua", 1, 16, threads, "warm")


class Trellis:
    def __init__(self, build_dir, data_root, port):
        self.build_dir = Path(build_dir).resolve()
        self.binary = self.build_dir / "bin" / "trellis"
        if not self.binary.exists():
            raise SystemExit(f"{self.binary} does not exist: build trellis first")
        self.workdir = Path(tempfile.mkdtemp(prefix="trellis-bench-", dir=data_root))
        self.port = port
        self.admin_port = free_port()
        config = {
            "plugin_path": [str(self.build_dir / "lib" / "trellis" / "plugins")],
            "region": REGION, "account_id": "111122223333", "log_level": "warn",
            "quota_virtual_nodes_per_mesh": 100000, "quota_meshes": 100,
            "plugins": [
                {"plugin": "store.file", "name": "store",
                 "config": {"dir": str(self.workdir / "data")}},
                {"plugin": "api.appmesh", "name": "appmesh",
                 "config": {"listen": f"127.0.0.1:{port}"}},
                {"plugin": "api.admin", "name": "admin",
                 "config": {"listen": f"127.0.0.1:{self.admin_port}"}},
            ],
        }
        self.config_path = self.workdir / "trellis.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log = open(self.workdir / "trellis.log", "wb")
        self.process = subprocess.Popen([str(self.binary), "serve", "-c", str(self.config_path)],
                                        cwd=self.workdir, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        wait_port(port, "trellis", process=self.process)
        # Ready = the catalog is loaded (GET /readyz on the admin port).
        import urllib.request
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/readyz",
                                            timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("trellis did not become ready")
            time.sleep(0.05)

    def metrics(self):
        return metric_totals(self.admin_port)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Moto:
    def __init__(self, port):
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(port, "moto_server", process=self.process)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def metric_totals(admin_port):
    """Totals by metric name (every label set summed) from an admin endpoint's /metrics."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    totals = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = re.split(r"[{ ]", line, 1)[0]
        try:
            totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        except ValueError:
            pass
    return totals


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GB"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "date": datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def fmt_ms(us):
    return f"{us / 1000:.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(SOURCE_DIR / "build-rel"),
                        help="an optimised build (bin/trellis, lib/trellis/plugins)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--data-root", default=None,
                        help="where store.file's data directory goes (a real disk; default "
                             "the system temporary directory)")
    parser.add_argument("--only", choices=["trellis", "moto"], default=None)
    parser.add_argument("--ops", default=",".join(op for op, _ in OPERATIONS),
                        help="comma-separated operations to run")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/install-deps.sh test)")
    wanted = [(op, script) for op, script in OPERATIONS if op in args.ops.split(",")]

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
          f"Linux {info['kernel']}; {info['date']}")
    print(f"wrk: {args.threads} threads, {args.connections} keep-alive connections, "
          f"{args.duration} s per operation")
    results = {}
    servers = [("trellis", lambda port: Trellis(args.build_dir, args.data_root, port)),
               ("moto", Moto)]
    for name, start in servers:
        if args.only and name != args.only:
            continue
        port = free_port()
        server = start(port)
        endpoint = f"http://127.0.0.1:{port}"
        try:
            setup = build_workload(endpoint)
            print(f"{name}: workload built in {setup:.1f} s through boto3")
            warm_up(endpoint, args.threads)
            results[name] = {}
            for run, (op, script) in enumerate(wanted):
                before = server.metrics() if hasattr(server, "metrics") else None
                r = run_wrk(endpoint, script, args.duration, args.connections, args.threads,
                            f"{run}")
                extra = ""
                if before is not None:
                    # Durability evidence: store commits and journal syncs
                    # (each batch is one write + fdatasync) during the run.
                    after = server.metrics()
                    r["store_commits"] = int(after.get("trellis_store_file_commits_total", 0) -
                                             before.get("trellis_store_file_commits_total", 0))
                    r["store_syncs"] = int(after.get("trellis_store_file_batches_total", 0) -
                                           before.get("trellis_store_file_batches_total", 0))
                    sync_sum = (after.get("trellis_store_file_sync_seconds_sum", 0) -
                                before.get("trellis_store_file_sync_seconds_sum", 0))
                    sync_count = (after.get("trellis_store_file_sync_seconds_count", 0) -
                                  before.get("trellis_store_file_sync_seconds_count", 0))
                    r["store_sync_mean_us"] = (sync_sum / sync_count * 1e6) if sync_count else 0
                    if r["store_commits"]:
                        extra = (f"  store: {r['store_commits']} commits in "
                                 f"{r['store_syncs']} fdatasyncs, "
                                 f"{r['store_sync_mean_us']:.0f} µs each")
                results[name][op] = r
                print(f"  {op:24s} {r['rps']:>10.0f} req/s  p50 {fmt_ms(r['p50_us']):>10s}  "
                      f"p99 {fmt_ms(r['p99_us']):>10s}  errors {r['errors']}{extra}")
        finally:
            server.stop()

    print()
    print("| Operation | trellis req/s | trellis p50 / p99 | trellis errors | moto req/s | "
          "moto p50 / p99 | moto errors | trellis / moto |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for op, _ in wanted:
        t = results.get("trellis", {}).get(op)
        m = results.get("moto", {}).get(op)

        def cells(r):
            if r is None:
                return ["—", "—", "—"]
            return [f"{r['rps']:,.0f}", f"{fmt_ms(r['p50_us'])} / {fmt_ms(r['p99_us'])}",
                    f"{r['errors']}"]
        ratio = f"{t['rps'] / m['rps']:.0f}×" if t and m and m["rps"] > 0 else "—"
        print(f"| {op} | " + " | ".join(cells(t)) + " | " + " | ".join(cells(m)) +
              f" | {ratio} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
