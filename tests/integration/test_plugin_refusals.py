"""Every plugin the loader refuses stops `trellis serve` with one precise log
line naming the file and the reason: the process exits non-zero on its own
(no signal, no sanitizer report). `trellis plugins` shows the same reasons.

The broken plugins are built from tests/plugins/broken.c, one per refusal."""

import struct
import sys

import pytest

import trellis_testlib as lib

MAJOR, MINOR = lib.abi_version()
# TRELLIS_BUILD_SIGNATURE of this machine (time_t is 64-bit on every target
# trellis supports) and of test.signature, built as if pointers had 4 bytes.
HOST_SIGNATURE = (struct.calcsize("P") | 8 << 8 | struct.calcsize("l") << 16
                  | (1 if sys.byteorder == "little" else 2) << 24)
PLUGIN_SIGNATURE = (HOST_SIGNATURE & ~0xff) | 4

# plugin name -> the loader's reason (after "<file>: ").
REFUSALS = {
    "test.no-entry": "missing symbol trellis_plugin_entry (not a trellis plugin)",
    "test.null-descriptor": "trellis_plugin_entry returned no descriptor",
    "test.bad-magic": "bad magic 0x12345678 (expected 0x534c5254): not a trellis plugin descriptor",
    "test.abi-major": f"built for plugin ABI 2.0, this host speaks ABI {MAJOR}.x",
    "test.abi-minor": f"built for plugin ABI {MAJOR}.{MINOR + 1}, newer than this host's {MAJOR}.{MINOR}",
    "test.short-descriptor": f"descriptor is 64 bytes, ABI {MAJOR}.{MINOR} needs at least 104",
    "test.signature": f"build signature 0x{PLUGIN_SIGNATURE:08x} does not match the host's "
                      f"0x{HOST_SIGNATURE:08x} (pointer, time_t or long size, or byte order differ)",
    "test.bad-name": "descriptor has no valid name (a-z, 0-9, . - _; at most 64)",
    "test.name-mismatch": "declares the name 'test.other-name' but was loaded as 'test.name-mismatch'",
    "test.no-version": "descriptor has no version",
    "test.unknown-kind": "unknown kind 42",
    "test.kind-discovery": "discovery ops table is 8 bytes, version 1 needs at least 32",
    "test.kind-certs": f"kind 'certs' has no ops table in this host (ABI {MAJOR}.{MINOR}); "
                       "a newer trellis is needed",
    "test.kind-sink": f"kind 'sink' has no ops table in this host (ABI {MAJOR}.{MINOR}); "
                      "a newer trellis is needed",
    "test.ops-none": "kind 'frontend' needs an ops table, descriptor has none",
    "test.ops-too-small": "store ops table is 8 bytes, version 1 needs at least 40",
    "test.ops-newer": "frontend ops version 2 is not supported (this host knows 1..1)",
    "test.ops-missing-function": "store ops table has no function in slot 2",
    "test.no-create": "descriptor has no create function",
    "test.schema-bad-default": "invalid config schema: config key 'retries' has an invalid "
                               "default \"ten\": expected an integer",
    "test.schema-unknown-type": "invalid config schema: config key 'colour' has unknown type 99",
    "test.schema-duplicate-key": "invalid config schema: config key 'listen' is declared twice",
}

SECOND_DIR = lib.TEST_PLUGIN_DIR / "second"
USABLE_TEST_PLUGINS = ["test.duplicate", "test.fail-create", "test.fail-start", "test.probe",
                       "test.schema"]


def serve_until_exit(trellis, config):
    """Runs serve on a configuration that must fail; returns the server."""
    server = trellis.start(config)
    status = server.wait_exit(timeout=10)
    assert status == 1, f"expected exit status 1, got {status}\n{server.log()}"
    return server


def lines_naming(server, text):
    return [line for line in server.log().splitlines() if text in line]


