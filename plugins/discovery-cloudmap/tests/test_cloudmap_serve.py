"""discovery.cloudmap in a real `trellis serve`: meshes built through the App
Mesh API (boto3), instances registered with boto3's servicediscovery client.

Against moto's server (a real Cloud Map-compatible registry):
  * a Cloud Map node's instances become a ClusterLoadAssignment in
    /debug/config_dump (ports from AWS_INSTANCE_PORT or the listener, zones
    from AVAILABILITY_ZONE), and connected proxies ACK the new endpoints;
  * register and deregister; attribute filters; health changes (custom health
    status: Cloud Map does not move the revision for them, the refresh
    interval finds them); HEALTHY_OR_ELSE_ALL failing open;
  * the registry down: the last set stays, /readyz shows why, the failure
    metrics count; back up: it converges;
  * the IP preference of the mesh and of the node;
  * a real proxyless gRPC client (@grpc/grpc-js-xds) reaching echo servers
    registered in moto (XDS_CLIENT_DIR with node_modules/@grpc/grpc-js-xds).
Against a fake registry (tests/support/cloudmap_fake_registry.py):
  * every request's SigV4 signature checks out with botocore; TLS with a
    private CA; keep-alive (far fewer connections than requests);
  * polling economy: DiscoverInstancesRevision each interval, DiscoverInstances
    only when the revision moved (or every refresh_interval); nodes of one
    service share one poll;
  * errors: ServiceNotFound and throttling show in /readyz; wrong credentials
    are refused by the registry and said so.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "integration"))
sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "support"))
import appmesh_testlib as am  # noqa: E402
import trellis_testlib as lib  # noqa: E402
from cloudmap_fake_registry import FakeRegistry  # noqa: E402
from trellis_testlib import trellis  # noqa: E402,F401  (the fixture)

MOTO = lib.MOTO_SERVER
XDS_CLIENT_DIR = os.environ.get("XDS_CLIENT_DIR")
PROBE = lib.BUILD_DIR / "bin" / "xds_probe"
GRPC_ECHO = lib.SOURCE_DIR / "plugins" / "api-xds" / "tests" / "grpc_echo.js"
ACCESS_KEY, SECRET_KEY = "AKIDTRELLISCLOUDMAP", "cloudmap-test-secret"
FAST_POLL = {"poll_interval_ms": 150, "refresh_interval_ms": 800, "backoff_max_ms": 600,
             "jitter": 0, "request_timeout_ms": 600, "connect_timeout_ms": 600}


# ---------------------------------------------------------------------------
# moto
# ---------------------------------------------------------------------------


class Moto:
    def __init__(self):
        self.port = lib.free_port()
        self.process = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lib.wait_until(lambda: lib.port_accepts(f"127.0.0.1:{self.port}"), 30, "moto_server to listen")
        self.client = boto3.client(
            "servicediscovery", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}))
        self.namespaces = {}

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def namespace(self, name):
        if name not in self.namespaces:
            self.client.create_http_namespace(Name=name)
            self.namespaces[name] = [n["Id"] for n in self.client.list_namespaces()["Namespaces"]
                                     if n["Name"] == name][0]
        return self.namespaces[name]

    def service(self, namespace, name):
        return self.client.create_service(
            Name=name, NamespaceId=self.namespace(namespace),
            HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]["Id"]

    def register(self, service_id, instance_id, **attributes):
        self.client.register_instance(ServiceId=service_id, InstanceId=instance_id, Attributes=attributes)

    def stop(self):
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait()


@pytest.fixture
def moto():
    if not os.access(MOTO, os.X_OK):
        pytest.fail(f"moto_server not found at {MOTO} (set MOTO_SERVER)")
    m = Moto()
    yield m
    m.stop()


# ---------------------------------------------------------------------------
# trellis
# ---------------------------------------------------------------------------


class Server:
    """trellis serve with store.file, api.appmesh, api.admin, api.xds and
    discovery.cloudmap."""

    def __init__(self, factory, workdir, **cloudmap):
        self.api = lib.loopback_address()
        self.admin = lib.loopback_address()
        self.xds = lib.loopback_address()
        config = {"region": "us-east-1", "access_key_id": ACCESS_KEY,
                  "secret_access_key": SECRET_KEY, **FAST_POLL, **cloudmap}
        plugins = [
            lib.store_instance(Path(workdir) / "data"),
            lib.instance("api.appmesh", "appmesh", listen=self.api),
            lib.admin_instance(self.admin),
            lib.instance("api.xds", "xds", listen=self.xds),
            lib.instance("discovery.cloudmap", "cloudmap", **config),
        ]
        path = lib.write_config(workdir, plugins, region=am.REGION, account_id=am.ACCOUNT,
                                log_level="info")
        self.process = factory.serve(path, self.admin)
        lib.wait_until(lambda: lib.http_request(self.admin, "GET", "/readyz")[0] == 200, 20, "readyz 200")
        self.client = am.appmesh_client(f"http://{self.api}")

    def assignment(self, node, cluster, flavor="sidecar"):
        status, dump = lib.http_get_json(
            self.admin, f"/debug/config_dump?node=mesh/{node}&flavor={flavor}")
        assert status == 200, dump
        for section in dump["configs"]:
            for item in section.get("dynamic_endpoint_configs", []):
                if item["endpoint_config"]["cluster_name"] == cluster:
                    return item["endpoint_config"]
        return None

    def endpoints(self, node, cluster, flavor="sidecar"):
        """{(address, port, zone)} of a cluster's assignment, or None."""
        cla = self.assignment(node, cluster, flavor)
        if cla is None:
            return None
        out = set()
        for group in cla["endpoints"]:
            zone = group["locality"].get("zone")
            for lb in group["lb_endpoints"]:
                sa = lb["endpoint"]["address"]["socket_address"]
                out.add((sa["address"], sa["port_value"], zone))
        return out

    def wait_endpoints(self, node, cluster, expected, timeout=15, flavor="sidecar"):
        last = []

        def check():
            last[:] = [self.endpoints(node, cluster, flavor)]
            return last[0] == expected
        try:
            lib.wait_until(check, timeout, f"{cluster} of {node} to be {expected}")
        except AssertionError as e:
            raise AssertionError(f"{e}; last {last}\n{self.process.log()[-4000:]}") from None

    def readyz(self):
        _, body = lib.http_get_json(self.admin, "/readyz")
        return body

    def detail(self, plugin, instance):
        for i in self.readyz()["instances"]:
            if i["plugin"] == plugin and i["instance"] == instance:
                return i["detail"]
        return None

    def metric(self, name, label=""):
        _, _, body = lib.http_request(self.admin, "GET", "/metrics")
        total = None
        for line in body.decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                if label in line:
                    total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
        return total


