"""A real proxyless gRPC client routed by trellis.

Real pieces only: `trellis serve` (store.file, api.appmesh, api.admin,
api.xds), meshes built with boto3 through the App Mesh API, real gRPC
backends (tests/js/grpc_backends.js: @grpc/grpc-js servers on 127.0.0.2,
127.0.0.3, 127.0.0.4, 127.0.0.5, each answering with its own name and
address), and a real `@grpc/grpc-js-xds` client (tests/js/xds_client.js)
whose node id names the virtual node `client` (backends: the virtual service
`echo.local`) calling `xds:///echo.local:8080`. Both Node helpers run for
the whole module and are driven over JSON lines (tests/js/jsonl.js).

  * a 75/25 weighted route: 400 calls, the share of `a` within the exact
    binomial 99.9 % interval (computed below: 271..328 of 400);
  * metadata (header) matching and method matching (serviceName and
    methodName) send calls to different backends, in priority order; an
    inverted metadata match does not take calls without the header (App
    Mesh's, that is Envoy's, semantics);
  * an UpdateRoute moves traffic within seconds while a client calls
    continuously: zero failed calls;
  * deleting a route: calls fall to the next matching route; deleting the
    last one makes calls fail with UNAVAILABLE (gRPC's "no route"), and
    creating one again brings them back;
  * a retry policy against a backend that fails the first 3 attempts of
    every call with UNAVAILABLE: maxRetries 3 succeeds with 4 attempts
    each, App Mesh's default policy (no retryPolicy: 2 retries) fails after
    3 attempts, maxRetries 0 (no policy for gRPC) fails after 1;
  * everything this mesh serves passes envoy-validate's strict `ads` client
    as a proxyless client and as a sidecar.

The Node clients come from tests/js (`npm ci` there; scripts/test.sh does
it). XDS_CLIENT_DIR names that folder (tests/CMakeLists.txt sets it); without
its node_modules every test here fails, it never skips.

Every wait has a deadline (scaled for sanitizer builds); a failure shows
what the client saw (counts, errors with their details, the call log) and,
where it helps, the client's view in GET /debug/proxies.
"""
import json
import math
import os
import select
import subprocess
import time
from pathlib import Path

import pytest

import appmesh_testlib as am
import trellis_testlib as lib

JS_DIR = lib.SOURCE_DIR / "tests" / "js"
VALIDATOR = lib.ENVOY_VALIDATOR
SERVICE = "echo.local"
PORT = 8080  # the virtual router's listener: the port in xds:///echo.local:8080
TARGET = f"xds:///{SERVICE}:{PORT}"
SAY = "/test.Echo/Say"
WHOAMI = "/test.Echo/Whoami"
OTHER_SAY = "/test.Other/Say"
UNAVAILABLE = 14
# The backends: one address each, so a reply's address proves where it went.
BACKENDS = {"a": "127.0.0.2", "b": "127.0.0.3", "c": "127.0.0.4", "flaky": "127.0.0.5"}


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------

def binomial_interval(n, p, confidence):
    """The central interval [lo, hi] of Binomial(n, p) holding at least
    `confidence` of the probability, with at most (1 - confidence) / 2 in
    each tail (exact, from the probability mass function)."""
    tail = (1 - confidence) / 2
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    lo, below = 0, 0.0
    while below + pmf[lo] <= tail:
        below += pmf[lo]
        lo += 1
    hi, above = n, 0.0
    while above + pmf[hi] <= tail:
        above += pmf[hi]
        hi -= 1
    return lo, hi


def test_binomial_interval():
    # 400 calls at 75 %: mean 300, sd 8.66; 99.9 % two-sided is about +-3.29 sd
    assert binomial_interval(400, 0.75, 0.999) == (271, 328)
    assert binomial_interval(10, 0.5, 0.9) == (2, 8)


# ---------------------------------------------------------------------------
# The Node helpers
# ---------------------------------------------------------------------------

