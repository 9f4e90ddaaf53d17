"""Durability of the App Mesh API over its store.

Restart test: a clean stop and start keeps every resource, version, uid,
timestamp, tag, list order, pagination token and client token unchanged.

Crash test: concurrent boto3 writers create, update, tag and delete while
the test kill -9s the server at random moments, several rounds, restarting
each time. Every acknowledged write (a 200) must be there after the restart;
a write that was in flight is either wholly applied or not at all (a create
is present with all its tags or absent; a route update shows the old spec
and version or the new ones, never a mix).
"""
import random
import threading
import time

import botocore.exceptions
import pytest

import appmesh_testlib as am
from appmesh_testlib import uniq


def dump(client):
    """Everything the API shows: every mesh and resource (Describe), every
    list (and its order), every resource's tags."""
    state = {}

    def tags(arn):
        return client.list_tags_for_resource(resourceArn=arn)["tags"]

    meshes = client.list_meshes()["meshes"]
    state["meshes"] = meshes
    for m in meshes:
        name = m["meshName"]
        entry = {"mesh": client.describe_mesh(meshName=name)["mesh"],
                 "tags": tags(m["arn"])}
        for kind, snake, member, key in [
                ("virtualNodes", "virtual_node", "virtualNode", "virtualNodeName"),
                ("virtualServices", "virtual_service", "virtualService", "virtualServiceName"),
                ("virtualRouters", "virtual_router", "virtualRouter", "virtualRouterName"),
                ("virtualGateways", "virtual_gateway", "virtualGateway", "virtualGatewayName")]:
            items = getattr(client, f"list_{snake}s")(meshName=name)[kind]
            entry[kind] = items
            for item in items:
                described = getattr(client, f"describe_{snake}")(
                    meshName=name, **{key: item[key]})[member]
                entry[f"{member}/{item[key]}"] = {"data": described, "tags": tags(item["arn"])}
                if member == "virtualRouter":
                    routes = client.list_routes(meshName=name,
                                                virtualRouterName=item[key])["routes"]
                    entry[f"routes/{item[key]}"] = routes
                    for r in routes:
                        entry[f"route/{item[key]}/{r['routeName']}"] = {
                            "data": client.describe_route(meshName=name,
                                                          virtualRouterName=item[key],
                                                          routeName=r["routeName"])["route"],
                            "tags": tags(r["arn"])}
                if member == "virtualGateway":
                    routes = client.list_gateway_routes(meshName=name,
                                                        virtualGatewayName=item[key])[
                        "gatewayRoutes"]
                    entry[f"gatewayRoutes/{item[key]}"] = routes
                    for r in routes:
                        entry[f"gatewayRoute/{item[key]}/{r['gatewayRouteName']}"] = {
                            "data": client.describe_gateway_route(
                                meshName=name, virtualGatewayName=item[key],
                                gatewayRouteName=r["gatewayRouteName"])["gatewayRoute"],
                            "tags": tags(r["arn"])}
        state[name] = entry
    return state


def build_state(client):
    """A bit of everything, with updates, tag changes and deletions."""
    for i in range(3):
        b = am.MeshBuilder(client, mesh=f"durable-{i}")
        client.tag_resource(resourceArn=am.arn(b.mesh), tags=[{"key": "i", "value": str(i)}])
        nodes = [b.node(f"node-{j}", port=8000 + j) for j in range(4)]
        client.create_virtual_node(meshName=b.mesh, virtualNodeName="tagged",
                                   spec=am.node_spec(), tags=[{"key": "a", "value": "1"},
                                                              {"key": "b", "value": "2"}])
        router = b.router("router")
        b.route(router, am.http_route((nodes[0], 50), (nodes[1], 50)), "route")
        client.update_route(meshName=b.mesh, virtualRouterName=router, routeName="route",
                            spec=am.http_route((nodes[0], 75), (nodes[1], 25)))
        client.update_route(meshName=b.mesh, virtualRouterName=router, routeName="route",
                            spec=am.http_route((nodes[0], 90), (nodes[1], 10)))
        service = b.service("svc.local", router=router)
        gateway = b.gateway("gateway")
        b.gateway_route(gateway, am.gateway_http_route(service), "gw-route")
        client.update_virtual_node(meshName=b.mesh, virtualNodeName=nodes[2],
                                   spec=am.node_spec(9999))
        client.delete_virtual_node(meshName=b.mesh, virtualNodeName=nodes[3])
        client.untag_resource(resourceArn=am.arn(b.mesh, "virtualNode", "tagged"),
                              tagKeys=["a"])
    client.create_mesh(meshName="deleted-mesh")
    client.delete_mesh(meshName="deleted-mesh")