def node(listener_port=8080, protocol="http", backends=(), cloud_map=None, dns=None,
         ip_preference=None):
    spec = {"listeners": [{"portMapping": {"port": listener_port, "protocol": protocol}}]}
    if cloud_map is not None:
        spec["serviceDiscovery"] = {"awsCloudMap": dict(cloud_map)}
        if ip_preference:
            spec["serviceDiscovery"]["awsCloudMap"]["ipPreference"] = ip_preference
    else:
        spec["serviceDiscovery"] = {"dns": {"hostname": dns or "client.local"}}
    if backends:
        spec["backends"] = [{"virtualService": {"virtualServiceName": b}} for b in backends]
    return spec


def cloud_map(namespace, service, **attributes):
    out = {"namespaceName": namespace, "serviceName": service}
    if attributes:
        out["attributes"] = [{"key": k, "value": v} for k, v in attributes.items()]
    return out


def build_mesh(client, mesh, providers, spec=None):
    """A client node "client" whose backends are one virtual service per
    provider node ({name: node spec}), named <name>.<mesh>.local."""
    client.create_mesh(meshName=mesh, **({"spec": spec} if spec else {}))
    for name, node_spec in providers.items():
        client.create_virtual_node(meshName=mesh, virtualNodeName=name, spec=node_spec)
        client.create_virtual_service(meshName=mesh, virtualServiceName=f"{name}.{mesh}.local",
                                      spec={"provider": {"virtualNode": {"virtualNodeName": name}}})
    client.create_virtual_node(meshName=mesh, virtualNodeName="client", spec=node(
        backends=[f"{name}.{mesh}.local" for name in providers]))


# ---------------------------------------------------------------------------
# moto: the endpoints, their changes, failures
# ---------------------------------------------------------------------------


