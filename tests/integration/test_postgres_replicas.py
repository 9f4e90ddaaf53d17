"""Two trellis replicas on one PostgreSQL database (store.postgres).

The App Mesh rules must hold across replicas, enforced in the database
transaction (every write of a mesh carries a condition on the mesh's scope
record, so any two concurrent writes of one mesh conflict in the database and
the loser is validated again against the winner's state):

  * a write through A is visible through B's API within 1 s;
  * the same name created through A and B at once: exactly one succeeds, the
    other gets ConflictException (many rounds);
  * a virtual node deleted through A while a route targeting it is created
    through B: exactly one succeeds, and no route ever targets a missing node;
  * per-mesh quotas hold when both replicas create at once;
  * concurrent updates of one resource through both replicas lose nothing:
    every success has its own version and the last version counts them all;
  * a clientToken repeated on the other replica is the same request;
  * a proxy connected to B's api.xds receives a route change made through A;
  * the replicas end with identical state;
  * config/trellis-postgres.json is valid and serves as shipped.

Each test gets its own schema in one module-wide PostgreSQL server
(tests/integration/pg_cluster.py), which must be installed.
"""
import hashlib
import json
import threading

import botocore.exceptions
import pytest

import appmesh_testlib as am
import pg_cluster
import trellis_testlib as lib
from postgres_replicas import (XDS_PROBE, Replica, XdsProbe, dump, error_code, start_cluster,
                               wait_until_value, wait_visible)
from trellis_testlib import trellis  # noqa: F401  (the fixture)

ROUNDS = 25


@pytest.fixture(scope="module")
def pg():
    if not pg_cluster.available():
        pytest.fail(pg_cluster.MISSING, pytrace=False)
    cluster = start_cluster()
    yield cluster
    cluster.destroy()


def schema_for_name(name):
    return "r_" + hashlib.sha256(name.encode()).hexdigest()[:12]


def schema_for(request):
    return schema_for_name(request.node.nodeid)


@pytest.fixture
def replicas(trellis, tmp_path, pg, request):  # noqa: F811
    settings = getattr(request, "param", {})
    schema = schema_for(request)
    a = Replica(trellis, tmp_path / "a", pg, schema, xds=True, **settings).start()
    b = Replica(trellis, tmp_path / "b", pg, schema, xds=True, **settings).start()
    yield a, b
    for r in (a, b):
        if r.running():
            r.stop()


def race(*calls):
    """Runs the calls at the same moment on threads; their results or
    exceptions, in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = ("ok", call())
        except Exception as e:  # noqa: BLE001  (the outcome is what the test looks at)
            results[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(lib.scaled(60))
    return results


def store_conflicts(*replicas):
    """Commits the database refused on a condition, over the replicas: the
    races really met in the database, not only in one replica's memory."""
    total = 0.0
    for r in replicas:
        _, _, body = lib.http_request(r.admin, "GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith("trellis_store_postgres_conflicts_total"):
                total += float(line.rsplit(" ", 1)[1])
    return total


def assert_same_state(a, b):
    want = dump(a.client())
    wait_until_value(lambda: dump(b.client()), lambda got: got == want, 2,
                     "the replicas to show the same state")


def test_writes_through_a_are_visible_through_b_within_one_second(replicas):
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="shared")
    wait_visible(lambda: cb.describe_mesh(meshName="shared"), 1.0, "the mesh")
    ca.create_virtual_node(meshName="shared", virtualNodeName="api",
                           spec=am.node_spec(hostname="api.local"))
    wait_visible(lambda: cb.describe_virtual_node(meshName="shared", virtualNodeName="api"), 1.0,
                 "the virtual node")
    ca.create_virtual_router(meshName="shared", virtualRouterName="r", spec=am.router_spec())
    ca.create_route(meshName="shared", virtualRouterName="r", routeName="rt",
                    spec=am.http_route(("api", 1)))
    route = wait_visible(lambda: cb.describe_route(meshName="shared", virtualRouterName="r",
                                                   routeName="rt"), 1.0, "the route")
    assert route["route"]["metadata"]["version"] == 1
    # An update through B, seen through A with its new version.
    cb.update_virtual_node(meshName="shared", virtualNodeName="api",
                           spec=am.node_spec(hostname="api2.local"))
    wait_until_value(
        lambda: ca.describe_virtual_node(meshName="shared", virtualNodeName="api"),
        lambda d: d["virtualNode"]["metadata"]["version"] == 2, 1.0, "the update through A")
    # A delete through A, gone through B.
    ca.delete_route(meshName="shared", virtualRouterName="r", routeName="rt")
    wait_until_value(lambda: cb.list_routes(meshName="shared", virtualRouterName="r")["routes"],
                     lambda routes: routes == [], 1.0, "the route's deletion through B")
    assert_same_state(a, b)


