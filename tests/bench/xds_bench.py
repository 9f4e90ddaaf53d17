#!/usr/bin/python3
"""The xDS benchmark: trellis serve (store.file, api.appmesh, api.xds) with a
mesh built through boto3, and xds_load holding N ADS streams over 100
virtual-node identities from several loopback source addresses.

    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel
    /usr/bin/python3 tests/bench/xds_bench.py --build-dir build-rel [--streams 10000]

The mesh "bench": a node "backend" (http 8080, DNS), a virtual router "vr"
with one route "rt" to it, the virtual service "svc.bench" provided by the
router, and 100 virtual nodes vn-0 ... vn-99 (http 8080, DNS) whose backend is
svc.bench. Every stream's egress RouteConfiguration depends on "rt", so one
UpdateRoute changes it for all of them.

Reports (JSON, and a table): memory per idle stream (server RSS with every
stream subscribed, ACKed and idle, minus RSS before the first connection,
divided by N) and the time from the UpdateRoute request until each stream
received the new RouteConfiguration and wrote its ACK (p50/p99/max).
The server runs with log_level "warn": one info line per connecting proxy
is not what is measured. Not run by ctest.
"""
import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import botocore.config


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(admin, timeout=30):
    import http.client
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(admin.split(":")[0], int(admin.split(":")[1]), timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("trellis did not become ready")


def build_mesh(client, identities):
    listener = [{"portMapping": {"port": 8080, "protocol": "http"}}]
    client.create_mesh(meshName="bench")
    client.create_virtual_node(meshName="bench", virtualNodeName="backend", spec={
        "listeners": listener, "serviceDiscovery": {"dns": {"hostname": "backend.bench"}}})
    client.create_virtual_router(meshName="bench", virtualRouterName="vr", spec={"listeners": listener})
    client.create_route(meshName="bench", virtualRouterName="vr", routeName="rt", spec={
        "httpRoute": {"match": {"prefix": "/"},
                      "action": {"weightedTargets": [{"virtualNode": "backend", "weight": 1}]}}})
    client.create_virtual_service(meshName="bench", virtualServiceName="svc.bench", spec={
        "provider": {"virtualRouter": {"virtualRouterName": "vr"}}})
    for i in range(identities):
        client.create_virtual_node(meshName="bench", virtualNodeName=f"vn-{i}", spec={
            "listeners": listener, "serviceDiscovery": {"dns": {"hostname": f"vn-{i}.bench"}},
            "backends": [{"virtualService": {"virtualServiceName": "svc.bench"}}]})


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return f"{os.cpu_count()} vCPU {cpu}, {int(mem) // 1024 // 1024} GiB RAM, {platform.platform()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build-rel")
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--identities", type=int, default=100)
    ap.add_argument("--sources", type=int, default=4)
    args = ap.parse_args()
    build = Path(args.build_dir).resolve()
    work = Path(tempfile.mkdtemp(prefix="xds-bench-"))
    api, admin, xds = (f"127.0.0.1:{free_port()}" for _ in range(3))
    per_identity = (args.streams + args.identities - 1) // args.identities + 10
    config = {
        "region": "us-west-2", "account_id": "111122223333", "log_level": "warn",
        "plugin_path": [str(build / "lib" / "trellis" / "plugins")],
        "plugins": [
            {"plugin": "store.file", "name": "store", "config": {"dir": str(work / "data")}},
            {"plugin": "api.appmesh", "name": "appmesh", "config": {"listen": api}},
            {"plugin": "api.admin", "name": "admin", "config": {"listen": admin}},
            {"plugin": "api.xds", "name": "xds", "config": {
                "listen": xds, "max_connections": args.streams + 100,
                "max_connections_per_identity": per_identity}},
        ],
    }
    (work / "trellis.json").write_text(json.dumps(config, indent=2))
    log = open(work / "trellis.log", "w")
    server = subprocess.Popen([str(build / "bin" / "trellis"), "serve", "--config",
                               str(work / "trellis.json")], stdout=log, stderr=subprocess.STDOUT,
                              cwd=work)
    try:
        wait_ready(admin)
        client = boto3.session.Session().client(
            "appmesh", endpoint_url=f"http://{api}", region_name="us-west-2",
            aws_access_key_id="x", aws_secret_access_key="y",
            config=botocore.config.Config(retries={"total_max_attempts": 1}))
        build_mesh(client, args.identities)
        time.sleep(0.5)
        run = subprocess.run([str(build / "bin" / "xds_load"), "--xds", xds, "--api", api,
                              "--pid", str(server.pid), "--streams", str(args.streams),
                              "--identities", str(args.identities), "--sources", str(args.sources)],
                             capture_output=True, text=True)
        sys.stderr.write(run.stderr)
        if not run.stdout.strip():
            raise SystemExit(f"xds_load failed ({run.returncode})")
        result = json.loads(run.stdout)
        result["machine"] = machine()
        print(json.dumps(result, indent=2))
        print(f"\n| streams | identities | connect+subscribe | bytes per idle stream | "
              f"UpdateRoute -> all ACKed p50 | p99 | max |")
        print(f"| {result['streams']} | {result['identities']} | {result['connect_s']:.1f} s | "
              f"{result['bytes_per_idle_stream']:.0f} | {result['p50_ms']:.0f} ms | "
              f"{result['p99_ms']:.0f} ms | {result['max_ms']:.0f} ms |")
        return 0 if run.returncode == 0 else 1
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
