"""The semantic rules App Mesh applies beyond the model (core/api/spec_rules.c)
and the model constraints that carry App Mesh rules (weighted targets,
header/metadata/query match counts, priority, weights), through boto3.

Every refused request is a BadRequestException (400) with a message naming
the field; the state is unchanged afterwards. The client skips its own
validation where the test sends what the model forbids.
"""
import pytest

import appmesh_testlib as am
from appmesh_testlib import expect_error, uniq


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from am.module_server(tmp_path_factory, "rules", quota_meshes=10000)


@pytest.fixture(scope="module")
def client(server):
    return server.client(parameter_validation=False)


def bad(client, fragment=None):
    return expect_error(client, "BadRequestException", 400, fragment)


@pytest.fixture
def mesh(client):
    """A mesh with nodes on http 8080 ("web"), http2 80 ("h2"), grpc 50051
    ("rpc"), tcp 5432 ("db"), a two-listener node ("multi": http 8080 and
    http 8081) and routers of each protocol, plus a two-listener router."""
    b = am.MeshBuilder(client)
    b.node("web", port=8080, protocol="http")
    b.node("h2", port=80, protocol="http2")
    b.node("rpc", port=50051, protocol="grpc")
    b.node("db", port=5432, protocol="tcp")
    client.create_virtual_node(meshName=b.mesh, virtualNodeName="multi", spec=am.node_spec(
        listeners=[am.listener(8080, "http"), am.listener(8081, "http")]))
    b.router("r-http", port=8080, protocol="http")
    b.router("r-http2", port=80, protocol="http2")
    b.router("r-grpc", port=50051, protocol="grpc")
    b.router("r-tcp", port=5432, protocol="tcp")
    b.router("r-multi", listeners=[am.listener(8080, "http"), am.listener(9090, "grpc")])
    return b


def create_route(client, b, router, spec, name=None):
    return client.create_route(meshName=b.mesh, virtualRouterName=router,
                               routeName=name or uniq("rt"), spec=spec)["route"]


def assert_no_routes(client, b, router):
    assert client.list_routes(meshName=b.mesh, virtualRouterName=router)["routes"] == []


# ---------------------------------------------------------------------------
# Route type vs router listener protocol
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("router,good,node", [
    ("r-http", "httpRoute", "web"), ("r-http2", "http2Route", "h2"),
    ("r-grpc", "grpcRoute", "rpc"), ("r-tcp", "tcpRoute", "db")])
def test_route_type_must_match_listener_protocol(client, mesh, router, good, node):
    specs = {
        "httpRoute": am.http_route((node, 1)),
        "http2Route": am.http_route((node, 1), kind="http2Route"),
        "grpcRoute": am.grpc_route((node, 1)),
        "tcpRoute": am.tcp_route((node, 1)),
    }
    for kind, spec in specs.items():
        if kind == good:
            continue
        with bad(client, "the route type must match the virtual router listener protocol"):
            create_route(client, mesh, router, spec)
    assert_no_routes(client, mesh, router)
    create_route(client, mesh, router, specs[good])


def test_exactly_one_route_type(client, mesh):
    with bad(client, "specify one of grpcRoute, http2Route, httpRoute or tcpRoute"):
        create_route(client, mesh, "r-http", {"priority": 1})
    spec = am.http_route(("web", 1))
    spec.update(am.tcp_route(("web", 1)))
    with bad(client, "specify only one of"):
        create_route(client, mesh, "r-http", spec)
    assert_no_routes(client, mesh, "r-http")