def test_restart_keeps_everything(trellis, tmp_path):
    server = am.AppMeshServer(trellis, tmp_path).start()
    client = server.client()
    build_state(client)
    token = am.new_uuid()
    created = client.create_virtual_node(meshName="durable-0", virtualNodeName="with-token",
                                         spec=am.node_spec(), clientToken=token)["virtualNode"]
    page = client.list_virtual_nodes(meshName="durable-1", limit=2)
    before = dump(client)
    assert before["durable-0"]["route/router/route"]["data"]["metadata"]["version"] == 3
    server.stop()

    server.start()
    client = server.client()
    after = dump(client)
    assert after == before
    # A pagination token issued before the restart still works.
    rest = client.list_virtual_nodes(meshName="durable-1", limit=2, nextToken=page["nextToken"])
    assert [n["virtualNodeName"] for n in page["virtualNodes"] + rest["virtualNodes"]] == [
        n["virtualNodeName"] for n in before["durable-1"]["virtualNodes"]][:4]
    # A retried create with its token is still recognised.
    again = client.create_virtual_node(meshName="durable-0", virtualNodeName="with-token",
                                       spec=am.node_spec(), clientToken=token)["virtualNode"]
    assert again == created
    # Versions continue from what was stored.
    updated = client.update_route(meshName="durable-0", virtualRouterName="router",
                                  routeName="route",
                                  spec=am.http_route(("node-0", 1)))["route"]
    assert updated["metadata"]["version"] == 4
    assert updated["metadata"]["uid"] == before["durable-0"]["route/router/route"]["data"][
        "metadata"]["uid"]
    # And a restart after more writes again changes nothing.
    before2 = dump(client)
    server.stop()
    server.start()
    assert dump(server.client()) == before2
    server.stop()


# ---------------------------------------------------------------------------
# Crash test
# ---------------------------------------------------------------------------

CONNECTION_ERRORS = (botocore.exceptions.EndpointConnectionError,
                     botocore.exceptions.ConnectionClosedError,
                     botocore.exceptions.ReadTimeoutError,
                     botocore.exceptions.ConnectTimeoutError,
                     botocore.exceptions.HTTPClientError)


