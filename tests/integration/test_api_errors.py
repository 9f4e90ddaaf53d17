"""Error paths of the App Mesh API through boto3: NotFoundException,
ConflictException, ResourceInUseException (every deletion rule),
LimitExceededException (every quota, set low in the test configuration),
and BadRequestException in AWS's validation wording.

Each error is checked for its HTTP status, its code (botocore raises the
modelled exception class) and the key fragment of its message; after each
refused write the state is checked to be unchanged.
"""
import pytest

import appmesh_testlib as am
from appmesh_testlib import expect_error, uniq

QUOTAS = {
    "quota_virtual_nodes_per_mesh": 2,
    "quota_virtual_services_per_mesh": 2,
    "quota_virtual_routers_per_mesh": 2,
    "quota_routes_per_virtual_router": 2,
    "quota_virtual_gateways_per_mesh": 1,
    "quota_gateway_routes_per_virtual_gateway": 2,
    "quota_backends_per_virtual_node": 2,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from am.module_server(tmp_path_factory, "errors", quota_meshes=10000)


@pytest.fixture(scope="module")
def client(server):
    return server.client()


@pytest.fixture(scope="module")
def unchecked(server):
    """A client that sends what it is given (no client-side validation)."""
    return server.client(parameter_validation=False)


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory):
    yield from am.module_server(tmp_path_factory, "quotas", quota_meshes=10000, **QUOTAS)


# ---------------------------------------------------------------------------
# NotFoundException
# ---------------------------------------------------------------------------

def test_missing_mesh(client):
    mesh = uniq("nomesh")
    fragment = f"mesh '{mesh}' not found"
    calls = [
        lambda: client.describe_mesh(meshName=mesh),
        lambda: client.update_mesh(meshName=mesh, spec={}),
        lambda: client.delete_mesh(meshName=mesh),
        lambda: client.list_virtual_nodes(meshName=mesh),
        lambda: client.list_virtual_services(meshName=mesh),
        lambda: client.list_virtual_routers(meshName=mesh),
        lambda: client.list_virtual_gateways(meshName=mesh),
        lambda: client.list_routes(meshName=mesh, virtualRouterName="r"),
        lambda: client.list_gateway_routes(meshName=mesh, virtualGatewayName="g"),
        lambda: client.describe_virtual_node(meshName=mesh, virtualNodeName="n"),
        lambda: client.create_virtual_node(meshName=mesh, virtualNodeName="n",
                                           spec=am.node_spec()),
        lambda: client.create_virtual_service(meshName=mesh, virtualServiceName="s", spec={}),
        lambda: client.create_virtual_router(meshName=mesh, virtualRouterName="r",
                                             spec=am.router_spec()),
        lambda: client.create_virtual_gateway(meshName=mesh, virtualGatewayName="g",
                                              spec=am.gateway_spec()),
        lambda: client.update_virtual_node(meshName=mesh, virtualNodeName="n",
                                           spec=am.node_spec()),
    ]
    for call in calls:
        with expect_error(client, "NotFoundException", 404, fragment):
            call()


def test_missing_resource(client):
    b = am.MeshBuilder(client)
    m = b.mesh
    cases = [
        (lambda: client.describe_virtual_node(meshName=m, virtualNodeName="x"),
         f"virtual node 'x' not found in mesh '{m}'"),
        (lambda: client.update_virtual_node(meshName=m, virtualNodeName="x",
                                            spec=am.node_spec()),
         f"virtual node 'x' not found in mesh '{m}'"),
        (lambda: client.delete_virtual_node(meshName=m, virtualNodeName="x"),
         f"virtual node 'x' not found in mesh '{m}'"),
        (lambda: client.describe_virtual_service(meshName=m, virtualServiceName="x"),
         f"virtual service 'x' not found in mesh '{m}'"),
        (lambda: client.delete_virtual_router(meshName=m, virtualRouterName="x"),
         f"virtual router 'x' not found in mesh '{m}'"),
        (lambda: client.describe_virtual_gateway(meshName=m, virtualGatewayName="x"),
         f"virtual gateway 'x' not found in mesh '{m}'"),
    ]
    for call, fragment in cases:
        with expect_error(client, "NotFoundException", 404, fragment):
            call()