def test_port_match_required_with_several_listeners(client, mesh):
    with bad(client, "Route must define a port match criteria if the Virtual Router has "
                     "multiple listeners"):
        create_route(client, mesh, "r-multi", am.http_route(("web", 1)))
    with bad(client, "spec.httpRoute.match.port: 7777 is not a listener port of the Virtual "
                     "Router"):
        create_route(client, mesh, "r-multi", am.http_route(
            ("web", 1), match={"prefix": "/", "port": 7777}))
    # The port picks the listener, whose protocol must match the route type.
    with bad(client, "the route type must match the virtual router listener protocol "
                     "(grpc on port 9090)"):
        create_route(client, mesh, "r-multi", am.http_route(
            ("web", 1), match={"prefix": "/", "port": 9090}))
    assert_no_routes(client, mesh, "r-multi")
    create_route(client, mesh, "r-multi", am.http_route(("web", 1),
                                                        match={"prefix": "/", "port": 8080}))
    create_route(client, mesh, "r-multi", am.grpc_route(
        ("rpc", 1), match={"serviceName": "a.B", "port": 9090}))
    # A single-listener router: a given port must still be its port.
    with bad(client, "is not a listener port"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"prefix": "/", "port": 8081}))


def test_target_ports(client, mesh):
    with bad(client, "virtual node 'web' has no listener on port 9999"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1, 9999)))
    with bad(client, "virtual node 'multi' has several listeners; the target must name a port"):
        create_route(client, mesh, "r-http", am.http_route(("multi", 1)))
    assert_no_routes(client, mesh, "r-http")
    create_route(client, mesh, "r-http", am.http_route(("multi", 1, 8081)))
    create_route(client, mesh, "r-http", am.http_route(("web", 1, 8080), prefix="/x"))


def test_router_update_keeps_existing_routes_attached(client, mesh):
    create_route(client, mesh, "r-http", am.http_route(("web", 1)), "keep")
    with bad(client, "route 'keep' (http) would no longer match a listener"):
        client.update_virtual_router(meshName=mesh.mesh, virtualRouterName="r-http",
                                     spec=am.router_spec(8080, "http2"))
    with bad(client, "route 'keep'"):
        client.update_virtual_router(meshName=mesh.mesh, virtualRouterName="r-http",
                                     spec=am.router_spec(listeners=[am.listener(8080, "http"),
                                                                    am.listener(8081, "http")]))
    router = client.describe_virtual_router(meshName=mesh.mesh,
                                            virtualRouterName="r-http")["virtualRouter"]
    assert router["metadata"]["version"] == 1


# ---------------------------------------------------------------------------
# Matches
# ---------------------------------------------------------------------------

def test_grpc_method_needs_service(client, mesh):
    with bad(client, "spec.grpcRoute.match.methodName: a method name requires serviceName"):
        create_route(client, mesh, "r-grpc", am.grpc_route(("rpc", 1),
                                                           match={"methodName": "Get"}))
    create_route(client, mesh, "r-grpc", am.grpc_route(
        ("rpc", 1), match={"serviceName": "pkg.Svc", "methodName": "Get"}))
    create_route(client, mesh, "r-grpc", am.grpc_route(("rpc", 1), match={}))


def test_exactly_one_of_prefix_or_path(client, mesh):
    with bad(client, "specify either prefix or path, not both"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"prefix": "/", "path": {"exact": "/a"}}))
    with bad(client, "specify either prefix or path"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), match={"method": "GET"}))
    with bad(client, "specify exactly one of exact or regex"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"path": {"exact": "/a", "regex": "/a.*"}}))
    with bad(client, "must start with '/'"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), prefix="api"))
    assert_no_routes(client, mesh, "r-http")
    create_route(client, mesh, "r-http", am.http_route(("web", 1),
                                                       match={"path": {"exact": "/a"}}))
    create_route(client, mesh, "r-http", am.http_route(("web", 1),
                                                       match={"path": {"regex": "/b/[0-9]+"}}))


@pytest.mark.parametrize("prefix", ["/aws-appmesh", "/aws-appmesh/x", "/aws-app-mesh",
                                    "/aws-app-meshes"])
