"""The App Mesh API through boto3: every one of the 38 operations with its
success shape (metadata, ARNs, versions, statuses, list items with exactly
the *Ref members), tags, pagination, clientToken idempotency and meshOwner.

One server for the whole module; every test works in meshes of its own.
The store is whatever appmesh_testlib.store_instance() selects.
"""
import base64
import datetime

import pytest

import appmesh_testlib as am
from appmesh_testlib import expect_error, uniq

CALLED = set()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from am.module_server(tmp_path_factory, "ops", quota_meshes=10000)


@pytest.fixture(scope="module")
def client(server):
    c = server.client()

    def record(http_response, parsed, model, **kwargs):
        if http_response.status_code == 200:
            CALLED.add(model.name)
    c.meta.events.register(f"after-call.{c.meta.service_model.service_id.hyphenize()}", record)
    return c


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def find_item(items, arn):
    hits = [i for i in items if i["arn"] == arn]
    assert len(hits) == 1, (arn, items)
    return hits[0]


def list_all(call, member, **kwargs):
    items, token = [], None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        items += page[member]
        token = page.get("nextToken")
        if not token:
            return items


def check_list_item(item, list_member, data, names):
    assert set(item) == am.REF_FIELDS[list_member], item
    md = data["metadata"]
    for key in ("arn", "createdAt", "lastUpdatedAt", "meshOwner", "resourceOwner", "version"):
        assert item[key] == md[key], (key, item, md)
    for key, value in names.items():
        assert item[key] == value


def test_ref_fields_are_the_models():
    assert am.REF_FIELDS == am.ref_fields_from_model()


def test_model_has_38_operations():
    assert len(am.botocore_model()["operations"]) == 38


# ---------------------------------------------------------------------------
# Lifecycle of each kind: create, describe, list, update, delete
# ---------------------------------------------------------------------------

class Kind:
    def __init__(self, type_name, snake, payload, list_member, list_call):
        self.type_name = type_name
        self.snake = snake
        self.payload = payload
        self.list_member = list_member
        self.list_call = list_call


def lifecycle(client, kind, keys, spec1, spec2, expected_arn, list_keys, tags=None):
    """Create -> describe -> list -> update -> describe -> delete -> gone."""
    create = getattr(client, f"create_{kind.snake}")
    describe = getattr(client, f"describe_{kind.snake}")
    update = getattr(client, f"update_{kind.snake}")
    delete = getattr(client, f"delete_{kind.snake}")
    listing = getattr(client, kind.list_call)
    names = {k: v for k, v in keys.items()}

    before = now()
    kwargs = dict(keys)
    if spec1 is not None:
        kwargs["spec"] = spec1
    if tags is not None:
        kwargs["tags"] = tags
    response = create(**kwargs)
    assert set(am.strip_response(response)) == {kind.payload}
    created = response[kind.payload]
    am.assert_resource(created, expected_arn, 1, names=names,
                       spec=spec1 if spec1 is not None else {})
    md = created["metadata"]
    assert md["createdAt"] == md["lastUpdatedAt"]
    am.assert_timestamp(md["createdAt"], not_before=before)

    described = describe(**keys)
    assert set(am.strip_response(described)) == {kind.payload}
    assert described[kind.payload] == created

    items = list_all(listing, kind.list_member, **list_keys)
    check_list_item(find_item(items, expected_arn), kind.list_member, created, names)

    response = update(**keys, spec=spec2)
    updated = response[kind.payload]
    am.assert_resource(updated, expected_arn, 2, names=names, spec=spec2)
    umd = updated["metadata"]
    assert umd["uid"] == md["uid"]
    assert umd["createdAt"] == md["createdAt"]
    assert umd["lastUpdatedAt"] >= md["lastUpdatedAt"]
    assert describe(**keys)[kind.payload] == updated
    items = list_all(listing, kind.list_member, **list_keys)
    check_list_item(find_item(items, expected_arn), kind.list_member, updated, names)

    if tags is not None:
        listed = client.list_tags_for_resource(resourceArn=expected_arn)
        assert listed["tags"] == tags

    response = delete(**keys)
    deleted = response[kind.payload]
    am.assert_resource(deleted, expected_arn, 2, status="DELETED", names=names, spec=spec2)
    assert deleted["metadata"]["uid"] == md["uid"]
    assert deleted["metadata"]["createdAt"] == md["createdAt"]
    with expect_error(client, "NotFoundException", 404):
        describe(**keys)
    items = list_all(listing, kind.list_member, **list_keys)
    assert expected_arn not in [i["arn"] for i in items]
    return created, updated, deleted


