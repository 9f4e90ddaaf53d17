"""Faults under load with trellis replicas on one PostgreSQL database.

  * PostgreSQL restarted (a clean fast shutdown, and a crash: immediate
    shutdown and WAL recovery) while both replicas take writes: every
    answer is a success, or ServiceUnavailableException for a write that
    applied nothing; no request waits past the commit timeout; /readyz says
    not ready while the database is away and ready after; every acknowledged
    write is there afterwards, through both replicas, and no refused one is;
    the replicas end with the same state.
  * A replica killed (kill -9) under load: the survivor keeps serving,
    everything the killed one acknowledged is there, and the restarted
    replica catches up to the same state.
  * The database down for longer than the commit timeout: writes fail fast
    with ServiceUnavailableException, reads are served from the catalog,
    /readyz names the database; all well again once it is back.
  * A replica started before its database: not ready (the catalog load is
    retried) until the database comes up, then ready.

One PostgreSQL server for the module (tests/integration/pg_cluster.py);
PostgreSQL must be installed.
"""
import collections
import hashlib
import threading
import time

import botocore.exceptions
import pytest

import appmesh_testlib as am
import pg_cluster
import trellis_testlib as lib
from postgres_replicas import Replica, dump, error_code, start_cluster, wait_until_value
from trellis_testlib import trellis  # noqa: F401  (the fixture)

COMMIT_TIMEOUT_MS = 8000
# Fast reconnects keep the outage short; the bound on any answer is the
# commit timeout (plus the HTTP round trip).
STORE_CONFIG = {"commit_timeout_ms": COMMIT_TIMEOUT_MS, "reconnect_max_ms": 300,
                "keepalive_ms": 500}
ANSWER_BOUND_S = COMMIT_TIMEOUT_MS / 1000 + 2


@pytest.fixture(scope="module")
def pg():
    if not pg_cluster.available():
        pytest.fail(pg_cluster.MISSING, pytrace=False)
    cluster = start_cluster()
    yield cluster
    cluster.destroy()


@pytest.fixture(autouse=True)
def database_running(pg):
    """Every test starts and ends with the server up."""
    if not pg.running():
        pg.start()
    yield
    if not pg.running():
        pg.start()


def schema_for(request):
    return "f_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]


def replica(trellis, tmp_path, pg, request, name, **store):  # noqa: F811
    return Replica(trellis, tmp_path / name, pg, schema_for(request),
                   store_config={**STORE_CONFIG, **store})


class Load:
    """Closed-loop writers: each thread creates virtual nodes with names of
    its own in a mesh of its own, through one replica, and records every
    outcome with its latency."""

    def __init__(self, replicas, threads_per_replica=2):
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = []  # (name, mesh, replica index, "ok"|code|"transport", message, seconds, t)
        self.threads = []
        self.meshes = []
        setup = replicas[0].client()
        for r_index, r in enumerate(replicas):
            for t in range(threads_per_replica):
                mesh = f"load-{r_index}-{t}"
                setup.create_mesh(meshName=mesh)
                self.meshes.append(mesh)
                # Daemon threads: a failed test must not leave pytest waiting.
                self.threads.append(threading.Thread(target=self.run, daemon=True,
                                                     args=(r, r_index, mesh)))
        for r in replicas:
            wait_until_value(lambda r=r: len(r.client().list_meshes()["meshes"]),
                             lambda n: n >= len(self.meshes), 2, "the load meshes")

    def run(self, r, r_index, mesh):
        client = r.client(timeout=ANSWER_BOUND_S + 30)
        i = 0
        while not self.stop_flag.is_set():
            name = f"n{i}"
            i += 1
            started = time.monotonic()
            try:
                client.create_virtual_node(meshName=mesh, virtualNodeName=name,
                                           spec=am.node_spec(hostname=f"{name}.{mesh}.local"))
                outcome, message = "ok", ""
            except botocore.exceptions.ClientError as e:
                outcome, message = error_code(e), str(e)
            except (botocore.exceptions.BotoCoreError, OSError) as e:
                outcome, message = "transport", str(e)  # the replica died mid-request
            took = time.monotonic() - started
            with self.lock:
                self.outcomes.append((name, mesh, r_index, outcome, message, took, started))
            if outcome == "transport":
                time.sleep(0.05)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        if self.stop_flag.is_set():
            return
        self.stop_flag.set()
        for t in self.threads:
            t.join(ANSWER_BOUND_S + 30)
            assert not t.is_alive(), "a writer is stuck"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def count(self, outcome):
        return sum(1 for o in self.outcomes if o[3] == outcome)

    def summary(self):
        return dict(collections.Counter(o[3] for o in self.outcomes))