def test_reserved_prefixes(client, mesh, prefix):
    with bad(client, "is reserved"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), prefix=prefix))
    with bad(client, "is reserved"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1),
                                                           match={"path": {"exact": prefix}}))
    service = mesh.service()
    gateway = mesh.gateway()
    with bad(client, "is reserved"):
        client.create_gateway_route(meshName=mesh.mesh, virtualGatewayName=gateway,
                                    gatewayRouteName="g",
                                    spec=am.gateway_http_route(service, prefix=prefix))
    assert_no_routes(client, mesh, "r-http")


def test_near_reserved_prefixes_are_fine(client, mesh):
    for prefix in ("/aws", "/aws-mesh", "/aws_appmesh", "/AWS-APPMESH", "/x/aws-appmesh"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), prefix=prefix))


@pytest.mark.parametrize("service", ["aws.appmesh", "aws.appmesh.Envoy", "aws.app-mesh",
                                     "aws.app-mesh.X"])
def test_reserved_grpc_service_names(client, mesh, service):
    with bad(client, "is reserved"):
        create_route(client, mesh, "r-grpc", am.grpc_route(("rpc", 1),
                                                           match={"serviceName": service}))
    assert_no_routes(client, mesh, "r-grpc")


@pytest.mark.parametrize("regex,ok", [
    ("/api/v[0-9]+/.*", True), ("^/a|/b$", True), ("(?i)/case", True), ("/\\d{3}", True),
    ("/(?P<name>x)", True), ("/a{2,5}", True),
    ("/(?=look)", False), ("/(?!neg)", False), ("/(?<=b)x", False), ("/(?<!b)x", False),
    ("/(a)\\1", False), ("/[unclosed", False), ("/(open", False), ("/a{1001}", False),
    ("/a++", False), ("*x", False)])
def test_regexes_are_re2(client, mesh, regex, ok):
    spec = am.http_route(("web", 1), match={"path": {"regex": regex}})
    header_spec = am.http_route(("web", 1), match={
        "prefix": "/", "headers": [{"name": "x-id", "match": {"regex": regex}}]})
    if ok:
        create_route(client, mesh, "r-http", spec)
        create_route(client, mesh, "r-http", header_spec)
    else:
        with bad(client, "is not a valid RE2 regular expression"):
            create_route(client, mesh, "r-http", spec)
        with bad(client, "spec.httpRoute.match.headers.1.member.match.regex"):
            create_route(client, mesh, "r-http", header_spec)
        with bad(client, "is not a valid RE2 regular expression"):
            create_route(client, mesh, "r-grpc", am.grpc_route(("rpc", 1), match={
                "serviceName": "a.B", "metadata": [{"name": "m", "match": {"regex": regex}}]}))
        assert_no_routes(client, mesh, "r-http")


def test_header_and_metadata_match_counts(client, mesh):
    def headers(n):
        return [{"name": f"h{i}", "match": {"exact": "v"}} for i in range(n)]
    create_route(client, mesh, "r-http", am.http_route(
        ("web", 1), match={"prefix": "/", "headers": headers(10)}))
    with bad(client, "at 'spec.httpRoute.match.headers' failed to satisfy constraint: "
                     "Member must have length less than or equal to 10"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"prefix": "/", "headers": headers(11)}))
    with bad(client, "Member must have length greater than or equal to 1"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"prefix": "/", "headers": []}))
    create_route(client, mesh, "r-grpc", am.grpc_route(
        ("rpc", 1), match={"serviceName": "a.B", "metadata": headers(10)}))
    with bad(client, "at 'spec.grpcRoute.match.metadata' failed to satisfy constraint: "
                     "Member must have length less than or equal to 10"):
        create_route(client, mesh, "r-grpc", am.grpc_route(
            ("rpc", 1), match={"serviceName": "a.B", "metadata": headers(11)}))
    params = [{"name": f"q{i}", "match": {"exact": "1"}} for i in range(11)]
    with bad(client, "at 'spec.httpRoute.match.queryParameters' failed to satisfy constraint: "
                     "Member must have length less than or equal to 10"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"prefix": "/", "queryParameters": params}))
    create_route(client, mesh, "r-http", am.http_route(
        ("web", 1), match={"prefix": "/q", "queryParameters": params[:10]}))
    with bad(client, "parameter 'q0' is matched twice"):
        create_route(client, mesh, "r-http", am.http_route(
            ("web", 1), match={"prefix": "/q", "queryParameters": [params[0], params[0]]}))


