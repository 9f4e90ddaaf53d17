"""api.appmesh as AWS clients see it, independent of the control plane.

Runs `trellis serve` with api.appmesh and api.admin only (no store), so every
routed call is answered ServiceUnavailableException by the core; what is
checked here is the front end itself: routing refusals, HTTP-level refusals
turned into BadRequestException, the AWS error headers as botocore and the
AWS CLI read them, request IDs, and the metrics.

Self-contained on purpose (no shared fixtures): it needs only the trellis
binary from ctest's environment (tests/CMakeLists.txt, trellis_add_pytest).
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import botocore.config
import botocore.parsers
import pytest

TRELLIS_BIN = os.environ.get("TRELLIS_BIN")
SANITIZE = os.environ.get("TRELLIS_SANITIZE", "0") == "1"
DEADLINE = 30.0 if SANITIZE else 10.0
MAX_BODY = 4096
ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazonaws.appmesh/"

# a check that cannot run fails; it never passes as skipped
assert TRELLIS_BIN, "TRELLIS_BIN is not set: run through ctest"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workdir):
        self.api = f"127.0.0.1:{free_port()}"
        self.admin = f"127.0.0.1:{free_port()}"
        config = {
            "region": "us-west-2",
            "account_id": "111122223333",
            "log_level": "debug",
            "plugins": [
                {"plugin": "api.appmesh", "name": "appmesh",
                 "config": {"listen": self.api, "max_body_bytes": MAX_BODY,
                            "max_header_bytes": 4096}},
                {"plugin": "api.admin", "name": "admin", "config": {"listen": self.admin}},
            ],
        }
        self.config_path = Path(workdir) / "trellis.json"
        self.config_path.write_text(json.dumps(config))
        self.log_path = Path(workdir) / "trellis.log"
        self.process = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([TRELLIS_BIN, "serve", "-c", str(self.config_path)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"trellis exited:\n{self.log_path.read_text()}"
            try:
                with socket.create_connection(self.api.split(":"), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"api.appmesh did not listen on {self.api}:\n{self.log_path.read_text()}")

    def stop(self):
        self.process.terminate()
        code = self.process.wait(timeout=DEADLINE)
        self.log.close()
        output = self.log_path.read_text()
        assert code == 0, f"trellis exited {code}:\n{output}"
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in output, output

    def request(self, method, path, body=b"", headers=None, address=None):
        host, port = (address or self.api).split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=DEADLINE)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        result = response.status, {k.lower(): v for k, v in response.getheaders()}, data
        conn.close()
        return result

    def client(self):
        return boto3.client(
            "appmesh", endpoint_url=f"http://{self.api}", region_name="us-west-2",
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
            config=botocore.config.Config(parameter_validation=False,
                                          retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("appmesh-frontend"))
    s.start()
    yield s
    s.stop()


def assert_aws_error(status, headers, body, expected_status, expected_type):
    assert status == expected_status, body
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-errortype"] == expected_type + ERROR_TYPE_SUFFIX
    uuid.UUID(headers["x-amzn-requestid"])
    message = json.loads(body)["message"]
    assert message
    return message


def botocore_error_code(client, operation, status, headers, body):
    """What botocore's rest-json parser names this answer's error."""
    model = client.meta.service_model.operation_model(operation)
    parser = botocore.parsers.create_parser("rest-json")
    parsed = parser.parse({"status_code": status, "headers": headers, "body": body},
                          model.output_shape)
    return parsed["Error"]["Code"], parsed["Error"]["Message"]


def test_unknown_path_and_method(server):
    status, headers, body = server.request("GET", "/v20190125/nothing")
    message = assert_aws_error(status, headers, body, 404, "UnknownOperationException")
    assert message == "No App Mesh operation matches GET /v20190125/nothing"
    code, text = botocore_error_code(server.client(), "ListMeshes", status, headers, body)
    assert (code, text) == ("UnknownOperationException", message)

    status, headers, body = server.request("POST", "/v20190125/meshes")
    message = assert_aws_error(status, headers, body, 404, "UnknownOperationException")
    assert message == "No App Mesh operation matches POST /v20190125/meshes (it accepts PUT, GET)"


def test_bad_query_and_path(server):
    status, headers, body = server.request("GET", "/v20190125/meshes?limit=1&limit=2")
    message = assert_aws_error(status, headers, body, 400, "BadRequestException")
    assert message == "Query parameter 'limit' is given more than once"
    status, headers, body = server.request("GET", "/v20190125/meshes/a%zz")
    message = assert_aws_error(status, headers, body, 400, "BadRequestException")
    assert message == "The request path has an invalid percent-encoding"
    code, _ = botocore_error_code(server.client(), "DescribeMesh", status, headers, body)
    assert code == "BadRequestException"


def test_oversized_body_is_bad_request_for_boto3(server):
    client = server.client()
    # Just over the limit, and far over it (the client is still sending when
    # the answer comes: the server must let it read the answer).
    for size in (MAX_BODY, 8 * 1024 * 1024):
        with pytest.raises(client.exceptions.BadRequestException) as raised:
            client.create_mesh(meshName="big", tags=[{"key": "k", "value": "v" * size}])
        error = raised.value.response
        assert error["Error"]["Message"] == (
            f"Request body too large: this server accepts at most {MAX_BODY} bytes")
        uuid.UUID(error["ResponseMetadata"]["RequestId"])


def test_malformed_and_oversized_http_is_bad_request(server):
    host, port = server.api.split(":")
    with socket.create_connection((host, int(port)), timeout=DEADLINE) as s:
        s.sendall(b"GET /v20190125/meshes HTTP/1.1\r\nBad Header\r\n\r\n")
        answer = s.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 400 ")
    assert "x-amzn-ErrorType: BadRequestException" + ERROR_TYPE_SUFFIX in answer
    assert '{"message":"Malformed HTTP request"}' in answer

    status, headers, body = server.request("GET", "/v20190125/meshes",
                                           headers={"X-Big": "a" * 8000})
    message = assert_aws_error(status, headers, body, 400, "BadRequestException")
    assert message == "Request headers too large: this server accepts at most 4096 bytes"


def test_routed_calls_reach_the_core(server):
    """Without a store the core answers ServiceUnavailableException; the
    answer keeps the core's status and type, with our request ID."""
    client = server.client()
    with pytest.raises(client.exceptions.ServiceUnavailableException) as raised:
        client.list_meshes(limit=5)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    request_ids = {response["ResponseMetadata"]["RequestId"]}
    # SigV4 headers (Authorization, X-Amz-Date) were sent and ignored.
    with pytest.raises(client.exceptions.ServiceUnavailableException) as raised:
        client.describe_mesh(meshName="apps")
    request_ids.add(raised.value.response["ResponseMetadata"]["RequestId"])
    assert len(request_ids) == 2
    for request_id in request_ids:
        assert uuid.UUID(request_id).version == 4