def test_missing_parent(client):
    b = am.MeshBuilder(client)
    node = b.node()
    m = b.mesh
    service = b.service(node=node)
    cases = [
        lambda: client.create_route(meshName=m, virtualRouterName="nr", routeName="r",
                                    spec=am.http_route((node, 1))),
        lambda: client.describe_route(meshName=m, virtualRouterName="nr", routeName="r"),
        lambda: client.list_routes(meshName=m, virtualRouterName="nr"),
        lambda: client.delete_route(meshName=m, virtualRouterName="nr", routeName="r"),
    ]
    for call in cases:
        with expect_error(client, "NotFoundException", 404,
                          f"virtual router 'nr' not found in mesh '{m}'"):
            call()
    cases = [
        lambda: client.create_gateway_route(meshName=m, virtualGatewayName="ng",
                                            gatewayRouteName="g",
                                            spec=am.gateway_http_route(service)),
        lambda: client.describe_gateway_route(meshName=m, virtualGatewayName="ng",
                                              gatewayRouteName="g"),
        lambda: client.list_gateway_routes(meshName=m, virtualGatewayName="ng"),
        lambda: client.update_gateway_route(meshName=m, virtualGatewayName="ng",
                                            gatewayRouteName="g",
                                            spec=am.gateway_http_route(service)),
    ]
    for call in cases:
        with expect_error(client, "NotFoundException", 404,
                          f"virtual gateway 'ng' not found in mesh '{m}'"):
            call()
    router = b.router()
    with expect_error(client, "NotFoundException", 404,
                      f"route 'x' not found in virtual router '{router}' of mesh '{m}'"):
        client.describe_route(meshName=m, virtualRouterName=router, routeName="x")


def test_references_to_missing_resources(client):
    b = am.MeshBuilder(client)
    m = b.mesh
    node = b.node()
    router = b.router()
    gateway = b.gateway()
    with expect_error(client, "NotFoundException", 404,
                      f"virtual node 'ghost' does not exist in mesh '{m}'"):
        client.create_virtual_service(meshName=m, virtualServiceName="s1",
                                      spec={"provider": {"virtualNode": {
                                          "virtualNodeName": "ghost"}}})
    with expect_error(client, "NotFoundException", 404,
                      f"virtual router 'ghost' does not exist in mesh '{m}'"):
        client.create_virtual_service(meshName=m, virtualServiceName="s1",
                                      spec={"provider": {"virtualRouter": {
                                          "virtualRouterName": "ghost"}}})
    with expect_error(client, "NotFoundException", 404, "virtual node 'ghost' does not exist"):
        client.create_route(meshName=m, virtualRouterName=router, routeName="r",
                            spec=am.http_route((node, 50), ("ghost", 50)))
    with expect_error(client, "NotFoundException", 404,
                      "virtual service 'ghost.local' does not exist"):
        client.create_gateway_route(meshName=m, virtualGatewayName=gateway,
                                    gatewayRouteName="g",
                                    spec=am.gateway_http_route("ghost.local"))
    # Updates are checked the same way.
    service = b.service(node=node)
    with expect_error(client, "NotFoundException", 404, "virtual node 'ghost'"):
        client.update_virtual_service(meshName=m, virtualServiceName=service,
                                      spec={"provider": {"virtualNode": {
                                          "virtualNodeName": "ghost"}}})
    route = b.route(router, am.http_route((node, 1)))
    with expect_error(client, "NotFoundException", 404, "virtual node 'ghost'"):
        client.update_route(meshName=m, virtualRouterName=router, routeName=route,
                            spec=am.http_route(("ghost", 1)))
    # A resource of the same name in another mesh does not count.
    other = am.MeshBuilder(client)
    other_node = other.node()
    with expect_error(client, "NotFoundException", 404, f"virtual node '{other_node}'"):
        client.create_virtual_service(meshName=m, virtualServiceName="s2",
                                      spec={"provider": {"virtualNode": {
                                          "virtualNodeName": other_node}}})
    assert [s["virtualServiceName"] for s in
            client.list_virtual_services(meshName=m)["virtualServices"]] == [service]
    assert len(client.list_routes(meshName=m, virtualRouterName=router)["routes"]) == 1
    assert client.list_gateway_routes(meshName=m, virtualGatewayName=gateway)[
        "gatewayRoutes"] == []


# ---------------------------------------------------------------------------
# ConflictException
# ---------------------------------------------------------------------------

