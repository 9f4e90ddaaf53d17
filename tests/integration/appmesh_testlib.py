"""Helpers for the App Mesh API suites (test_api_*.py).

A test server runs `trellis serve` with three instances: the store, the App
Mesh REST front end (api.appmesh) and api.admin, each on a free loopback port,
with the region and account below. Tests talk to it through boto3, the AWS CLI
(/usr/bin/aws) or raw HTTP.

Which store
-----------
The suites never name the store: `store_instance()` builds it from the
environment, so the same suites run on every store plugin.

    TRELLIS_TEST_STORE          "file" (default): store.file in a fresh data
                                directory per data set.
                                Anything else: the store plugin's name, e.g.
                                "store.postgres"; its config comes from
    TRELLIS_TEST_STORE_CONFIG   a JSON object, the instance's "config". In its
                                string values "{data_dir}" becomes a directory
                                (existing, empty at first) unique to the data
                                set and "{data_id}" a short
                                identifier unique to it (a database or schema
                                name), the same across restarts of that data
                                set and different for every other one.

For example:
    TRELLIS_TEST_STORE=store.postgres \\
    TRELLIS_TEST_STORE_CONFIG='{"conninfo": "dbname=trellis", "schema": "t_{data_id}"}' \\
    ctest -R integration_api

Servers
-------
    server = AppMeshServer(factory, workdir, quota_meshes=3)   # core settings
    server.start()        # waits until /readyz answers 200 (catalog loaded)
    client = server.client()
    server.stop()         # SIGTERM, clean exit
    server.kill9()        # SIGKILL; server.start() again reuses the data set

`factory` is the `trellis` fixture (function scope) or a ServerFactory made
by a module-scoped fixture (see `module_server`).
"""

import datetime
import hashlib
import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

import trellis_testlib as lib

REGION = "us-west-2"
ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
AWS_CLI = "/usr/bin/aws"
ARN_PREFIX = f"arn:aws:appmesh:{REGION}:{ACCOUNT}:"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The members of each list item: exactly the model's *Ref shapes.
REF_FIELDS = {
    "meshes": {"arn", "createdAt", "lastUpdatedAt", "meshName", "meshOwner", "resourceOwner",
               "version"},
    "virtualServices": {"arn", "createdAt", "lastUpdatedAt", "meshName", "meshOwner",
                        "resourceOwner", "version", "virtualServiceName"},
    "virtualNodes": {"arn", "createdAt", "lastUpdatedAt", "meshName", "meshOwner",
                     "resourceOwner", "version", "virtualNodeName"},
    "virtualRouters": {"arn", "createdAt", "lastUpdatedAt", "meshName", "meshOwner",
                       "resourceOwner", "version", "virtualRouterName"},
    "routes": {"arn", "createdAt", "lastUpdatedAt", "meshName", "meshOwner", "resourceOwner",
               "routeName", "version", "virtualRouterName"},
    "virtualGateways": {"arn", "createdAt", "lastUpdatedAt", "meshName", "meshOwner",
                        "resourceOwner", "version", "virtualGatewayName"},
    "gatewayRoutes": {"arn", "createdAt", "gatewayRouteName", "lastUpdatedAt", "meshName",
                      "meshOwner", "resourceOwner", "version", "virtualGatewayName"},
}


def botocore_model():
    """The botocore App Mesh model (the same file trellis's tables come from)."""
    path = Path(botocore.__file__).parent / "data" / "appmesh" / "2019-01-25" / "service-2.json"
    return json.loads(path.read_text())


def ref_fields_from_model():
    """REF_FIELDS recomputed from the model (a test checks the two agree)."""
    shapes = botocore_model()["shapes"]
    out = {}
    for list_member, ref in [("meshes", "MeshRef"), ("virtualServices", "VirtualServiceRef"),
                             ("virtualNodes", "VirtualNodeRef"),
                             ("virtualRouters", "VirtualRouterRef"), ("routes", "RouteRef"),
                             ("virtualGateways", "VirtualGatewayRef"),
                             ("gatewayRoutes", "GatewayRouteRef")]:
        out[list_member] = set(shapes[ref]["members"])
    return out


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

_counter = itertools.count(1)