def test_header_match_details(client, mesh):
    with bad(client, "start must be less than end"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), match={
            "prefix": "/", "headers": [{"name": "n", "match": {"range": {"start": 5, "end": 5}}}]}))
    with bad(client, "is a pseudo-header"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), match={
            "prefix": "/", "headers": [{"name": ":path", "match": {"exact": "/"}}]}))
    with bad(client, "Member must have exactly one of [exact, prefix, range, regex, suffix]"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), match={
            "prefix": "/", "headers": [{"name": "n", "match": {"exact": "a", "prefix": "b"}}]}))
    assert_no_routes(client, mesh, "r-http")


# ---------------------------------------------------------------------------
# Targets, weights, priority
# ---------------------------------------------------------------------------

def test_weighted_targets(client, mesh):
    b = mesh
    nodes = [b.node(f"t{i}") for i in range(11)]
    create_route(client, b, "r-http", am.http_route(*[(n, 10) for n in nodes[:10]]))
    with bad(client, "at 'spec.httpRoute.action.weightedTargets' failed to satisfy constraint: "
                     "Member must have length less than or equal to 10"):
        create_route(client, b, "r-http", am.http_route(*[(n, 9) for n in nodes]))
    with bad(client, "Member must have length greater than or equal to 1"):
        create_route(client, b, "r-http", {"httpRoute": {
            "action": {"weightedTargets": []}, "match": {"prefix": "/"}}})
    with bad(client, "at least one target needs a weight greater than 0"):
        create_route(client, b, "r-http", am.http_route(("web", 0), ("t1", 0), prefix="/z"))
    with bad(client) as e:
        create_route(client, b, "r-http", am.http_route(("web", 101)))
    assert e.message == am.validation_message(
        101, "spec.httpRoute.action.weightedTargets.1.member.weight",
        "Member must have value less than or equal to 100")
    with bad(client, "Member must have value greater than or equal to 0"):
        create_route(client, b, "r-http", am.http_route(("web", -1), ("t1", 5)))
    with bad(client, "virtual node 'web' is a target twice"):
        create_route(client, b, "r-http", am.http_route(("web", 50), ("web", 50)))
    # Boundaries that are fine: 0 beside a positive weight, 100.
    create_route(client, b, "r-http", am.http_route(("web", 0), ("t1", 100), prefix="/ok"))


@pytest.mark.parametrize("priority,ok", [(-1, False), (0, True), (1000, True), (1001, False)])
def test_priority_range(client, mesh, priority, ok):
    spec = am.http_route(("web", 1))
    spec["priority"] = priority
    if ok:
        assert create_route(client, mesh, "r-http", spec)["spec"]["priority"] == priority
    else:
        word = "greater than or equal to 0" if priority < 0 else "less than or equal to 1000"
        with bad(client) as e:
            create_route(client, mesh, "r-http", spec)
        assert e.message == am.validation_message(priority, "spec.priority",
                                                  f"Member must have value {word}")


# ---------------------------------------------------------------------------
# Retry policies
# ---------------------------------------------------------------------------

RETRY = {"maxRetries": 3, "perRetryTimeout": {"unit": "s", "value": 15}}