def test_instances_become_endpoints_and_follow_changes(trellis, tmp_path, moto):
    server = Server(trellis, tmp_path, endpoint=moto.endpoint)
    web = moto.service("apps.local", "web")
    moto.register(web, "i1", AWS_INSTANCE_IPV4="10.0.0.1", AWS_INSTANCE_PORT="9000", color="blue",
                  AVAILABILITY_ZONE="us-east-1a")
    moto.register(web, "i2", AWS_INSTANCE_IPV4="10.0.0.2", color="red")
    build_mesh(server.client, "cm", {
        "web": node(cloud_map=cloud_map("apps.local", "web")),
        "web-blue": node(cloud_map=cloud_map("apps.local", "web", color="blue")),
    })
    web_cluster, blue_cluster = "cds_egress_cm_web_http_8080", "cds_egress_cm_web-blue_http_8080"
    server.wait_endpoints("cm/virtualNode/client", web_cluster,
                          {("10.0.0.1", 9000, "us-east-1a"), ("10.0.0.2", 8080, None)})
    server.wait_endpoints("cm/virtualNode/client", blue_cluster, {("10.0.0.1", 9000, "us-east-1a")})

    # A connected proxy receives them and ACKs.
    probe = subprocess.Popen([str(PROBE), "--server", server.xds, "--node", "mesh/cm/virtualNode/client",
                              "--quiet-ms", "60000", "--max-ms", "60000"],
                             stdout=subprocess.DEVNULL, env=lib.process_env())
    try:
        def in_sync():
            _, view = lib.http_get_json(server.admin, "/debug/proxies")
            proxies = view.get("proxies", [])
            return proxies and view["summary"]["out_of_sync"] == 0 and \
                "ClusterLoadAssignment" in proxies[0]["types"]
        lib.wait_until(in_sync, 15, "the proxy to ACK its endpoints")
        _, view = lib.http_get_json(server.admin, "/debug/proxies")
        eds_before = view["proxies"][0]["types"]["ClusterLoadAssignment"]["version_acked"]

        # Register: a third endpoint; the proxy ACKs a new EDS version.
        moto.register(web, "i3", AWS_INSTANCE_IPV4="10.0.0.3", AWS_INSTANCE_PORT="9000")
        server.wait_endpoints("cm/virtualNode/client", web_cluster,
                              {("10.0.0.1", 9000, "us-east-1a"), ("10.0.0.2", 8080, None),
                               ("10.0.0.3", 9000, None)})

        def acked_new():
            _, v = lib.http_get_json(server.admin, "/debug/proxies")
            eds = v["proxies"][0]["types"]["ClusterLoadAssignment"]
            return eds["version_acked"] != eds_before and eds["version_acked"] == eds["version_current"]
        lib.wait_until(acked_new, 15, "the proxy to ACK the new endpoints")
    finally:
        probe.kill()
        probe.wait()

    # Deregister.
    moto.client.deregister_instance(ServiceId=web, InstanceId="i2")
    server.wait_endpoints("cm/virtualNode/client", web_cluster,
                          {("10.0.0.1", 9000, "us-east-1a"), ("10.0.0.3", 9000, None)})

    # Health: i1 unhealthy leaves the set (the revision does not move: the
    # refresh interval finds it); the blue filter has only i1: it fails open.
    moto.client.update_instance_custom_health_status(ServiceId=web, InstanceId="i1", Status="UNHEALTHY")
    server.wait_endpoints("cm/virtualNode/client", web_cluster, {("10.0.0.3", 9000, None)})
    server.wait_endpoints("cm/virtualNode/client", blue_cluster, {("10.0.0.1", 9000, "us-east-1a")})
    moto.client.update_instance_custom_health_status(ServiceId=web, InstanceId="i1", Status="HEALTHY")
    server.wait_endpoints("cm/virtualNode/client", web_cluster,
                          {("10.0.0.1", 9000, "us-east-1a"), ("10.0.0.3", 9000, None)})

    # One service, two filters: one poll (one service polled).
    lib.wait_until(lambda: server.metric("trellis_cloudmap_services") == 1, 5, "one service polled")
    assert server.metric("trellis_discovery_targets") == 2
    server.process.stop()