def test_concurrent_creates_of_one_name_exactly_one_wins(replicas):
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="race")
    wait_visible(lambda: cb.describe_mesh(meshName="race"), 1.0, "the mesh")
    for i in range(ROUNDS):
        name = f"vn-{i}"
        outcomes = race(
            lambda: ca.create_virtual_node(meshName="race", virtualNodeName=name,
                                           spec=am.node_spec(hostname="from-a.local")),
            lambda: cb.create_virtual_node(meshName="race", virtualNodeName=name,
                                           spec=am.node_spec(hostname="from-b.local")))
        won = [o for o in outcomes if o[0] == "ok"]
        lost = [o for o in outcomes if o[0] == "error"]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert error_code(lost[0][1]) == "ConflictException", lost[0][1]
        hostname = won[0][1]["virtualNode"]["spec"]["serviceDiscovery"]["dns"]["hostname"]
        for client in (ca, cb):
            got = wait_visible(lambda: client.describe_virtual_node(meshName="race",
                                                                    virtualNodeName=name),
                               1.0, "the winner")
            assert got["virtualNode"]["spec"]["serviceDiscovery"]["dns"]["hostname"] == hostname
            assert got["virtualNode"]["metadata"]["version"] == 1
    # Meshes too (account-wide names).
    for i in range(5):
        outcomes = race(lambda: ca.create_mesh(meshName=f"mesh-race-{i}"),
                        lambda: cb.create_mesh(meshName=f"mesh-race-{i}"))
        codes = sorted("ok" if o[0] == "ok" else error_code(o[1]) for o in outcomes)
        assert codes == ["ConflictException", "ok"], outcomes
    print(f"conflicts decided in the database: {store_conflicts(a, b):.0f}")
    assert store_conflicts(a, b) > 0
    assert_same_state(a, b)


@pytest.mark.parametrize("replicas", [{"quota_routes_per_virtual_router": 1000}], indirect=True)
def test_delete_racing_a_route_to_it_never_leaves_a_dangling_target(replicas):
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="refs")
    ca.create_virtual_router(meshName="refs", virtualRouterName="r", spec=am.router_spec())
    wait_visible(lambda: cb.describe_virtual_router(meshName="refs", virtualRouterName="r"), 1.0,
                 "the router")
    deleted = created = 0
    for i in range(ROUNDS):
        node = f"target-{i}"
        ca.create_virtual_node(meshName="refs", virtualNodeName=node,
                               spec=am.node_spec(hostname=f"{node}.local"))
        wait_visible(lambda: cb.describe_virtual_node(meshName="refs", virtualNodeName=node),
                     1.0, "the node")
        outcomes = race(
            lambda: ca.delete_virtual_node(meshName="refs", virtualNodeName=node),
            lambda: cb.create_route(meshName="refs", virtualRouterName="r", routeName=f"rt-{i}",
                                    spec=am.http_route((node, 1))))
        delete_ok = outcomes[0][0] == "ok"
        route_ok = outcomes[1][0] == "ok"
        assert delete_ok != route_ok, outcomes
        if delete_ok:
            deleted += 1
            assert error_code(outcomes[1][1]) == "NotFoundException", outcomes[1][1]
        else:
            created += 1
            assert error_code(outcomes[0][1]) == "ResourceInUseException", outcomes[0][1]
    # No route anywhere targets a node that is gone.
    for client in (ca, cb):
        nodes = {n["virtualNodeName"]
                 for n in client.list_virtual_nodes(meshName="refs")["virtualNodes"]}
        for route in client.list_routes(meshName="refs", virtualRouterName="r")["routes"]:
            spec = client.describe_route(meshName="refs", virtualRouterName="r",
                                         routeName=route["routeName"])["route"]["spec"]
            for target in spec["httpRoute"]["action"]["weightedTargets"]:
                assert target["virtualNode"] in nodes, (route, nodes)
    assert deleted + created == ROUNDS
    assert store_conflicts(a, b) > 0
    assert_same_state(a, b)