def test_create_of_an_existing_name(client):
    b = am.MeshBuilder(client)
    m = b.mesh
    node = b.node()
    router = b.router()
    route = b.route(router, am.http_route((node, 1)))
    service = b.service(node=node)
    gateway = b.gateway()
    groute = b.gateway_route(gateway, am.gateway_http_route(service))
    cases = [
        (lambda: client.create_mesh(meshName=m), f"a mesh named '{m}' already exists"),
        (lambda: client.create_virtual_node(meshName=m, virtualNodeName=node,
                                            spec=am.node_spec(9999)),
         f"a virtual node named '{node}' already exists in mesh '{m}'"),
        (lambda: client.create_virtual_router(meshName=m, virtualRouterName=router,
                                              spec=am.router_spec()), "already exists"),
        (lambda: client.create_route(meshName=m, virtualRouterName=router, routeName=route,
                                     spec=am.http_route((node, 1))), "already exists"),
        (lambda: client.create_virtual_service(meshName=m, virtualServiceName=service,
                                               spec={}), "already exists"),
        (lambda: client.create_virtual_gateway(meshName=m, virtualGatewayName=gateway,
                                               spec=am.gateway_spec()), "already exists"),
        (lambda: client.create_gateway_route(meshName=m, virtualGatewayName=gateway,
                                             gatewayRouteName=groute,
                                             spec=am.gateway_http_route(service)),
         "already exists"),
    ]
    for call, fragment in cases:
        with expect_error(client, "ConflictException", 409, fragment):
            call()
    # The originals are untouched.
    assert client.describe_virtual_node(meshName=m, virtualNodeName=node)["virtualNode"][
        "spec"] == am.node_spec()
    assert client.describe_mesh(meshName=m)["mesh"]["metadata"]["version"] == 1


def test_names_are_case_sensitive(client):
    b = am.MeshBuilder(client)
    b.node("Node")
    b.node("node")
    assert [n["virtualNodeName"] for n in
            client.list_virtual_nodes(meshName=b.mesh)["virtualNodes"]] == ["Node", "node"]


# ---------------------------------------------------------------------------
# ResourceInUseException: every deletion rule
# ---------------------------------------------------------------------------

def in_use(client, fragment):
    return expect_error(client, "ResourceInUseException", 409, fragment)


def test_mesh_with_resources_cannot_be_deleted(client):
    for make, what in [
        (lambda b: b.node("n"), "virtual node 'n'"),
        (lambda b: b.service("s.local"), "virtual service 's.local'"),
        (lambda b: b.router("r"), "virtual router 'r'"),
        (lambda b: b.gateway("g"), "virtual gateway 'g'"),
    ]:
        b = am.MeshBuilder(client)
        make(b)
        with in_use(client, f"mesh '{b.mesh}' still contains {what}"):
            client.delete_mesh(meshName=b.mesh)
        assert client.describe_mesh(meshName=b.mesh)["mesh"]["status"]["status"] == "ACTIVE"


def test_virtual_node_in_use(client):
    b = am.MeshBuilder(client)
    node = b.node("n")
    router = b.router("r")
    route = b.route(router, am.http_route((node, 1)), "rt")
    with in_use(client, "virtual node 'n' is in use by route 'rt' of virtual router 'r'"):
        client.delete_virtual_node(meshName=b.mesh, virtualNodeName=node)
    client.delete_route(meshName=b.mesh, virtualRouterName=router, routeName=route)
    service = b.service("s.local", node=node)
    with in_use(client, "virtual node 'n' is in use by virtual service 's.local'"):
        client.delete_virtual_node(meshName=b.mesh, virtualNodeName=node)
    # Changing the provider frees the node.
    client.update_virtual_service(meshName=b.mesh, virtualServiceName=service, spec={})
    client.delete_virtual_node(meshName=b.mesh, virtualNodeName=node)


def test_virtual_node_as_a_zero_weight_target_is_in_use(client):
    b = am.MeshBuilder(client)
    n1, n2 = b.node("n1"), b.node("n2")
    router = b.router("r")
    b.route(router, am.http_route((n1, 100), (n2, 0)), "rt")
    with in_use(client, "virtual node 'n2' is in use by route 'rt'"):
        client.delete_virtual_node(meshName=b.mesh, virtualNodeName=n2)