class NodeHelper:
    """One of tests/js's JSON-line helpers, running in the background."""

    def __init__(self, script, workdir):
        self.script = script
        self.stderr_path = Path(workdir) / f"{Path(script).stem}.stderr"
        self.stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            ["node", str(JS_DIR / script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, cwd=workdir,
            env=dict(os.environ, XDS_CLIENT_DIR=str(xds_client_dir())))
        self.fd = self.process.stdout.fileno()
        self.pending = b""
        self.next_id = 0

    def diagnostics(self):
        state = "running" if self.process.poll() is None else f"exited with {self.process.poll()}"
        return f"{self.script} {state}; its stderr:\n{self.stderr_path.read_text(errors='replace')[-4000:]}"

    def request(self, op, timeout=30, **args):
        """Sends one request and returns its reply; fails if there is none
        within `timeout` seconds (scaled) or the helper reports an error."""
        self.next_id += 1
        request = {"id": self.next_id, "op": op, **args}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise AssertionError(f"{op}: {self.diagnostics()}") from None
        deadline = time.monotonic() + lib.scaled(timeout)
        while True:
            while b"\n" not in self.pending:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    raise AssertionError(f"no answer to {request} within {lib.scaled(timeout):.0f}s\n"
                                         f"{self.diagnostics()}")
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    raise AssertionError(f"{op}: {self.diagnostics()}")
                self.pending += chunk
            line, self.pending = self.pending.split(b"\n", 1)
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                break
        assert reply["ok"], f"{request} failed: {reply['error']}\n{self.diagnostics()}"
        return reply

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


def xds_client_dir():
    return lib.xds_client_dir("@grpc/grpc-js", "@grpc/grpc-js-xds", "@grpc/proto-loader")


# ---------------------------------------------------------------------------
# Fixtures: one trellis, one set of backends and one client process per module
# ---------------------------------------------------------------------------

class Server:
    """trellis serve with store.file, api.appmesh, api.admin and api.xds."""

    def __init__(self, factory, workdir):
        self.api = lib.loopback_address()
        self.admin = lib.loopback_address()
        self.xds = lib.loopback_address()
        plugins = [
            lib.store_instance(Path(workdir) / "data"),
            lib.instance("api.appmesh", "appmesh", listen=self.api),
            lib.admin_instance(self.admin),
            lib.instance("api.xds", "xds", listen=self.xds),
        ]
        config = lib.write_config(workdir, plugins, region=am.REGION, account_id=am.ACCOUNT,
                                  log_level="info")
        self.process = factory.serve(config, self.admin)
        lib.wait_until(lambda: lib.http_request(self.admin, "GET", "/readyz")[0] == 200,
                       20, "readyz 200")
        self.client = am.appmesh_client(f"http://{self.api}")

    def proxy(self, node_id):
        """The connected proxy with this node id in GET /debug/proxies, or None."""
        status, view = lib.http_get_json(self.admin, f"/debug/proxies?node={node_id}")
        assert status == 200, view
        return view["proxies"][0] if view["proxies"] else None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("proxyless")
    factory = lib.ServerFactory(workdir)
    try:
        s = Server(factory, workdir)
        yield s
        s.process.stop()
    finally:
        problems = factory.finish()
        if problems:
            pytest.fail("\n".join(problems))


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    helper = NodeHelper("grpc_backends.js", tmp_path_factory.mktemp("backends"))
    try:
        started = helper.request("start", backends=[{"name": n, "host": h, "port": 0}
                                                     for n, h in BACKENDS.items()])
        helper.addresses = started["backends"]  # name -> "host:port"
        yield helper
    finally:
        helper.close()


@pytest.fixture(scope="module")
def grpc_client(tmp_path_factory):
    helper = NodeHelper("xds_client.js", tmp_path_factory.mktemp("client"))
    yield helper
    helper.close()


class Mesh:
    """One mesh per test, built with boto3: a grpc virtual node per backend
    (DNS service discovery: the backend's address and port), the router `r`
    (grpc listener 8080) behind the virtual service echo.local, and the
    client's virtual node with echo.local as its backend."""

    def __init__(self, server, backends, client, name):
        self.server, self.backends, self.grpc = server, backends, client
        self.name = name
        self.node_id = f"mesh/{name}/virtualNode/client"
        self.channel = name
        self.opened = False
        c = server.client
        c.create_mesh(meshName=name)
        for backend, address in backends.addresses.items():
            host, port = lib.split_address(address)
            c.create_virtual_node(meshName=name, virtualNodeName=backend, spec={
                "listeners": [am.listener(port, "grpc")],
                "serviceDiscovery": {"dns": {"hostname": host}}})
        c.create_virtual_node(meshName=name, virtualNodeName="client", spec={
            "listeners": [am.listener(9000, "grpc")],
            "serviceDiscovery": {"dns": {"hostname": "client.local"}},
            "backends": [{"virtualService": {"virtualServiceName": SERVICE}}]})
        c.create_virtual_router(meshName=name, virtualRouterName="r",
                                spec=am.router_spec(PORT, "grpc"))
        c.create_virtual_service(meshName=name, virtualServiceName=SERVICE,
                                 spec={"provider": {"virtualRouter": {"virtualRouterName": "r"}}})

    # -- the App Mesh API --

    def create_route(self, route, spec):
        self.server.client.create_route(meshName=self.name, virtualRouterName="r", routeName=route,
                                        spec=spec)

    def update_route(self, route, spec):
        self.server.client.update_route(meshName=self.name, virtualRouterName="r", routeName=route,
                                        spec=spec)

    def delete_route(self, route):
        self.server.client.delete_route(meshName=self.name, virtualRouterName="r", routeName=route)

    # -- the gRPC client --

    def open(self):
        """The client's channel (its own xDS client, node id naming this
        mesh's `client`); waits until a first call succeeds."""
        self.grpc.request("channel", name=self.channel, target=TARGET, bootstrap=bootstrap(
            self.server.xds, self.node_id))
        self.opened = True
        seen = []

        def answered():
            result = self.calls(1, call_id=f"{self.name}-open{len(seen)}")
            seen.append(result)
            return not result["errors"]
        try:
            lib.wait_until(answered, 15, "the first call through xDS to succeed", interval=0.1)
        except AssertionError as failure:
            raise AssertionError(f"{failure}; the client saw: {seen[-3:]}\n"
                                 f"its view in /debug/proxies: {self.server.proxy(self.node_id)}") from None

    def close(self):
        self.grpc.request("close", name=self.channel)
        self.opened = False

    def calls(self, n, method=SAY, metadata=None, concurrency=8, call_id="c", detail=False,
              deadline_ms=5000):
        return self.grpc.request("calls", timeout=60, channel=self.channel, n=n, method=method,
                                 metadata=metadata or {}, concurrency=concurrency, call_id=call_id,
                                 detail=detail, deadline_ms=deadline_ms)

    def in_sync(self):
        proxy = self.server.proxy(self.node_id)
        return proxy is not None and proxy["in_sync"]

    def wait_synced(self, what):
        """Waits until the client ACKed everything trellis has for it."""
        try:
            lib.wait_until(self.in_sync, 10, f"the client to ACK {what}")
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{json.dumps(self.server.proxy(self.node_id), indent=1)}") \
                from None

    def wait_routed(self, expected, what, method=SAY, metadata=None, n=20):
        """Calls `n` at a time until every call ends as `expected` ({"b": n}
        or {"errors": {"14": n}}); returns the last result."""
        seen = []

        def routed():
            result = self.calls(n, method=method, metadata=metadata)
            seen.append(result)
            outcome = result["counts"] if result["counts"] else {"errors": result["errors"]}
            return result if outcome == expected else None
        try:
            return lib.wait_until(routed, 10, what, interval=0.05)
        except AssertionError as failure:
            raise AssertionError(f"{failure}; the last calls saw: {seen[-3:]}\n"
                                 f"the client in /debug/proxies: {self.server.proxy(self.node_id)}") \
                from None


def bootstrap(xds_address, node_id):
    """A grpc-js-xds bootstrap naming trellis as the xDS server.
    grpc-js-xds 1.14 refuses a node without `locality`."""
    return {"xds_servers": [{"server_uri": xds_address, "channel_creds": [{"type": "insecure"}],
                             "server_features": ["xds_v3"]}],
            "node": {"id": node_id, "locality": {}}}


_meshes = iter(range(1, 1000))


@pytest.fixture
def mesh(server, backends, grpc_client):
    m = Mesh(server, backends, grpc_client, f"px{next(_meshes)}")
    yield m
    if m.opened:
        m.close()


def grpc_route(*targets, match=None, retry=None, priority=None):
    route = {"match": match if match is not None else {"serviceName": "test.Echo"},
             "action": {"weightedTargets": am.targets(*targets)}}
    if retry is not None:
        route["retryPolicy"] = retry
    spec = {"grpcRoute": route}
    if priority is not None:
        spec["priority"] = priority
    return spec


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

def test_weighted_route_splits_75_25(mesh, backends):
    mesh.create_route("split", grpc_route(("a", 75), ("b", 25)))
    mesh.open()
    n = 400
    lo, hi = binomial_interval(n, 0.75, 0.999)
    result = mesh.calls(n, concurrency=8, call_id="split", detail=True)
    assert not result["errors"], result["samples"]
    counts = result["counts"]
    assert set(counts) <= {"a", "b"} and sum(counts.values()) == n, counts
    # each reply names the backend that served it, at the address its virtual node gives
    for reply in result["results"]:
        assert reply["address"] == backends.addresses[reply["backend"]], reply
        assert reply["method"] == SAY and reply["attempt"] == 1, reply
    assert lo <= counts.get("a", 0) <= hi, \
        f"a got {counts.get('a', 0)} of {n}, outside the binomial 99.9 % interval {lo}..{hi}: {counts}"


def test_metadata_and_method_matching(mesh):
    # priority order: metadata match first, then the method, then the rest of test.Echo;
    # test.Other has its own route (service name only)
    mesh.create_route("gold", grpc_route(("b", 1), priority=0, match={
        "serviceName": "test.Echo", "metadata": [{"name": "x-tier", "match": {"exact": "gold"}}]}))
    mesh.create_route("silver-prefix", grpc_route(("c", 1), priority=1, match={
        "serviceName": "test.Echo", "metadata": [{"name": "x-tier", "match": {"prefix": "silv"}}]}))
    mesh.create_route("whoami", grpc_route(("c", 1), priority=2, match={
        "serviceName": "test.Echo", "methodName": "Whoami"}))
    mesh.create_route("echo", grpc_route(("a", 1), priority=3, match={"serviceName": "test.Echo"}))
    mesh.create_route("other", grpc_route(("b", 1), priority=4, match={"serviceName": "test.Other"}))
    mesh.open()
    cases = [
        (SAY, {}, "a"),
        (SAY, {"x-tier": "gold"}, "b"),
        (SAY, {"x-tier": "golden"}, "a"),      # exact means exact
        (SAY, {"x-tier": "silver"}, "c"),
        (WHOAMI, {}, "c"),
        (WHOAMI, {"x-tier": "gold"}, "b"),     # the metadata route comes first
        (OTHER_SAY, {}, "b"),
        (OTHER_SAY, {"x-tier": "silver"}, "b"),  # the metadata routes are test.Echo's
    ]
    for method, metadata, expected in cases:
        result = mesh.calls(20, method=method, metadata=metadata, detail=True)
        assert result["counts"] == {expected: 20}, (method, metadata, expected, result)
        for reply in result["results"]:
            assert reply["method"] == method and reply["tier"] == metadata.get("x-tier", ""), reply


def test_metadata_invert_and_absent(mesh):
    # invert: every x-tier but "gold". A call without x-tier does not match an inverted
    # exact match in Envoy (App Mesh's semantics); gRPC alone would match it, so trellis
    # adds a presence condition for proxyless clients (docs/envoy-mapping.md section 8)
    mesh.create_route("not-gold", grpc_route(("c", 1), priority=0, match={
        "serviceName": "test.Echo",
        "metadata": [{"name": "x-tier", "invert": True, "match": {"exact": "gold"}}]}))
    mesh.create_route("echo", grpc_route(("a", 1), priority=1))
    mesh.open()
    for metadata, expected in [({"x-tier": "bronze"}, "c"), ({"x-tier": "gold"}, "a"), ({}, "a")]:
        result = mesh.calls(10, metadata=metadata)
        assert result["counts"] == {expected: 10}, (metadata, expected, result)


def test_update_route_moves_traffic_without_dropped_calls(mesh, server):
    mesh.create_route("rt", grpc_route(("a", 1)))
    mesh.open()
    mesh.wait_synced("the first configuration")
    mesh.grpc.request("load_start", channel=mesh.channel, method=SAY, concurrency=4,
                      deadline_ms=int(lib.scaled(5000)))
    load_running = True
    try:
        time.sleep(0.5)  # calls flowing to a before the update
        updated_at = time.time() * 1000
        mesh.update_route("rt", grpc_route(("b", 1)))
        updated_returned = time.time() * 1000
        # calls keep flowing while the update reaches the client; keep going for a
        # second after every call lands on b
        deadline = time.monotonic() + lib.scaled(10)
        while not mesh.in_sync() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(1.0)
        load_running = False
        log = mesh.grpc.request("load_stop")
    finally:
        if load_running:
            mesh.grpc.request("load_stop")
    runs = log["runs"]
    shown = f"the client's calls (backend, first ms, last ms, count): {runs}; failures: {log['failures']}"
    assert log["failure_count"] == 0, shown
    assert runs[0][0] == "a" and runs[-1][0] == "b", shown
    last_a = max(r[2] for r in runs if r[0] == "a")
    first_b = min(r[1] for r in runs if r[0] == "b")
    moved_ms = last_a - updated_returned
    # the switch is clean: once b answers, a never does again
    assert [r[0] for r in runs] == ["a", "b"], shown
    assert first_b >= updated_at, shown
    assert moved_ms <= lib.scaled(3000), f"traffic moved {moved_ms:.0f} ms after UpdateRoute; {shown}"
    b_calls = sum(r[3] for r in runs if r[0] == "b")
    assert b_calls >= 20 and log["total"] >= 50, shown
    print(f"UpdateRoute: {log['total']} calls, 0 failed, last call to a {moved_ms:.0f} ms after "
          f"the API answered")


def test_deleting_routes(mesh, server):
    mesh.create_route("whoami", grpc_route(("b", 1), priority=0, match={
        "serviceName": "test.Echo", "methodName": "Whoami"}))
    mesh.create_route("echo", grpc_route(("a", 1), priority=1))
    mesh.open()
    assert mesh.calls(10, method=WHOAMI)["counts"] == {"b": 10}
    # the first route goes: Whoami falls to the next matching route
    mesh.delete_route("whoami")
    mesh.wait_routed({"a": 20}, "Whoami calls to fall through to the route `echo`", method=WHOAMI)
    assert mesh.calls(10, method=SAY)["counts"] == {"a": 10}
    # the last route goes: no route matches, gRPC fails the call with UNAVAILABLE before
    # it reaches any backend (not a backend's or a missing cluster's UNAVAILABLE)
    mesh.delete_route("echo")
    result = mesh.wait_routed({"errors": {str(UNAVAILABLE): 20}}, "calls to fail with UNAVAILABLE")
    for sample in result["samples"]:
        assert sample["details"] == f"Failed to route call to method {SAY}", sample
    mesh.wait_synced("the configuration without routes")
    # a new route brings traffic back on the same channel
    mesh.create_route("again", grpc_route(("c", 1)))
    mesh.wait_routed({"c": 20}, "calls to reach c through the new route")


def test_retry_policy_against_a_failing_backend(mesh, backends):
    """flaky fails the first 3 attempts of every call (counted per x-call-id)
    with UNAVAILABLE; the backend counts the attempts it saw."""
    retry = {"grpcRetryEvents": ["unavailable"], "maxRetries": 3,
             "perRetryTimeout": {"unit": "s", "value": 5}}

    def attempts_of(prefix):
        seen = backends.request("stats")["stats"]["flaky"]["attempts"]
        return {k: v for k, v in seen.items() if k.startswith(prefix + "-")}

    def update(spec, what, attempts):
        """UpdateRoute, then calls until they fail after `attempts` attempts:
        grpc-js-xds ACKs a route configuration a moment before its channel
        uses it, so the ACK alone does not say which policy a call gets."""
        mesh.update_route("rt", spec)
        seen = []

        def applied():
            result = mesh.calls(2, call_id=f"probe{len(seen)}", detail=True)
            seen.append(result["results"])
            return all(f"fails attempt {attempts} of call" in r.get("details", "")
                       for r in result["results"])
        try:
            lib.wait_until(applied, 10, what, interval=0.05)
        except AssertionError as failure:
            raise AssertionError(f"{failure}; the last calls saw {seen[-3:]}") from None

    mesh.create_route("rt", grpc_route(("flaky", 1), retry=retry))
    backends.request("behave", backend="flaky", fail_first=3, code=UNAVAILABLE)
    try:
        mesh.open()  # its first call already needs the retries

        # with the policy: every call succeeds on its 4th attempt
        result = mesh.calls(10, call_id="retry3", detail=True, concurrency=2)
        assert result["counts"] == {"flaky": 10}, result
        assert {r["attempt"] for r in result["results"]} == {4}, result["results"]
        assert set(attempts_of("retry3").values()) == {4}, attempts_of("retry3")

        # no retryPolicy: App Mesh's default (2 retries on UNAVAILABLE) is not enough
        update(grpc_route(("flaky", 1)), "calls failing after App Mesh's default retries", 3)
        result = mesh.calls(10, call_id="default", detail=True, concurrency=2)
        assert result["errors"] == {str(UNAVAILABLE): 10}, result
        assert all("fails attempt 3 of call" in r["details"] for r in result["results"]), result
        assert set(attempts_of("default").values()) == {3}, attempts_of("default")

        # maxRetries 0: no retries at all (for gRPC the policy is left out)
        update(grpc_route(("flaky", 1), retry=dict(retry, maxRetries=0)),
               "calls failing after one attempt", 1)
        result = mesh.calls(10, call_id="none", detail=True, concurrency=2)
        assert result["errors"] == {str(UNAVAILABLE): 10}, result
        assert set(attempts_of("none").values()) == {1}, attempts_of("none")
    finally:
        backends.request("behave", backend="flaky", fail_first=0)


@pytest.mark.parametrize("flavor", ["proxyless", "sidecar"])
def test_what_this_mesh_serves_passes_the_strict_ads_client(mesh, server, flavor):
    mesh.create_route("gold", grpc_route(("b", 1), priority=0, match={
        "serviceName": "test.Echo", "metadata": [{"name": "x-tier", "match": {"exact": "gold"}}]}))
    mesh.create_route("split", grpc_route(("a", 75), ("b", 25), priority=1, retry={
        "grpcRetryEvents": ["unavailable"], "maxRetries": 3,
        "perRetryTimeout": {"unit": "s", "value": 5}}))
    assert VALIDATOR.is_file(), f"envoy-validate not found at {VALIDATOR} (set ENVOY_VALIDATE)"
    args = ["/usr/bin/python3", str(VALIDATOR), "ads", "--server", server.xds, "--node", mesh.node_id]
    if flavor == "proxyless":
        args += ["--names", f"{SERVICE}:{PORT}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=lib.scaled(120),
                          env=dict(os.environ, XDS_CLIENT_DIR=str(lib.xds_client_dir("@grpc/grpc-js"))))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID:" in done.stdout and " 0 error(s)" in done.stdout, done.stdout