def test_registry_down_keeps_the_last_set(trellis, tmp_path, moto):
    server = Server(trellis, tmp_path, endpoint=moto.endpoint)
    web = moto.service("apps.local", "web")
    moto.register(web, "i1", AWS_INSTANCE_IPV4="10.1.0.1")
    build_mesh(server.client, "down", {"web": node(cloud_map=cloud_map("apps.local", "web"))})
    cluster = "cds_egress_down_web_http_8080"
    server.wait_endpoints("down/virtualNode/client", cluster, {("10.1.0.1", 8080, None)})

    moto.process.send_signal(signal.SIGSTOP)  # the registry stops answering
    try:
        lib.wait_until(lambda: "failing" in (server.detail("discovery.cloudmap", "cloudmap") or ""),
                       10, "/readyz to show the failing registry")
        detail = server.detail("discovery.cloudmap", "cloudmap")
        assert "apps.local/web" in detail and "no complete answer within" in detail, detail
        core = server.detail("core", "discovery")
        assert "Cloud Map apps.local/web" in core and "serving their last endpoints" in core, core
        assert server.readyz()["ready"] is True  # degraded, not down: proxies keep their endpoints
        lib.wait_until(lambda: (server.metric("trellis_cloudmap_services_failing") or 0) >= 1, 5,
                       "the failing gauge")
        assert server.metric("trellis_cloudmap_request_errors_total") >= 1
        assert server.metric("trellis_discovery_updates_total", 'result="failed"') >= 1
        assert server.endpoints("down/virtualNode/client", cluster) == {("10.1.0.1", 8080, None)}
        assert server.process.entries(event="discovery_failing"), "no discovery_failing log line"
    finally:
        moto.process.send_signal(signal.SIGCONT)
    moto.register(web, "i2", AWS_INSTANCE_IPV4="10.1.0.2")
    server.wait_endpoints("down/virtualNode/client", cluster,
                          {("10.1.0.1", 8080, None), ("10.1.0.2", 8080, None)}, timeout=20)
    lib.wait_until(lambda: server.detail("discovery.cloudmap", "cloudmap") == "", 10,
                   "/readyz detail to clear")
    assert server.process.entries(event="cloudmap_recovered")
    server.process.stop()


def test_ip_preference(trellis, tmp_path, moto):
    server = Server(trellis, tmp_path, endpoint=moto.endpoint)
    v6 = moto.service("apps.local", "v6")
    moto.register(v6, "a", AWS_INSTANCE_IPV6="fd00::a")
    dual = moto.service("apps.local", "dual")
    moto.register(dual, "b", AWS_INSTANCE_IPV4="10.2.0.2", AWS_INSTANCE_IPV6="fd00::b")
    build_mesh(server.client, "ip", {
        "v6": node(cloud_map=cloud_map("apps.local", "v6")),
        "dual": node(cloud_map=cloud_map("apps.local", "dual")),
        "dual6": node(cloud_map=cloud_map("apps.local", "dual"), ip_preference="IPv6_PREFERRED"),
    }, spec={"serviceDiscovery": {"ipPreference": "IPv4_ONLY"}})
    # The mesh's IPv4_ONLY: IPv6-only instances give an empty set.
    server.wait_endpoints("ip/virtualNode/client", "cds_egress_ip_dual_http_8080", {("10.2.0.2", 8080, None)})
    assert server.endpoints("ip/virtualNode/client", "cds_egress_ip_v6_http_8080") == set()
    # The node's own preference wins over the mesh's.
    server.wait_endpoints("ip/virtualNode/client", "cds_egress_ip_dual6_http_8080", {("fd00::b", 8080, None)})
    server.process.stop()


# ---------------------------------------------------------------------------
# a real proxyless gRPC client
# ---------------------------------------------------------------------------


def grpc_js_xds_available():
    return XDS_CLIENT_DIR and (Path(XDS_CLIENT_DIR) / "node_modules" / "@grpc" / "grpc-js-xds").is_dir()


def echo_calls(server, target_port, backends, calls):
    spec = {
        "bootstrap": {
            "xds_servers": [{"server_uri": server.xds, "channel_creds": [{"type": "insecure"}],
                             "server_features": ["xds_v3"]}],
            "node": {"id": "mesh/grpc/virtualNode/client", "locality": {}},
        },
        "target": f"xds:///echo.grpc.local:{target_port}",
        "backends": [{"name": name, "port": port} for name, port in backends.items()],
        "calls": calls,
    }
    done = subprocess.run(["node", str(GRPC_ECHO), json.dumps(spec)], capture_output=True, text=True,
                          timeout=lib.scaled(120), env=dict(os.environ, XDS_CLIENT_DIR=XDS_CLIENT_DIR))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["error_count"] == 0, result
    return result["counts"]


