"""Malformed and boundary input, sent as raw HTTP (http.client) so nothing
is checked or fixed client-side: truncated JSON, wrong JSON types at every
level of a real document, bodies that are not objects, duplicate keys,
invalid UTF-8, unicode lengths (characters, not bytes), huge bodies, every
constraint's boundary values, unknown members, unknown paths, and SigV4
headers (accepted and ignored).

Every error must come back with its HTTP status, `x-amzn-ErrorType` and a
JSON `message`; a few are also sent through botocore to check it raises the
modelled exception class. After each refusal nothing was created.
"""
import copy
import json
import urllib.parse

import pytest

import appmesh_testlib as am
from appmesh_testlib import assert_error_response, uniq

V = "/v20190125"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from am.module_server(tmp_path_factory, "malformed", quota_meshes=10000)


@pytest.fixture(scope="module")
def mesh(server):
    name = uniq("mesh")
    response = server.raw("PUT", f"{V}/meshes", {"meshName": name})
    assert response.status == 200, response
    return name


def q(name):
    return urllib.parse.quote(name, safe="")


def node_body(name):
    """A CreateVirtualNode body using most of VirtualNodeSpec."""
    return {
        "virtualNodeName": name,
        "spec": {
            "listeners": [{
                "portMapping": {"port": 8080, "protocol": "http"},
                "healthCheck": {"healthyThreshold": 2, "intervalMillis": 5000, "path": "/ping",
                                "protocol": "http", "timeoutMillis": 2000,
                                "unhealthyThreshold": 3},
                "connectionPool": {"http": {"maxConnections": 10, "maxPendingRequests": 5}},
                "timeout": {"http": {"perRequest": {"unit": "s", "value": 15},
                                     "idle": {"unit": "ms", "value": 300000}}},
                "outlierDetection": {"baseEjectionDuration": {"unit": "s", "value": 10},
                                     "interval": {"unit": "s", "value": 10},
                                     "maxEjectionPercent": 50, "maxServerErrors": 5},
            }],
            "serviceDiscovery": {"dns": {"hostname": "web.local", "responseType": "ENDPOINTS"}},
            "backends": [{"virtualService": {"virtualServiceName": "b.local"}}],
            "backendDefaults": {"clientPolicy": {"tls": {"enforce": True, "ports": [443],
                                                         "validation": {"trust": {"file": {
                                                             "certificateChain": "/c.pem"}}}}}},
            "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}},
        },
        "tags": [{"key": "team", "value": "x"}],
    }


def create_node(server, mesh, body):
    return server.raw("PUT", f"{V}/meshes/{q(mesh)}/virtualNodes", body)


def node_names(server, mesh):
    response = server.raw("GET", f"{V}/meshes/{q(mesh)}/virtualNodes")
    assert response.status == 200, response
    return [n["virtualNodeName"] for n in response.json["virtualNodes"]]


def bad_request(response, fragment=None):
    return assert_error_response(response, 400, "BadRequestException", fragment)


def test_the_full_document_is_accepted(server, mesh):
    body = node_body("full")
    response = create_node(server, mesh, body)
    assert response.status == 200, response
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-amzn-requestid")
    assert "x-amzn-errortype" not in response.headers
    # rest-json: the body of a Create/Describe/Update/Delete answer is the
    # payload member itself (VirtualNodeData), not {"virtualNode": ...}.
    assert response.json["spec"] == body["spec"]
    assert response.json["virtualNodeName"] == "full"


# ---------------------------------------------------------------------------
# JSON syntax
# ---------------------------------------------------------------------------

