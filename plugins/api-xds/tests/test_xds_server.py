"""api.xds in a real `trellis serve`: meshes built through the App Mesh API
(boto3), proxies connected over gRPC ADS.

  * every resource served to an Envoy sidecar and to a proxyless gRPC client
    passes envoy-validate's strict `ads` client (upstream Envoy v3 schema,
    unknown fields rejected, PGV rules), which ACKs valid responses like
    Envoy (needs XDS_CLIENT_DIR with node_modules/@grpc/grpc-js: tests/js,
    installed by `npm ci`; fails without it); so does every response a
    sidecar gets through an UpdateRoute (the make-before-break union, the
    routes, the clusters without the old one);
  * an UpdateRoute reaches a connected proxy as a new RouteConfiguration,
    the proxy shows in sync in GET /debug/proxies once it ACKed, and the push
    latency is measured;
  * a NACK is logged with Envoy's text and shown in the sync-status view;
  * statuses: unknown node or mesh and malformed node id -> 3, the node
    deleted while connected -> 3, above max_connections_per_identity -> 8;
  * a real proxyless gRPC client (@grpc/grpc-js-xds from XDS_CLIENT_DIR)
    sends real calls through a 75/25 weighted route, then an UpdateRoute
    moves the traffic (tests/grpc_echo.js; tests/integration/
    test_proxyless_grpc.py has the full proxyless suite);
  * make before break on an UpdateRoute: a proxyless client gets the new
    routes before the Cluster response that drops the old cluster; a
    sidecar (wildcard CDS) gets a Cluster response with both clusters, then
    the routes, then (after its ACK of the routes) one without the old.

The ADS client is xds_probe (tests/xds_probe.c), one JSON line per event.
"""
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.join(os.environ["TRELLIS_SOURCE_DIR"], "tests", "integration"))
import appmesh_testlib as am  # noqa: E402
import trellis_testlib as lib  # noqa: E402
from trellis_testlib import trellis  # noqa: E402,F401  (the fixture)

PROBE = lib.BUILD_DIR / "bin" / "xds_probe"
VALIDATOR = lib.ENVOY_VALIDATOR


class Server:
    """trellis serve with store.file, api.appmesh, api.admin and api.xds."""

    def __init__(self, factory, workdir, **xds_config):
        self.api = lib.loopback_address()
        self.admin = lib.loopback_address()
        self.xds = lib.loopback_address()
        plugins = [
            lib.store_instance(Path(workdir) / "data"),
            lib.instance("api.appmesh", "appmesh", listen=self.api),
            lib.admin_instance(self.admin),
            lib.instance("api.xds", "xds", listen=self.xds, **xds_config),
        ]
        config = lib.write_config(workdir, plugins, region=am.REGION, account_id=am.ACCOUNT,
                                  log_level="info")
        self.process = factory.serve(config, self.admin)
        lib.wait_until(lambda: lib.http_request(self.admin, "GET", "/readyz")[0] == 200,
                       lib.scaled(20), "readyz 200")
        self.client = am.appmesh_client(f"http://{self.api}")

    def proxies(self, query=""):
        status, view = lib.http_get_json(self.admin, "/debug/proxies" + (f"?{query}" if query else ""))
        assert status == 200, view
        return view

    def metric(self, name, label=""):
        _, _, body = lib.http_request(self.admin, "GET", "/metrics")
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name) and label in line and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total


def build_mesh(client, mesh="m"):
    """web -> api.local (router r, route rt -> node api)."""
    client.create_mesh(meshName=mesh)
    client.create_virtual_node(meshName=mesh, virtualNodeName="api",
                               spec=am.node_spec(hostname="api.local"))
    client.create_virtual_node(meshName=mesh, virtualNodeName="api2",
                               spec=am.node_spec(hostname="api2.local"))
    client.create_virtual_node(meshName=mesh, virtualNodeName="web",
                               spec=am.node_spec(hostname="web.local", backends=["api.local"]))
    client.create_virtual_router(meshName=mesh, virtualRouterName="r", spec=am.router_spec())
    client.create_route(meshName=mesh, virtualRouterName="r", routeName="rt",
                        spec=am.http_route(("api", 1)))
    client.create_virtual_service(meshName=mesh, virtualServiceName="api.local",
                                  spec={"provider": {"virtualRouter": {"virtualRouterName": "r"}}})