def assert_one_precise_line(server, file_path, reason):
    """Exactly one log line names the file, it is an error, and it carries the reason."""
    lines = lines_naming(server, str(file_path))
    assert len(lines) == 1, f"expected one line naming {file_path}, got:\n" + "\n".join(lines) + \
        f"\n--- log ---\n{server.log()}"
    entry = lib.parse_log_line(lines[0])
    assert entry["level"] == "error", lines[0]
    assert reason in lines[0] or reason in entry.get("msg", "") + entry.get("reason", ""), \
        f"reason {reason!r} not in {lines[0]!r}"
    return entry


@pytest.mark.parametrize("plugin", sorted(REFUSALS))
def test_serve_refuses_broken_plugin(trellis, tmp_path, plugin):
    admin = lib.loopback_address()
    config = lib.write_config(tmp_path, [
        lib.admin_instance(admin),
        lib.instance(plugin, "broken"),
    ])
    server = serve_until_exit(trellis, config)
    so_path = lib.TEST_PLUGIN_DIR / f"{plugin}.so"
    entry = assert_one_precise_line(server, so_path, REFUSALS[plugin])
    assert entry["event"] == "config_invalid"
    assert entry["msg"] == f"{config}: plugins[1].plugin: {so_path}: {REFUSALS[plugin]}"
    # Refused while checking the configuration: nothing was started.
    assert server.entries(event="started") == []
    assert server.entries(event="start_failed")[0]["msg"] == "start-up failed; stopping what started"
    assert not lib.port_accepts(admin)


def test_serve_refuses_duplicate_plugin(trellis, tmp_path):
    config = lib.write_config(tmp_path, [lib.instance("test.duplicate", "dup")],
                              plugin_path=[lib.TEST_PLUGIN_DIR, SECOND_DIR])
    server = serve_until_exit(trellis, config)
    first, second = lib.TEST_PLUGIN_DIR / "test.duplicate.so", SECOND_DIR / "test.duplicate.so"
    entry = assert_one_precise_line(server, second, "duplicate plugin 'test.duplicate'")
    assert entry["msg"] == (f"{config}: plugins[0].plugin: {second}: duplicate plugin "
                            f"'test.duplicate': also found as {first}")


def test_serve_refuses_missing_plugin(trellis, tmp_path):
    config = lib.write_config(tmp_path, [lib.instance("test.nowhere", "n")],
                              plugin_path=[lib.TEST_PLUGIN_DIR])
    server = serve_until_exit(trellis, config)
    [entry] = server.entries(event="config_invalid")
    assert entry["msg"] == (f"{config}: plugins[0].plugin: test.nowhere.so: plugin 'test.nowhere' "
                            f"not found in {lib.TEST_PLUGIN_DIR}")


def test_serve_refuses_invalid_config(trellis, tmp_path):
    config = lib.write_config(tmp_path, [
        lib.instance("test.schema", "s", endpoint="127.0.0.1:1", retries=11),
    ])
    server = serve_until_exit(trellis, config)
    [entry] = server.entries(event="config_invalid")
    assert entry["level"] == "error"
    assert entry["msg"] == f"{config}: plugins[0].config.retries: 11 is outside 0..10"


@pytest.mark.parametrize("blame_key", [False, True])
def test_serve_refuses_failing_create(trellis, tmp_path, blame_key):
    admin = lib.loopback_address()
    config = lib.write_config(tmp_path, [
        lib.admin_instance(admin),
        lib.instance("test.fail-create", "fc", endpoint="tcp://10.0.0.9:5432", blame_key=blame_key),
    ])
    server = serve_until_exit(trellis, config)
    so_path = lib.TEST_PLUGIN_DIR / "test.fail-create.so"
    blamed = f"{config}: plugins[1].config.endpoint" if blame_key else str(so_path)
    reason = f"create failed (status -6): {blamed}: cannot reach tcp://10.0.0.9:5432: connection refused"
    entry = assert_one_precise_line(server, so_path, reason)
    assert entry["event"] == "plugin_create_failed"
    assert (entry["plugin"], entry["instance"], entry["file"], entry["reason"]) == \
        ("test.fail-create", "fc", str(so_path), reason)
    # What had started before is stopped again, cleanly.
    assert [e["instance"] for e in server.entries(event="started")] == ["admin"]
    assert [e["instance"] for e in server.entries(event="stopped", plugin="api.admin")] == ["admin"]