class Writer(threading.Thread):
    """Writes to its own mesh until a request fails for lack of a server.

    Model of what is acknowledged:
      nodes[name] = (port, version, tags)      virtual nodes
      route = (spec, version)                  the one route
    `pending` is the write in flight when the server died (outcome unknown).
    """

    def __init__(self, endpoint, mesh, seed):
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.mesh = mesh
        self.rng = random.Random(seed)
        self.nodes = {}
        self.route = None
        self.pending = None
        self.acked = 0
        self.failure = None
        self.stop_flag = threading.Event()
        self.counter = 0

    # -- setup (before the crash rounds) --

    def setup(self, client):
        client.create_mesh(meshName=self.mesh)
        client.create_virtual_node(meshName=self.mesh, virtualNodeName="anchor",
                                   spec=am.node_spec(80))
        client.create_virtual_node(meshName=self.mesh, virtualNodeName="anchor2",
                                   spec=am.node_spec(81))
        client.create_virtual_router(meshName=self.mesh, virtualRouterName="router",
                                     spec=am.router_spec())
        spec = self.route_spec(0)
        client.create_route(meshName=self.mesh, virtualRouterName="router", routeName="route",
                            spec=spec)
        self.route = (spec, 1)

    @staticmethod
    def route_spec(n):
        # Several members change together: a torn write would mix them.
        return am.http_route(("anchor", n % 100 + 1), ("anchor2", 100 - n % 100),
                             prefix=f"/v{n}",
                             retryPolicy={"httpRetryEvents": ["server-error"],
                                          "maxRetries": n % 7,
                                          "perRetryTimeout": {"unit": "ms", "value": n + 1}})

    # -- the run --

    def run(self):
        client = am.appmesh_client(self.endpoint, timeout=30)
        try:
            while not self.stop_flag.is_set():
                self.step(client)
        except CONNECTION_ERRORS:
            return  # the server died; `pending` stays as it was sent
        except Exception as e:  # noqa: BLE001 (reported by the test)
            self.failure = e

    def step(self, client):
        self.counter += 1
        n = self.counter
        choice = self.rng.random()
        names = sorted(self.nodes)
        if len(names) > 60 and choice < 0.35:
            choice = 0.7  # keep the meshes small: delete instead of create
        if choice < 0.35 or not names:
            name = f"n{n}"
            tags = [{"key": "owner", "value": self.mesh}, {"key": "n", "value": str(n)},
                    {"key": "batch", "value": "x" * (n % 50)}]
            self.pending = ("create", name, None, (1000 + n, 1, tags))
            client.create_virtual_node(meshName=self.mesh, virtualNodeName=name,
                                       spec=am.node_spec(1000 + n), tags=tags)
            self.nodes[name] = (1000 + n, 1, tags)
        elif choice < 0.55:
            name = self.rng.choice(names)
            port, version, tags = self.nodes[name]
            self.pending = ("update", name, (port, version, tags), (2000 + n, version + 1, tags))
            client.update_virtual_node(meshName=self.mesh, virtualNodeName=name,
                                       spec=am.node_spec(2000 + n))
            self.nodes[name] = (2000 + n, version + 1, tags)
        elif choice < 0.65:
            name = self.rng.choice(names)
            port, version, tags = self.nodes[name]
            new_tags = tags + [{"key": f"t{n}", "value": "v"}] if len(tags) < 40 else tags
            self.pending = ("tag", name, (port, version, tags), (port, version, new_tags))
            client.tag_resource(resourceArn=am.arn(self.mesh, "virtualNode", name),
                                tags=new_tags[len(tags):] or [{"key": "owner",
                                                               "value": self.mesh}])
            self.nodes[name] = (port, version, new_tags)
        elif choice < 0.75:
            name = self.rng.choice(names)
            self.pending = ("delete", name, self.nodes[name], None)
            client.delete_virtual_node(meshName=self.mesh, virtualNodeName=name)
            del self.nodes[name]
        else:
            spec, version = self.route
            new = (self.route_spec(n), version + 1)
            self.pending = ("route", "route", self.route, new)
            client.update_route(meshName=self.mesh, virtualRouterName="router",
                                routeName="route", spec=new[0])
            self.route = new
        self.pending = None
        self.acked += 1

    # -- after the restart --

    def observed_node(self, client, name):
        try:
            data = client.describe_virtual_node(meshName=self.mesh,
                                                virtualNodeName=name)["virtualNode"]
        except client.exceptions.NotFoundException:
            return None
        assert data["status"] == {"status": "ACTIVE"}
        port = data["spec"]["listeners"][0]["portMapping"]["port"]
        assert data["spec"] == am.node_spec(port), data
        tags = client.list_tags_for_resource(resourceArn=data["metadata"]["arn"])["tags"]
        return (port, data["metadata"]["version"], tags)

    def verify(self, client):
        """Checks the acknowledged state, resolves the pending write, and
        adopts what is there as the new model."""
        listed = {n["virtualNodeName"]: n for n in
                  client.list_virtual_nodes(meshName=self.mesh)["virtualNodes"]}
        expected_names = set(self.nodes) | {"anchor", "anchor2"}
        pending = self.pending
        if pending is not None and pending[0] == "create":
            expected_names.discard(pending[1])
        if pending is not None and pending[0] == "delete":
            expected_names.add(pending[1])
        extra = set(listed) - expected_names
        if pending is not None and pending[0] == "create":
            extra.discard(pending[1])
        assert not extra, f"{self.mesh}: unexpected nodes {extra} (pending {pending})"
        for name, state in self.nodes.items():
            if pending is not None and pending[1] == name:
                continue
            observed = self.observed_node(client, name)
            assert observed == state, f"{self.mesh}/{name}: acknowledged {state}, found {observed}"
        if pending is not None and pending[0] != "route":
            _, name, old, new = pending
            observed = self.observed_node(client, name)
            assert observed in (old, new), \
                f"{self.mesh}/{name}: {pending[0]} in flight: found {observed}, " \
                f"expected {old} or {new}"
            if observed is None:
                self.nodes.pop(name, None)
            else:
                self.nodes[name] = observed
        route = client.describe_route(meshName=self.mesh, virtualRouterName="router",
                                      routeName="route")["route"]
        observed_route = (route["spec"], route["metadata"]["version"])
        if pending is not None and pending[0] == "route":
            assert observed_route in (pending[2], pending[3]), \
                f"{self.mesh}: route update in flight: found {observed_route}, expected " \
                f"{pending[2]} or {pending[3]}"
        else:
            assert observed_route == self.route, \
                f"{self.mesh}: acknowledged route {self.route}, found {observed_route}"
        self.route = observed_route
        self.pending = None