def test_truncated_json(server, mesh):
    text = json.dumps(node_body("truncated"))
    cuts = sorted({1, 2, 10, len(text) // 3, len(text) // 2, len(text) - 2, len(text) - 1})
    for cut in cuts:
        bad_request(create_node(server, mesh, text[:cut]), "Request body is not valid JSON")
    assert "truncated" not in node_names(server, mesh)


@pytest.mark.parametrize("body,what", [
    ("[]", "a list"), ('"text"', "a string"), ("42", "a number"), ("null", "null"),
    ("true", "a boolean"), ("[{\"meshName\": \"x\"}]", "a list")])
def test_body_that_is_not_an_object(server, body, what):
    bad_request(server.raw("PUT", f"{V}/meshes", body),
                f"Request body must be a JSON object, not {what}")


def test_empty_body_is_an_empty_object(server, mesh):
    # {} for CreateVirtualNode lacks the required members.
    response = create_node(server, mesh, "")
    message = bad_request(response, "validation error")
    assert "at 'spec' failed to satisfy constraint: Member must not be null" in message
    assert "at 'virtualNodeName' failed to satisfy constraint: Member must not be null" in message


def test_duplicate_keys(server, mesh):
    bad_request(server.raw("PUT", f"{V}/meshes", '{"meshName": "a1", "meshName": "a2"}'),
                "duplicate member")
    nested = ('{"virtualNodeName": "dup", "spec": {"listeners": [{"portMapping": '
              '{"port": 80, "port": 81, "protocol": "http"}}], "serviceDiscovery": '
              '{"dns": {"hostname": "h"}}}}')
    bad_request(create_node(server, mesh, nested), "duplicate member")
    assert "dup" not in node_names(server, mesh)


def test_invalid_utf8(server, mesh):
    for raw in (b'{"meshName": "\xff"}', b'{"meshName": "a\xc3"}', b'{"meshName": "\xed\xa0\x80"}',
                b'{"meshName": "\xf8\x88\x80\x80\x80"}', b'{"me\xffshName": "x"}'):
        bad_request(server.raw("PUT", f"{V}/meshes", raw), "not valid UTF-8")
    # In the URI: a percent-encoded invalid byte.
    bad_request(server.raw("GET", f"{V}/meshes/%FF"), "valid UTF-8")


def test_nul_and_lone_surrogates(server):
    bad_request(server.raw("PUT", f"{V}/meshes", '{"meshName": "a\\u0000b"}'), "NUL")
    bad_request(server.raw("PUT", f"{V}/meshes", '{"meshName": "a\\ud800b"}'),
                "Request body is not valid JSON")


def test_json_numbers(server, mesh):
    body = node_body("numbers")
    for value, fragment in [(1.5, "Member must be an integer, not a decimal number"),
                            (8080.0, "Member must be an integer, not a decimal number"),
                            (1e400, None),
                            (2 ** 31, "Member must be an integer from -2147483648 to 2147483647"),
                            (2 ** 64, None)]:
        doc = copy.deepcopy(body)
        text = json.dumps(doc).replace('"port": 8080', f'"port": {value!r}' if value != 1e400
                                       else '"port": 1e400')
        bad_request(create_node(server, mesh, text), fragment)
    assert "numbers" not in node_names(server, mesh)


# ---------------------------------------------------------------------------
# Wrong JSON types, at every level of a real document
# ---------------------------------------------------------------------------

def json_kind(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    raise AssertionError(value)


WRONG = {
    "an object": ["x", 1, [], True],
    "a list": [{}, "x", 2],
    "a string": [1, [], {}, False],
    "an integer": ["1", [], {}, True, 2.5],
    "a boolean": ["true", 1, {}],
}


def walk(value, path=()):
    """(path tuple, value) for every node below the root."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path + (k,), v
            yield from walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield path + (i,), v
            yield from walk(v, path + (i,))


def aws_path(path):
    parts = []
    for p in path:
        parts.append(f"{p + 1}.member" if isinstance(p, int) else p)
    return ".".join(parts)


def replaced(doc, path, value):
    doc = copy.deepcopy(doc)
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


def test_wrong_types_at_every_level(server, mesh):
    body = node_body("typed")
    checked = 0
    for path, value in walk(body):
        expected = json_kind(value)
        for wrong in WRONG[expected]:
            actual = "a decimal number" if isinstance(wrong, float) else json_kind(wrong)
            response = create_node(server, mesh, replaced(body, path, wrong))
            message = bad_request(response)
            where = f"at '{aws_path(path)}' failed to satisfy constraint: "
            assert f"{where}Member must be {expected}, not {actual}" in message, (path, message)
            checked += 1
    assert checked > 150
    assert "typed" not in node_names(server, mesh)


def test_null_members(server, mesh):
    body = node_body("nulls")
    # null for a required member is "missing"; for an optional one, "unset".
    message = bad_request(create_node(server, mesh, replaced(body, ("spec", "listeners", 0,
                                                                    "portMapping"), None)))
    assert message == ("1 validation error detected: Value null at "
                       "'spec.listeners.1.member.portMapping' failed to satisfy constraint: "
                       "Member must not be null")
    message = bad_request(create_node(server, mesh, replaced(body, ("spec", "backends", 0),
                                                             None)))
    assert "at 'spec.backends.1.member' failed to satisfy constraint: Member must not be null" \
        in message
    response = create_node(server, mesh, replaced(body, ("spec", "logging"), None))
    assert response.status == 200, response
    assert "logging" not in response.json["spec"]


def test_unknown_members(server, mesh):
    message = bad_request(create_node(server, mesh, dict(node_body("unknown"), bogus=1)))
    assert message == ("1 validation error detected: Value '1' at 'bogus' failed to satisfy "
                       "constraint: Member is not part of CreateVirtualNodeInput")
    doc = node_body("unknown")
    doc["spec"]["listeners"][0]["portMapping"]["portt"] = 80
    message = bad_request(create_node(server, mesh, doc))
    assert "Value '80' at 'spec.listeners.1.member.portMapping.portt' failed to satisfy " \
           "constraint: Member is not part of PortMapping" in message
    # A member that belongs in the URI may not come in the body.
    doc = dict(node_body("unknown"), meshName=mesh)
    bad_request(create_node(server, mesh, doc),
                "Member 'meshName' must be given in the request URI, not in the request body")
    assert "unknown" not in node_names(server, mesh)


# ---------------------------------------------------------------------------
# Unicode lengths: characters, not bytes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("char", ["e", "é", "€", "𝄞"])
def test_name_length_counts_characters(server, char):
    # 𝄞 takes 4 bytes: 254 of them fit a store key (1024 bytes), 255 do not
    # (documented in docs/api-compatibility.md); 3-byte characters always fit.
    top = 254 if char == "𝄞" else 255
    for count, ok in ((top, True), (256, False)):
        name = char * count
        response = server.raw("PUT", f"{V}/meshes", {"meshName": name})
        if ok:
            assert response.status == 200, response
            assert response.json["meshName"] == name
            arn = response.json["metadata"]["arn"]
            assert arn == am.arn(name)
            # The name round-trips through the URI, and the ARN through tags.
            described = server.raw("GET", f"{V}/meshes/{q(name)}")
            assert described.status == 200 and described.json == response.json, described
            tagged = server.raw("PUT", f"{V}/tag?resourceArn={q(arn)}",
                                {"tags": [{"key": char * 128, "value": char * 256}]})
            assert tagged.status == 200, tagged
            listed = server.raw("GET", f"{V}/tags?resourceArn={q(arn)}")
            assert listed.json == {"tags": [{"key": char * 128, "value": char * 256}]}, listed
            too_long = server.raw("PUT", f"{V}/tag?resourceArn={q(arn)}",
                                  {"tags": [{"key": char * 129, "value": ""}]})
            bad_request(too_long, "Member must have length less than or equal to 128")
            too_long = server.raw("PUT", f"{V}/tag?resourceArn={q(arn)}",
                                  {"tags": [{"key": "k", "value": char * 257}]})
            bad_request(too_long, "Member must have length less than or equal to 256")
            assert server.raw("DELETE", f"{V}/meshes/{q(name)}").status == 200
        else:
            message = bad_request(response)
            assert message == am.validation_message(
                name, "meshName", "Member must have length less than or equal to 255")


def test_escaped_unicode_counts_characters(server):
    # "\ud834\udd1e" is one character (a surrogate pair in JSON).
    name = "\U0001D11E" * 254
    text = '{"meshName": "' + "\\ud834\\udd1e" * 254 + '"}'
    response = server.raw("PUT", f"{V}/meshes", text)
    assert response.status == 200, response
    assert response.json["meshName"] == name
    assert server.raw("DELETE", f"{V}/meshes/{q(name)}").status == 200
    # 256 characters is over the model's limit, 255 over the store key's.
    text = '{"meshName": "' + "\\ud834\\udd1e" * 256 + '"}'
    bad_request(server.raw("PUT", f"{V}/meshes", text),
                "Member must have length less than or equal to 255")
    text = '{"meshName": "' + "\\ud834\\udd1e" * 255 + '"}'
    bad_request(server.raw("PUT", f"{V}/meshes", text), "too long for trellis's store keys")


def test_long_multibyte_names_in_nested_resources(server):
    # Resources addressed by several long names (route in router in mesh).
    # 200 two-byte characters: 400 bytes, more than 255 bytes per name.
    mesh, router, route, node = "ü" * 100, "ß" * 100, "é" * 200, "n" * 255
    assert server.raw("PUT", f"{V}/meshes", {"meshName": mesh}).status == 200
    assert create_node(server, mesh, {"virtualNodeName": node, "spec": {}}).status == 200
    r = server.raw("PUT", f"{V}/meshes/{q(mesh)}/virtualRouters", {
        "virtualRouterName": router, "spec": am.router_spec()})
    assert r.status == 200, r
    r = server.raw("PUT", f"{V}/meshes/{q(mesh)}/virtualRouter/{q(router)}/routes", {
        "routeName": route, "spec": am.http_route((node, 1))})
    assert r.status == 200, r
    arn = r.json["metadata"]["arn"]
    assert arn == am.arn(mesh, "virtualRouter", router, "route", route)
    r = server.raw("PUT", f"{V}/tag?resourceArn={q(arn)}", {"tags": [{"key": "k", "value": "v"}]})
    assert r.status == 200, r
    r = server.raw("GET", f"{V}/meshes/{q(mesh)}/virtualRouter/{q(router)}/routes/{q(route)}")
    assert r.status == 200 and r.json["routeName"] == route, r


# ---------------------------------------------------------------------------
# Boundary values of constraints
# ---------------------------------------------------------------------------

def port_body(name, port):
    return {"virtualNodeName": name,
            "spec": {"listeners": [{"portMapping": {"port": port, "protocol": "tcp"}}],
                     "serviceDiscovery": {"dns": {"hostname": "h"}}}}


@pytest.mark.parametrize("port,ok", [(0, False), (1, True), (65535, True), (65536, False),
                                     (-1, False)])
def test_port_boundaries(server, mesh, port, ok):
    name = uniq("port")
    response = create_node(server, mesh, port_body(name, port))
    if ok:
        assert response.status == 200, response
        assert response.json["spec"]["listeners"][0]["portMapping"]["port"] == port
    else:
        word = ("greater than or equal to 1" if port < 1 else "less than or equal to 65535")
        assert bad_request(response) == am.validation_message(
            port, "spec.listeners.1.member.portMapping.port", f"Member must have value {word}")


@pytest.mark.parametrize("length,ok", [(0, False), (1, True), (255, True), (256, False)])
def test_resource_name_boundaries(server, mesh, length, ok):
    name = ("n%d-" % length + "x" * 300)[:length]
    response = create_node(server, mesh, {"virtualNodeName": name, "spec": {}})
    if ok:
        assert response.status == 200, response
    else:
        word = "greater than or equal to 1" if length < 1 else "less than or equal to 255"
        assert bad_request(response) == am.validation_message(
            name, "virtualNodeName", f"Member must have length {word}")


def router_with_route(server, mesh):
    router = uniq("vr")
    r = server.raw("PUT", f"{V}/meshes/{q(mesh)}/virtualRouters",
                   {"virtualRouterName": router, "spec": am.router_spec()})
    assert r.status == 200, r
    node = uniq("vn")
    assert create_node(server, mesh, {"virtualNodeName": node, "spec": {}}).status == 200
    return router, node


def create_route(server, mesh, router, spec):
    return server.raw("PUT", f"{V}/meshes/{q(mesh)}/virtualRouter/{q(router)}/routes",
                      {"routeName": uniq("rt"), "spec": spec})


def test_route_boundaries(server, mesh):
    router, node = router_with_route(server, mesh)
    # priority 0..1000; weight 0..100; 1..10 targets; 1..10 headers.
    for priority, ok in ((-1, False), (0, True), (1000, True), (1001, False)):
        spec = am.http_route((node, 1), prefix=f"/p{priority}")
        spec["priority"] = priority
        response = create_route(server, mesh, router, spec)
        assert (response.status == 200) == ok, response
        if not ok:
            bad_request(response, "at 'spec.priority'")
    for weight, ok in ((-1, False), (0, None), (1, True), (100, True), (101, False)):
        response = create_route(server, mesh, router, am.http_route((node, weight),
                                                                    prefix=f"/w{weight}"))
        if ok is None:  # weight 0 alone: the at-least-one-positive rule
            bad_request(response, "at least one target needs a weight greater than 0")
        elif ok:
            assert response.status == 200, response
        else:
            bad_request(response, "weightedTargets.1.member.weight")
    nodes = [node]
    for _ in range(10):
        extra = uniq("vn")
        assert create_node(server, mesh, {"virtualNodeName": extra, "spec": {}}).status == 200
        nodes.append(extra)
    for count, ok in ((10, True), (11, False)):
        response = create_route(server, mesh, router, am.http_route(
            *[(n, 1) for n in nodes[:count]], prefix=f"/t{count}"))
        if ok:
            assert response.status == 200, response
        else:
            bad_request(response, "Member must have length less than or equal to 10")
    for count, ok in ((0, False), (1, True), (10, True), (11, False)):
        headers = [{"name": f"h{i}", "match": {"exact": "v"}} for i in range(count)]
        response = create_route(server, mesh, router, am.http_route(
            (node, 1), match={"prefix": f"/h{count}", "headers": headers}))
        if ok:
            assert response.status == 200, response
        else:
            bad_request(response, "at 'spec.httpRoute.match.headers'")


def test_tag_count_boundaries(server):
    for count, ok in ((50, True), (51, False)):
        name = uniq("mesh")
        tags = [{"key": f"k{i}", "value": ""} for i in range(count)]
        response = server.raw("PUT", f"{V}/meshes", {"meshName": name, "tags": tags})
        if ok:
            assert response.status == 200, response
        else:
            bad_request(response, "at 'tags' failed to satisfy constraint: Member must have "
                                  "length less than or equal to 50")
    name = uniq("mesh")
    assert server.raw("PUT", f"{V}/meshes", {"meshName": name}).status == 200
    arn = am.arn(name)
    r = server.raw("PUT", f"{V}/tag?resourceArn={q(arn)}",
                   {"tags": [{"key": f"k{i}", "value": ""} for i in range(51)]})
    bad_request(r, "Member must have length less than or equal to 50")
    r = server.raw("PUT", f"{V}/tag?resourceArn={q(arn)}", {"tags": []})
    assert r.status == 200, r
    r = server.raw("PUT", f"{V}/untag?resourceArn={q(arn)}",
                   {"tagKeys": [f"k{i}" for i in range(51)]})
    bad_request(r, "at 'tagKeys'")


def test_list_limit_boundaries(server, mesh):
    for limit, ok in (("0", False), ("1", True), ("100", True), ("101", False),
                      ("abc", False), ("1.5", False), ("", False), ("01", False),
                      ("99999999999", False)):
        r = server.raw("GET", f"{V}/meshes/{q(mesh)}/virtualNodes?limit={limit}")
        if ok:
            assert r.status == 200, r
            assert len(r.json["virtualNodes"]) <= int(limit)
        else:
            bad_request(r, "limit")


# ---------------------------------------------------------------------------
# Huge bodies, unknown paths, SigV4
# ---------------------------------------------------------------------------

def test_huge_body(server, mesh):
    # Over the front end's bound (api.appmesh max_body_bytes, 1 MiB by default).
    big = {"meshName": uniq("mesh"), "tags": [{"key": "k", "value": "v" * (2 << 20)}]}
    bad_request(server.raw("PUT", f"{V}/meshes", big, timeout=30), "body")
    # Under the bound but over the model: a value too long.
    r = server.raw("PUT", f"{V}/meshes",
                   {"meshName": uniq("mesh"), "tags": [{"key": "k", "value": "v" * 300000}]})
    bad_request(r, "Member must have length less than or equal to 256")
    # The server is still fine.
    assert server.raw("GET", f"{V}/meshes/{q(mesh)}").status == 200


def test_large_bodies_arriving_after_the_head(server):
    # A body that needs the input buffer to grow after the request head was
    # parsed (once a use-after-free in plugins/common/http_server.c: the
    # method and path pointed into the old buffer, answered as a garbage 404).
    import socket
    for size in (40000, 300000, 900000):
        name = uniq("big")
        body = (json.dumps({"meshName": name}) + " " * size).encode()
        r = server.raw("PUT", f"{V}/meshes", body, timeout=30)
        assert r.status == 200 and r.json["meshName"] == name, r
    # The same in separate sends, and chunked.
    host, port = am.lib.split_address(server.api)
    name = uniq("big")
    body = (json.dumps({"meshName": name}) + " " * 200000).encode()
    with socket.create_connection((host, port), timeout=am.lib.scaled(10)) as sock:
        sock.sendall(f"PUT {V}/meshes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        for i in range(0, len(body), 65536):
            sock.sendall(body[i:i + 65536])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:500]
    name = uniq("big")
    body = (json.dumps({"meshName": name}) + " " * 200000).encode()
    conn = am.lib.http.client.HTTPConnection(host, port, timeout=am.lib.scaled(10))
    conn.request("PUT", f"{V}/meshes", body=(body[i:i + 10000] for i in range(0, len(body), 10000)),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert json.loads(response.read())["meshName"] == name
    conn.close()


def test_unknown_paths_and_methods(server, mesh):
    for method, path in (("GET", "/"), ("GET", f"{V}/bogus"), ("POST", f"{V}/meshes"),
                         ("PATCH", f"{V}/meshes/{q(mesh)}"), ("GET", "/v20180101/meshes"),
                         ("GET", f"{V}/meshes/{q(mesh)}/virtualNodes/a/b")):
        r = server.raw(method, path)
        assert_error_response(r, 404, "UnknownOperationException", path.split("?")[0])


def test_sigv4_headers_are_accepted_and_ignored(server, mesh):
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBOGUS/20260101/us-east-1/appmesh/"
                         "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "X-Amz-Date": "20000101T000000Z",
        "X-Amz-Security-Token": "bogus-session-token",
        "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
        "User-Agent": "aws-cli/2.9.19",
    }
    r = server.raw("GET", f"{V}/meshes/{q(mesh)}", headers=headers)
    assert r.status == 200 and r.json["meshName"] == mesh, r
    name = uniq("mesh")
    r = server.raw("PUT", f"{V}/meshes", {"meshName": name}, headers=headers)
    assert r.status == 200, r
    # And with botocore's own signing under arbitrary credentials.
    import boto3
    client = boto3.session.Session().client(
        "appmesh", endpoint_url=server.endpoint, region_name=am.REGION,
        aws_access_key_id="ANY", aws_secret_access_key="THING", aws_session_token="TOKEN")
    assert client.describe_mesh(meshName=name)["mesh"]["meshName"] == name


def test_botocore_raises_the_modelled_classes(server, mesh):
    client = server.client(parameter_validation=False)
    with am.expect_error(client, "BadRequestException", 400, "validation error"):
        client.create_virtual_node(meshName=mesh, virtualNodeName="", spec={})
    with am.expect_error(client, "NotFoundException", 404):
        client.describe_virtual_node(meshName=mesh, virtualNodeName="absent")
    with am.expect_error(client, "ConflictException", 409):
        client.create_mesh(meshName=mesh)