class Probe:
    """xds_probe in the background; its JSON events as they come."""

    def __init__(self, server, node, *args, max_ms=60000, quiet_ms=60000):
        self.process = subprocess.Popen(
            [str(PROBE), "--server", server.xds, "--node", node, "--max-ms", str(max_ms),
             "--quiet-ms", str(quiet_ms), *args],
            stdout=subprocess.PIPE, env=lib.process_env())
        self.fd = self.process.stdout.fileno()
        self.pending = b""
        self.events = []

    def next_event(self, timeout=10):
        """The next JSON event. Reads the pipe unbuffered: a line already in a
        file object's buffer would not wake select()."""
        deadline = time.monotonic() + lib.scaled(timeout)
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"no event from xds_probe within {timeout}s: {self.events}")
            chunk = os.read(self.fd, 65536)
            assert chunk, f"xds_probe ended: {self.events}"
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        event = json.loads(line)
        self.events.append(event)
        return event

    def wait_for(self, predicate, timeout=10, what="an event"):
        deadline = time.monotonic() + lib.scaled(timeout)
        while time.monotonic() < deadline:
            event = self.next_event(max(0.1, deadline - time.monotonic()))
            if predicate(event):
                return event
        raise AssertionError(f"xds_probe never showed {what}: {self.events}")

    def close(self):
        self.process.kill()
        self.process.wait()


def run_probe(server, node, *args, quiet_ms=800):
    done = subprocess.run([str(PROBE), "--server", server.xds, "--node", node,
                           "--quiet-ms", str(quiet_ms), *args],
                          capture_output=True, text=True, timeout=lib.scaled(60))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def server(trellis, tmp_path):
    s = Server(trellis, tmp_path, max_connections_per_identity=2)
    build_mesh(s.client)
    yield s
    s.process.stop()


def strict_ads_client(server, *extra):
    client_dir = lib.xds_client_dir("@grpc/grpc-js")  # envoy-validate's ads mode runs it
    assert VALIDATOR.is_file(), f"envoy-validate not found at {VALIDATOR}"
    args = ["/usr/bin/python3", str(VALIDATOR), "ads", "--server", server.xds,
            "--node", "mesh/m/virtualNode/web", *extra]
    return args, dict(os.environ, XDS_CLIENT_DIR=str(client_dir))