def test_virtual_router_in_use(client):
    b = am.MeshBuilder(client)
    node = b.node("n")
    router = b.router("r")
    route = b.route(router, am.http_route((node, 1)), "rt")
    with in_use(client, "virtual router 'r' is in use by route 'rt'"):
        client.delete_virtual_router(meshName=b.mesh, virtualRouterName=router)
    client.delete_route(meshName=b.mesh, virtualRouterName=router, routeName=route)
    b.service("s.local", router=router)
    with in_use(client, "virtual router 'r' is in use by virtual service 's.local'"):
        client.delete_virtual_router(meshName=b.mesh, virtualRouterName=router)
    client.delete_virtual_service(meshName=b.mesh, virtualServiceName="s.local")
    client.delete_virtual_router(meshName=b.mesh, virtualRouterName=router)


def test_virtual_service_targeted_by_a_gateway_route(client):
    b = am.MeshBuilder(client)
    service = b.service("s.local")
    gateway = b.gateway("g")
    groute = b.gateway_route(gateway, am.gateway_http_route(service), "gr")
    with in_use(client, "virtual service 's.local' is in use by gateway route 'gr' of "
                        "virtual gateway 'g'"):
        client.delete_virtual_service(meshName=b.mesh, virtualServiceName=service)
    client.delete_gateway_route(meshName=b.mesh, virtualGatewayName=gateway,
                                gatewayRouteName=groute)
    client.delete_virtual_service(meshName=b.mesh, virtualServiceName=service)


def test_virtual_gateway_with_gateway_routes(client):
    b = am.MeshBuilder(client)
    service = b.service("s.local")
    gateway = b.gateway("g")
    b.gateway_route(gateway, am.gateway_http_route(service), "gr")
    with in_use(client, "virtual gateway 'g' is in use by gateway route 'gr'"):
        client.delete_virtual_gateway(meshName=b.mesh, virtualGatewayName=gateway)
    client.delete_gateway_route(meshName=b.mesh, virtualGatewayName=gateway,
                                gatewayRouteName="gr")
    client.delete_virtual_gateway(meshName=b.mesh, virtualGatewayName=gateway)
    client.delete_virtual_service(meshName=b.mesh, virtualServiceName=service)
    client.delete_mesh(meshName=b.mesh)


def test_references_do_not_cross_meshes(client):
    # A route in mesh A targeting "n" does not keep mesh B's "n" alive.
    a, b = am.MeshBuilder(client), am.MeshBuilder(client)
    a.node("n")
    b.node("n")
    a.route(a.router("r"), am.http_route(("n", 1)))
    client.delete_virtual_node(meshName=b.mesh, virtualNodeName="n")


# ---------------------------------------------------------------------------
# LimitExceededException
# ---------------------------------------------------------------------------

def limit(client, fragment):
    return expect_error(client, "LimitExceededException", 400, fragment)


def test_mesh_quota(trellis, tmp_path):
    server = am.AppMeshServer(trellis, tmp_path, quota_meshes=3).start()
    client = server.client()
    for i in range(3):
        client.create_mesh(meshName=f"m{i}")
    with limit(client, "the account already has 3 meshes (limit 3)"):
        client.create_mesh(meshName="m3")
    assert len(client.list_meshes()["meshes"]) == 3
    client.delete_mesh(meshName="m0")
    client.create_mesh(meshName="m3")
    server.stop()


def test_virtual_node_quota(quota_server):
    client = quota_server.client()
    b = am.MeshBuilder(client)
    b.node("a")
    b.node("b")
    with limit(client, f"mesh '{b.mesh}' already has 2 virtual nodes (limit 2)"):
        b.node("c")
    # Per mesh: another mesh has its own.
    other = am.MeshBuilder(client)
    other.node("a")
    client.delete_virtual_node(meshName=b.mesh, virtualNodeName="a")
    b.node("c")


def test_virtual_service_router_gateway_quotas(quota_server):
    client = quota_server.client()
    b = am.MeshBuilder(client)
    b.service("a.local")
    b.service("b.local")
    with limit(client, "2 virtual services (limit 2)"):
        b.service("c.local")
    b.router("a")
    b.router("b")
    with limit(client, "2 virtual routers (limit 2)"):
        b.router("c")
    b.gateway("a")
    with limit(client, "1 virtual gateways (limit 1)"):
        b.gateway("b")


