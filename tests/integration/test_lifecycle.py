"""The instance lifecycle of `trellis serve`, seen through test.probe
(tests/plugins/probe.c), which logs every step with its instance name and
label: host services, readiness, SIGHUP reload (good and bad), SIGTERM drain
in reverse start order within the bounded time.

Every configuration starts with a store.file instance and api.admin: the core's
catalog lives in the store, and /readyz is 200 only when it is loaded too."""

import signal

import trellis_testlib as lib


def started(server):
    return [(e["instance"], e["label"]) for e in server.entries(event="probe_started")]


def destroyed(server):
    return [(e["instance"], e["label"]) for e in server.entries(event="probe_destroyed")]


def base(tmp_path, admin):
    """The store and the admin endpoint every configuration here starts with."""
    return [lib.store_instance(tmp_path / "data"), lib.admin_instance(admin)]


def plugin_instances(body):
    """/readyz's instances that are plugin instances (not core components)."""
    return [i for i in body["instances"] if i["plugin"] != "core"]


def readyz(admin):
    status, body = lib.http_get_json(admin, "/readyz")
    return status, body


def metrics_text(admin):
    status, headers, body = lib.http_request(admin, "GET", "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return body.decode()


def reload(server, config_path, plugins, expect_event, **settings):
    """Rewrites the configuration, sends SIGHUP and waits for the outcome."""
    before = len(server.entries(event=expect_event))
    lib.write_config(config_path.parent, plugins, filename=config_path.name, **settings)
    server.signal(signal.SIGHUP)
    return server.wait_for_entry(event=expect_event, count=before + 1)[-1]


def assert_no_leftovers(server):
    leftovers = server.entries(event="leftover_resources")
    assert leftovers == [], f"instances left resources behind: {leftovers}"


def test_probe_exercises_host_services(trellis, tmp_path):
    admin = lib.loopback_address()
    config = lib.write_config(tmp_path, [
        *base(tmp_path, admin),
        lib.probe_instance("p1", label="first", debug_view="probe_p1"),
    ])
    server = trellis.serve(config, admin)
    server.wait_for_entry(event="probe_services_ok", instance="p1")
    assert server.entries(event="probe_services_failed") == []

    status, view = lib.http_get_json(admin, "/debug/probe_p1")
    assert status == 200
    assert view == {"label": "first", "defer_order": "AB", "deferred_runs": 2, "timer_fired": 1,
                    "posts_run": 1, "offloads_done": 1, "work_on_worker_thread": True,
                    "post_on_loop_thread": True, "done_on_loop_thread": True}
    status, error = lib.http_get_json(admin, "/debug/no_such_view")
    assert (status, error) == (404, {"message": "no such debug view"})

    text = metrics_text(admin)
    for check in ("defer", "offload", "post", "timer"):
        count = 2 if check == "defer" else 1
        assert (f'trellis_probe_checks_total{{check="{check}",plugin="test.probe",instance="p1"}} '
                f"{count}\n") in text
    assert 'trellis_probe_offload_seconds_bucket{plugin="test.probe",instance="p1",le="+Inf"} 1\n' in text
    assert 'trellis_probe_offload_seconds_count{plugin="test.probe",instance="p1"} 1\n' in text

    status, body = readyz(admin)
    assert status == 200
    assert body["ready"] is True
    assert plugin_instances(body) == [
        {"plugin": "store.file", "instance": "store", "state": "started", "ready": True, "detail": ""},
        {"plugin": "api.admin", "instance": "admin", "state": "started", "ready": True, "detail": ""},
        {"plugin": "test.probe", "instance": "p1", "state": "started", "ready": True, "detail": ""},
    ]
    server.stop()
    assert destroyed(server) == [("p1", "first")]
    assert_no_leftovers(server)


def test_readyz_is_503_while_an_instance_is_not_ready(trellis, tmp_path):
    admin = lib.loopback_address()
    plugins = [*base(tmp_path, admin),
               lib.probe_instance("slow", ready=False, ready_detail="warming the cache")]
    config = lib.write_config(tmp_path, plugins)
    server = trellis.serve(config, admin)
    # Live, but not ready.
    assert lib.http_request(admin, "GET", "/healthz")[0] == 200
    status, body = readyz(admin)
    assert status == 503
    assert body["ready"] is False
    assert plugin_instances(body)[2] == {"plugin": "test.probe", "instance": "slow", "state": "started",
                                    "ready": False, "detail": "warming the cache"}
    # A reload that makes it ready turns /readyz to 200.
    plugins[2] = lib.probe_instance("slow")
    reload(server, config, plugins, "reloaded")
    status, body = readyz(admin)
    assert (status, body["ready"]) == (200, True)
    server.stop()


def test_sighup_applies_a_good_configuration(trellis, tmp_path):
    admin = lib.loopback_address()
    v1 = [*base(tmp_path, admin),
          lib.probe_instance("a", label="v1"),
          lib.probe_instance("b", label="v1", debug_view="probe_b"),
          lib.probe_instance("c", label="v1")]
    config = lib.write_config(tmp_path, v1)
    server = trellis.serve(config, admin)
    server.wait_for_entry(event="probe_services_ok", count=3)
    assert started(server) == [("a", "v1"), ("b", "v1"), ("c", "v1")]

    # a unchanged (kept), b changed (replaced), c removed (stopped), d added.
    v2 = [*base(tmp_path, admin),
          lib.probe_instance("a", label="v1"),
          lib.probe_instance("b", label="v2", debug_view="probe_b"),
          lib.probe_instance("d", label="v2")]
    entry = reload(server, config, v2, "reloaded")
    assert entry["level"] == "info"
    assert entry["msg"] == "configuration reloaded: 1 started, 1 replaced, 1 stopping, 0 failed"
    lib.wait_until(lambda: len(destroyed(server)) == 2, 10, "the old b and c to be destroyed")
    assert sorted(destroyed(server)) == [("b", "v1"), ("c", "v1")]
    assert started(server) == [("a", "v1"), ("b", "v1"), ("c", "v1"), ("b", "v2"), ("d", "v2")]
    server.wait_for_entry(event="probe_services_ok", count=5)

    status, body = readyz(admin)
    assert status == 200
    assert [(i["instance"], i["state"]) for i in plugin_instances(body)] == \
        [("store", "started"), ("admin", "started"), ("a", "started"), ("b", "started"),
         ("d", "started")]
    # The replacement serves its debug view and its metrics under the same name.
    status, view = lib.http_get_json(admin, "/debug/probe_b")
    assert (status, view["label"]) == (200, "v2")
    text = metrics_text(admin)
    assert 'trellis_probe_checks_total{check="timer",plugin="test.probe",instance="b"} 1\n' in text
    assert 'instance="c"' not in text
    assert text.count('trellis_probe_checks_total{check="timer",plugin="test.probe",instance="b"}') == 1

    elapsed = server.stop()
    assert elapsed < lib.scaled(5)
    assert_no_leftovers(server)


def test_sighup_with_a_bad_configuration_keeps_the_old_one(trellis, tmp_path):
    admin = lib.loopback_address()
    good = [*base(tmp_path, admin), lib.probe_instance("a", label="v1")]
    config = lib.write_config(tmp_path, good)
    server = trellis.serve(config, admin)

    # Invalid JSON: rejected with the precise diagnostic, nothing changes.
    config.write_text('{"plugins": [}\n')
    server.signal(signal.SIGHUP)
    rejected = server.wait_for_entry(event="reload_rejected", count=2)
    assert [e["msg"] for e in rejected] == [
        f"{config}:1:14: invalid JSON: unexpected token near '}}'",
        "the new configuration is invalid; the running configuration stays"]
    assert all(e["level"] == "error" for e in rejected)

    # A schema violation in one instance: the whole reload is rejected.
    bad = [*base(tmp_path, admin), lib.probe_instance("a", label="v2", drain_ms=-1)]
    entry = reload(server, config, bad, "reload_rejected")
    assert entry["msg"] == f"{config}: plugins[2].config.drain_ms: -1 is outside 0..60000"

    # A changed instance whose new version fails to start: the old one stays.
    failing = [*base(tmp_path, admin), lib.instance("test.fail-start", "a")]
    entry = reload(server, config, failing, "reload_instance_failed")
    assert entry["msg"] == ("instance a: the new configuration did not start; "
                            "the old instance keeps running")
    reloaded = server.wait_for_entry(event="reloaded")[-1]
    assert reloaded["level"] == "warn"
    assert reloaded["msg"] == "configuration reloaded: 0 started, 0 replaced, 0 stopping, 1 failed"

    # Through all of it the original instance kept serving.
    assert started(server) == [("a", "v1")]
    assert destroyed(server) == []
    assert lib.http_request(admin, "GET", "/healthz")[0] == 200
    status, body = readyz(admin)
    assert status == 200
    assert [(i["plugin"], i["instance"]) for i in plugin_instances(body)] == \
        [("store.file", "store"), ("api.admin", "admin"), ("test.probe", "a")]
    server.stop()
    assert destroyed(server) == [("a", "v1")]


def test_sighup_never_swaps_the_store_under_the_control_plane(trellis, tmp_path):
    """The control plane is linked to its store: a reload that would change,
    add or remove a store instance is refused whole, and the API keeps its data."""
    admin = lib.loopback_address()
    api = lib.loopback_address()
    good = [*base(tmp_path, admin), lib.instance("api.appmesh", "api", listen=api)]
    config = lib.write_config(tmp_path, good)
    server = trellis.serve(config, admin)
    mesh = lib.http_request(api, "PUT", "/v20190125/meshes", body=b'{"meshName": "kept"}')
    assert mesh[0] == 200, mesh

    changed = [lib.store_instance(tmp_path / "other"), *good[1:]]
    entry = reload(server, config, changed, "reload_rejected")
    assert entry["msg"] == f"{config}: plugins[0]: a store instance cannot be replaced while running; restart instead"
    removed = good[1:]
    entry = reload(server, config, removed, "reload_rejected")
    assert entry["msg"] == f"{config}: plugins: the store instance store cannot be removed while running; restart instead"
    # renamed: the new name is an added store, the old one a removed store
    before = len(server.entries(event="reload_rejected"))
    lib.write_config(tmp_path, [lib.store_instance(tmp_path / "data", name="renamed"), *good[1:]])
    server.signal(signal.SIGHUP)
    rejected = server.wait_for_entry(event="reload_rejected", count=before + 2)
    assert [e["msg"] for e in rejected[before:]] == [
        f"{config}: plugins[0]: a store instance cannot be added while running; restart instead",
        f"{config}: plugins: the store instance store cannot be removed while running; restart instead"]

    # the original store still serves, and takes writes
    assert server.entries(event="reloaded") == []
    status, _, body = lib.http_request(api, "GET", "/v20190125/meshes/kept")
    assert status == 200, body
    status, _, body = lib.http_request(api, "PUT", "/v20190125/meshes", body=b'{"meshName": "after"}')
    assert status == 200, body
    server.stop()

    # started without a store, one cannot be added later either
    config = lib.write_config(tmp_path, good[1:])
    server = trellis.serve(config, admin)
    entry = reload(server, config, good, "reload_rejected")
    assert entry["msg"] == f"{config}: plugins[0]: a store instance cannot be added while running; restart instead"
    server.stop()


def test_sigterm_drains_in_reverse_start_order(trellis, tmp_path):
    admin = lib.loopback_address()
    drain_ms = 300
    config = lib.write_config(tmp_path, [
        *base(tmp_path, admin),
        lib.probe_instance("first", drain_ms=drain_ms),
        lib.probe_instance("second", drain_ms=drain_ms),
        lib.probe_instance("third", drain_ms=drain_ms),
    ], shutdown_timeout_ms=10000)
    server = trellis.serve(config, admin)
    elapsed = server.stop()
    steps = [(e["event"], e.get("instance")) for e in server.log_entries()
             if e["event"] in ("probe_stopping", "probe_drained", "probe_destroyed", "stopped")]
    expected = []
    for name in ("third", "second", "first"):
        expected += [("probe_stopping", name), ("probe_drained", name),
                     ("probe_destroyed", name), ("stopped", name)]
    expected += [("stopped", "admin"), ("stopped", "store"), ("stopped", None)]
    assert steps == expected
    # Each waited for its drain, one after the other, and no longer.
    assert elapsed >= 3 * drain_ms / 1000
    assert elapsed < 3 * drain_ms / 1000 + lib.scaled(3)
    assert server.entries(event="drain_timeout") == []
    assert_no_leftovers(server)


def test_sigterm_cuts_off_an_instance_that_never_drains(trellis, tmp_path):
    admin = lib.loopback_address()
    timeout_ms = 700
    config = lib.write_config(tmp_path, [
        *base(tmp_path, admin),
        lib.probe_instance("stuck", never_drain=True),
        lib.probe_instance("quick"),
    ], shutdown_timeout_ms=timeout_ms)
    server = trellis.serve(config, admin)
    elapsed = server.stop()
    assert elapsed >= timeout_ms / 1000, f"stopped after {elapsed:.3f}s, before the timeout"
    assert elapsed < timeout_ms / 1000 + lib.scaled(3)
    [timeout] = server.entries(event="drain_timeout")
    assert (timeout["level"], timeout["instance"]) == ("warn", "stuck")
    assert timeout["msg"] == "did not finish draining in time; destroying it"
    assert [i for i, _ in destroyed(server)] == ["quick", "stuck"]
    assert server.entries(event="stopped", component="core")[0]["msg"] == \
        "all plugin instances stopped"


def test_sigint_stops_like_sigterm(trellis, tmp_path):
    admin = lib.loopback_address()
    config = lib.write_config(tmp_path, [*base(tmp_path, admin), lib.probe_instance("p")])
    server = trellis.serve(config, admin)
    server.signal(signal.SIGINT)
    assert server.wait_exit() == 0
    [stopping] = server.entries(event="stopping")
    assert stopping["msg"] == "SIGINT received; draining 3 plugin instances"
    assert destroyed(server) == [("p", "")]


def test_a_second_server_on_the_same_address_is_refused(trellis, tmp_path):
    """Two processes never split one port's traffic: the second cannot bind."""
    admin = lib.loopback_address()
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    first = trellis.serve(lib.write_config(tmp_path / "one", base(tmp_path / "one", admin)), admin)
    second = trellis.start(lib.write_config(tmp_path / "two", base(tmp_path / "two", admin)))
    assert second.wait_exit() == 1
    failures = second.entries(event="plugin_start_failed", instance="admin")
    assert len(failures) == 1, second.log()
    assert f"cannot listen on {admin}: Address already in use" in failures[0]["reason"]
    status, _, _ = lib.http_request(admin, "GET", "/healthz")
    assert status == 200
    first.stop()


def test_sighup_replacing_a_listener_keeps_its_address(trellis, tmp_path):
    """A replaced frontend takes over its predecessor's socket: the address
    answers before, during and after the swap."""
    admin = lib.loopback_address()
    config = lib.write_config(tmp_path, base(tmp_path, admin))
    server = trellis.serve(config, admin)
    status, _, _ = lib.http_request(admin, "GET", "/healthz")
    assert status == 200
    changed = [lib.store_instance(tmp_path / "data"),
               lib.admin_instance(admin, max_connections=32)]
    entry = reload(server, config, changed, "reloaded")
    assert entry["msg"] == "configuration reloaded: 0 started, 1 replaced, 0 stopping, 0 failed"
    for _ in range(20):
        status, _, _ = lib.http_request(admin, "GET", "/healthz")
        assert status == 200
    assert server.entries(event="plugin_start_failed") == []
    server.stop()