def test_retry_policy_needs_an_event(client, mesh):
    with bad(client, "spec.httpRoute.retryPolicy: specify at least one of httpRetryEvents or "
                     "tcpRetryEvents"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), retryPolicy=dict(RETRY)))
    with bad(client, "spec.grpcRoute.retryPolicy: specify at least one of grpcRetryEvents, "
                     "httpRetryEvents or tcpRetryEvents"):
        create_route(client, mesh, "r-grpc", am.grpc_route(("rpc", 1), retryPolicy=dict(RETRY)))
    with bad(client, "at 'spec.httpRoute.retryPolicy.maxRetries' failed to satisfy constraint: "
                     "Member must not be null"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), retryPolicy={
            "httpRetryEvents": ["server-error"], "perRetryTimeout": {"unit": "s", "value": 1}}))
    with bad(client, "perRetryTimeout"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), retryPolicy={
            "httpRetryEvents": ["server-error"], "maxRetries": 1}))
    assert_no_routes(client, mesh, "r-http")
    for events in ({"httpRetryEvents": ["server-error", "gateway-error", "client-error",
                                        "stream-error"]},
                   {"tcpRetryEvents": ["connection-error"]}):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), prefix="/" + uniq("p"),
                                                           retryPolicy={**RETRY, **events}))
    create_route(client, mesh, "r-grpc", am.grpc_route(
        ("rpc", 1), retryPolicy={**RETRY, "grpcRetryEvents": ["cancelled", "unavailable"]}))


def test_http_retry_event_values(client, mesh):
    with bad(client, "spec.httpRoute.retryPolicy.httpRetryEvents: 'server-errors' is not one of "
                     "server-error, gateway-error, client-error, stream-error"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), retryPolicy={
            **RETRY, "httpRetryEvents": ["server-error", "server-errors"]}))
    with bad(client, "Member must satisfy enum value set"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1), retryPolicy={
            **RETRY, "tcpRetryEvents": ["timeout"]}))
    assert_no_routes(client, mesh, "r-http")


# ---------------------------------------------------------------------------
# Listeners: connection pools, timeouts, health checks, service discovery
# ---------------------------------------------------------------------------

POOLS = {"tcp": {"maxConnections": 10},
         "http": {"maxConnections": 10, "maxPendingRequests": 5},
         "http2": {"maxRequests": 10},
         "grpc": {"maxRequests": 10}}


@pytest.mark.parametrize("protocol", ["http", "http2", "grpc", "tcp"])
def test_connection_pool_protocol_must_match_listener(client, mesh, protocol):
    for pool, settings in POOLS.items():
        spec = am.node_spec(listeners=[am.listener(8080, protocol,
                                                   connectionPool={pool: settings})])
        name = uniq("vn")
        if pool == protocol:
            created = client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=name,
                                                 spec=spec)["virtualNode"]
            assert created["spec"]["listeners"][0]["connectionPool"] == {pool: settings}
        else:
            with bad(client, f"the connection pool protocol ({pool}) must match the listener's "
                             f"portMapping protocol ({protocol})"):
                client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=name, spec=spec)


def test_connection_pool_members(server, client, mesh):
    # tcp: maxConnections only; http: maxConnections (+ maxPendingRequests);
    # http2/grpc: maxRequests only -- the model's shapes. (Raw HTTP: botocore
    # cannot even serialize a member its model lacks.)
    for pool, settings, shape in [
            ("tcp", {"maxRequests": 1}, "VirtualNodeTcpConnectionPool"),
            ("http2", {"maxConnections": 1}, "VirtualNodeHttp2ConnectionPool"),
            ("http", {"maxConnections": 1, "maxRequests": 1}, "VirtualNodeHttpConnectionPool")]:
        response = server.raw("PUT", f"/v20190125/meshes/{mesh.mesh}/virtualNodes", {
            "virtualNodeName": uniq("vn"),
            "spec": am.node_spec(listeners=[am.listener(8080, pool,
                                                        connectionPool={pool: settings})])})
        am.assert_error_response(response, 400, "BadRequestException",
                                 f"failed to satisfy constraint: Member is not part of {shape}")
    with bad(client, "maxConnections' failed to satisfy constraint: Member must not be null"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(listeners=[am.listener(
                                       8080, "http", connectionPool={"http": {
                                           "maxPendingRequests": 1}})]))