def test_proxyless_grpc_client_reaches_cloudmap_instances(trellis, tmp_path, moto):
    if not grpc_js_xds_available():
        pytest.fail("XDS_CLIENT_DIR does not name a folder with node_modules/@grpc/grpc-js-xds")
    server = Server(trellis, tmp_path, endpoint=moto.endpoint)
    ports = {"a": lib.free_port(), "b": lib.free_port()}
    echo = moto.service("grpc.local", "echo")
    for name, port in ports.items():
        moto.register(echo, name, AWS_INSTANCE_IPV4="127.0.0.1", AWS_INSTANCE_PORT=str(port))
    listener_port = lib.free_port()
    c = server.client
    c.create_mesh(meshName="grpc")
    c.create_virtual_node(meshName="grpc", virtualNodeName="echo", spec=node(
        listener_port=listener_port, protocol="grpc", cloud_map=cloud_map("grpc.local", "echo")))
    c.create_virtual_service(meshName="grpc", virtualServiceName="echo.grpc.local",
                             spec={"provider": {"virtualNode": {"virtualNodeName": "echo"}}})
    c.create_virtual_node(meshName="grpc", virtualNodeName="client", spec=node(
        listener_port=lib.free_port(), protocol="grpc", backends=["echo.grpc.local"]))
    cluster = f"cds_egress_grpc_echo_grpc_{listener_port}"
    server.wait_endpoints("grpc/virtualNode/client", cluster,
                          {("127.0.0.1", ports["a"], None), ("127.0.0.1", ports["b"], None)},
                          flavor="proxyless")
    counts = echo_calls(server, listener_port, ports, 60)
    assert counts.get("a", 0) > 0 and counts.get("b", 0) > 0, counts  # both instances serve
    moto.client.deregister_instance(ServiceId=echo, InstanceId="a")
    server.wait_endpoints("grpc/virtualNode/client", cluster, {("127.0.0.1", ports["b"], None)},
                          flavor="proxyless")
    assert echo_calls(server, listener_port, ports, 20) == {"b": 20}
    server.process.stop()


# ---------------------------------------------------------------------------
# the fake registry: signatures, TLS, keep-alive, polling economy, errors
# ---------------------------------------------------------------------------


def make_ca(directory):
    """A private CA and a certificate for 127.0.0.1 signed by it."""
    d = Path(directory)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=trellis test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return d / "ca.pem", d / "server.pem", d / "server.key"


def test_tls_signatures_keep_alive_and_polling_economy(trellis, tmp_path):
    ca, cert, key = make_ca(tmp_path)
    registry = FakeRegistry(credentials=(ACCESS_KEY, SECRET_KEY), tls=(str(cert), str(key)))
    try:
        registry.put_service("apps.local", "web", {"i1": {"AWS_INSTANCE_IPV4": "10.3.0.1"}})
        (tmp_path / "srv").mkdir()
        server = Server(trellis, tmp_path / "srv", endpoint=registry.endpoint, ca_file=str(ca),
                        poll_interval_ms=100, refresh_interval_ms=3600000, max_connections=2)
        build_mesh(server.client, "econ", {
            "a": node(cloud_map=cloud_map("apps.local", "web")),
            "b": node(cloud_map=cloud_map("apps.local", "web")),
            "c": node(cloud_map=cloud_map("apps.local", "web")),
        })
        for name in "abc":
            server.wait_endpoints("econ/virtualNode/client", f"cds_egress_econ_{name}_http_8080",
                                  {("10.3.0.1", 8080, None)})
        before = registry.requests_for("apps.local", "web")
        time.sleep(1.5)  # a measured window: ~15 poll intervals of 100 ms
        after = registry.requests_for("apps.local", "web")
        revisions = after.get("DiscoverInstancesRevision", 0) - before.get("DiscoverInstancesRevision", 0)
        discovers = after.get("DiscoverInstances", 0) - before.get("DiscoverInstances", 0)
        # three nodes, one service, one poll: about one revision check per
        # interval (not three), and no DiscoverInstances while nothing moved
        assert 5 <= revisions <= 20, after
        assert discovers == 0, after
        registry.register("apps.local", "web", "i2", {"AWS_INSTANCE_IPV4": "10.3.0.2"})
        server.wait_endpoints("econ/virtualNode/client", "cds_egress_econ_a_http_8080",
                              {("10.3.0.1", 8080, None), ("10.3.0.2", 8080, None)})
        assert registry.requests_for("apps.local", "web")["DiscoverInstances"] - \
            after.get("DiscoverInstances", 0) == 1
        stats = registry.stats()
        assert stats["bad_signatures"] == 0, stats  # botocore agrees with every signature
        requests = stats["DiscoverInstances"] + stats["DiscoverInstancesRevision"]
        assert stats["connections"] <= 2 and requests >= 10, stats  # keep-alive, over TLS
        server.process.stop()
    finally:
        registry.close()


