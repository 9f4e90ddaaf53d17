#!/usr/bin/python3
"""The discovery benchmark: 1,000 Cloud Map services x 20 instances watched.

    cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel
    /usr/bin/python3 tests/bench/discovery_bench.py --build-dir build-rel \
        [--poll-ms 5000] [--idle-s 60] [--registrations 50]

Starts the fake Cloud Map registry (tests/support/cloudmap_fake_registry.py:
1,000 services svc-0 ... svc-999 in bench.local, 20 instances each; answers
cached until they change, signatures not re-checked: the tests do that, and
botocore's signer would make the registry, not trellis, the bottleneck),
trellis serve (store.file, api.appmesh,
api.xds, api.admin, discovery.cloudmap polling that registry, log_level
warn), builds through boto3 a mesh "bench" with 1,000 Cloud Map virtual
nodes svc-K (each the provider of svc-K.bench.local) and 100 client nodes
client-0 ... client-99 whose backends are ten services each (all 1,000
covered), and runs tests/bench/discovery_load.c with 500 ADS streams (five
per client identity, Envoy-like, everything ACKed).

Reports:
  * poll cost per cycle in the steady state (nothing changes): trellis's
    CPU time (utime + stime from /proc/<pid>/stat), requests by operation and
    bytes sent/received (the plugin's metrics), over --idle-s seconds, per
    poll interval; the 1,000 DiscoverInstances of a full refresh every
    refresh_interval (30 s) are in the window and averaged in;
  * registration -> ACK: --registrations times, one instance registered in
    one service (POST to the fake registry); the time until every stream
    whose clusters include that service received the new EDS version and
    wrote its ACK (p50/p99/max over all such (registration, stream) pairs).
Not run by ctest.
"""
import argparse
import concurrent.futures
import json
import os
import platform
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import botocore.config

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(address, path):
    import http.client
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def metrics(admin):
    _, body = http_get(admin, "/metrics")
    out = {}
    for line in body.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


