"""discovery.dns in a real `trellis serve`, with a real DNS server on loopback
the test controls (tests/support/dns_responder.py) and meshes built through
the App Mesh API (boto3):

  * without discovery.dns, DNS nodes stay Envoy's LOGICAL_DNS / STRICT_DNS
    clusters for sidecars, as App Mesh made them; a proxyless client of an
    ENDPOINTS node gets an EDS cluster nothing feeds, and /readyz says so;
  * with discovery.dns, a sidecar's DNS clusters become EDS clusters with
    the addresses trellis resolved (the listener's port), following record
    changes; NXDOMAIN empties them, a dead server keeps them;
  * with "sidecars": false only proxyless clients get trellis's resolution;
  * adding the instance by SIGHUP turns a connected proxy's DNS clusters
    into EDS without a reconnect;
  * a real proxyless gRPC client (@grpc/grpc-js-xds, XDS_CLIENT_DIR) calls a
    server whose address only trellis's resolution knows.
"""
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "integration"))
sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "support"))
import appmesh_testlib as am  # noqa: E402
import trellis_testlib as lib  # noqa: E402
from dns_responder import DnsResponder  # noqa: E402
from trellis_testlib import trellis  # noqa: E402,F401  (the fixture)

XDS_CLIENT_DIR = os.environ.get("XDS_CLIENT_DIR")
PROBE = lib.BUILD_DIR / "bin" / "xds_probe"
GRPC_ECHO = lib.SOURCE_DIR / "plugins" / "api-xds" / "tests" / "grpc_echo.js"


@pytest.fixture
def dns():
    responder = DnsResponder()
    yield responder
    responder.close()


class Server:
    def __init__(self, factory, workdir, dns=None, **dns_config):
        self.workdir = Path(workdir)
        self.api = lib.loopback_address()
        self.admin = lib.loopback_address()
        self.xds = lib.loopback_address()
        self.dns = dns
        self.path = self.write(dns_config if dns is not None else None)
        self.process = factory.serve(self.path, self.admin)
        lib.wait_until(lambda: lib.http_request(self.admin, "GET", "/readyz")[0] == 200, 20, "readyz 200")
        self.client = am.appmesh_client(f"http://{self.api}")

    def write(self, dns_config):
        plugins = [
            lib.store_instance(self.workdir / "data"),
            lib.instance("api.appmesh", "appmesh", listen=self.api),
            lib.admin_instance(self.admin),
            lib.instance("api.xds", "xds", listen=self.xds),
        ]
        if dns_config is not None:
            config = {"nameservers": [self.dns.address], "resolv_conf": "", "min_ttl_ms": 100,
                      "max_ttl_ms": 1000, "timeout_ms": 200, "attempts": 1, **dns_config}
            plugins.append(lib.instance("discovery.dns", "dns", **config))
        return lib.write_config(self.workdir, plugins, region=am.REGION, account_id=am.ACCOUNT,
                                log_level="info")

    def cluster(self, node, name, flavor="sidecar"):
        return self._find(node, flavor, "dynamic_active_clusters", "cluster", "name", name)

    def assignment(self, node, name, flavor="sidecar"):
        return self._find(node, flavor, "dynamic_endpoint_configs", "endpoint_config", "cluster_name", name)

    def _find(self, node, flavor, section, item, key, name):
        status, dump = lib.http_get_json(self.admin, f"/debug/config_dump?node=mesh/{node}&flavor={flavor}")
        assert status == 200, dump
        for s in dump["configs"]:
            for entry in s.get(section, []):
                if entry[item][key] == name:
                    return entry[item]
        return None

    def addresses(self, node, name, flavor="sidecar"):
        cla = self.assignment(node, name, flavor)
        if cla is None:
            return None
        return sorted((lb["endpoint"]["address"]["socket_address"]["address"],
                       lb["endpoint"]["address"]["socket_address"]["port_value"])
                      for group in cla["endpoints"] for lb in group["lb_endpoints"])

    def wait_addresses(self, node, name, expected, flavor="sidecar", timeout=10):
        lib.wait_until(lambda: self.addresses(node, name, flavor) == expected, timeout,
                       f"{name} of {node} ({flavor}) to hold {expected} "
                       f"(has {self.addresses(node, name, flavor)})")

    def detail(self, plugin, instance):
        _, body = lib.http_get_json(self.admin, "/readyz")
        for i in body["instances"]:
            if i["plugin"] == plugin and i["instance"] == instance:
                return i["detail"]
        return None


