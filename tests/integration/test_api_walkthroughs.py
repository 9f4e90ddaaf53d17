"""The App Mesh User Guide's walkthroughs, end to end, through the AWS CLI
(/usr/bin/aws appmesh ... --endpoint-url, with --cli-input-json files as the
guide writes them).

Where the guide's JSON cannot work as printed, the test says why and uses
the corrected form; where trellis deliberately refuses what the guide prints,
the test shows the refusal first.
"""
import datetime
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

import appmesh_testlib as am

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from am.module_server(tmp_path_factory, "walkthrough")


def cli_metadata(md, arn, version):
    """The CLI prints timestamps as ISO 8601 with an offset."""
    assert set(md) == {"arn", "createdAt", "lastUpdatedAt", "meshOwner", "resourceOwner",
                       "uid", "version"}, md
    assert md["arn"] == arn
    assert md["meshOwner"] == am.ACCOUNT and md["resourceOwner"] == am.ACCOUNT
    assert am.UUID_RE.match(md["uid"])
    assert md["version"] == version
    for key in ("createdAt", "lastUpdatedAt"):
        assert ISO.match(md[key]), md[key]
        when = datetime.datetime.fromisoformat(md[key])
        assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 600


def parallel(aws, *calls):
    """Runs independent CLI commands at once (each `aws` run is ~0.7 s of
    Python start-up); returns their results in order. A call is (args,
    kwargs)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(aws, *args, **kwargs) for args, kwargs in calls]
        return [f.result() for f in futures]


def cli_error(result, code, fragment=None):
    assert result.returncode != 0, result
    assert f"An error occurred ({code})" in result.stderr, result
    if fragment:
        assert fragment in result.stderr, result


def test_ecs_getting_started(server):
    aws = server.aws
    # Step 1: a mesh and a virtual service.
    mesh = aws("create-mesh", "--mesh-name", "apps").json["mesh"]
    cli_metadata(mesh["metadata"], am.arn("apps"), 1)
    assert mesh["spec"] == {} and mesh["status"] == {"status": "ACTIVE"}
    vs = aws("create-virtual-service", "--mesh-name", "apps", "--virtual-service-name",
             "serviceb.apps.local", "--spec", "{}").json["virtualService"]
    cli_metadata(vs["metadata"], am.arn("apps", "virtualService", "serviceb.apps.local"), 1)
    assert vs["spec"] == {}

    # Step 2: the serviceB virtual node. The guide's create-virtual-node-serviceb.json
    # puts "virtualNodeName" inside "spec", where no CLI or SDK accepts it
    # (the CLI refuses it before sending); it belongs at the top level.
    vn_serviceb = {
        "meshName": "apps",
        "spec": {
            "listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}],
            "serviceDiscovery": {"dns": {"hostname": "serviceB.apps.local"}},
        },
        "virtualNodeName": "serviceB",
    }
    as_printed = {"meshName": "apps", "spec": dict(vn_serviceb["spec"],
                                                   virtualNodeName="serviceB")}
    refused = aws("create-virtual-node", input_json=as_printed, check=False)
    assert refused.returncode != 0 and "virtualNodeName" in refused.stderr, refused
    node = aws("create-virtual-node", input_json=vn_serviceb).json["virtualNode"]
    cli_metadata(node["metadata"], am.arn("apps", "virtualNode", "serviceB"), 1)
    assert node["spec"] == vn_serviceb["spec"]

    # Step 3: router and route.
    router = aws("create-virtual-router", input_json={
        "meshName": "apps",
        "spec": {"listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}]},
        "virtualRouterName": "serviceB"}).json["virtualRouter"]
    cli_metadata(router["metadata"], am.arn("apps", "virtualRouter", "serviceB"), 1)
    # The guide's create-route.json uses "httpRoute" on this http2 router,
    # while its console steps ("For Route type, choose http2") and the Routes
    # chapter ("The protocol that you select must match the listener
    # protocol") require the types to agree. trellis enforces the match, so
    # the JSON as printed is refused and the route is created as http2Route.
    create_route = {
        "meshName": "apps", "routeName": "serviceB", "virtualRouterName": "serviceB",
        "spec": {"httpRoute": {"action": {"weightedTargets": [
            {"virtualNode": "serviceB", "weight": 100}]}, "match": {"prefix": "/"}}},
    }
    cli_error(aws("create-route", input_json=create_route, check=False), "BadRequestException",
              "the route type must match the virtual router listener protocol (http2")
    create_route["spec"] = {"http2Route": create_route["spec"]["httpRoute"]}
    route = aws("create-route", input_json=create_route).json["route"]
    cli_metadata(route["metadata"],
                 am.arn("apps", "virtualRouter", "serviceB", "route", "serviceB"), 1)
    assert route["spec"] == create_route["spec"]

    # Step 4: review. (The guide describes "serviceB.apps.local" after
    # creating "serviceb.apps.local"; names are case-sensitive, so that is
    # not found, and the lower-case name is.)
    d_mesh, d_wrong_case, d_vs, d_node, d_router, d_route = parallel(
        aws,
        (("describe-mesh", "--mesh-name", "apps"), {}),
        (("describe-virtual-service", "--mesh-name", "apps", "--virtual-service-name",
          "serviceB.apps.local"), {"check": False}),
        (("describe-virtual-service", "--mesh-name", "apps", "--virtual-service-name",
          "serviceb.apps.local"), {}),
        (("describe-virtual-node", "--mesh-name", "apps", "--virtual-node-name", "serviceB"), {}),
        (("describe-virtual-router", "--mesh-name", "apps", "--virtual-router-name",
          "serviceB"), {}),
        (("describe-route", "--mesh-name", "apps", "--virtual-router-name", "serviceB",
          "--route-name", "serviceB"), {}))
    assert d_mesh.json["mesh"] == mesh
    cli_error(d_wrong_case, "NotFoundException")
    assert d_vs.json["virtualService"] == vs
    assert d_node.json["virtualNode"] == node
    assert d_router.json["virtualRouter"] == router
    assert d_route.json["route"] == route

    # Step 5: serviceBv2 and serviceA, the provider, the 75/25 split, servicea.
    # (create-virtual-node-servicebv2.json as printed has its closing braces
    # misplaced; this is the intended document.)
    aws("create-virtual-node", input_json={
        "meshName": "apps",
        "spec": {"listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}],
                 "serviceDiscovery": {"dns": {"hostname": "serviceBv2.apps.local"}}},
        "virtualNodeName": "serviceBv2"})
    service_a = aws("create-virtual-node", input_json={
        "meshName": "apps",
        "spec": {"backends": [{"virtualService": {"virtualServiceName": "serviceb.apps.local"}}],
                 "listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}],
                 "serviceDiscovery": {"dns": {"hostname": "servicea.apps.local"}}},
        "virtualNodeName": "serviceA"}).json["virtualNode"]
    assert service_a["spec"]["backends"] == [
        {"virtualService": {"virtualServiceName": "serviceb.apps.local"}}]
    updated_vs = aws("update-virtual-service", input_json={
        "meshName": "apps",
        "spec": {"provider": {"virtualRouter": {"virtualRouterName": "serviceB"}}},
        "virtualServiceName": "serviceb.apps.local"}).json["virtualService"]
    cli_metadata(updated_vs["metadata"],
                 am.arn("apps", "virtualService", "serviceb.apps.local"), 2)
    assert updated_vs["metadata"]["uid"] == vs["metadata"]["uid"]
    split = {"http2Route": {"action": {"weightedTargets": [
        {"virtualNode": "serviceB", "weight": 75}, {"virtualNode": "serviceBv2", "weight": 25}]},
        "match": {"prefix": "/"}}}
    updated_route = aws("update-route", input_json={
        "meshName": "apps", "routeName": "serviceB", "spec": split,
        "virtualRouterName": "serviceB"}).json["route"]
    cli_metadata(updated_route["metadata"],
                 am.arn("apps", "virtualRouter", "serviceB", "route", "serviceB"), 2)
    assert updated_route["spec"] == split
    assert updated_route["metadata"]["createdAt"] == route["metadata"]["createdAt"]
    vs_a = aws("create-virtual-service", input_json={
        "meshName": "apps",
        "spec": {"provider": {"virtualNode": {"virtualNodeName": "serviceA"}}},
        "virtualServiceName": "servicea.apps.local"}).json["virtualService"]
    cli_metadata(vs_a["metadata"], am.arn("apps", "virtualService", "servicea.apps.local"), 1)

    # Mesh summary: two virtual services, three virtual nodes, one router with
    # one route sending 75/25.
    l_services, l_nodes, l_routes, d_route = parallel(
        aws,
        (("list-virtual-services", "--mesh-name", "apps"), {}),
        (("list-virtual-nodes", "--mesh-name", "apps"), {}),
        (("list-routes", "--mesh-name", "apps", "--virtual-router-name", "serviceB"), {}),
        (("describe-route", "--mesh-name", "apps", "--virtual-router-name", "serviceB",
          "--route-name", "serviceB"), {}))
    services = l_services.json["virtualServices"]
    assert sorted(s["virtualServiceName"] for s in services) == [
        "servicea.apps.local", "serviceb.apps.local"]
    nodes = l_nodes.json["virtualNodes"]
    assert sorted(n["virtualNodeName"] for n in nodes) == ["serviceA", "serviceB", "serviceBv2"]
    for item in nodes:
        assert set(item) == am.REF_FIELDS["virtualNodes"]
    routes = l_routes.json["routes"]
    assert [(r["routeName"], r["version"]) for r in routes] == [("serviceB", 2)]
    described = d_route.json["route"]
    assert described["spec"]["http2Route"]["action"]["weightedTargets"] == [
        {"virtualNode": "serviceB", "weight": 75}, {"virtualNode": "serviceBv2", "weight": 25}]

    # Once serviceBv2 is proven: 100 % to it, then serviceB can go.
    cli_error(aws("delete-virtual-node", "--mesh-name", "apps", "--virtual-node-name",
                  "serviceB", check=False), "ResourceInUseException", "route 'serviceB'")
    aws("update-route", input_json={
        "meshName": "apps", "routeName": "serviceB", "virtualRouterName": "serviceB",
        "spec": {"http2Route": {"action": {"weightedTargets": [
            {"virtualNode": "serviceBv2", "weight": 100}]}, "match": {"prefix": "/"}}}})
    gone = aws("delete-virtual-node", "--mesh-name", "apps", "--virtual-node-name",
               "serviceB").json["virtualNode"]
    assert gone["status"] == {"status": "DELETED"}
    cli_error(aws("delete-mesh", "--mesh-name", "apps", check=False), "ResourceInUseException")


def test_concept_chapters(server):
    """The create/describe/delete examples of the Service meshes, Virtual
    services, Virtual gateways, Gateway routes, Virtual nodes, Virtual
    routers and Routes chapters, in an order that satisfies the references."""
    aws = server.aws
    # Service meshes: create-mesh, then its output.
    mesh = aws("create-mesh", "--mesh-name", "meshName").json["mesh"]
    assert mesh["meshName"] == "meshName" and mesh["spec"] == {}
    cli_metadata(mesh["metadata"], am.arn("meshName"), 1)

    # Virtual nodes: create-virtual-node-dns.json (its "virtualNodeName" sits
    # inside "spec" in the guide; it is a top-level member).
    node = aws("create-virtual-node", input_json={
        "meshName": "meshName",
        "spec": {"listeners": [{"portMapping": {"port": 80, "protocol": "http"}}],
                 "serviceDiscovery": {"dns": {"hostname": "serviceBv1.svc.cluster.local"}}},
        "virtualNodeName": "nodeName"}).json["virtualNode"]
    cli_metadata(node["metadata"], am.arn("meshName", "virtualNode", "nodeName"), 1)

    # Virtual services: create-virtual-service-virtual-node.json as printed.
    vs = aws("create-virtual-service", input_json={
        "meshName": "meshName",
        "spec": {"provider": {"virtualNode": {"virtualNodeName": "nodeName"}}},
        "virtualServiceName": "serviceA.svc.cluster.local"}).json["virtualService"]
    assert vs["spec"] == {"provider": {"virtualNode": {"virtualNodeName": "nodeName"}}}
    cli_metadata(vs["metadata"], am.arn("meshName", "virtualService",
                                        "serviceA.svc.cluster.local"), 1)

    # Virtual routers: create-virtual-router.json ("virtualRouterName" again
    # belongs at the top level, not in "spec").
    router = aws("create-virtual-router", input_json={
        "meshName": "meshName",
        "spec": {"listeners": [{"portMapping": {"port": 80, "protocol": "http"}}]},
        "virtualRouterName": "routerName"}).json["virtualRouter"]
    cli_metadata(router["metadata"], am.arn("meshName", "virtualRouter", "routerName"), 1)

    # Routes: create-route-grpc.json targets "routerName", whose listener is
    # http, with a grpcRoute: trellis requires the route type to match the
    # listener protocol, so it is refused there and created on a grpc router.
    grpc_route = {
        "meshName": "meshName", "routeName": "routeName", "virtualRouterName": "routerName",
        "spec": {
            "grpcRoute": {
                "action": {"weightedTargets": [{"virtualNode": "nodeName", "weight": 100}]},
                "match": {"metadata": [{"invert": False, "match": {"prefix": "123"},
                                        "name": "myMetadata"}],
                          "methodName": "nameOfmethod",
                          "serviceName": "serviceA.svc.cluster.local"},
                "retryPolicy": {"grpcRetryEvents": ["deadline-exceeded"],
                                "httpRetryEvents": ["server-error", "gateway-error"],
                                "maxRetries": 3,
                                "perRetryTimeout": {"unit": "s", "value": 15},
                                "tcpRetryEvents": ["connection-error"]},
            },
            "priority": 100,
        },
    }
    cli_error(aws("create-route", input_json=grpc_route, check=False), "BadRequestException",
              "the route type must match the virtual router listener protocol (http")
    aws("create-virtual-router", input_json={
        "meshName": "meshName",
        "spec": {"listeners": [{"portMapping": {"port": 50051, "protocol": "grpc"}}]},
        "virtualRouterName": "grpcRouterName"})
    grpc_route["virtualRouterName"] = "grpcRouterName"
    route = aws("create-route", input_json=grpc_route).json["route"]
    assert route["spec"] == grpc_route["spec"]
    cli_metadata(route["metadata"], am.arn("meshName", "virtualRouter", "grpcRouterName",
                                           "route", "routeName"), 1)

    # Virtual gateways: names on the command line, the spec from the file.
    gateway = aws("create-virtual-gateway", "--mesh-name", "meshName",
                  "--virtual-gateway-name", "virtualGatewayName",
                  input_json={"spec": {"listeners": [
                      {"portMapping": {"port": 9080, "protocol": "http"}}]}}).json["virtualGateway"]
    cli_metadata(gateway["metadata"], am.arn("meshName", "virtualGateway",
                                             "virtualGatewayName"), 1)
    assert gateway["spec"] == {"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]}

    # Gateway routes (the guide's command says create-virtual-gateway; the
    # operation is create-gateway-route).
    groute = aws("create-gateway-route", "--mesh-name", "meshName", "--virtual-gateway-name",
                 "virtualGatewayName", "--gateway-route-name", "gatewayRouteName",
                 input_json={"spec": {"httpRoute": {
                     "match": {"prefix": "/"},
                     "action": {"target": {"virtualService": {
                         "virtualServiceName": "serviceA.svc.cluster.local"}}}}}}
                 ).json["gatewayRoute"]
    cli_metadata(groute["metadata"], am.arn("meshName", "virtualGateway", "virtualGatewayName",
                                            "gatewayRoute", "gatewayRouteName"), 1)
    assert groute["virtualGatewayName"] == "virtualGatewayName"

    # The deletion notes: a virtual service referenced by a gateway route, a
    # gateway with gateway routes, a node that provides a service or is a
    # route target, a router with routes cannot be deleted.
    refusals = [
        (("delete-virtual-service", "--mesh-name", "meshName", "--virtual-service-name",
          "serviceA.svc.cluster.local"), "gateway route 'gatewayRouteName'"),
        (("delete-virtual-gateway", "--mesh-name", "meshName", "--virtual-gateway-name",
          "virtualGatewayName"), "gateway route 'gatewayRouteName'"),
        (("delete-virtual-node", "--mesh-name", "meshName", "--virtual-node-name", "nodeName"),
         "route 'routeName'"),
        (("delete-virtual-router", "--mesh-name", "meshName", "--virtual-router-name",
          "grpcRouterName"), "route 'routeName'"),
        (("delete-mesh", "--mesh-name", "meshName"), "still contains"),
    ]
    results = parallel(aws, *[(args, {"check": False}) for args, _ in refusals])
    for result, (_, what) in zip(results, refusals):
        cli_error(result, "ResourceInUseException", what)

    # Deleting, in dependency order; each answer is the resource, DELETED.
    deletions = [
        (("delete-gateway-route", "--mesh-name", "meshName", "--virtual-gateway-name",
          "virtualGatewayName", "--gateway-route-name", "gatewayRouteName"), "gatewayRoute",
         groute),
        (("delete-virtual-gateway", "--mesh-name", "meshName", "--virtual-gateway-name",
          "virtualGatewayName"), "virtualGateway", gateway),
        (("delete-virtual-service", "--mesh-name", "meshName", "--virtual-service-name",
          "serviceA.svc.cluster.local"), "virtualService", vs),
        (("delete-route", "--mesh-name", "meshName", "--virtual-router-name", "grpcRouterName",
          "--route-name", "routeName"), "route", route),
        (("delete-virtual-router", "--mesh-name", "meshName", "--virtual-router-name",
          "grpcRouterName"), "virtualRouter", None),
        (("delete-virtual-router", "--mesh-name", "meshName", "--virtual-router-name",
          "routerName"), "virtualRouter", router),
        (("delete-virtual-node", "--mesh-name", "meshName", "--virtual-node-name", "nodeName"),
         "virtualNode", node),
        (("delete-mesh", "--mesh-name", "meshName"), "mesh", mesh),
    ]
    for args, payload, original in deletions:
        deleted = aws(*args).json[payload]
        assert deleted["status"] == {"status": "DELETED"}, deleted
        if original is not None:
            assert deleted["spec"] == original["spec"]
            assert deleted["metadata"]["uid"] == original["metadata"]["uid"]
            assert deleted["metadata"]["createdAt"] == original["metadata"]["createdAt"]
            assert deleted["metadata"]["version"] == original["metadata"]["version"]
    assert "meshName" not in [m["meshName"] for m in aws("list-meshes").json["meshes"]]
    cli_error(aws("describe-mesh", "--mesh-name", "meshName", check=False), "NotFoundException")