def test_gateway_connection_pool_and_timeout(client, mesh):
    with bad(client, "the connection pool protocol (http2) must match"):
        client.create_virtual_gateway(meshName=mesh.mesh, virtualGatewayName=uniq("vg"),
                                      spec={"listeners": [am.listener(
                                          9080, "http", connectionPool={"http2": {
                                              "maxRequests": 5}})]})
    with bad(client, "the timeout protocol (grpc) must match"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(listeners=[am.listener(
                                       8080, "http", timeout={"grpc": {
                                           "perRequest": {"unit": "s", "value": 1}}})]))


HEALTH = {"healthyThreshold": 2, "intervalMillis": 5000, "timeoutMillis": 2000,
          "unhealthyThreshold": 2}


@pytest.mark.parametrize("protocol", ["http", "http2"])
def test_http_health_checks_need_a_path(client, mesh, protocol):
    spec = am.node_spec(listeners=[am.listener(8080, protocol,
                                               healthCheck={**HEALTH, "protocol": protocol})])
    with bad(client, f"an {protocol} health check needs a path starting with '/'"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"), spec=spec)
    with bad(client, "healthCheck.path"):
        client.create_virtual_gateway(meshName=mesh.mesh, virtualGatewayName=uniq("vg"),
                                      spec={"listeners": [am.listener(
                                          9080, protocol,
                                          healthCheck={**HEALTH, "protocol": protocol})]})
    spec["listeners"][0]["healthCheck"]["path"] = "/ping"
    client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"), spec=spec)


def test_tcp_and_grpc_health_checks_need_no_path(client, mesh):
    for protocol in ("tcp", "grpc"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(listeners=[am.listener(
                                       8080, protocol,
                                       healthCheck={**HEALTH, "protocol": protocol})]))
    with bad(client, "healthyThreshold' failed to satisfy constraint: Member must not be null"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(listeners=[am.listener(8080, "tcp", healthCheck={
                                       "protocol": "tcp", "intervalMillis": 5000,
                                       "timeoutMillis": 2000, "unhealthyThreshold": 2})]))
    with bad(client, "Member must have value greater than or equal to 5000"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(listeners=[am.listener(8080, "tcp", healthCheck={
                                       **HEALTH, "protocol": "tcp", "intervalMillis": 4999})]))


def test_node_with_listeners_needs_service_discovery(client, mesh):
    with bad(client, "spec.serviceDiscovery: a virtual node with listeners needs service "
                     "discovery"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec={"listeners": [am.listener()]})
    # Without listeners (a client-only node) it is optional.
    client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                               spec={"backends": [{"virtualService": {
                                   "virtualServiceName": "x.local"}}]})
    client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"), spec={})


def test_listener_ports_are_unique(client, mesh):
    with bad(client, "port 8080 is used by two listeners"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(listeners=[am.listener(8080, "http"),
                                                                am.listener(8080, "tcp")]))
    with bad(client, "port 80 is used by two listeners"):
        client.create_virtual_router(meshName=mesh.mesh, virtualRouterName=uniq("vr"),
                                     spec=am.router_spec(listeners=[am.listener(80),
                                                                    am.listener(80)]))


def test_router_and_gateway_need_a_listener(client, mesh):
    with bad(client, "a virtual router needs at least one listener"):
        client.create_virtual_router(meshName=mesh.mesh, virtualRouterName=uniq("vr"),
                                     spec={"listeners": []})
    with bad(client, "a virtual router needs at least one listener"):
        client.create_virtual_router(meshName=mesh.mesh, virtualRouterName=uniq("vr"), spec={})
    with bad(client, "at least one listener is required"):
        client.create_virtual_gateway(meshName=mesh.mesh, virtualGatewayName=uniq("vg"),
                                      spec={"listeners": []})


def test_duplicate_backends(client, mesh):
    with bad(client, "virtual service 'a.local' is listed twice"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=uniq("vn"),
                                   spec=am.node_spec(backends=["a.local", "b.local", "a.local"]))


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