def build_mesh(client, mesh="d", response_type="ENDPOINTS", port=8080, protocol="http"):
    """client -> web.d.local (node "web", DNS web.test)."""
    client.create_mesh(meshName=mesh)
    listener = [{"portMapping": {"port": port, "protocol": protocol}}]
    client.create_virtual_node(meshName=mesh, virtualNodeName="web", spec={
        "listeners": listener,
        "serviceDiscovery": {"dns": {"hostname": "web.test", "responseType": response_type}}})
    client.create_virtual_service(meshName=mesh, virtualServiceName="web.d.local",
                                  spec={"provider": {"virtualNode": {"virtualNodeName": "web"}}})
    client.create_virtual_node(meshName=mesh, virtualNodeName="client", spec={
        "listeners": [{"portMapping": {"port": lib.free_port(), "protocol": protocol}}],
        "serviceDiscovery": {"dns": {"hostname": "client.test"}},
        "backends": [{"virtualService": {"virtualServiceName": "web.d.local"}}]})


CLUSTER = "cds_egress_d_web_http_8080"


def test_without_discovery_dns_envoy_resolves(trellis, tmp_path):
    server = Server(trellis, tmp_path)
    build_mesh(server.client)
    assert server.cluster("d/virtualNode/client", CLUSTER)["type"] == "STRICT_DNS"
    # Proxyless clients of an ENDPOINTS node get EDS; nothing resolves it here.
    assert server.cluster("d/virtualNode/client", CLUSTER, "proxyless")["type"] == "EDS"
    assert server.addresses("d/virtualNode/client", CLUSTER, "proxyless") == []
    detail = server.detail("core", "discovery")
    assert "without a discovery plugin: DNS web.test" in detail, detail
    assert server.process.entries(event="discovery_unserved")
    server.process.stop()


def test_trellis_resolves_and_serves_eds(trellis, tmp_path, dns):
    dns.set("web.test", ["10.0.0.1", "10.0.0.2"], [], ttl=0)
    server = Server(trellis, tmp_path, dns)
    build_mesh(server.client)
    cluster = server.cluster("d/virtualNode/client", CLUSTER)
    assert cluster["type"] == "EDS", cluster
    assert "load_assignment" not in cluster
    server.wait_addresses("d/virtualNode/client", CLUSTER, [("10.0.0.1", 8080), ("10.0.0.2", 8080)])
    server.wait_addresses("d/virtualNode/client", CLUSTER, [("10.0.0.1", 8080), ("10.0.0.2", 8080)],
                          "proxyless")
    dns.set("web.test", ["10.0.0.3"], [], ttl=0)
    server.wait_addresses("d/virtualNode/client", CLUSTER, [("10.0.0.3", 8080)])
    # The server dies: the addresses stay, /readyz says why.
    dns.set_mode("drop")
    lib.wait_until(lambda: "web.test" in (server.detail("discovery.dns", "dns") or ""), 10,
                   "the failing name in /readyz")
    assert server.addresses("d/virtualNode/client", CLUSTER) == [("10.0.0.3", 8080)]
    dns.set_mode("normal")
    # NXDOMAIN is an answer: no endpoints.
    dns.remove("web.test")
    server.wait_addresses("d/virtualNode/client", CLUSTER, [])
    server.process.stop()