def test_kill9_loses_no_acknowledged_write(trellis, tmp_path):
    rng = random.Random(int(time.time()))
    seed = rng.randrange(1 << 30)
    print(f"crash test seed {seed}")
    rng = random.Random(seed)
    server = am.AppMeshServer(trellis, tmp_path).start()
    client = server.client()
    meshes = [f"crash-{i}" for i in range(4)]
    writers = [Writer(server.endpoint, mesh, seed + i) for i, mesh in enumerate(meshes)]
    for w in writers:
        w.setup(client)
    rounds = 8
    total_acked = 0
    total_in_flight = 0
    deadline = time.monotonic() + am.lib.scaled(90)
    for round_number in range(rounds):
        threads = [Writer(server.endpoint, w.mesh, seed * 31 + round_number * 7 + i)
                   for i, w in enumerate(writers)]
        for fresh, old in zip(threads, writers):
            fresh.nodes, fresh.route, fresh.counter = old.nodes, old.route, old.counter
        writers = threads
        for w in writers:
            w.start()
        # Let them write for a random while, then kill -9 mid-flight.
        time.sleep(rng.uniform(0.2, 1.2))
        server.kill9()
        for w in writers:
            w.join(timeout=am.lib.scaled(30))
            assert not w.is_alive(), f"{w.mesh}: writer still running after the kill"
            assert w.failure is None, f"{w.mesh}: {w.failure!r}"
            total_acked += w.acked
        in_flight = sum(w.pending is not None for w in writers)
        total_in_flight += in_flight
        print(f"round {round_number}: {sum(w.acked for w in writers)} acknowledged, "
              f"{in_flight} in flight at the kill")
        server.start()
        client = server.client()
        for w in writers:
            w.verify(client)
        assert time.monotonic() < deadline, "the crash test ran over its time budget"
    assert total_acked >= 4 * rounds, f"only {total_acked} writes acknowledged in {rounds} rounds"
    # The kills must have hit writes in flight, or the test proves little.
    assert total_in_flight >= rounds, f"only {total_in_flight} writes were in flight at kills"
    # The survivors are also consistent with a clean restart.
    before = dump(client)
    server.stop()
    server.start()
    assert dump(server.client()) == before
    server.stop()