def test_a_long_session_token_signs_and_stays_secret(trellis, tmp_path):
    # STS session tokens are often past 1 KiB; the setting allows 8 KiB
    token = "IQoJb3JpZ2luX2VjE" + "".join(f"{i:04x}" for i in range(1000))[:4000]
    registry = FakeRegistry(credentials=(ACCESS_KEY, SECRET_KEY))
    try:
        registry.put_service("apps.local", "web", {"i1": {"AWS_INSTANCE_IPV4": "10.6.0.1"}})
        server = Server(trellis, tmp_path, endpoint=registry.endpoint, session_token=token)
        build_mesh(server.client, "sts", {"web": node(cloud_map=cloud_map("apps.local", "web"))})
        server.wait_endpoints("sts/virtualNode/client", "cds_egress_sts_web_http_8080",
                              {("10.6.0.1", 8080, None)})
        stats = registry.stats()
        assert stats["bad_signatures"] == 0 and stats["DiscoverInstances"] >= 1, stats
        assert token not in server.process.log()
        assert token not in json.dumps(server.readyz())
        server.process.stop()
    finally:
        registry.close()


def test_registry_errors_show_in_readyz(trellis, tmp_path):
    registry = FakeRegistry(credentials=(ACCESS_KEY, SECRET_KEY))
    try:
        registry.put_service("apps.local", "web", {"i1": {"AWS_INSTANCE_IPV4": "10.4.0.1"}})
        server = Server(trellis, tmp_path, endpoint=registry.endpoint)
        build_mesh(server.client, "err", {
            "web": node(cloud_map=cloud_map("apps.local", "web")),
            "ghost": node(cloud_map=cloud_map("apps.local", "ghost")),
        })
        server.wait_endpoints("err/virtualNode/client", "cds_egress_err_web_http_8080",
                              {("10.4.0.1", 8080, None)})
        lib.wait_until(lambda: "ServiceNotFound" in server.detail("discovery.cloudmap", "cloudmap"), 10,
                       "ServiceNotFound in /readyz")
        assert server.endpoints("err/virtualNode/client", "cds_egress_err_ghost_http_8080") == set()

        registry.fail_with("ThrottlingException", 400)
        lib.wait_until(lambda: "ThrottlingException" in server.detail("discovery.cloudmap", "cloudmap"),
                       10, "ThrottlingException in /readyz")
        # backoff: while failing, far fewer requests than one per poll interval
        before = registry.requests_for("apps.local", "web").get("DiscoverInstancesRevision", 0)
        time.sleep(2.0)
        during = registry.requests_for("apps.local", "web").get("DiscoverInstancesRevision", 0) - before
        assert during <= 6, during  # 2 s at 150 ms would be ~13; backoff doubles up to 600 ms
        assert server.endpoints("err/virtualNode/client", "cds_egress_err_web_http_8080") == \
            {("10.4.0.1", 8080, None)}
        registry.fail_with(None)
        lib.wait_until(lambda: "ThrottlingException" not in server.detail("discovery.cloudmap", "cloudmap"),
                       10, "the throttling to clear")
        server.process.stop()
    finally:
        registry.close()


def test_wrong_credentials_are_refused_and_said(trellis, tmp_path):
    registry = FakeRegistry(credentials=(ACCESS_KEY, SECRET_KEY))
    try:
        registry.put_service("apps.local", "web", {"i1": {"AWS_INSTANCE_IPV4": "10.5.0.1"}})
        server = Server(trellis, tmp_path, endpoint=registry.endpoint, secret_access_key="not-the-secret")
        build_mesh(server.client, "cred", {"web": node(cloud_map=cloud_map("apps.local", "web"))})
        # a compile that needs the endpoints starts the watch
        assert server.endpoints("cred/virtualNode/client", "cds_egress_cred_web_http_8080") == set()
        lib.wait_until(lambda: "InvalidSignatureException" in (server.detail("discovery.cloudmap", "cloudmap") or ""),
                       10, "the refused signature in /readyz")
        assert registry.stats()["bad_signatures"] >= 1
        # the secret never shows: not in logs, not in /readyz
        assert "not-the-secret" not in server.process.log()
        assert "not-the-secret" not in json.dumps(server.readyz())
        server.process.stop()
    finally:
        registry.close()
