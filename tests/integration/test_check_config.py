"""`trellis check-config -c FILE`: exit 0 on a good file, 1 with one precise
line per problem on a bad one, and nothing started either way."""

import json

import trellis_testlib as lib


def check(path):
    return lib.run_trellis(["check-config", "-c", path])


def test_shipped_configuration_is_valid():
    path = lib.SOURCE_DIR / "config" / "trellis.json"
    count = len(json.loads(path.read_text())["plugins"])
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: OK ({count} plugin instances)\n"
    assert result.stderr == ""


def test_several_instances_and_plugins(tmp_path):
    path = lib.write_config(tmp_path, [
        lib.admin_instance(lib.loopback_address()),
        lib.instance("test.schema", "strict", endpoint="[::1]:9000", mode="strict",
                     token="s3cret-token", tags=["a", "b"], extra={"nested": [1, 2]}),
        lib.instance("test.schema", "relaxed", endpoint="127.0.0.1:9000"),
        lib.probe_instance("probe", ready=False, ready_detail="warming up"),
    ], log_level="debug", shutdown_timeout_ms=2000)
    result = check(path)
    assert (result.returncode, result.stdout, result.stderr) == \
        (0, f"{path}: OK (4 plugin instances)\n", "")


def test_check_config_starts_nothing(tmp_path):
    admin = lib.loopback_address()
    path = lib.write_config(tmp_path, [lib.admin_instance(admin)])
    assert check(path).returncode == 0
    assert not lib.port_accepts(admin)


def expect_refused(path, *lines):
    result = check(path)
    assert result.returncode == 1, f"expected exit 1, got {result.returncode}: {result.stderr}"
    assert result.stdout == ""
    assert result.stderr.splitlines() == [line.replace("FILE", str(path)) for line in lines]


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "trellis.json"
    path.write_text('{\n  "region": "us-west-2",\n  "plugins": [\n    {"plugin": "api.admin",}\n  ]\n}\n')
    expect_refused(path, "FILE:4:28: invalid JSON: string or '}' expected near '}'")


def test_missing_file(tmp_path):
    expect_refused(tmp_path / "nope.json", "FILE: cannot open: No such file or directory")


def test_plugin_config_problems_name_the_key(tmp_path):
    path = lib.write_config(tmp_path, [
        lib.probe_instance("one"),
        lib.probe_instance("two"),
        lib.admin_instance("localhost:7081", max_connections=0, colour="blue"),
    ])
    expect_refused(
        path,
        'FILE: plugins[2].config.listen: host must be a numeric IPv4 or [IPv6] address, got "localhost"',
        "FILE: plugins[2].config.max_connections: 0 is outside 1..10000",
        "FILE: plugins[2].config.colour: unknown key")


def test_every_schema_rule(tmp_path):
    path = lib.write_config(tmp_path, [
        lib.instance("test.schema", "s", endpoint=9000, mode="lenient", token="x" * 65,
                     retries=1.5, ratio=-1, verbose="yes", tags=["a", "b", "c", "d"],
                     extra="not an object"),
        lib.instance("test.schema", "t"),
    ])
    expect_refused(
        path,
        "FILE: plugins[0].config.endpoint: expected a string",
        'FILE: plugins[0].config.mode: "lenient" is not one of relaxed|strict',
        "FILE: plugins[0].config.token: length 65 is outside 8..64",
        "FILE: plugins[0].config.retries: expected an integer",
        "FILE: plugins[0].config.ratio: -1 is outside 0..1",
        "FILE: plugins[0].config.verbose: expected true or false",
        "FILE: plugins[0].config.tags: 4 items is outside 1..3",
        "FILE: plugins[0].config.extra: expected an object",
        "FILE: plugins[1].config.endpoint: required key is missing")


def test_plugin_check_config_rule(tmp_path):
    path = lib.write_config(tmp_path, [
        lib.instance("test.schema", "s", endpoint="127.0.0.1:1", mode="strict"),
        lib.probe_instance("p", never_drain=True, drain_ms=5),
    ])
    expect_refused(
        path,
        'FILE: plugins[0].config.token: is required when mode is "strict"',
        "FILE: plugins[1].config.never_drain: contradicts drain_ms; set one of them")


def test_core_settings_and_instances(tmp_path):
    path = tmp_path / "trellis.json"
    path.write_text(json.dumps({
        "region": "Mars", "log_level": "chatty", "shutdown_timeout_ms": 10,
        "plugins": [
            {"plugin": "api.admin", "name": "a"},
            {"plugin": "api.admin", "name": "a"},
            {"plugin": "api.admin", "name": "b", "settings": {}},
        ]}))
    expect_refused(
        path,
        'FILE: log_level: "chatty" is not one of error|warn|info|debug',
        "FILE: shutdown_timeout_ms: 10 is outside 100..600000",
        'FILE: plugins[1].name: duplicate instance name "a" (also plugins[0])',
        "FILE: plugins[2].settings: unknown key (expected plugin, name, config)")


def test_refused_plugin_and_missing_plugin(tmp_path):
    path = lib.write_config(tmp_path, [
        lib.instance("test.bad-magic", "m"),
        lib.instance("test.nowhere", "n"),
    ], plugin_path=[lib.TEST_PLUGIN_DIR])
    expect_refused(
        path,
        f"FILE: plugins[0].plugin: {lib.TEST_PLUGIN_DIR}/test.bad-magic.so: bad magic 0x12345678 "
        "(expected 0x534c5254): not a trellis plugin descriptor",
        f"FILE: plugins[1].plugin: test.nowhere.so: plugin 'test.nowhere' not found in "
        f"{lib.TEST_PLUGIN_DIR}")


def test_usage_errors():
    result = lib.run_trellis(["check-config"])
    assert result.returncode == 2
    assert result.stderr.startswith("trellis check-config: expected -c FILE\nusage: trellis serve -c FILE")
    result = lib.run_trellis(["frobnicate"])
    assert result.returncode == 2
    assert result.stderr.startswith("trellis: unknown command 'frobnicate'\n")


def test_core_schema_is_printed():
    result = lib.run_trellis(["check-config", "--schema"])
    assert result.returncode == 0
    keys = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    # The foundation's keys come first; later features append theirs.
    assert keys[:8] == ["region", "account_id", "plugin_path", "log_level", "log_format",
                        "shutdown_timeout_ms", "offload_threads", "offload_queue"]
    assert keys[-1] == "plugins"
    assert 'shutdown_timeout_ms    default 10000\n    how long SIGTERM waits' in result.stdout