def test_aws_cli_names_the_error(server):
    assert shutil.which("/usr/bin/aws"), "the AWS CLI is not installed (scripts/install-deps.sh test installs it)"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-west-2", AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
    result = subprocess.run(["/usr/bin/aws", "appmesh", "list-meshes", "--endpoint-url",
                             f"http://{server.api}"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "(ServiceUnavailableException)" in result.stderr
    assert "ListMeshes operation" in result.stderr


def test_metrics(server):
    server.request("GET", "/v20190125/nothing-for-metrics")
    server.request("GET", "/v20190125/meshes")
    status, _, body = server.request("GET", "/metrics", address=server.admin)
    assert status == 200
    text = body.decode()

    def value(name, label):
        pattern = re.compile(r"^%s\{[^}]*%s[^}]*\} (\S+)$" % (re.escape(name), re.escape(label)),
                             re.M)
        found = pattern.search(text)
        assert found, f"no {name}{{{label}}} in:\n{text}"
        return float(found.group(1))

    assert value("trellis_appmesh_requests_total", 'operation="unknown"') >= 1
    assert value("trellis_appmesh_requests_total", 'operation="ListMeshes"') >= 1
    assert value("trellis_appmesh_requests_total", 'operation="CreateVirtualNode"') == 0
    assert value("trellis_appmesh_errors_total", 'error_type="UnknownOperationException"') >= 1
    assert value("trellis_appmesh_errors_total", 'error_type="BadRequestException"') >= 1
    assert "trellis_appmesh_request_duration_seconds_bucket" in text
