"""Strict Envoy schema check of everything the compiler emits.

compiler_corpus (tests/unit/compiler/compiler_corpus.c) compiles every
identity of tests/unit/compiler/corpus.json, a pair of meshes that uses every
virtual node, route, router, service and gateway feature (each listener
protocol, timeouts, pools, health checks, outlier detection, logging formats,
DNS and Cloud Map discovery, IP preferences, DROP_ALL and ALLOW_ALL, every
match, retry and rewrite variant, multiple listeners), as sidecars with and
without App Mesh's defaults and as proxyless gRPC clients. Every resource must
pass envoy-validate (upstream Envoy v3 schema, unknown fields rejected,
protoc-gen-validate rules), and the resources of each identity must be
complete: every route configuration, cluster and endpoint assignment a
resource names is there.

The proxyless resources are also decoded from their binary encoding by
@grpc/grpc-js-xds's own resource types, the checks a real gRPC client runs:
from XDS_CLIENT_DIR/node_modules (tests/js, installed by `npm ci`; the
convention of envoy-validate's ads mode). Without it that test fails.
"""
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trellis_testlib as lib

SOURCE_DIR = Path(os.environ["TRELLIS_SOURCE_DIR"])
BUILD_DIR = Path(os.environ["TRELLIS_BUILD_DIR"])
CORPUS_BIN = BUILD_DIR / "bin" / "compiler_corpus"
CORPUS = SOURCE_DIR / "tests" / "unit" / "compiler" / "corpus.json"
VALIDATOR = lib.ENVOY_VALIDATOR
PYTHON = "/usr/bin/python3"

