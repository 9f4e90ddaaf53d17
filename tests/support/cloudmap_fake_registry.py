#!/usr/bin/env python3
"""A small Cloud Map data-plane registry for tests and benchmarks: the two
calls discovery.cloudmap makes (DiscoverInstances, DiscoverInstancesRevision)
over HTTP/1.1 with keep-alive, optionally over TLS, checking every request's
SigV4 signature with botocore (a request signed wrongly gets
InvalidSignatureException, as AWS answers), counting requests, connections
and bytes, and failing on demand.

moto (tests/conformance, the integration suite) is the real
Cloud Map-compatible registry; this one exists for what moto cannot show:
keep-alive reuse, TLS, signature checking, error injection, and a registry
fast enough to hold 1,000 services x 20 instances for the benchmark.

    registry = FakeRegistry(credentials=("AKID", "SECRET"), tls=(cert, key))
    registry.put_service("apps.local", "web", {"i1": {"AWS_INSTANCE_IPV4": "10.0.0.1"}})
    registry.register("apps.local", "web", "i2", {...}); registry.deregister(...)
    registry.set_health("apps.local", "web", "i1", "UNHEALTHY")
    registry.fail_with("ThrottlingException", 400)  /  registry.fail_with(None)
    registry.stats()  -> {"DiscoverInstances": n, "DiscoverInstancesRevision": n,
                          "connections": n, "bytes_in": n, "bytes_out": n, "bad_signatures": n}
    registry.close()

As a program (the benchmark): `cloudmap_fake_registry.py --port P
--services N --instances M` serves N services svc-0.. in namespace
bench.local with M instances each, plus a control endpoint:
POST /control/register?service=svc-K adds an instance (the revision moves);
GET-less POST /control/stats answers the counters. Signatures are checked
only with --verify-signatures (botocore's signer costs more than the
registry itself: the benchmark would measure it instead of trellis).
"""
import argparse
import datetime
import http.server
import json
import ssl
import sys
import threading
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TARGET_PREFIX = "Route53AutoNaming_v20170314."


class Service:
    def __init__(self, instances):
        self.instances = {iid: {"attributes": dict(attrs), "health": "HEALTHY"}
                          for iid, attrs in instances.items()}
        self.revision = 1
        self.answers = {}          # (query, health mode) -> encoded answer, until a change


