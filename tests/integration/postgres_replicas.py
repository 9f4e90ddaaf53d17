"""Several trellis replicas sharing one PostgreSQL database (store.postgres),
for the multi-replica and fault suites and the benchmark.

    pg = pg_cluster.PostgresCluster().start(); pg.create_database()
    a = Replica(factory, tmp_path / "a", pg, schema="s1").start()
    b = Replica(factory, tmp_path / "b", pg, schema="s1", xds=True).start()
    a.client().create_mesh(meshName="m")
    wait_visible(lambda: b.client().describe_mesh(meshName="m"), 1.0)

A Replica is an appmesh_testlib.AppMeshServer (api.appmesh + api.admin)
whose store is store.postgres on `schema`, optionally with api.xds.
"""
import json
import os
import select
import subprocess
import time

import botocore.exceptions

import appmesh_testlib as am
import pg_cluster
import trellis_testlib as lib

XDS_PROBE = lib.BUILD_DIR / "bin" / "xds_probe"


def postgres_store(pg, schema, **config):
    """The store instance entry: store.postgres on `schema` of `pg`."""
    return lib.instance("store.postgres", "store", conninfo=pg.conninfo(), schema=schema, **config)


class Replica(am.AppMeshServer):
    """trellis serve with store.postgres, api.appmesh, api.admin (and api.xds)."""

    def __init__(self, factory, workdir, pg, schema, store_config=None, xds=False, **settings):
        super().__init__(factory, workdir, **settings)
        self.pg = pg
        self.schema = schema
        self.xds = lib.loopback_address() if xds else None
        document = json.loads(self.config_path.read_text())
        plugins = [p for p in document["plugins"] if p["name"] != "store"]
        plugins.insert(0, postgres_store(pg, schema, **(store_config or {})))
        if xds:
            plugins.append(lib.instance("api.xds", "xds", listen=self.xds))
        document["plugins"] = plugins
        self.config_path.write_text(json.dumps(document, indent=2) + "\n")

    def readyz(self):
        """(status, body) of GET /readyz; (None, None) when nothing answers."""
        try:
            status, _, body = lib.http_request(self.admin, "GET", "/readyz", timeout=2)
        except OSError:
            return None, None
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def store_detail(self):
        """The store instance's readiness detail from /readyz ("" when ready)."""
        _, body = self.readyz()
        if not isinstance(body, dict):
            return None
        for instance in body.get("instances", []):
            if instance.get("instance") == "store":
                return instance.get("detail", "")
        return None


def error_code(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response["Error"]["Code"]
    return type(exc).__name__


def wait_visible(call, timeout, what="the change"):
    """Polls call() until it stops raising NotFoundException; returns its result."""
    deadline = time.monotonic() + lib.scaled(timeout)
    while True:
        try:
            return call()
        except botocore.exceptions.ClientError as e:
            if error_code(e) != "NotFoundException" or time.monotonic() >= deadline:
                raise AssertionError(f"{what} not visible within {lib.scaled(timeout):.2f}s: "
                                     f"{e}") from None
        time.sleep(0.005)


def wait_until_value(call, predicate, timeout, what):
    deadline = time.monotonic() + lib.scaled(timeout)
    last = None
    while time.monotonic() < deadline:
        try:
            last = call()
            if predicate(last):
                return last
        except botocore.exceptions.ClientError as e:
            last = e
        time.sleep(0.005)
    raise AssertionError(f"{what} within {lib.scaled(timeout):.2f}s; last: {last}")


def dump(client):
    """Every mesh, virtual node, router and route with its version and spec:
    what two converged replicas must show identically."""
    state = {}
    for mesh in client.list_meshes()["meshes"]:
        name = mesh["meshName"]
        entry = {"version": client.describe_mesh(meshName=name)["mesh"]["metadata"]["version"]}
        for node in client.list_virtual_nodes(meshName=name)["virtualNodes"]:
            d = client.describe_virtual_node(meshName=name,
                                             virtualNodeName=node["virtualNodeName"])
            entry[f"vn/{node['virtualNodeName']}"] = (d["virtualNode"]["metadata"]["version"],
                                                      d["virtualNode"]["spec"])
        for router in client.list_virtual_routers(meshName=name)["virtualRouters"]:
            rname = router["virtualRouterName"]
            entry[f"vr/{rname}"] = router["version"]
            for route in client.list_routes(meshName=name, virtualRouterName=rname)["routes"]:
                d = client.describe_route(meshName=name, virtualRouterName=rname,
                                          routeName=route["routeName"])
                entry[f"rt/{rname}/{route['routeName']}"] = (d["route"]["metadata"]["version"],
                                                             d["route"]["spec"])
        state[name] = entry
    return state


def start_cluster():
    """A started throwaway PostgreSQL with the database "trellis"."""
    pg = pg_cluster.PostgresCluster(base_dir=os.environ.get("TMPDIR"))
    pg.start()
    pg.create_database()
    return pg


class XdsProbe:
    """xds_probe (plugins/api-xds/tests) connected to a replica's api.xds,
    subscribing like Envoy; its JSON events as they arrive."""

    def __init__(self, replica, node, max_ms=120000):
        self.process = subprocess.Popen(
            [str(XDS_PROBE), "--server", replica.xds, "--node", node, "--max-ms", str(max_ms),
             "--quiet-ms", str(max_ms)],
            stdout=subprocess.PIPE, env=lib.process_env())
        self.fd = self.process.stdout.fileno()
        self.pending = b""
        self.events = []

    def next_event(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise AssertionError(f"xds_probe ended: {self.events}")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        event = json.loads(line)
        self.events.append(event)
        return event

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + lib.scaled(timeout)
        while True:
            left = deadline - time.monotonic()
            event = self.next_event(max(0.0, left)) if left > 0 else None
            if event is not None and predicate(event):
                return event
            if event is None:
                raise AssertionError(f"xds_probe never showed {what} within "
                                     f"{lib.scaled(timeout):.1f}s: {self.events[-5:]}")

    def close(self):
        self.process.kill()
        self.process.wait()
