"""The shipped config/trellis.json starts as it is, answers /healthz and
/metrics (Prometheus text with process and loop metrics), and stops cleanly.

It listens on fixed ports (7081, ...), so this suite runs in a private
network namespace where nothing else on the machine can hold them, and from
a temporary working directory, where relative paths in the shipped file
(a data directory) land."""

import json
import re

import pytest

import trellis_testlib as lib

SHIPPED = lib.SOURCE_DIR / "config" / "trellis.json"

# One sample line of the text exposition format: name{labels} value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
                    r'(-?[0-9.e+-]+|NaN|\+Inf|-Inf)$')


@pytest.fixture(scope="module", autouse=True)
def private_network():
    lib.enter_private_network()


def shipped_admin_address():
    document = json.loads(SHIPPED.read_text())
    for entry in document["plugins"]:
        if entry["plugin"] == "api.admin":
            return entry.get("config", {}).get("listen", "127.0.0.1:7081")
    raise AssertionError(f"{SHIPPED} has no api.admin instance")


def parse_exposition(text):
    """{family: {"type": ..., "samples": [line, ...]}}; fails on any line
    that is not valid Prometheus text format."""
    families, current = {}, None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split()[2]
            assert current not in families, f"family {current} appears twice"
            families[current] = {"type": None, "samples": []}
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name == current, f"TYPE for {name} outside its family {current}"
            assert kind in ("counter", "gauge", "histogram"), line
            families[name]["type"] = kind
        else:
            match = SAMPLE.match(line)
            assert match, f"not a valid sample line: {line!r}"
            name = match.group(1)
            base = re.sub(r"_(bucket|sum|count)$", "", name) if families[current]["type"] == "histogram" else name
            assert base == current, f"sample {name} outside its family {current}"
            families[current]["samples"].append(line)
    return families


def test_shipped_config_serves_and_stops(trellis, tmp_path):
    admin = shipped_admin_address()
    assert admin.startswith("127.0.0.1:"), "the shipped configuration must listen on loopback"
    workdir = tmp_path / "run"
    server = trellis.serve(SHIPPED, admin, workdir=workdir)

    status, headers, body = lib.http_request(admin, "GET", "/healthz")
    assert (status, body) == (200, b"ok\n")
    assert headers["server"] == "trellis-admin"

    status, headers, body = lib.http_request(admin, "GET", "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = parse_exposition(body.decode())
    for name, kind in [("process_cpu_seconds_total", "counter"),
                       ("process_resident_memory_bytes", "gauge"),
                       ("process_virtual_memory_bytes", "gauge"),
                       ("process_open_fds", "gauge"),
                       ("process_max_fds", "gauge"),
                       ("process_start_time_seconds", "gauge"),
                       ("trellis_loop_callbacks_total", "counter"),
                       ("trellis_loop_lag_seconds", "histogram"),
                       ("trellis_offload_queue_depth", "gauge"),
                       ("trellis_offload_threads", "gauge"),
                       ("trellis_plugin_instances", "gauge"),
                       ("trellis_build_info", "gauge"),
                       ("trellis_admin_requests_total", "counter")]:
        assert name in families, f"{name} missing from /metrics"
        assert families[name]["type"] == kind, f"{name} is {families[name]['type']}, not {kind}"
        assert families[name]["samples"], f"{name} has no samples"
    resident = float(families["process_resident_memory_bytes"]["samples"][0].split()[-1])
    assert resident > 1e6
    lag = families["trellis_loop_lag_seconds"]["samples"]
    assert lag[-3].startswith('trellis_loop_lag_seconds_bucket{le="+Inf"} ')
    [healthz] = [line for line in families["trellis_admin_requests_total"]["samples"]
                 if 'path="/healthz",plugin="api.admin",instance="admin"}' in line]
    assert float(healthz.split()[-1]) >= 2  # the readiness wait's and ours

    server.stop()
    # A clean run logs no error.
    assert [e["event"] for e in server.entries(level="error")] == []