def metric(sample, name, label=""):
    return sum(v for k, v in sample.items() if k.split("{")[0] == name and label in k)


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def build_mesh(api, services, clients, per_client):
    config = botocore.config.Config(retries={"total_max_attempts": 3}, max_pool_connections=16)
    am = boto3.client("appmesh", endpoint_url=f"http://{api}", region_name="us-west-2",
                      aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench", config=config)
    am.create_mesh(meshName="bench")
    listener = [{"portMapping": {"port": 8080, "protocol": "http"}}]

    def provider(k):
        am.create_virtual_node(meshName="bench", virtualNodeName=f"svc-{k}", spec={
            "listeners": listener,
            "serviceDiscovery": {"awsCloudMap": {"namespaceName": "bench.local", "serviceName": f"svc-{k}"}}})
        am.create_virtual_service(meshName="bench", virtualServiceName=f"svc-{k}.bench.local",
                                  spec={"provider": {"virtualNode": {"virtualNodeName": f"svc-{k}"}}})

    def client(i):
        am.create_virtual_node(meshName="bench", virtualNodeName=f"client-{i}", spec={
            "listeners": listener,
            "serviceDiscovery": {"dns": {"hostname": f"client-{i}.bench.local"}},
            "backends": [{"virtualService": {"virtualServiceName": f"svc-{(i * per_client + j) % services}.bench.local"}}
                         for j in range(per_client)]})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(provider, range(services)))
        list(pool.map(client, range(clients)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default="build-rel")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--poll-ms", type=int, default=5000)
    parser.add_argument("--refresh-ms", type=int, default=30000)
    parser.add_argument("--idle-s", type=int, default=60)
    parser.add_argument("--registrations", type=int, default=50)
    args = parser.parse_args()
    build = Path(args.build_dir).resolve()
    per_client = max(1, args.services // args.clients)

    work = Path(tempfile.mkdtemp(prefix="discovery-bench-"))
    registry_port = free_port()
    registry = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "cloudmap_fake_registry.py"),
                                 "--port", str(registry_port), "--services", str(args.services),
                                 "--instances", str(args.instances)],
                                stdout=subprocess.PIPE, text=True)
    endpoint = json.loads(registry.stdout.readline())["endpoint"]
    api, admin, xds = (f"127.0.0.1:{free_port()}" for _ in range(3))
    config = {
        "region": "us-west-2", "account_id": "111122223333", "log_level": "warn",
        "quota_virtual_nodes_per_mesh": args.services + args.clients + 10,
        "quota_virtual_services_per_mesh": args.services + 10,
        "plugins": [
            {"plugin": "store.file", "name": "store", "config": {"dir": str(work / "data")}},
            {"plugin": "api.appmesh", "name": "appmesh", "config": {"listen": api}},
            {"plugin": "api.admin", "name": "admin", "config": {"listen": admin}},
            {"plugin": "api.xds", "name": "xds", "config": {"listen": xds}},
            {"plugin": "discovery.cloudmap", "name": "cloudmap", "config": {
                "region": "us-east-1", "endpoint": endpoint, "access_key_id": "AKIDBENCH",
                "secret_access_key": "bench-secret", "poll_interval_ms": args.poll_ms,
                "refresh_interval_ms": args.refresh_ms}},
        ],
    }
    (work / "trellis.json").write_text(json.dumps(config))
    server = subprocess.Popen([str(build / "bin" / "trellis"), "serve", "-c", str(work / "trellis.json")],
                              stdout=subprocess.DEVNULL, stderr=open(work / "trellis.log", "w"))
    load = None
    try:
        wait(lambda: http_get(admin, "/readyz")[0] == 200, 30, "trellis to be ready")
        t = time.monotonic()
        build_mesh(api, args.services, args.clients, per_client)
        mesh_s = time.monotonic() - t
        load = subprocess.Popen([str(build / "bin" / "discovery_load"), "--xds", xds,
                                 "--registry", f"127.0.0.1:{registry_port}", "--identities", str(args.clients),
                                 "--streams", str(args.streams), "--services", str(args.services),
                                 "--registrations", str(args.registrations), "--idle-s", str(args.idle_s)],
                                stdout=subprocess.PIPE, text=True)
        settled = json.loads(load.stdout.readline())
        # every service known before the window opens
        wait(lambda: metric(metrics(admin), "trellis_discovery_endpoints") >= args.services * args.instances,
             120, "every service's endpoints")
        m0, c0, w0 = metrics(admin), cpu_seconds(server.pid), time.monotonic()
        idle = json.loads(load.stdout.readline())
        assert idle["phase"] == "idle_done", idle
        m1, c1, w1 = metrics(admin), cpu_seconds(server.pid), time.monotonic()
        done = json.loads(load.stdout.readline())
        load.wait(timeout=600)
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", registry_port, timeout=10)
        conn.request("POST", "/control/stats", body=b"")
        registry_stats = json.loads(conn.getresponse().read())
        conn.close()
    finally:
        if load is not None and load.poll() is None:
            load.kill()
        server.terminate()
        server.wait(timeout=30)
        registry.kill()

    window = w1 - w0
    cycles = window * 1000 / args.poll_ms
    d = lambda name, label="": metric(m1, name, label) - metric(m0, name, label)  # noqa: E731
    revision = d("trellis_cloudmap_requests_total", 'operation="DiscoverInstancesRevision"')
    discover = d("trellis_cloudmap_requests_total", 'operation="DiscoverInstances"')
    sent = d("trellis_cloudmap_bytes_total", 'direction="sent"')
    received = d("trellis_cloudmap_bytes_total", 'direction="received"')
    result = {
        "machine": {"cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                    "kernel": platform.release()},
        "services": args.services, "instances_per_service": args.instances, "clients": args.clients,
        "streams": args.streams, "poll_ms": args.poll_ms, "refresh_ms": args.refresh_ms,
        "mesh_build_s": round(mesh_s, 1), "streams_settled": settled,
        "window_s": round(window, 1), "cycles": round(cycles, 2),
        "per_cycle": {"cpu_ms": round((c1 - c0) * 1000 / cycles, 1),
                      "revision_requests": round(revision / cycles, 1),
                      "discover_requests": round(discover / cycles, 1),
                      "bytes_sent": round(sent / cycles), "bytes_received": round(received / cycles)},
        "cpu_percent_of_one_core": round((c1 - c0) / window * 100, 2),
        "connections_opened_in_window": d("trellis_cloudmap_connections_total"),
        "registry_side": registry_stats,
        "registration_to_ack": done,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