@pytest.mark.parametrize("names", [None, "api.local:8080"], ids=["sidecar", "proxyless"])
def test_every_resource_passes_the_strict_ads_client(server, names):
    args, env = strict_ads_client(server, *(["--names", names] if names else []))
    done = subprocess.run(args, capture_output=True, text=True, timeout=lib.scaled(120), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID:" in done.stdout and " 0 error(s)" in done.stdout, done.stdout
    # envoy-validate ACKed everything: nothing is left rejected
    assert server.metric("trellis_xds_nacks_total") == 0


def test_every_response_through_an_update_passes_the_strict_ads_client(server):
    """The strict client stays connected (as a sidecar) while UpdateRoute
    moves rt from api to api2: the union Cluster response, the routes and the
    Cluster response without api are all valid (a duplicate in one response
    or an invalid resource would be reported and NACKed)."""
    old, new = "cds_egress_m_api_http_8080", "cds_egress_m_api2_http_8080"
    quiet = lib.scaled(6)
    args, env = strict_ads_client(server, "--exchanges", "--quiet-after", str(quiet),
                                  "--timeout", str(lib.scaled(90)))
    validator = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lib.wait_until(lambda: any(p["types"].get("RouteConfiguration", {}).get("version_acked")
                                   for p in server.proxies()["proxies"]) and
                       server.proxies()["summary"]["out_of_sync"] == 0,
                       lib.scaled(20), "the strict client to ACK everything")
        server.client.update_route(meshName="m", virtualRouterName="r", routeName="rt",
                                   spec=am.http_route(("api2", 1)))
        out, err = validator.communicate(timeout=lib.scaled(120))
    finally:
        if validator.poll() is None:
            validator.kill()
            validator.wait()
    assert validator.returncode == 0, out + err
    assert "VALID:" in out and " 0 error(s)" in out, out
    assert server.metric("trellis_xds_nacks_total") == 0
    responses = [json.loads(line) for line in out.splitlines() if line.startswith("  {")]
    responses = [x for x in responses if x.get("dir") == "response"]
    both = first_index(responses, lambda x: x["type"] == "CDS" and {old, new} <= set(x["resources"]))
    dropped = first_index(responses, lambda x: x["type"] == "CDS" and new in x["resources"]
                          and old not in x["resources"])
    assert both is not None and dropped is not None, responses
    assert any(x["type"] == "RDS" for x in responses[both:dropped]), responses


def test_update_route_reaches_the_proxy(server):
    probe = Probe(server, "mesh/m/virtualNode/web")
    try:
        first = probe.wait_for(lambda e: e.get("type") == "RouteConfiguration", what="RDS")
        lib.wait_until(lambda: server.proxies()["summary"]["out_of_sync"] == 0, lib.scaled(10),
                       "the proxy to ACK everything")
        view = server.proxies()
        proxy = view["proxies"][0]
        assert proxy["identity"] == "mesh/m/virtualNode/web"
        assert proxy["flavor"] == "sidecar" and proxy["protocol"] == "sotw"
        assert proxy["user_agent"].startswith("trellis-xds-probe")
        assert set(proxy["types"]) == {"Listener", "Cluster", "RouteConfiguration"}
        routes = proxy["types"]["RouteConfiguration"]
        assert routes["version_acked"] == routes["version_current"] == first["version"]

        server.client.update_route(meshName="m", virtualRouterName="r", routeName="rt",
                                   spec=am.http_route(("api", 3), ("api2", 1)))
        update = probe.wait_for(lambda e: e.get("type") == "RouteConfiguration"
                                and e["version"] != first["version"], what="the new RDS")
        assert "rds_egress_http_8080" in update["resources"]
        lib.wait_until(lambda: server.proxies()["summary"]["out_of_sync"] == 0, lib.scaled(10),
                       "the proxy to ACK the update")
        lib.wait_until(lambda: server.metric("trellis_xds_push_latency_seconds_count") >= 1,
                       lib.scaled(5), "a push latency observation")
    finally:
        probe.close()


def route_moves(server, *probe_args):
    """The responses a probe gets while UpdateRoute moves rt from api to
    api2: (events after the update, the clusters of api and api2)."""
    old, new = "cds_egress_m_api_http_8080", "cds_egress_m_api2_http_8080"
    probe = Probe(server, "mesh/m/virtualNode/web", *probe_args)
    try:
        first = probe.wait_for(lambda e: e.get("type") == "RouteConfiguration", what="RDS")
        lib.wait_until(lambda: server.proxies()["summary"]["out_of_sync"] == 0, lib.scaled(10),
                       "the proxy to ACK everything")
        seen = len(probe.events)
        server.client.update_route(meshName="m", virtualRouterName="r", routeName="rt",
                                   spec=am.http_route(("api2", 1)))

        def both(_event):
            later = probe.events[seen:]
            return (any(e.get("type") == "RouteConfiguration" and e["version"] != first["version"]
                        for e in later) and
                    any(e.get("type") == "Cluster" and new in e["resources"] and old not in e["resources"]
                        for e in later))
        probe.wait_for(both, what=f"the new route configuration, and clusters with {new} and without {old}")
        return probe.events[seen:], old, new
    finally:
        probe.close()


def first_index(events, predicate):
    return next((i for i, e in enumerate(events) if predicate(e)), None)


def test_proxyless_client_gets_the_new_route_before_losing_its_cluster(server):
    """Make before break: a proxyless client subscribes to clusters by name,
    following its routes. The Cluster response that drops api (still in the
    client's subscription) must come after the route configuration that no
    longer uses it, or every call still routed to api fails (grpc-js-xds:
    UNAVAILABLE "Cluster resource ... does not exist")."""
    events, old, new = route_moves(server, "--names", "api.local:8080")
    new_routes = first_index(events, lambda e: e.get("type") == "RouteConfiguration")
    dropped = first_index(events, lambda e: e.get("type") == "Cluster" and old not in e["resources"])
    assert new_routes is not None and dropped is not None, events
    assert new_routes < dropped, f"the Cluster response without {old} came first: {events}"


def test_sidecar_keeps_the_old_cluster_until_it_has_the_new_route(server):
    """Make before break for a sidecar (wildcard CDS): the first Cluster
    response after the UpdateRoute carries api2 and still api (under its own
    version), the routes naming api2 follow, and only then a Cluster response
    without api, under another version. Envoy never holds routes naming a
    cluster it does not have (503 NC)."""
    events, old, new = route_moves(server)
    new_routes = first_index(events, lambda e: e.get("type") == "RouteConfiguration")
    dropped = first_index(events, lambda e: e.get("type") == "Cluster" and old not in e["resources"])
    added = first_index(events, lambda e: e.get("type") == "Cluster" and new in e["resources"])
    assert None not in (new_routes, dropped, added), events
    assert added < new_routes < dropped, events
    assert old in events[added]["resources"], events
    assert events[added]["version"] != events[dropped]["version"], events
    assert server.metric("trellis_xds_retained_pushes_total", 'type="Cluster"') >= 1


def test_nack_is_logged_and_shown(server):
    events = run_probe(server, "mesh/m/virtualNode/web", "--nack", "Cluster")
    assert any(e.get("type") == "Cluster" for e in events), events
    assert server.metric("trellis_xds_nacks_total", 'type="Cluster"') >= 1
    lib.wait_until(lambda: server.process.entries(event="nack"), lib.scaled(5), "a nack log line")
    entry = server.process.entries(event="nack")[0]
    assert "rejected by xds_probe --nack" in json.dumps(entry)


def test_unknown_and_malformed_nodes_end_with_status_3(server):
    for node, fragment in [("mesh/m/virtualNode/nobody", "nobody"),
                           ("mesh/ghost/virtualNode/web", "ghost"),
                           (f"arn:aws:appmesh:{am.REGION}:{am.ACCOUNT}:mesh/ghost/virtualNode/web", "ghost"),
                           ("web", "web")]:
        events = run_probe(server, node)
        status = [e for e in events if e["event"] == "status"]
        assert status and status[0]["code"] == 3, (node, events)
        assert fragment in status[0]["message"], (node, status)


def test_deleted_node_and_quota(server):
    # two proxies as api2 (the quota here is 2), a third is refused with 8
    probes = [Probe(server, "mesh/m/virtualNode/api2") for _ in range(2)]
    try:
        for p in probes:
            p.wait_for(lambda e: e.get("type") == "Listener", what="LDS")
        third = run_probe(server, "mesh/m/virtualNode/api2")
        status = [e for e in third if e["event"] == "status"]
        assert status and status[0]["code"] == 8, third
        assert "max_connections_per_identity" in status[0]["message"]
        # api2 is deleted while they are connected: both streams end with 3
        server.client.delete_virtual_node(meshName="m", virtualNodeName="api2")
        for p in probes:
            ended = p.wait_for(lambda e: e["event"] == "status", what="the stream's end")
            assert ended["code"] == 3 and "api2" in ended["message"], ended
    finally:
        for p in probes:
            p.close()


def echo_calls(server, backends, calls):
    spec = {
        "bootstrap": {
            "xds_servers": [{"server_uri": server.xds, "channel_creds": [{"type": "insecure"}],
                             "server_features": ["xds_v3"]}],
            # grpc-js-xds 1.14 insists on a locality in the node
            "node": {"id": "mesh/g/virtualNode/client", "locality": {}},
        },
        "target": f"xds:///echo.local:{backends['a']}",
        "backends": [{"name": name, "port": port} for name, port in backends.items()],
        "calls": calls,
    }
    client_dir = lib.xds_client_dir("@grpc/grpc-js", "@grpc/grpc-js-xds")
    done = subprocess.run(["node", str(Path(__file__).parent / "grpc_echo.js"), json.dumps(spec)],
                          capture_output=True, text=True, timeout=lib.scaled(120),
                          env=dict(os.environ, XDS_CLIENT_DIR=str(client_dir)))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["error_count"] == 0, result
    return result["counts"]


def test_proxyless_grpc_client_routes_real_calls(server):
    c = server.client
    ports = {"a": lib.free_port(), "b": lib.free_port()}
    grpc_listener = lambda port: [{"portMapping": {"port": port, "protocol": "grpc"}}]  # noqa: E731
    c.create_mesh(meshName="g")
    for name in ("a", "b"):
        c.create_virtual_node(meshName="g", virtualNodeName=f"echo-{name}", spec={
            "listeners": grpc_listener(ports[name]),
            "serviceDiscovery": {"dns": {"hostname": "127.0.0.1"}}})
    c.create_virtual_node(meshName="g", virtualNodeName="client", spec={
        "listeners": grpc_listener(lib.free_port()),
        "serviceDiscovery": {"dns": {"hostname": "127.0.0.1"}},
        "backends": [{"virtualService": {"virtualServiceName": "echo.local"}}]})
    c.create_virtual_router(meshName="g", virtualRouterName="r",
                            spec={"listeners": grpc_listener(ports["a"])})
    route = lambda *targets: {"grpcRoute": {  # noqa: E731
        "match": {"serviceName": "test.Echo"},
        "action": {"weightedTargets": [{"virtualNode": f"echo-{n}", "weight": w} for n, w in targets]}}}
    c.create_route(meshName="g", virtualRouterName="r", routeName="rt", spec=route(("a", 75), ("b", 25)))
    c.create_virtual_service(meshName="g", virtualServiceName="echo.local",
                             spec={"provider": {"virtualRouter": {"virtualRouterName": "r"}}})
    counts = echo_calls(server, ports, 400)
    share_a = counts.get("a", 0) / 400
    assert 0.65 <= share_a <= 0.85, counts  # 75 % +- 10 points (about 4.6 sigma)
    c.update_route(meshName="g", virtualRouterName="r", routeName="rt", spec=route(("b", 1)))
    assert echo_calls(server, ports, 50) == {"b": 50}