@pytest.mark.parametrize("replicas", [{"quota_virtual_nodes_per_mesh": 5}], indirect=True)
def test_quotas_hold_across_replicas(replicas):
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="quota")
    wait_visible(lambda: cb.describe_mesh(meshName="quota"), 1.0, "the mesh")
    calls = []
    for i in range(6):
        calls.append(lambda i=i: ca.create_virtual_node(meshName="quota", virtualNodeName=f"a{i}",
                                                        spec=am.node_spec()))
        calls.append(lambda i=i: cb.create_virtual_node(meshName="quota", virtualNodeName=f"b{i}",
                                                        spec=am.node_spec()))
    outcomes = race(*calls)
    ok = [o for o in outcomes if o[0] == "ok"]
    refused = [error_code(o[1]) for o in outcomes if o[0] == "error"]
    assert len(ok) == 5, outcomes
    assert refused == ["LimitExceededException"] * 7, outcomes
    assert store_conflicts(a, b) > 0
    for client in (ca, cb):
        wait_until_value(lambda: client.list_virtual_nodes(meshName="quota")["virtualNodes"],
                         lambda nodes: len(nodes) == 5, 1.0, "five nodes")


def test_concurrent_updates_lose_no_version(replicas):
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="versions")
    ca.create_virtual_node(meshName="versions", virtualNodeName="n",
                           spec=am.node_spec(hostname="v0.local"))
    wait_visible(lambda: cb.describe_virtual_node(meshName="versions", virtualNodeName="n"), 1.0,
                 "the node")
    versions = []
    refused = []
    unexpected = []    # what a thread's assertion said (a thread cannot fail the test itself)
    lock = threading.Lock()

    def updater(client, tag, count):
        for i in range(count):
            try:
                out = client.update_virtual_node(meshName="versions", virtualNodeName="n",
                                                 spec=am.node_spec(hostname=f"{tag}{i}.local"))
            except botocore.exceptions.ClientError as e:
                # Steady contention may outlast the core's retries: a 503
                # that applied nothing (the client would retry it).
                try:
                    assert error_code(e) == "ServiceUnavailableException", e
                    assert "kept conflicting" in str(e), e
                except AssertionError as failure:
                    with lock:
                        unexpected.append(failure)
                    return
                with lock:
                    refused.append(e)
                continue
            with lock:
                versions.append(out["virtualNode"]["metadata"]["version"])

    threads = [threading.Thread(target=updater, args=(c, t, 15), daemon=True) for c, t in ((ca, "a"), (cb, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(lib.scaled(60))
    assert unexpected == [], unexpected
    # Every success got its own version; none was lost or given twice.
    assert len(versions) + len(refused) == 30
    assert len(refused) <= 3, refused
    last = 1 + len(versions)
    assert sorted(versions) == list(range(2, last + 1)), sorted(versions)
    for client in (ca, cb):
        wait_until_value(
            lambda: client.describe_virtual_node(meshName="versions", virtualNodeName="n"),
            lambda d: d["virtualNode"]["metadata"]["version"] == last, 1.0, f"version {last}")
    assert_same_state(a, b)


def test_client_token_repeated_on_the_other_replica(replicas):
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="tokens")
    first = ca.create_virtual_node(meshName="tokens", virtualNodeName="n", clientToken="tok-1",
                                   spec=am.node_spec(hostname="n.local"))
    wait_visible(lambda: cb.describe_virtual_node(meshName="tokens", virtualNodeName="n"), 1.0,
                 "the node")
    again = cb.create_virtual_node(meshName="tokens", virtualNodeName="n", clientToken="tok-1",
                                   spec=am.node_spec(hostname="n.local"))
    assert again["virtualNode"]["metadata"]["uid"] == first["virtualNode"]["metadata"]["uid"]
    assert again["virtualNode"]["metadata"]["version"] == 1
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        cb.create_virtual_node(meshName="tokens", virtualNodeName="n", clientToken="tok-2",
                               spec=am.node_spec(hostname="n.local"))
    assert error_code(refused.value) == "ConflictException"


def test_proxy_on_b_receives_a_route_change_made_through_a(replicas):
    assert XDS_PROBE.exists(), f"{XDS_PROBE} is not built (plugins/api-xds/tests)"
    a, b = replicas
    ca, cb = a.client(), b.client()
    ca.create_mesh(meshName="m")
    for node, host in (("api", "api.local"), ("api2", "api2.local")):
        ca.create_virtual_node(meshName="m", virtualNodeName=node, spec=am.node_spec(hostname=host))
    ca.create_virtual_node(meshName="m", virtualNodeName="web",
                           spec=am.node_spec(hostname="web.local", backends=["api.local"]))
    ca.create_virtual_router(meshName="m", virtualRouterName="r", spec=am.router_spec())
    ca.create_route(meshName="m", virtualRouterName="r", routeName="rt",
                    spec=am.http_route(("api", 1)))
    ca.create_virtual_service(meshName="m", virtualServiceName="api.local",
                              spec={"provider": {"virtualRouter": {"virtualRouterName": "r"}}})
    wait_visible(lambda: cb.describe_virtual_service(meshName="m", virtualServiceName="api.local"),
                 1.0, "the virtual service")
    probe = XdsProbe(b, "mesh/m/virtualNode/web")
    try:
        first = probe.wait_for(lambda e: e.get("type") == "RouteConfiguration", 10,
                               "the first RouteConfiguration")
        ca.update_route(meshName="m", virtualRouterName="r", routeName="rt",
                        spec=am.http_route(("api", 3), ("api2", 1)))
        update = probe.wait_for(lambda e: e.get("type") == "RouteConfiguration"
                                and e["version"] != first["version"], 2,
                                "the RouteConfiguration changed through A")
        assert "rds_egress_http_8080" in update["resources"]
    finally:
        probe.close()


def test_shipped_postgres_configuration(trellis, tmp_path, pg, monkeypatch):  # noqa: F811
    """config/trellis-postgres.json is valid as shipped, and serves with the
    server taken from the PG* environment (only its listen addresses moved
    to free ports)."""
    shipped = lib.SOURCE_DIR / "config" / "trellis-postgres.json"
    checked = lib.run_trellis(["check-config", "-c", shipped])
    assert checked.returncode == 0, checked.stderr
    document = json.loads(shipped.read_text())
    store = next(p for p in document["plugins"] if p["plugin"] == "store.postgres")
    assert store["config"]["conninfo"] == "", "the shipped example takes the PG* environment"
    addresses = {}
    for p in document["plugins"]:
        if "listen" in p.get("config", {}):
            addresses[p["name"]] = p["config"]["listen"] = lib.loopback_address()
    store["config"]["schema"] = schema_for_name("shipped")
    config = tmp_path / "trellis.json"
    document["plugin_path"] = [str(lib.BUNDLED_PLUGIN_DIR)]
    config.write_text(json.dumps(document))
    for key, value in pg.env().items():
        monkeypatch.setenv(key, value)
    server = trellis.serve(config, addresses["admin"])
    lib.wait_until(lambda: lib.http_request(addresses["admin"], "GET", "/readyz")[0] == 200, 20,
                   "/readyz 200")
    client = am.appmesh_client(f"http://{addresses['appmesh']}")
    client.create_mesh(meshName="from-the-shipped-config")
    assert pg.psql(f"SELECT count(*) FROM {store['config']['schema']}.records "
                   "WHERE key = 'mesh/from-the-shipped-config'").strip() == "1"
    server.stop()