def test_mesh_lifecycle(client):
    mesh = uniq("mesh")
    kind = Kind("Mesh", "mesh", "mesh", "meshes", "list_meshes")
    lifecycle(client, kind, {"meshName": mesh},
              {"egressFilter": {"type": "DROP_ALL"}},
              {"egressFilter": {"type": "ALLOW_ALL"},
               "serviceDiscovery": {"ipPreference": "IPv4_ONLY"}},
              am.arn(mesh), {}, tags=[{"key": "team", "value": "core"}])


def test_mesh_spec_defaults_to_empty(client):
    mesh = uniq("mesh")
    created = client.create_mesh(meshName=mesh)["mesh"]
    am.assert_resource(created, am.arn(mesh), 1, names={"meshName": mesh}, spec={})
    # UpdateMesh without a spec: spec is optional there too, and stays {}.
    updated = client.update_mesh(meshName=mesh)["mesh"]
    am.assert_resource(updated, am.arn(mesh), 2, names={"meshName": mesh}, spec={})
    assert client.list_tags_for_resource(resourceArn=am.arn(mesh))["tags"] == []
    client.delete_mesh(meshName=mesh)


def test_virtual_node_lifecycle(client):
    b = am.MeshBuilder(client)
    name = uniq("vn")
    spec1 = am.node_spec(8080, "http", "a.local")
    spec2 = {
        "listeners": [am.listener(9090, "grpc",
                                  connectionPool={"grpc": {"maxRequests": 100}},
                                  healthCheck={"healthyThreshold": 2, "intervalMillis": 5000,
                                               "protocol": "grpc", "timeoutMillis": 2000,
                                               "unhealthyThreshold": 3})],
        "serviceDiscovery": {"awsCloudMap": {"namespaceName": "ns", "serviceName": "svc",
                                             "attributes": [{"key": "k", "value": "v"}]}},
        "backends": [{"virtualService": {"virtualServiceName": "other.local"}}],
        "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}},
    }
    lifecycle(client, Kind("VirtualNode", "virtual_node", "virtualNode", "virtualNodes",
                           "list_virtual_nodes"),
              {"meshName": b.mesh, "virtualNodeName": name}, spec1, spec2,
              am.arn(b.mesh, "virtualNode", name), {"meshName": b.mesh},
              tags=[{"key": "a", "value": "1"}, {"key": "b", "value": ""}])


def test_virtual_service_lifecycle(client):
    b = am.MeshBuilder(client)
    node = b.node()
    router = b.router()
    name = "svc.example.local"
    lifecycle(client, Kind("VirtualService", "virtual_service", "virtualService",
                           "virtualServices", "list_virtual_services"),
              {"meshName": b.mesh, "virtualServiceName": name},
              {"provider": {"virtualNode": {"virtualNodeName": node}}},
              {"provider": {"virtualRouter": {"virtualRouterName": router}}},
              am.arn(b.mesh, "virtualService", name), {"meshName": b.mesh})


def test_virtual_router_lifecycle(client):
    b = am.MeshBuilder(client)
    name = uniq("vr")
    lifecycle(client, Kind("VirtualRouter", "virtual_router", "virtualRouter", "virtualRouters",
                           "list_virtual_routers"),
              {"meshName": b.mesh, "virtualRouterName": name},
              am.router_spec(8080, "http"),
              am.router_spec(listeners=[am.listener(8080, "http"), am.listener(8443, "http2")]),
              am.arn(b.mesh, "virtualRouter", name), {"meshName": b.mesh})


def test_route_lifecycle(client):
    b = am.MeshBuilder(client)
    n1, n2 = b.node(), b.node()
    router = b.router()
    name = uniq("rt")
    spec1 = am.http_route((n1, 100))
    spec2 = am.http_route((n1, 75), (n2, 25), prefix="/v2",
                          retryPolicy={"httpRetryEvents": ["server-error"], "maxRetries": 2,
                                       "perRetryTimeout": {"unit": "ms", "value": 250}},
                          timeout={"perRequest": {"unit": "s", "value": 10}})
    spec2["priority"] = 7
    lifecycle(client, Kind("Route", "route", "route", "routes", "list_routes"),
              {"meshName": b.mesh, "virtualRouterName": router, "routeName": name},
              spec1, spec2, am.arn(b.mesh, "virtualRouter", router, "route", name),
              {"meshName": b.mesh, "virtualRouterName": router},
              tags=[{"key": "route", "value": "yes"}])