class ReadinessWatch:
    """Polls /readyz of each replica every 20 ms, remembering what it saw."""

    def __init__(self, replicas):
        self.replicas = replicas
        self.seen = [set() for _ in replicas]
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_flag.is_set():
            for i, r in enumerate(self.replicas):
                status, _ = r.readyz()
                self.seen[i].add(status)
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()


def wait_ready(r, timeout=20):
    lib.wait_until(lambda: r.readyz()[0] == 200, timeout, f"{r.admin} /readyz to answer 200")


def present_nodes(client, meshes):
    names = set()
    for mesh in meshes:
        token = None
        while True:
            kwargs = {"meshName": mesh, "limit": 100}
            if token:
                kwargs["nextToken"] = token
            page = client.list_virtual_nodes(**kwargs)
            names.update((mesh, n["virtualNodeName"]) for n in page["virtualNodes"])
            token = page.get("nextToken")
            if not token:
                break
    return names


def check_outcomes(load, replicas):
    """Acknowledged writes are there, refused ones are not, through every
    replica; every answer was on time and of an allowed kind."""
    for o in load.outcomes:
        name, mesh, _, outcome, message, took, _ = o
        assert took <= ANSWER_BOUND_S, f"{mesh}/{name} took {took:.1f}s: {message}"
        assert outcome in ("ok", "ServiceUnavailableException", "transport"), o
    acknowledged = {(o[1], o[0]) for o in load.outcomes if o[3] == "ok"}
    refused = {(o[1], o[0]) for o in load.outcomes if o[3] == "ServiceUnavailableException"}
    for r in replicas:
        # A replica may still be catching up with the others' last writes.
        deadline = time.monotonic() + lib.scaled(5)
        while True:
            present = present_nodes(r.client(), load.meshes)
            if acknowledged <= present or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        missing = acknowledged - present
        assert not missing, (f"acknowledged but missing through {r.api}: "
                             f"{in_database(r, sorted(missing)[:10])}")
        applied = refused & present
        assert not applied, (f"refused (503) but applied, through {r.api}: "
                             f"{in_database(r, sorted(applied)[:10])}")
    return acknowledged


def in_database(r, pairs):
    """What the database itself holds for (mesh, node) pairs: for failure
    messages, to tell a lost write from a replica that did not catch up."""
    out = []
    for mesh, name in pairs:
        key = f"virtualNode/{mesh}/{name}"
        row = r.pg.psql(f"SELECT revision FROM {r.schema}.records WHERE key = '{key}'").strip()
        out.append((mesh, name, f"database revision {row}" if row else "not in the database"))
    head = r.pg.psql(f"SELECT revision FROM {r.schema}.meta").strip()
    return f"{out} (database at revision {head})"


def assert_converged(a, b):
    want = dump(a.client())
    wait_until_value(lambda: dump(b.client()), lambda got: got == want, 5,
                     "the replicas to converge")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_database_restart_under_write_load(trellis, tmp_path, pg, request, mode):  # noqa: F811
    a = replica(trellis, tmp_path, pg, request, "a").start()
    b = replica(trellis, tmp_path, pg, request, "b").start()
    with ReadinessWatch([a, b]) as readiness, Load([a, b]) as load:
        lib.wait_until(lambda: load.count("ok") >= 40, 20, "writes before the restart")
        before = load.count("ok")
        pg.stop(mode=mode)
        time.sleep(0.5)  # the outage: writes meanwhile must fail fast
        pg.start()
        lib.wait_until(lambda: load.count("ok") >= before + 40, 30,
                       f"writes after the restart ({load.summary()})")
    summary = load.summary()
    assert load.count("ServiceUnavailableException") > 0, summary  # the outage was felt
    acknowledged = check_outcomes(load, [a, b])
    assert len(acknowledged) == load.count("ok")
    for seen in readiness.seen:
        assert 503 in seen and 200 in seen, readiness.seen
    wait_ready(a)
    wait_ready(b)
    assert_converged(a, b)
    for r in (a, b):
        assert r.server.entries(event="connection_lost"), "the replica never saw the outage"
    a.stop()
    b.stop()