def test_serve_refuses_failing_start(trellis, tmp_path):
    admin = lib.loopback_address()
    config = lib.write_config(tmp_path, [
        lib.admin_instance(admin),
        lib.instance("test.fail-start", "fs"),
        lib.probe_instance("never-reached"),
    ])
    server = serve_until_exit(trellis, config)
    so_path = lib.TEST_PLUGIN_DIR / "test.fail-start.so"
    reason = f"start failed (status -7): {so_path}: cannot bind 127.0.0.1:1: permission denied (simulated)"
    entry = assert_one_precise_line(server, so_path, reason)
    assert entry["event"] == "plugin_start_failed"
    assert entry["reason"] == reason
    # The failed instance is stopped and destroyed, then the admin before it;
    # the probe after it never started.
    order = [(e["event"], e.get("instance")) for e in server.log_entries()
             if e["event"] in ("stop_called", "destroy_called", "stopped", "probe_started")]
    assert order == [("stop_called", "fs"), ("destroy_called", "fs"), ("stopped", "fs"),
                     ("stopped", "admin"), ("stopped", None)]


def parse_plugins_listing(stdout):
    """{"ok": {name: line}, "refused": {file: reason}, "summary": last line}."""
    ok, refused = {}, {}
    lines = stdout.splitlines()
    for line in lines[1:-1]:
        if line.startswith("ok "):
            fields = line.split()
            ok[fields[1]] = fields
        elif line.startswith("refused "):
            file_part, _, reason = line[len("refused"):].strip().partition(": ")
            refused[file_part] = reason
    return {"header": lines[0].split(), "ok": ok, "refused": refused, "summary": lines[-1]}


def test_plugins_lists_api_admin():
    result = lib.run_trellis(["plugins"])
    assert result.returncode == 0, result.stderr
    listing = parse_plugins_listing(result.stdout)
    assert listing["header"] == ["STATUS", "PLUGIN", "KIND", "VERSION", "ABI", "FILE"]
    admin = listing["ok"]["api.admin"]
    assert admin[2:5] == ["frontend", admin[3], f"{MAJOR}.{MINOR}"]
    assert admin[5] == str(lib.BUNDLED_PLUGIN_DIR / "api.admin.so")
    assert listing["refused"] == {}
    assert listing["summary"].endswith(f"plugins usable, 0 refused (host plugin ABI {MAJOR}.{MINOR})")
    assert "/healthz" in result.stdout  # the summary line of api.admin


def test_plugins_shows_every_refusal():
    result = lib.run_trellis(["plugins", "--dir", lib.TEST_PLUGIN_DIR, "--dir", SECOND_DIR])
    assert result.returncode == 0, result.stderr
    listing = parse_plugins_listing(result.stdout)
    expected = {str(lib.TEST_PLUGIN_DIR / f"{name}.so"): reason for name, reason in REFUSALS.items()}
    expected[str(SECOND_DIR / "test.duplicate.so")] = \
        f"duplicate plugin 'test.duplicate': also found as {lib.TEST_PLUGIN_DIR}/test.duplicate.so"
    assert listing["refused"] == expected
    assert sorted(listing["ok"]) == USABLE_TEST_PLUGINS
    assert listing["summary"] == (f"{len(USABLE_TEST_PLUGINS)} plugins usable, {len(expected)} "
                                  f"refused (host plugin ABI {MAJOR}.{MINOR})")


def test_plugins_schema_lists_config_keys():
    result = lib.run_trellis(["plugins", "--schema"])
    assert result.returncode == 0
    for key in ("listen", "max_connections", "request_timeout_ms", "idle_timeout_ms"):
        assert f"\n    {key} " in result.stdout, f"{key} missing from:\n{result.stdout}"
    assert 'default "127.0.0.1:7081"' in result.stdout