def uniq(prefix="m"):
    """A name unique within this test process."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


# ---------------------------------------------------------------------------
# The store, chosen by the environment
# ---------------------------------------------------------------------------

STORE = os.environ.get("TRELLIS_TEST_STORE", "file") or "file"


def _substitute(value, data_dir, data_id):
    if isinstance(value, str):
        return value.replace("{data_dir}", str(data_dir)).replace("{data_id}", data_id)
    if isinstance(value, dict):
        return {k: _substitute(v, data_dir, data_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, data_dir, data_id) for v in value]
    return value


def store_instance(data_dir):
    """The store instance entry for one data set living in `data_dir` (a
    directory unique to the data set; restarts of the same data set pass the
    same one)."""
    data_dir = Path(data_dir)
    if STORE == "file":
        return lib.instance("store.file", "store", dir=str(data_dir))
    raw = os.environ.get("TRELLIS_TEST_STORE_CONFIG", "{}")
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise RuntimeError(f"TRELLIS_TEST_STORE_CONFIG is not JSON: {e}") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    data_id = "t" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return lib.instance(STORE, "store", **_substitute(config, data_dir, data_id))


# ---------------------------------------------------------------------------
# A server
# ---------------------------------------------------------------------------


class AppMeshServer:
    """trellis serve with a store, api.appmesh and api.admin."""

    def __init__(self, factory, workdir, data_dir=None, appmesh_config=None, **settings):
        self.factory = factory
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.api = lib.loopback_address()
        self.admin = lib.loopback_address()
        self.server = None
        core = {"region": REGION, "account_id": ACCOUNT, "log_level": "info"}
        core.update(settings)
        plugins = [
            store_instance(self.data_dir),
            lib.instance("api.appmesh", "appmesh", listen=self.api, **(appmesh_config or {})),
            lib.admin_instance(self.admin),
        ]
        self.config_path = lib.write_config(self.workdir, plugins, **core)

    @property
    def endpoint(self):
        return f"http://{self.api}"

    def start(self, timeout=20):
        """Starts the server and waits until it is ready (catalog loaded)."""
        self.server = self.factory.start(self.config_path, workdir=self.workdir)
        self.server.wait_healthy(self.admin, timeout)

        def ready():
            if not self.server.running():
                raise AssertionError(f"trellis exited ({self.server.process.poll()})\n"
                                     f"{self.server.log()}")
            try:
                status, _, _ = lib.http_request(self.admin, "GET", "/readyz", timeout=2)
            except OSError:
                return False
            return status == 200 and lib.port_accepts(self.api)
        try:
            lib.wait_until(ready, timeout, f"GET http://{self.admin}/readyz to answer 200")
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n--- log ---\n{self.server.log()}") from None
        return self

    def stop(self):
        self.server.stop()

    def kill9(self):
        """SIGKILL: nothing gets a chance to flush."""
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait()

    def running(self):
        return self.server is not None and self.server.running()

    def log(self):
        return self.server.log() if self.server else ""

    # -- clients --

    def client(self, **config):
        return appmesh_client(self.endpoint, **config)

    def aws(self, *args, check=True, **kwargs):
        result = aws_cli(self.endpoint, *args, check=False, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{result!r}\n{self.describe_state()}")
        return result

    def describe_state(self):
        """For failure messages: whether the server runs, and its log."""
        if self.server is None:
            return "server never started"
        state = "running" if self.running() else f"exited with {self.server.process.poll()}"
        return f"server {state}; log:\n{self.log()[-6000:]}"

    def raw(self, method, path, body=None, headers=None, timeout=10):
        return raw_request(self.api, method, path, body, headers, timeout)


def appmesh_client(endpoint, parameter_validation=True, timeout=20):
    """A boto3 App Mesh client with dummy credentials and no retries (a test
    must see the first answer)."""
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        parameter_validation=parameter_validation,
        connect_timeout=lib.scaled(5), read_timeout=lib.scaled(timeout),
        max_pool_connections=32)
    return boto3.session.Session().client(
        "appmesh", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="AKIDTRELLISTEST", aws_secret_access_key="trellis-test-secret",
        config=config)


class ServerFactory(lib.ServerFactory):
    """A factory for a module-scoped server (see module_server)."""


def module_server(tmp_path_factory, name, **settings):
    """A generator for a module-scoped fixture: yields a started
    AppMeshServer, stops it (cleanly) at the end and fails on any problem."""
    workdir = tmp_path_factory.mktemp(name)
    factory = ServerFactory(workdir)
    try:
        server = AppMeshServer(factory, workdir, **settings).start()
    except BaseException:
        factory.finish()  # kills a server that started but never got ready
        raise
    yield server
    died = None
    if server.running():
        server.stop()
    elif server.server is not None and server.server.process.poll() is not None:
        died = f"{name}: trellis died during the module: {server.describe_state()}"
    problems = factory.finish() + ([died] if died else [])
    if problems:
        pytest.fail("\n".join(problems))


# ---------------------------------------------------------------------------
# AWS CLI
# ---------------------------------------------------------------------------

class CliResult:
    def __init__(self, completed, args):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.args = args
        self.json = None
        if completed.returncode == 0 and completed.stdout.strip():
            self.json = json.loads(completed.stdout)

    def __repr__(self):
        return (f"aws {' '.join(self.args)} -> {self.returncode}\nstdout: {self.stdout}\n"
                f"stderr: {self.stderr}")


def aws_cli(endpoint, *args, input_json=None, check=True, timeout=60):
    """Runs `aws appmesh ARGS --endpoint-url ENDPOINT --output json`, with
    `--cli-input-json file://...` when input_json (a dict) is given.
    check=True fails unless the command succeeded."""
    with tempfile.TemporaryDirectory(prefix="awscli-") as tmp:
        result = _aws_cli_in(tmp, endpoint, args, input_json, timeout)
    if check:
        assert result.returncode == 0, repr(result)
    return result


def _aws_cli_in(tmp, endpoint, args, input_json, timeout):
    """One AWS CLI run with its config, credentials and HOME in `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "AKIDTRELLISTEST",
        "AWS_SECRET_ACCESS_KEY": "trellis-test-secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(tmp, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "HOME": tmp,
    })
    argv = [AWS_CLI, "appmesh", *map(str, args)]
    if input_json is not None:
        path = os.path.join(tmp, "input.json")
        with open(path, "w") as f:
            json.dump(input_json, f, indent=2)
        argv += ["--cli-input-json", f"file://{path}"]
    argv += ["--endpoint-url", endpoint, "--output", "json"]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True,
                               timeout=lib.scaled(timeout), check=False)
    return CliResult(completed, argv[1:])


# ---------------------------------------------------------------------------
# Raw HTTP
# ---------------------------------------------------------------------------

class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def error_type(self):
        return self.headers.get("x-amzn-errortype", "").split(":")[0]

    def __repr__(self):
        return f"HTTP {self.status} {self.headers} {self.body[:2000]!r}"


def raw_request(address, method, path, body=None, headers=None, timeout=10):
    """One request on a new connection. `body` may be bytes, str or a
    JSON-able object."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    status, response_headers, data = lib.http_request(address, method, path, body=body,
                                                      headers=hdrs, timeout=timeout)
    return RawResponse(status, response_headers, data)


def assert_error_response(response, status, error_type, fragment=None):
    """An App Mesh error as the SDKs parse it: HTTP status, x-amzn-ErrorType
    and a JSON body whose `message` names the problem."""
    assert response.status == status, response
    assert response.error_type == error_type, response
    assert isinstance(response.json, dict), response
    message = response.json.get("message")
    assert isinstance(message, str) and message, response
    if fragment is not None:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# ---------------------------------------------------------------------------
# Assertions on botocore results
# ---------------------------------------------------------------------------

def arn(mesh, *path):
    """arn:aws:appmesh:REGION:ACCOUNT:mesh/MESH[/kind/name...]"""
    return ARN_PREFIX + "/".join(["mesh", mesh, *path])


def assert_timestamp(value, not_before=None):
    assert isinstance(value, datetime.datetime), value
    assert value.tzinfo is not None, value
    if not_before is not None:
        assert value >= not_before - datetime.timedelta(seconds=5), (value, not_before)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert value <= now + datetime.timedelta(seconds=5), (value, now)


def assert_metadata(metadata, expected_arn, version):
    assert set(metadata) == {"arn", "createdAt", "lastUpdatedAt", "meshOwner",
                             "resourceOwner", "uid", "version"}, metadata
    assert metadata["arn"] == expected_arn
    assert metadata["meshOwner"] == ACCOUNT
    assert metadata["resourceOwner"] == ACCOUNT
    assert UUID_RE.match(metadata["uid"]), metadata["uid"]
    assert metadata["version"] == version, metadata
    assert_timestamp(metadata["createdAt"])
    assert_timestamp(metadata["lastUpdatedAt"])
    assert metadata["lastUpdatedAt"] >= metadata["createdAt"]


def assert_resource(data, expected_arn, version, status="ACTIVE", names=None, spec=None):
    """A resource's data (MeshData, VirtualNodeData, ...)."""
    assert_metadata(data["metadata"], expected_arn, version)
    assert data["status"] == {"status": status}, data["status"]
    for key, value in (names or {}).items():
        assert data[key] == value, (key, data)
    if spec is not None:
        assert data["spec"] == spec, data["spec"]
    expected_keys = {"metadata", "status", "spec", "meshName", *(names or {})}
    assert set(data) == expected_keys, data


def strip_response(response):
    """A botocore response without ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


class ExpectError:
    """with expect_error(client, "NotFoundException", 404, "fragment"): ..."""

    def __init__(self, client, code, status, fragment=None):
        self.client = client
        self.code = code
        self.status = status
        self.fragment = fragment
        self.message = None
        self.error = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            raise AssertionError(f"expected {self.code}, but the call succeeded")
        if not isinstance(exc, botocore.exceptions.ClientError):
            return False
        error = exc.response["Error"]
        assert error["Code"] == self.code, exc.response
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == self.status, exc.response
        modelled = getattr(self.client.exceptions, self.code)
        assert isinstance(exc, modelled), f"{type(exc)} is not {modelled}"
        self.message = error["Message"]
        assert self.message, exc.response
        if self.fragment is not None:
            assert self.fragment in self.message, f"{self.fragment!r} not in {self.message!r}"
        self.error = exc
        return True


def expect_error(client, code, status, fragment=None):
    return ExpectError(client, code, status, fragment)


def validation_message(value, path, constraint):
    """AWS's wording of one model violation."""
    return (f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
            f"constraint: {constraint}")


# ---------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------

def listener(port=8080, protocol="http", **extra):
    return {"portMapping": {"port": port, "protocol": protocol}, **extra}


def node_spec(port=8080, protocol="http", hostname="svc.local", backends=(), listeners=None):
    spec = {"listeners": listeners if listeners is not None else [listener(port, protocol)],
            "serviceDiscovery": {"dns": {"hostname": hostname}}}
    if backends:
        spec["backends"] = [{"virtualService": {"virtualServiceName": b}} for b in backends]
    return spec


def router_spec(port=8080, protocol="http", listeners=None):
    return {"listeners": listeners if listeners is not None else [listener(port, protocol)]}


def gateway_spec(port=8080, protocol="http", listeners=None):
    return {"listeners": listeners if listeners is not None else [listener(port, protocol)]}


def targets(*pairs):
    """targets(("node", 75), ("node2", 25)) -> weightedTargets"""
    out = []
    for pair in pairs:
        t = {"virtualNode": pair[0], "weight": pair[1]}
        if len(pair) > 2:
            t["port"] = pair[2]
        out.append(t)
    return out


def http_route(*pairs, kind="httpRoute", prefix="/", match=None, **extra):
    route = {"action": {"weightedTargets": targets(*pairs)},
             "match": match if match is not None else {"prefix": prefix}}
    route.update(extra)
    return {kind: route}


def grpc_route(*pairs, match=None, **extra):
    route = {"action": {"weightedTargets": targets(*pairs)},
             "match": match if match is not None else {"serviceName": "pkg.Svc"}}
    route.update(extra)
    return {"grpcRoute": route}


def tcp_route(*pairs, **extra):
    route = {"action": {"weightedTargets": targets(*pairs)}}
    route.update(extra)
    return {"tcpRoute": route}


def gateway_http_route(service, kind="httpRoute", prefix="/", match=None, **action_extra):
    action = {"target": {"virtualService": {"virtualServiceName": service}}}
    action.update(action_extra)
    return {kind: {"action": action,
                   "match": match if match is not None else {"prefix": prefix}}}


class MeshBuilder:
    """Creates a mesh with common resources through boto3, remembering names."""

    def __init__(self, client, mesh=None, protocol="http", port=8080):
        self.client = client
        self.mesh = mesh or uniq("mesh")
        self.protocol = protocol
        self.port = port
        client.create_mesh(meshName=self.mesh)

    def node(self, name=None, **spec):
        name = name or uniq("vn")
        spec.setdefault("protocol", self.protocol)
        spec.setdefault("port", self.port)
        self.client.create_virtual_node(meshName=self.mesh, virtualNodeName=name,
                                        spec=node_spec(**spec))
        return name

    def router(self, name=None, **spec):
        name = name or uniq("vr")
        spec.setdefault("protocol", self.protocol)
        spec.setdefault("port", self.port)
        self.client.create_virtual_router(meshName=self.mesh, virtualRouterName=name,
                                          spec=router_spec(**spec))
        return name

    def route(self, router, spec, name=None):
        name = name or uniq("rt")
        self.client.create_route(meshName=self.mesh, virtualRouterName=router, routeName=name,
                                 spec=spec)
        return name

    def service(self, name=None, node=None, router=None):
        name = name or uniq("vs") + ".local"
        spec = {}
        if node:
            spec = {"provider": {"virtualNode": {"virtualNodeName": node}}}
        elif router:
            spec = {"provider": {"virtualRouter": {"virtualRouterName": router}}}
        self.client.create_virtual_service(meshName=self.mesh, virtualServiceName=name, spec=spec)
        return name

    def gateway(self, name=None, **spec):
        name = name or uniq("vg")
        spec.setdefault("protocol", self.protocol)
        spec.setdefault("port", self.port)
        self.client.create_virtual_gateway(meshName=self.mesh, virtualGatewayName=name,
                                           spec=gateway_spec(**spec))
        return name

    def gateway_route(self, gateway, spec, name=None):
        name = name or uniq("gr")
        self.client.create_gateway_route(meshName=self.mesh, virtualGatewayName=gateway,
                                         gatewayRouteName=name, spec=spec)
        return name


def new_uuid():
    return str(uuid.uuid4())