def test_virtual_gateway_lifecycle(client):
    b = am.MeshBuilder(client)
    name = uniq("vg")
    lifecycle(client, Kind("VirtualGateway", "virtual_gateway", "virtualGateway",
                           "virtualGateways", "list_virtual_gateways"),
              {"meshName": b.mesh, "virtualGatewayName": name},
              am.gateway_spec(9080, "http"),
              {"listeners": [am.listener(9080, "http"), am.listener(9090, "grpc")],
               "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}}},
              am.arn(b.mesh, "virtualGateway", name), {"meshName": b.mesh})


def test_gateway_route_lifecycle(client):
    b = am.MeshBuilder(client)
    service = b.service()
    service2 = b.service()
    gateway = b.gateway(port=9080)
    name = uniq("gr")
    lifecycle(client, Kind("GatewayRoute", "gateway_route", "gatewayRoute", "gatewayRoutes",
                           "list_gateway_routes"),
              {"meshName": b.mesh, "virtualGatewayName": gateway, "gatewayRouteName": name},
              am.gateway_http_route(service),
              am.gateway_http_route(service2, prefix="/chapter/",
                                    rewrite={"prefix": {"value": "/book/"}}),
              am.arn(b.mesh, "virtualGateway", gateway, "gatewayRoute", name),
              {"meshName": b.mesh, "virtualGatewayName": gateway},
              tags=[{"key": "gw", "value": "1"}])


def test_versions_count_every_update(client):
    b = am.MeshBuilder(client)
    node = b.node()
    for version in range(2, 6):
        data = client.update_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                          spec=am.node_spec(8000 + version))["virtualNode"]
        assert data["metadata"]["version"] == version
    assert client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node)[
        "virtualNode"]["metadata"]["version"] == 5


def test_list_is_sorted_and_scoped(client):
    b = am.MeshBuilder(client)
    other = am.MeshBuilder(client)
    names = [b.node(f"node-{c}") for c in "dbeac"]
    other.node("node-z")
    items = client.list_virtual_nodes(meshName=b.mesh)["virtualNodes"]
    assert [i["virtualNodeName"] for i in items] == sorted(names)
    assert {i["meshName"] for i in items} == {b.mesh}
    assert "nextToken" not in client.list_virtual_nodes(meshName=b.mesh)
    empty = am.MeshBuilder(client)
    response = client.list_virtual_nodes(meshName=empty.mesh)
    assert response["virtualNodes"] == [] and "nextToken" not in response
    # Routes are listed per router; gateway routes per gateway.
    n = names[0]
    r1, r2 = b.router(), b.router()
    b.route(r1, am.http_route((n, 1)), "a")
    b.route(r1, am.http_route((n, 1), prefix="/b"), "b")
    b.route(r2, am.http_route((n, 1)), "c")
    assert [i["routeName"] for i in client.list_routes(
        meshName=b.mesh, virtualRouterName=r1)["routes"]] == ["a", "b"]
    assert [i["routeName"] for i in client.list_routes(
        meshName=b.mesh, virtualRouterName=r2)["routes"]] == ["c"]


# ---------------------------------------------------------------------------
# meshOwner
# ---------------------------------------------------------------------------

def test_mesh_owner_of_the_account_is_the_same_as_none(client):
    b = am.MeshBuilder(client)
    node = uniq("vn")
    created = client.create_virtual_node(meshName=b.mesh, meshOwner=am.ACCOUNT,
                                         virtualNodeName=node,
                                         spec=am.node_spec())["virtualNode"]
    assert created["metadata"]["meshOwner"] == am.ACCOUNT
    described = client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                             meshOwner=am.ACCOUNT)["virtualNode"]
    assert described == created
    assert client.describe_mesh(meshName=b.mesh, meshOwner=am.ACCOUNT)["mesh"]["meshName"] == b.mesh
    assert len(client.list_virtual_nodes(meshName=b.mesh, meshOwner=am.ACCOUNT)[
        "virtualNodes"]) == 1