class FakeRegistry:
    def __init__(self, host="127.0.0.1", port=0, credentials=None, tls=None, region="us-east-1"):
        self.lock = threading.Lock()
        self.services = {}
        self.credentials = credentials
        self.region = region
        self.failure = None
        self.counts = {"DiscoverInstances": 0, "DiscoverInstancesRevision": 0, "connections": 0,
                       "bytes_in": 0, "bytes_out": 0, "bad_signatures": 0}
        self.per_service = {}
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Head and body go out as one write: two small writes would wait
            # on the client's delayed ACK (Nagle), 40 ms per answer.
            disable_nagle_algorithm = True
            wbufsize = 65536

            def setup(self):
                super().setup()
                with registry.lock:
                    registry.counts["connections"] += 1

            def log_message(self, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except ConnectionError:
                    pass  # the client went away (trellis stopping): nothing to answer

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.path.startswith("/control/"):
                    status, payload = registry.control(self.path, body)
                else:
                    status, payload = registry.handle(self.command, self.path, self.headers, body)
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                with registry.lock:
                    registry.counts["bytes_in"] += length
                    registry.counts["bytes_out"] += len(raw)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.server = Server((host, port), Handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls else "http"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    # -- state --

    def put_service(self, namespace, service, instances=None):
        with self.lock:
            self.services[(namespace, service)] = Service(instances or {})

    def register(self, namespace, service, instance_id, attributes):
        with self.lock:
            s = self.services[(namespace, service)]
            s.instances[instance_id] = {"attributes": dict(attributes), "health": "HEALTHY"}
            s.revision += 1
            s.answers.clear()

    def deregister(self, namespace, service, instance_id):
        with self.lock:
            s = self.services[(namespace, service)]
            del s.instances[instance_id]
            s.revision += 1
            s.answers.clear()

    def set_health(self, namespace, service, instance_id, health):
        """As Cloud Map does: a health change does not move the revision."""
        with self.lock:
            s = self.services[(namespace, service)]
            s.instances[instance_id]["health"] = health
            s.answers.clear()

    def fail_with(self, error_type, status=400):
        with self.lock:
            self.failure = (error_type, status) if error_type else None

    def stats(self):
        with self.lock:
            return dict(self.counts)

    def requests_for(self, namespace, service):
        with self.lock:
            return dict(self.per_service.get((namespace, service), {}))

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- the API --

    def signature_ok(self, method, path, headers, body):
        if self.credentials is None:
            return True
        given = headers.get("Authorization", "")
        amz_date = headers.get("X-Amz-Date", "")
        try:
            datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return False
        signed = [h.strip() for h in given.split("SignedHeaders=")[-1].split(",")[0].split(";")]
        request = AWSRequest(method=method, url=f"{self.scheme}://{headers['Host']}{path}", data=body,
                             headers={k: v for k, v in headers.items() if k.lower() in signed})
        creds = Credentials(self.credentials[0], self.credentials[1],
                            headers.get("X-Amz-Security-Token"))
        auth = SigV4Auth(creds, "servicediscovery", self.region)
        request.context["timestamp"] = amz_date
        canonical = auth.canonical_request(request)
        string_to_sign = auth.string_to_sign(request, canonical)
        expected = auth.signature(string_to_sign, request)
        return given.endswith("Signature=" + expected) and \
            f"Credential={self.credentials[0]}/" in given

    def handle(self, method, path, headers, body):
        target = headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target
        if not self.signature_ok(method, path, headers, body):
            with self.lock:
                self.counts["bad_signatures"] += 1
            return 403, {"__type": "InvalidSignatureException",
                         "message": "The request signature we calculated does not match"}
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, {"__type": "SerializationException", "message": "bad JSON"}
        key = (request.get("NamespaceName"), request.get("ServiceName"))
        with self.lock:
            if operation in self.counts:
                self.counts[operation] += 1
                per = self.per_service.setdefault(key, {})
                per[operation] = per.get(operation, 0) + 1
            if self.failure is not None:
                return self.failure[1], {"__type": self.failure[0], "message": "injected failure"}
            service = self.services.get(key)
            if service is None:
                return 400, {"__type": "ServiceNotFound", "message": f"{key[1]} not found"}
            if operation == "DiscoverInstancesRevision":
                return 200, {"InstancesRevision": service.revision}
            if operation != "DiscoverInstances":
                return 400, {"__type": "UnknownOperationException", "message": operation}
            wanted = request.get("QueryParameters") or {}
            mode = request.get("HealthStatus", "ALL")
            cache_key = (json.dumps(wanted, sort_keys=True), mode, request.get("MaxResults", 100))
            if cache_key in service.answers:
                return 200, service.answers[cache_key]
            matching = [(iid, i) for iid, i in sorted(service.instances.items())
                        if all(i["attributes"].get(k) == v for k, v in wanted.items())]
            healthy = [(iid, i) for iid, i in matching if i["health"] != "UNHEALTHY"]
            if mode == "HEALTHY" or (mode == "HEALTHY_OR_ELSE_ALL" and healthy):
                matching = healthy
            matching = matching[:int(request.get("MaxResults", 100))]
            answer = json.dumps({"Instances": [{"InstanceId": iid, "NamespaceName": key[0], "ServiceName": key[1],
                                                "HealthStatus": i["health"], "Attributes": i["attributes"]}
                                               for iid, i in matching],
                                 "InstancesRevision": service.revision}).encode()
            service.answers[cache_key] = answer
            return 200, answer

    def control(self, path, body):
        url = urllib.parse.urlparse(path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/control/register":
            with self.lock:
                service = self.services[("bench.local", query["service"])]
                n = len(service.instances)
            self.register("bench.local", query["service"], f"extra-{n}",
                          {"AWS_INSTANCE_IPV4": f"10.250.{n // 250}.{n % 250 + 1}",
                           "AWS_INSTANCE_PORT": "8080", "AVAILABILITY_ZONE": "us-east-1a"})
            return 200, {"ok": True}
        if url.path == "/control/stats":
            return 200, self.stats()
        return 404, {"message": "unknown control"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--access-key", default="AKIDBENCH")
    parser.add_argument("--secret-key", default="bench-secret")
    parser.add_argument("--verify-signatures", action="store_true")
    args = parser.parse_args()
    registry = FakeRegistry(port=args.port, credentials=(args.access_key, args.secret_key)
                            if args.verify_signatures else None)
    for s in range(args.services):
        registry.put_service("bench.local", f"svc-{s}", {
            f"i-{i}": {"AWS_INSTANCE_IPV4": f"10.{s // 250}.{s % 250}.{i + 1}", "AWS_INSTANCE_PORT": "8080",
                       "AVAILABILITY_ZONE": f"us-east-1{'abc'[i % 3]}"}
            for i in range(args.instances)})
    print(json.dumps({"endpoint": registry.endpoint}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