def test_names_with_a_slash_are_refused(client, mesh):
    with bad(client, "must not contain '/'"):
        client.create_virtual_node(meshName=mesh.mesh, virtualNodeName="a/b",
                                   spec=am.node_spec())
    with bad(client, "must not contain '/'"):
        client.create_virtual_service(meshName=mesh.mesh, virtualServiceName="svc/x", spec={})
    with bad(client, "must not contain '/'"):
        create_route(client, mesh, "r-http", am.http_route(("web", 1)), name="r/1")
    assert_no_routes(client, mesh, "r-http")


def test_names_with_unusual_characters_work(client, mesh):
    # '%', spaces, dots, unicode: App Mesh constrains only the length.
    for name in ("a%2Fb", "with space", "dots.and-dash_", "ünïcødé", "%", "a%"):
        created = client.create_virtual_node(meshName=mesh.mesh, virtualNodeName=name,
                                             spec=am.node_spec())["virtualNode"]
        assert created["virtualNodeName"] == name
        assert created["metadata"]["arn"] == am.arn(mesh.mesh, "virtualNode", name)
        assert client.describe_virtual_node(meshName=mesh.mesh, virtualNodeName=name)[
            "virtualNode"] == created
        arn = created["metadata"]["arn"]
        client.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
        assert client.list_tags_for_resource(resourceArn=arn)["tags"] == [
            {"key": "k", "value": "v"}]
    names = {n["virtualNodeName"] for n in
             client.list_virtual_nodes(meshName=mesh.mesh)["virtualNodes"]}
    assert {"a%2Fb", "with space", "%", "a%"} <= names


# ---------------------------------------------------------------------------
# Gateway routes
# ---------------------------------------------------------------------------

def test_gateway_route_rules(client, mesh):
    b = mesh
    service = b.service()
    gw = b.gateway("gw", port=9080, protocol="http")
    client.create_virtual_gateway(meshName=b.mesh, virtualGatewayName="gw2", spec={
        "listeners": [am.listener(9080, "http"), am.listener(9090, "grpc")]})

    def create(gateway, spec):
        return client.create_gateway_route(meshName=b.mesh, virtualGatewayName=gateway,
                                           gatewayRouteName=uniq("gr"), spec=spec)

    with bad(client, "the gateway route type must match the virtual gateway listener protocol"):
        create(gw, {"grpcRoute": {"action": {"target": {"virtualService": {
            "virtualServiceName": service}}}, "match": {"serviceName": "a.B"}}})
    with bad(client, "Route must define a port match criteria if the Virtual Gateway has "
                     "multiple listeners"):
        create("gw2", am.gateway_http_route(service))
    with bad(client, "specify a prefix, a path or a hostname to match"):
        create(gw, am.gateway_http_route(service, match={"method": "GET"}))
    with bad(client, "a prefix rewrite needs a prefix match"):
        create(gw, am.gateway_http_route(service, match={"path": {"exact": "/a"}},
                                         rewrite={"prefix": {"value": "/b/"}}))
    with bad(client, "must start and end with '/'"):
        create(gw, am.gateway_http_route(service, prefix="/a/",
                                         rewrite={"prefix": {"value": "/b"}}))
    with bad(client, "specify exactly one of defaultPrefix or value"):
        create(gw, am.gateway_http_route(service, prefix="/a/",
                                         rewrite={"prefix": {"defaultPrefix": "ENABLED",
                                                             "value": "/b/"}}))
    with bad(client, "specify exactly one of exact or suffix"):
        create(gw, am.gateway_http_route(service, match={"hostname": {}}))
    assert client.list_gateway_routes(meshName=b.mesh, virtualGatewayName=gw)[
        "gatewayRoutes"] == []
    create(gw, am.gateway_http_route(service, match={"hostname": {"suffix": ".example.com"}}))
    create("gw2", am.gateway_http_route(service, match={"prefix": "/", "port": 9080}))
    create("gw2", {"grpcRoute": {"action": {"target": {"virtualService": {
        "virtualServiceName": service}}}, "match": {"serviceName": "a.B", "port": 9090}}})