def test_mesh_owner_of_another_account_is_not_found(client):
    b = am.MeshBuilder(client)
    node = b.node()
    other = am.OTHER_ACCOUNT
    calls = [
        lambda: client.describe_mesh(meshName=b.mesh, meshOwner=other),
        lambda: client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                             meshOwner=other),
        lambda: client.list_virtual_nodes(meshName=b.mesh, meshOwner=other),
        lambda: client.create_virtual_node(meshName=b.mesh, virtualNodeName=uniq("vn"),
                                           spec=am.node_spec(), meshOwner=other),
        lambda: client.update_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                           spec=am.node_spec(), meshOwner=other),
        lambda: client.delete_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                           meshOwner=other),
    ]
    for call in calls:
        with expect_error(client, "NotFoundException", 404, other):
            call()
    # Nothing changed.
    assert client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node)[
        "virtualNode"]["metadata"]["version"] == 1
    assert len(client.list_virtual_nodes(meshName=b.mesh)["virtualNodes"]) == 1


# ---------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------

def test_tags_on_every_kind(client):
    b = am.MeshBuilder(client)
    node = b.node()
    router = b.router()
    route = b.route(router, am.http_route((node, 1)))
    service = b.service(node=node)
    gateway = b.gateway()
    groute = b.gateway_route(gateway, am.gateway_http_route(service))
    arns = [am.arn(b.mesh), am.arn(b.mesh, "virtualNode", node),
            am.arn(b.mesh, "virtualRouter", router),
            am.arn(b.mesh, "virtualRouter", router, "route", route),
            am.arn(b.mesh, "virtualService", service),
            am.arn(b.mesh, "virtualGateway", gateway),
            am.arn(b.mesh, "virtualGateway", gateway, "gatewayRoute", groute)]
    for i, arn in enumerate(arns):
        response = client.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": str(i)}])
        assert am.strip_response(response) == {}
        assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
            {"key": "k", "value": str(i)}]
        response = client.untag_resource(resourceArn=arn, tagKeys=["k"])
        assert am.strip_response(response) == {}
        assert client.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tagging_keeps_version_and_timestamps(client):
    b = am.MeshBuilder(client)
    node = b.node()
    arn = am.arn(b.mesh, "virtualNode", node)
    before = client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node)["virtualNode"]
    client.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"},
                                               {"key": "b", "value": "2"}])
    client.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "changed"},
                                               {"key": "c", "value": "3"}])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "a", "value": "changed"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"}]
    client.untag_resource(resourceArn=arn, tagKeys=["b", "not-there"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "a", "value": "changed"}, {"key": "c", "value": "3"}]
    after = client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node)["virtualNode"]
    assert after == before
    # An update keeps the tags.
    client.update_virtual_node(meshName=b.mesh, virtualNodeName=node, spec=am.node_spec(81))
    assert len(client.list_tags_for_resource(resourceArn=arn)["tags"]) == 2


def test_tags_given_at_create_time(client):
    mesh = uniq("mesh")
    tags = [{"key": f"k{i:02d}", "value": f"v{i}"} for i in range(50)]
    client.create_mesh(meshName=mesh, tags=tags)
    assert list_all(client.list_tags_for_resource, "tags", resourceArn=am.arn(mesh)) == tags


def test_list_tags_pagination(client):
    mesh = uniq("mesh")
    tags = [{"key": f"key{i:02d}", "value": str(i)} for i in range(23)]
    client.create_mesh(meshName=mesh, tags=tags)
    pages, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = client.list_tags_for_resource(resourceArn=am.arn(mesh), limit=10, **kwargs)
        pages.append(page["tags"])
        token = page.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [t for p in pages for t in p] == tags
    # TagsLimit is 1..50.
    raw = am.appmesh_client(client.meta.endpoint_url, parameter_validation=False)
    for bad in (0, 51):
        with expect_error(raw, "BadRequestException", 400, "at 'limit'"):
            raw.list_tags_for_resource(resourceArn=am.arn(mesh), limit=bad)
    assert len(client.list_tags_for_resource(resourceArn=am.arn(mesh), limit=50)["tags"]) == 23