def test_replica_killed_under_load(trellis, tmp_path, pg, request):  # noqa: F811
    a = replica(trellis, tmp_path, pg, request, "a").start()
    b = replica(trellis, tmp_path, pg, request, "b").start()
    with Load([a, b]) as load:
        lib.wait_until(lambda: load.count("ok") >= 60, 20, "writes before the kill")
        a.kill9()
        killed_at = time.monotonic()
        lib.wait_until(lambda: sum(1 for o in load.outcomes if o[2] == 1 and o[3] == "ok"
                                   and o[6] > killed_at) >= 20, 20, "B serving after the kill")
    # Through B: everything acknowledged by either replica.
    after_kill = [o for o in load.outcomes if o[2] == 1 and o[6] > killed_at]
    assert all(o[3] == "ok" for o in after_kill), collections.Counter(o[3] for o in after_kill)
    check_outcomes(load, [b])
    # A comes back on its own database state and converges with B.
    a.start()
    check_outcomes(load, [a])
    assert_converged(b, a)
    a.stop()
    b.stop()


def test_database_down_longer_than_the_commit_timeout(trellis, tmp_path, pg, request):  # noqa: F811
    r = replica(trellis, tmp_path, pg, request, "a", commit_timeout_ms=1500).start()
    client = r.client()
    client.create_mesh(meshName="steady")
    pg.stop(mode="immediate")
    detail = lib.wait_until(lambda: r.readyz()[0] == 503 and r.store_detail(), 10,
                            "/readyz to say why the store is not ready")
    assert "postgres host=127.0.0.1" in detail and "password" not in detail, detail
    for i in range(5):
        started = time.monotonic()
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client.create_virtual_node(meshName="steady", virtualNodeName=f"n{i}",
                                       spec=am.node_spec())
        assert error_code(refused.value) == "ServiceUnavailableException", refused.value
        assert time.monotonic() - started < 1.5 + 1.0
    # Reads are served from the catalog meanwhile.
    assert client.describe_mesh(meshName="steady")["mesh"]["meshName"] == "steady"
    time.sleep(2)  # longer than the commit timeout
    pg.start()
    wait_ready(r)
    client.create_virtual_node(meshName="steady", virtualNodeName="after",
                               spec=am.node_spec())
    names = {n["virtualNodeName"]
             for n in client.list_virtual_nodes(meshName="steady")["virtualNodes"]}
    assert names == {"after"}, names
    r.stop()


def test_replica_started_before_its_database(trellis, tmp_path, pg, request):  # noqa: F811
    pg.stop()
    # Reads give up quickly, so the core's retry of the catalog load shows.
    r = replica(trellis, tmp_path, pg, request, "a", read_timeout_ms=1000)
    r.server = r.factory.start(r.config_path, workdir=r.workdir)
    r.server.wait_healthy(r.admin)
    lib.wait_until(lambda: r.readyz()[0] == 503, 10, "/readyz to say not ready")
    started = time.monotonic()
    answer = r.raw("GET", "/v20190125/meshes")
    assert answer.status == 503 and answer.error_type == "ServiceUnavailableException", answer
    assert time.monotonic() - started < 2
    # The first load gives up after read_timeout_ms; the core tries again.
    r.server.wait_for_entry(event="catalog_load_retry", timeout=10)
    pg.start()
    wait_ready(r, timeout=30)
    r.client().create_mesh(meshName="late")
    r.stop()