def test_proxyless_only(trellis, tmp_path, dns):
    dns.set("web.test", ["10.1.0.1"], [], ttl=0)
    server = Server(trellis, tmp_path, dns, sidecars=False)
    build_mesh(server.client, response_type="LOADBALANCER")
    assert server.cluster("d/virtualNode/client", CLUSTER)["type"] == "LOGICAL_DNS"
    assert server.cluster("d/virtualNode/client", CLUSTER, "proxyless")["type"] == "EDS"
    server.wait_addresses("d/virtualNode/client", CLUSTER, [("10.1.0.1", 8080)], "proxyless")
    server.process.stop()


class ProbeEvents:
    """xds_probe's JSON events as they arrive (read without blocking)."""

    def __init__(self, server, node):
        self.process = subprocess.Popen([str(PROBE), "--server", server.xds, "--node", node,
                                         "--quiet-ms", "60000", "--max-ms", "60000"],
                                        stdout=subprocess.PIPE, env=lib.process_env())
        self.pending = b""
        self.events = []

    def of_type(self, type_name):
        fd = self.process.stdout.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.pending += chunk
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            self.events.append(json.loads(line))
        return [e for e in self.events if e.get("type") == type_name]

    def close(self):
        self.process.kill()
        self.process.wait()


def test_adding_the_instance_by_reload_moves_connected_proxies(trellis, tmp_path, dns):
    dns.set("web.test", ["10.2.0.1"], [], ttl=0)
    server = Server(trellis, tmp_path)
    server.dns = dns
    build_mesh(server.client)
    probe = ProbeEvents(server, "mesh/d/virtualNode/client")
    try:
        lib.wait_until(lambda: probe.of_type("Cluster"), 10, "the proxy's clusters")
        assert not probe.of_type("ClusterLoadAssignment")  # STRICT_DNS: no EDS yet
        server.write({})  # the same file, with discovery.dns added
        server.process.signal(signal.SIGHUP)
        lib.wait_until(lambda: any(CLUSTER in e.get("resources", [])
                                   for e in probe.of_type("ClusterLoadAssignment")), 10,
                       "the proxy to be sent an EDS assignment for its DNS cluster")
        server.wait_addresses("d/virtualNode/client", CLUSTER, [("10.2.0.1", 8080)])
    finally:
        probe.close()
    server.process.stop()


def test_proxyless_grpc_client_through_resolved_endpoints(trellis, tmp_path, dns):
    if not (XDS_CLIENT_DIR and (Path(XDS_CLIENT_DIR) / "node_modules" / "@grpc" / "grpc-js-xds").is_dir()):
        pytest.fail("XDS_CLIENT_DIR does not name a folder with node_modules/@grpc/grpc-js-xds")
    port = lib.free_port()
    dns.set("web.test", ["127.0.0.1"], [], ttl=0)
    server = Server(trellis, tmp_path, dns)
    build_mesh(server.client, port=port, protocol="grpc")
    cluster = f"cds_egress_d_web_grpc_{port}"
    server.wait_addresses("d/virtualNode/client", cluster, [("127.0.0.1", port)], "proxyless")
    spec = {
        "bootstrap": {
            "xds_servers": [{"server_uri": server.xds, "channel_creds": [{"type": "insecure"}],
                             "server_features": ["xds_v3"]}],
            "node": {"id": "mesh/d/virtualNode/client", "locality": {}},
        },
        "target": f"xds:///web.d.local:{port}",
        "backends": [{"name": "web", "port": port}],
        "calls": 10,
    }
    done = subprocess.run(["node", str(GRPC_ECHO), json.dumps(spec)], capture_output=True, text=True,
                          timeout=lib.scaled(120), env=dict(os.environ, XDS_CLIENT_DIR=XDS_CLIENT_DIR))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["error_count"] == 0 and result["counts"] == {"web": 10}, result
    server.process.stop()