def test_too_many_tags(client):
    mesh = uniq("mesh")
    client.create_mesh(meshName=mesh, tags=[{"key": f"k{i}", "value": ""} for i in range(49)])
    arn = am.arn(mesh)
    with expect_error(client, "TooManyTagsException", 400, "50"):
        client.tag_resource(resourceArn=arn, tags=[{"key": "x", "value": ""},
                                                   {"key": "y", "value": ""}])
    assert len(client.list_tags_for_resource(resourceArn=arn)["tags"]) == 49
    # Replacing values of existing keys does not count twice.
    client.tag_resource(resourceArn=arn, tags=[{"key": "k0", "value": "new"},
                                               {"key": "x", "value": ""}])
    tags = client.list_tags_for_resource(resourceArn=arn)["tags"]
    assert len(tags) == 50 and tags[0] == {"key": "k0", "value": "new"}
    with expect_error(client, "TooManyTagsException", 400):
        client.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": ""}])
    assert len(client.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_tag_errors(client):
    b = am.MeshBuilder(client)
    with expect_error(client, "NotFoundException", 404):
        client.tag_resource(resourceArn=am.arn(b.mesh, "virtualNode", "nope"),
                            tags=[{"key": "a", "value": "b"}])
    with expect_error(client, "NotFoundException", 404):
        client.list_tags_for_resource(resourceArn=am.arn(uniq("nomesh")))
    with expect_error(client, "NotFoundException", 404):
        client.untag_resource(resourceArn=am.arn(b.mesh, "virtualRouter", "nope"),
                              tagKeys=["a"])
    # The mesh of another account or region does not exist here.
    for foreign in (f"arn:aws:appmesh:{am.REGION}:{am.OTHER_ACCOUNT}:mesh/{b.mesh}",
                    f"arn:aws:appmesh:eu-west-1:{am.ACCOUNT}:mesh/{b.mesh}"):
        with expect_error(client, "NotFoundException", 404):
            client.list_tags_for_resource(resourceArn=foreign)
    for bad in ("not-an-arn", f"arn:aws:s3:{am.REGION}:{am.ACCOUNT}:mesh/{b.mesh}",
                f"arn:aws:appmesh:{am.REGION}:{am.ACCOUNT}:mesh/{b.mesh}/virtualNode",
                f"arn:aws:appmesh:{am.REGION}:{am.ACCOUNT}:mesh/{b.mesh}/bogus/x",
                f"arn:aws:appmesh:{am.REGION}:{am.ACCOUNT}:mesh/{b.mesh}/route/x"):
        with expect_error(client, "BadRequestException", 400, "resourceArn"):
            client.tag_resource(resourceArn=bad, tags=[{"key": "a", "value": "b"}])
    with expect_error(client, "BadRequestException", 400, "given twice"):
        client.tag_resource(resourceArn=am.arn(b.mesh), tags=[{"key": "a", "value": "1"},
                                                              {"key": "a", "value": "2"}])
    with expect_error(client, "BadRequestException", 400, "given twice"):
        client.create_mesh(meshName=uniq("mesh"), tags=[{"key": "a", "value": "1"},
                                                        {"key": "a", "value": "2"}])
    assert client.list_tags_for_resource(resourceArn=am.arn(b.mesh))["tags"] == []


# ---------------------------------------------------------------------------
# Pagination
# ---------------------------------------------------------------------------

def test_pagination_round_trip(client):
    b = am.MeshBuilder(client)
    names = sorted(b.node(f"n{i:02d}") for i in range(7))
    pages, token = [], None
    while True:
        page = client.list_virtual_nodes(meshName=b.mesh, limit=3,
                                         **({"nextToken": token} if token else {}))
        pages.append([i["virtualNodeName"] for i in page["virtualNodes"]])
        token = page.get("nextToken")
        if not token:
            break
        assert isinstance(token, str) and token
    assert pages == [names[0:3], names[3:6], names[6:7]]
    # A token is a cursor, not state: the same token gives the same page.
    first = client.list_virtual_nodes(meshName=b.mesh, limit=3)
    again1 = client.list_virtual_nodes(meshName=b.mesh, limit=3, nextToken=first["nextToken"])
    again2 = client.list_virtual_nodes(meshName=b.mesh, limit=3, nextToken=first["nextToken"])
    assert again1["virtualNodes"] == again2["virtualNodes"]
    # boto3's paginator gives everything once.
    paginator = client.get_paginator("list_virtual_nodes")
    seen = [i["virtualNodeName"] for p in paginator.paginate(
        meshName=b.mesh, PaginationConfig={"PageSize": 2}) for i in p["virtualNodes"]]
    assert seen == names


def test_pagination_is_stable_under_changes(client):
    b = am.MeshBuilder(client)
    names = sorted(b.node(f"n{i:02d}") for i in range(6))
    page1 = client.list_virtual_nodes(meshName=b.mesh, limit=3)
    assert [i["virtualNodeName"] for i in page1["virtualNodes"]] == names[:3]
    # The last item of the page disappears and an item is added before the
    # cursor: the next page still continues after "n02", missing nothing
    # that existed and repeating nothing.
    client.delete_virtual_node(meshName=b.mesh, virtualNodeName="n02")
    b.node("n00a")
    page2 = client.list_virtual_nodes(meshName=b.mesh, limit=3, nextToken=page1["nextToken"])
    assert [i["virtualNodeName"] for i in page2["virtualNodes"]] == names[3:6]
    assert "nextToken" not in page2


def test_pagination_limits(client):
    b = am.MeshBuilder(client)
    for i in range(3):
        b.node(f"n{i}")
    raw = am.appmesh_client(client.meta.endpoint_url, parameter_validation=False)
    for bad, constraint in ((0, "greater than or equal to 1"), (101, "less than or equal to 100"),
                            (-1, "greater than or equal to 1")):
        with expect_error(raw, "BadRequestException", 400) as e:
            raw.list_virtual_nodes(meshName=b.mesh, limit=bad)
        assert e.message == am.validation_message(bad, "limit", f"Member must have value {constraint}")
    assert len(client.list_virtual_nodes(meshName=b.mesh, limit=1)["virtualNodes"]) == 1
    assert len(client.list_virtual_nodes(meshName=b.mesh, limit=100)["virtualNodes"]) == 3
    for call in (raw.list_meshes, raw.list_virtual_services, raw.list_virtual_routers,
                 raw.list_virtual_gateways):
        kwargs = {} if call == raw.list_meshes else {"meshName": b.mesh}
        with expect_error(raw, "BadRequestException", 400, "limit"):
            call(limit=101, **kwargs)


def test_pagination_refuses_bad_tokens(client):
    b = am.MeshBuilder(client)
    other = am.MeshBuilder(client)
    for i in range(3):
        b.node(f"n{i}")
        other.node(f"n{i}")
    router = b.router()
    token = client.list_virtual_nodes(meshName=b.mesh, limit=1)["nextToken"]

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def flip(t, index):
        # Flip the top bit of one base64 digit: a data bit even in the last
        # digit (whose low bits may be padding).
        chars = list(t)
        chars[index] = alphabet[alphabet.index(chars[index]) ^ 0x20]
        return "".join(chars)

    forged = base64.urlsafe_b64encode(b"1|9999999999|virtualNode/" + b.mesh.encode() +
                                      b"/n0" + b"\0" * 16).decode().rstrip("=")
    bad_tokens = [
        "garbage", "", "!!!!", forged,
        flip(token, 0), flip(token, len(token) // 2), flip(token, len(token) - 1),
        token[:-2], token + "AA",
    ]
    for bad in bad_tokens:
        if bad == "":
            continue  # an empty nextToken is "no token" for the SDKs
        with expect_error(client, "BadRequestException", 400, "nextToken"):
            client.list_virtual_nodes(meshName=b.mesh, limit=1, nextToken=bad)
    # A genuine token of another listing: another mesh, another kind, tags.
    with expect_error(client, "BadRequestException", 400, "nextToken"):
        client.list_virtual_nodes(meshName=other.mesh, limit=1, nextToken=token)
    with expect_error(client, "BadRequestException", 400, "nextToken"):
        client.list_virtual_routers(meshName=b.mesh, limit=1, nextToken=token)
    with expect_error(client, "BadRequestException", 400, "nextToken"):
        client.list_routes(meshName=b.mesh, virtualRouterName=router, limit=1, nextToken=token)
    with expect_error(client, "BadRequestException", 400, "nextToken"):
        client.list_meshes(limit=1, nextToken=token)
    with expect_error(client, "BadRequestException", 400, "nextToken"):
        client.list_tags_for_resource(resourceArn=am.arn(b.mesh), nextToken=token)
    # The genuine token still works.
    page = client.list_virtual_nodes(meshName=b.mesh, limit=1, nextToken=token)
    assert [i["virtualNodeName"] for i in page["virtualNodes"]] == ["n1"]


def test_list_meshes_pages_cover_every_mesh(client):
    mine = {am.MeshBuilder(client).mesh for _ in range(5)}
    seen = []
    token = None
    while True:
        page = client.list_meshes(limit=2, **({"nextToken": token} if token else {}))
        assert len(page["meshes"]) <= 2
        for item in page["meshes"]:
            assert set(item) == am.REF_FIELDS["meshes"]
            assert item["arn"] == am.arn(item["meshName"])
        seen += [i["meshName"] for i in page["meshes"]]
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert mine <= set(seen)


# ---------------------------------------------------------------------------
# clientToken idempotency
# ---------------------------------------------------------------------------

def test_retried_create_with_the_same_token_returns_the_original(client):
    mesh = uniq("mesh")
    token = am.new_uuid()
    first = client.create_mesh(meshName=mesh, clientToken=token,
                               tags=[{"key": "a", "value": "b"}])["mesh"]
    again = client.create_mesh(meshName=mesh, clientToken=token,
                               tags=[{"key": "a", "value": "b"}])["mesh"]
    assert again == first
    assert [m for m in list_all(client.list_meshes, "meshes") if m["meshName"] == mesh] != []
    assert len([m for m in list_all(client.list_meshes, "meshes") if m["meshName"] == mesh]) == 1

    node = uniq("vn")
    token2 = am.new_uuid()
    n1 = client.create_virtual_node(meshName=mesh, virtualNodeName=node, spec=am.node_spec(),
                                    clientToken=token2)["virtualNode"]
    n2 = client.create_virtual_node(meshName=mesh, virtualNodeName=node, spec=am.node_spec(),
                                    clientToken=token2)["virtualNode"]
    assert n1 == n2 and n1["metadata"]["uid"] == n2["metadata"]["uid"]
    assert len(client.list_virtual_nodes(meshName=mesh)["virtualNodes"]) == 1


def test_same_token_different_input_is_a_conflict(client):
    mesh = uniq("mesh")
    token = am.new_uuid()
    client.create_mesh(meshName=mesh, clientToken=token)
    with expect_error(client, "ConflictException", 409, token):
        client.create_mesh(meshName=mesh, clientToken=token,
                           spec={"egressFilter": {"type": "ALLOW_ALL"}})
    with expect_error(client, "ConflictException", 409, token):
        client.create_mesh(meshName=uniq("mesh"), clientToken=token)
    with expect_error(client, "ConflictException", 409, token):
        client.create_virtual_node(meshName=mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(), clientToken=token)
    assert client.describe_mesh(meshName=mesh)["mesh"]["spec"] == {}


def test_sdk_tokens_make_each_call_new(client):
    # boto3 fills clientToken with a fresh UUID per call: a second create of
    # the same name is a different request and a conflict.
    mesh = uniq("mesh")
    client.create_mesh(meshName=mesh)
    with expect_error(client, "ConflictException", 409, "already exists"):
        client.create_mesh(meshName=mesh)


def test_retried_update_with_the_same_token_applies_once(client):
    b = am.MeshBuilder(client)
    node = b.node()
    token = am.new_uuid()
    u1 = client.update_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                    spec=am.node_spec(9000), clientToken=token)["virtualNode"]
    u2 = client.update_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                    spec=am.node_spec(9000), clientToken=token)["virtualNode"]
    assert u1["metadata"]["version"] == 2 and u2 == u1
    with expect_error(client, "ConflictException", 409):
        client.update_virtual_node(meshName=b.mesh, virtualNodeName=node,
                                   spec=am.node_spec(9001), clientToken=token)
    assert client.describe_virtual_node(meshName=b.mesh, virtualNodeName=node)[
        "virtualNode"]["metadata"]["version"] == 2


# ---------------------------------------------------------------------------
# Coverage of the 38 operations (runs last in this module)
# ---------------------------------------------------------------------------

def test_zz_every_operation_was_called(client):
    expected = set(am.botocore_model()["operations"])
    assert expected - CALLED == set()