def test_route_and_gateway_route_quotas(quota_server):
    client = quota_server.client()
    b = am.MeshBuilder(client)
    node = b.node()
    r1, r2 = b.router("r1"), b.router("r2")
    b.route(r1, am.http_route((node, 1)), "a")
    b.route(r1, am.http_route((node, 1), prefix="/b"), "b")
    with limit(client, "virtual router 'r1' already has 2 routes (limit 2)"):
        b.route(r1, am.http_route((node, 1), prefix="/c"), "c")
    b.route(r2, am.http_route((node, 1)), "a")  # per router
    service = b.service()
    gateway = b.gateway("g")
    b.gateway_route(gateway, am.gateway_http_route(service), "a")
    b.gateway_route(gateway, am.gateway_http_route(service, prefix="/b"), "b")
    with limit(client, "virtual gateway 'g' already has 2 gateway routes (limit 2)"):
        b.gateway_route(gateway, am.gateway_http_route(service, prefix="/c"), "c")


def test_backends_per_virtual_node(quota_server):
    client = quota_server.client()
    b = am.MeshBuilder(client)
    node = b.node(backends=["a.local", "b.local"])
    with limit(client, "3 backends exceed the limit of 2 per virtual node"):
        b.node(backends=["a.local", "b.local", "c.local"])
    with limit(client, "3 backends exceed the limit of 2 per virtual node"):
        client.update_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                   spec=am.node_spec(backends=["a.local", "b.local", "c.local"]))
    assert len(client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node)[
        "virtualNode"]["spec"]["backends"]) == 2


# ---------------------------------------------------------------------------
# BadRequestException in AWS's wording
# ---------------------------------------------------------------------------

def bad(client, fragment=None):
    return expect_error(client, "BadRequestException", 400, fragment)


def test_validation_message_format(unchecked):
    c = unchecked
    mesh = uniq("mesh")
    c.create_mesh(meshName=mesh)
    long_name = "x" * 256
    with bad(c) as e:
        c.create_mesh(meshName=long_name)
    assert e.message == am.validation_message(
        long_name, "meshName", "Member must have length less than or equal to 255")
    with bad(c) as e:
        c.create_virtual_node(meshName=mesh, virtualNodeName="n", spec=am.node_spec(70000))
    assert e.message == am.validation_message(
        70000, "spec.listeners.1.member.portMapping.port",
        "Member must have value less than or equal to 65535")
    with bad(c) as e:
        c.create_virtual_node(meshName=mesh, virtualNodeName="n", spec=am.node_spec(80, "ftp"))
    assert e.message == am.validation_message(
        "ftp", "spec.listeners.1.member.portMapping.protocol",
        "Member must satisfy enum value set: [http, tcp, http2, grpc]")
    with bad(c) as e:
        c.create_virtual_node(meshName=mesh, virtualNodeName="n")
    assert e.message == ("1 validation error detected: Value null at 'spec' failed to satisfy "
                         "constraint: Member must not be null")
    with bad(c) as e:
        c.create_virtual_node(meshName=mesh, virtualNodeName="n", spec=am.node_spec(0, "ftp"))
    assert e.message == (
        "2 validation errors detected: Value '0' at 'spec.listeners.1.member.portMapping.port' "
        "failed to satisfy constraint: Member must have value greater than or equal to 1; "
        "Value 'ftp' at 'spec.listeners.1.member.portMapping.protocol' failed to satisfy "
        "constraint: Member must satisfy enum value set: [http, tcp, http2, grpc]")
    with bad(c) as e:
        c.create_mesh(meshName=uniq("mesh"), spec={"egressFilter": {"type": "SOME"}})
    assert e.message == am.validation_message(
        "SOME", "spec.egressFilter.type", "Member must satisfy enum value set: [ALLOW_ALL, DROP_ALL]")
    with bad(c) as e:
        c.create_mesh(meshName=uniq("mesh"), tags=[{"key": "", "value": "v"}])
    assert e.message == am.validation_message(
        "", "tags.1.member.key", "Member must have length greater than or equal to 1")
    # Nothing was created by any of these.
    assert [n for n in c.list_virtual_nodes(meshName=mesh)["virtualNodes"]] == []


def test_union_with_zero_or_two_members(unchecked):
    c = unchecked
    b = am.MeshBuilder(c)
    with bad(c, "at 'spec.serviceDiscovery' failed to satisfy constraint: Member must have "
                "exactly one of [awsCloudMap, dns] set, but has 2"):
        c.create_virtual_node(meshName=b.mesh, virtualNodeName="n", spec={
            "listeners": [am.listener()],
            "serviceDiscovery": {"dns": {"hostname": "a"},
                                 "awsCloudMap": {"namespaceName": "n", "serviceName": "s"}}})
    with bad(c, "Member must have exactly one of"):
        c.create_virtual_service(meshName=b.mesh, virtualServiceName="s",
                                 spec={"provider": {}})