T_LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
T_ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
T_CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
T_ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiler-corpus")
    run = subprocess.run([str(CORPUS_BIN), str(CORPUS), str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    dumps = {}
    for path in sorted(out.glob("*.json")):
        dumps[path.stem] = json.loads(path.read_text())["resources"]
    assert len(dumps) >= 50, sorted(dumps)
    return out, dumps


def by_type(resources, type_url):
    found = {}
    for r in resources:
        if r["@type"] == type_url:
            found[r.get("name") or r.get("cluster_name")] = r
    return found


def network_filters(listener):
    chains = list(listener.get("filter_chains", []))
    if "default_filter_chain" in listener:
        chains.append(listener["default_filter_chain"])
    for chain in chains:
        for f in chain["filters"]:
            yield f["typed_config"]
    api = listener.get("api_listener", {}).get("api_listener")
    if api is not None:
        yield api


def route_clusters(route_config):
    for host in route_config["virtual_hosts"]:
        for route in host["routes"]:
            action = route.get("route", {})
            if "cluster" in action:
                yield action["cluster"]
            for weighted in action.get("weighted_clusters", {}).get("clusters", []):
                yield weighted["name"]


def test_every_resource_passes_the_strict_envoy_schema(corpus, tmp_path):
    assert VALIDATOR.is_file(), f"envoy-validate not found at {VALIDATOR} (set ENVOY_VALIDATE)"
    _, dumps = corpus
    everything = [r for resources in dumps.values() for r in resources]
    merged = tmp_path / "all.json"
    merged.write_text(json.dumps({"resources": everything}))
    run = subprocess.run([PYTHON, str(VALIDATOR), "dump", "--json", str(merged)],
                         capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    failures = [(d["document"], d["issues"]) for d in report["documents"] if not d["valid"]]
    assert not failures, json.dumps(failures, indent=1)[:20000]
    assert report["warnings"] == 0, [d for d in report["documents"] if d["issues"]][:5]
    assert len(report["documents"]) == len(everything) > 300
    print(f"envoy-validate: {len(everything)} resources from {len(dumps)} identities, all valid",
          file=sys.stderr)


def test_no_dangling_references(corpus):
    _, dumps = corpus
    for identity, resources in dumps.items():
        listeners = by_type(resources, T_LISTENER)
        routes = by_type(resources, T_ROUTE)
        clusters = by_type(resources, T_CLUSTER)
        endpoints = by_type(resources, T_ENDPOINT)
        named_routes = set()
        for listener in listeners.values():
            for config in network_filters(listener):
                if config["@type"] == HCM:
                    name = config["rds"]["route_config_name"]
                    named_routes.add(name)
                    assert name in routes, f"{identity}: listener {listener['name']} names missing {name}"
                    assert config["http_filters"][-1]["typed_config"]["@type"] == ROUTER
                    for log in config.get("access_log", []):
                        assert log["typed_config"]["path"]
                elif config["@type"] == TCP_PROXY:
                    names = [config["cluster"]] if "cluster" in config else \
                        [c["name"] for c in config["weighted_clusters"]["clusters"]]
                    for name in names:
                        assert name in clusters, f"{identity}: tcp_proxy names missing {name}"
        assert named_routes == set(routes), f"{identity}: route configurations no listener uses"
        for config in routes.values():
            for name in route_clusters(config):
                assert name in clusters, f"{identity}: {config['name']} names missing cluster {name}"
        eds = {n for n, c in clusters.items() if c.get("type") == "EDS"}
        assert eds == set(endpoints), f"{identity}: EDS clusters {eds} vs assignments {set(endpoints)}"


def test_proxyless_resources_are_what_grpc_clients_accept(corpus):
    _, dumps = corpus
    checked = 0
    for identity, resources in dumps.items():
        if not identity.endswith(".proxyless"):
            continue
        for listener in by_type(resources, T_LISTENER).values():
            host, _, port = listener["name"].rpartition(":")
            assert host and port.isdigit(), listener["name"]
            assert set(listener) == {"@type", "name", "api_listener"}
            hcm = listener["api_listener"]["api_listener"]
            assert hcm["@type"] == HCM and "ads" in hcm["rds"]["config_source"]
            assert hcm["http_filters"][-1]["typed_config"]["@type"] == ROUTER
            config = by_type(resources, T_ROUTE)[hcm["rds"]["route_config_name"]]
            assert listener["name"] in config["virtual_hosts"][0]["domains"]
            for vhost in config["virtual_hosts"]:
                for route in vhost["routes"]:
                    assert "timeout" not in route["route"] and "idle_timeout" not in route["route"]
                    assert "max_stream_duration" in route["route"]
                    policy = route["route"].get("retry_policy")
                    assert policy is None or policy["num_retries"] >= 1
            checked += 1
        for cluster in by_type(resources, T_CLUSTER).values():
            assert cluster["type"] in ("EDS", "LOGICAL_DNS"), cluster
            if cluster["type"] == "LOGICAL_DNS":
                (locality,) = cluster["load_assignment"]["endpoints"]
                assert len(locality["lb_endpoints"]) == 1
            assert "health_checks" not in cluster
        for assignment in by_type(resources, T_ENDPOINT).values():
            seen = set()
            for locality in assignment["endpoints"]:
                assert "locality" in locality and locality["load_balancing_weight"] >= 1
                for lb in locality["lb_endpoints"]:
                    address = lb["endpoint"]["address"]["socket_address"]
                    key = (address["address"], address["port_value"])
                    assert key not in seen, f"{identity}: duplicate endpoint {key}"
                    seen.add(key)
    assert checked >= 5


def test_the_corpus_exercises_every_mapping(corpus):
    """A feature the corpus forgot would pass the schema check vacuously."""
    _, dumps = corpus
    text = json.dumps(dumps)
    for needle in [
        '"safe_regex"', '"range_match"', '"invert_match": true', '"present_match": true',
        '"query_parameters"', '":method"', '":scheme"', '":authority"',
        '"retry_on": "5xx,gateway-error,retriable-4xx,refused-stream,connect-failure"',
        'cancelled,deadline-exceeded,internal,resource-exhausted,unavailable',
        '"retriable_status_codes": [503]', '"per_try_timeout": "0.250s"',
        '"http_health_check"', '"grpc_health_check"', '"tcp_health_check"', '"codec_client_type": "HTTP2"',
        '"health_check_config"', '"outlier_detection"', '"consecutive_5xx"',
        '"STRICT_DNS"', '"LOGICAL_DNS"', '"EDS"', '"ORIGINAL_DST"', '"ipv4_compat": true',
        '"V4_ONLY"', '"V6_ONLY"', '"text_format_source"', '"json_format"', 'req_without_query',
        '"upgrade_type": "websocket"', '"normalize_path": true', '"max_stream_duration"',
        '"weighted_clusters"', '"prefix_rewrite": "/"', '"regex_rewrite"', '"host_rewrite_literal"',
        '"x-app-mesh-virtual-service"', '"mesh-allow-all/*"', '"*.amazonaws.com"',
        '"max_connections": 50', '"max_pending_requests": 10', '"max_requests": 100',
        '"ingress.http.8080"', '"ingress.grpc.9090"', '"ingress.tcp.7000"',
        '"idle_timeout": "0s"', '"timeout": "0s"', '_self_redirect_9099_grpc_15001',
        '"use_downstream_protocol_config"', '"http2_protocol_options"', '"zone": "us-west-2a"',
    ]:
        assert needle in text, needle


def test_grpc_js_xds_accepts_the_proxyless_resources(corpus, tmp_path):
    modules = lib.xds_client_dir("@grpc/grpc-js-xds") / "node_modules"
    sys.dont_write_bytecode = True  # the validator's folder is read-only
    sys.path.insert(0, str(VALIDATOR.parent))
    import validate  # noqa: E402  (its descriptor pool encodes the JSON)
    from google.protobuf import json_format
    schema = validate.Schema()
    any_class = schema.cls(schema.find("google.protobuf.Any"))
    _, dumps = corpus
    encoded = []
    for identity, resources in dumps.items():
        if identity.endswith(".proxyless"):
            for resource in resources:
                message = any_class()
                json_format.ParseDict(resource, message, descriptor_pool=schema.pool)
                encoded.append({"type_url": message.type_url,
                                "value": base64.b64encode(message.value).decode()})
    path = tmp_path / "encoded.json"
    path.write_text(json.dumps(encoded))
    run = subprocess.run(["node", str(Path(__file__).with_name("compiler_grpc_decode.js")), str(path)],
                         capture_output=True, text=True, env=dict(os.environ, NODE_PATH=str(modules)))
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) == len(encoded) > 30
    rejected = [r for r in results if r["error"]]
    assert not rejected, rejected
