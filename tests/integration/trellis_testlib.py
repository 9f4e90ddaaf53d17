"""Helpers for integration tests that drive a real `trellis` binary.

Every suite under tests/ that starts `trellis serve` uses these, through the
fixtures in conftest.py (see tests/integration/conftest.py for how to reuse
them from another directory):

    def test_something(trellis, tmp_path):
        admin = lib.loopback_address()
        config = lib.write_config(tmp_path, [lib.admin_instance(admin)])
        server = trellis.serve(config)            # waits for /healthz
        status, _, body = lib.http_request(admin, "GET", "/readyz")
        server.stop()                             # SIGTERM, exit 0, no sanitizer report

The environment comes from tests/CMakeLists.txt (trellis_add_pytest):
TRELLIS_BIN, TRELLIS_BUILD_DIR, TRELLIS_SOURCE_DIR, TRELLIS_SANITIZE,
TRELLIS_TEST_PLUGIN_DIR.

Every wait here is a poll with a deadline that fails with a message saying
what did not happen; nothing sleeps and hopes.
"""

import ctypes
import fcntl
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


def _required_env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: run the integration tests through ctest "
            f"(tests/CMakeLists.txt sets it), or export it yourself")
    return value


TRELLIS_BIN = Path(_required_env("TRELLIS_BIN"))
BUILD_DIR = Path(_required_env("TRELLIS_BUILD_DIR"))
SOURCE_DIR = Path(_required_env("TRELLIS_SOURCE_DIR"))
TEST_PLUGIN_DIR = Path(_required_env("TRELLIS_TEST_PLUGIN_DIR"))
SANITIZE = os.environ.get("TRELLIS_SANITIZE", "0") == "1"
# The plugins built with trellis (api.admin, ...), beside the binary.
BUNDLED_PLUGIN_DIR = BUILD_DIR / "lib" / "trellis" / "plugins"
# Outside the repository: the strict Envoy v3 checker next to the checkout
# (read-only in CI, run in place) and moto's server from the machine's Python.
# ENVOY_VALIDATE and MOTO_SERVER point elsewhere; the tests that need them
# fail, never skip, when they are missing.
ENVOY_VALIDATOR = Path(os.environ.get(
    "ENVOY_VALIDATE", SOURCE_DIR.parent / "shared" / "tools" / "envoy-validate" / "validate.py"))
MOTO_SERVER = os.environ.get("MOTO_SERVER", "/root/.pyenv/shims/moto_server")

# Sanitizer builds are slower; every deadline scales with this.
TIME_SCALE = 3.0 if SANITIZE else 1.0

# Lines that only a sanitizer writes. Any of them in a server's output fails
# the test, in every build (in a plain build they simply never appear).
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "WARNING: AddressSanitizer",
    "runtime error:",
    "UndefinedBehaviorSanitizer",
    "ERROR: ThreadSanitizer",
)


def scaled(seconds):
    """A deadline in seconds, stretched for sanitizer builds."""
    return seconds * TIME_SCALE


def xds_client_dir(*packages):
    """The folder whose node_modules holds the Node clients the tests run
    (@grpc/grpc-js-xds, @grpc/grpc-js for envoy-validate's ads mode, ...):
    XDS_CLIENT_DIR, which tests/CMakeLists.txt sets to <source>/tests/js,
    installed there by `npm ci` from the committed package-lock.json
    (scripts/test.sh runs it). Fails the test when a package is missing: a
    check that cannot run must not pass as skipped."""
    folder = Path(os.environ.get("XDS_CLIENT_DIR") or SOURCE_DIR / "tests" / "js")
    missing = [p for p in packages if not (folder / "node_modules" / p / "package.json").is_file()]
    if missing:
        import pytest  # noqa: PLC0415  (pytest.fail, only from inside a test)
        pytest.fail(f"{', '.join(missing)} not installed under {folder}/node_modules: run "
                    f"`npm ci` in {folder} (scripts/test.sh does), or point XDS_CLIENT_DIR at a "
                    f"folder where they are", pytrace=False)
    return folder


def process_env(extra=None):
    """The environment for a trellis process: sanitizers report and exit
    non-zero on the first problem, leaks included."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.setdefault("LSAN_OPTIONS", "exitcode=23")
    if extra:
        env.update(extra)
    return env


def abi_version():
    """(major, minor) of the plugin ABI, from `trellis version`."""
    out = run_trellis(["version"]).stdout
    match = re.search(r"\(plugin ABI (\d+)\.(\d+)\)", out)
    assert match, f"unexpected `trellis version` output: {out!r}"
    return int(match.group(1)), int(match.group(2))


def sanitizer_report(text):
    """The first line of a sanitizer report in `text`, or None."""
    for line in text.splitlines():
        if any(marker in line for marker in SANITIZER_MARKERS):
            return line
    return None


def assert_no_sanitizer_report(text, what):
    report = sanitizer_report(text)
    assert report is None, f"{what}: sanitizer report: {report}\n--- output ---\n{text}"


# ---------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate() until it returns a true value (which is returned);
    fails with `what` after `timeout` seconds (scaled for sanitizers)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {scaled(timeout):.1f}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------

_ports_handed_out = set()


def free_port(host="127.0.0.1"):
    """A TCP port free on `host` now, never the same twice in one run."""
    for _ in range(100):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _ports_handed_out:
            _ports_handed_out.add(port)
            return port
    raise RuntimeError("no free port found")


def loopback_address():
    """'127.0.0.1:PORT' with a free port."""
    return f"127.0.0.1:{free_port()}"


def split_address(address):
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def http_request(address, method, path, body=None, headers=None, timeout=5.0):
    """One HTTP/1.1 request on a new connection: (status, headers, body bytes)."""
    host, port = split_address(address)
    conn = http.client.HTTPConnection(host, port, timeout=scaled(timeout))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def http_get_json(address, path):
    status, _, body = http_request(address, "GET", path)
    return status, json.loads(body)


def port_accepts(address):
    """Whether something accepts TCP connections on `address`."""
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def enter_private_network():
    """Moves this process (and every child it starts from now on) into a new
    network namespace with only a loopback interface, so a test can use fixed
    ports (the shipped configuration's 7081, ...) without meeting whatever
    else runs on this machine. Needs root or unprivileged user namespaces."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet, clone_newuser = 0x40000000, 0x10000000
    if os.geteuid() == 0:
        flags = clone_newnet
    else:
        flags = clone_newnet | clone_newuser
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}; "
                           "this test needs root or unprivileged user namespaces")
    if flags & clone_newuser:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    # Bring "lo" up: SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP.
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH14s", b"lo", 0, b"")
        flags_now = struct.unpack("16sH14s", fcntl.ioctl(s, siocgifflags, ifreq))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH14s", b"lo", flags_now | iff_up, b""))


# ---------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------

_TEXT_PAIR = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')
_TEXT_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|.)')


def _unescape_text(value):
    def one(match):
        code = match.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        return {"n": "\n", "r": "\r", "t": "\t"}.get(code, code)
    return _TEXT_ESCAPE.sub(one, value)


def parse_log_line(line):
    """One log line (text key=value or JSON) as a dict of strings."""
    line = line.rstrip("\n")
    if line.startswith("{"):
        return json.loads(line)
    entry = {}
    for key, value in _TEXT_PAIR.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = _unescape_text(value[1:-1])
        entry[key] = value
    return entry


def is_log_line(line):
    return line.startswith("ts=") or line.startswith('{"ts":')


# ---------------------------------------------------------------------------
# Configuration files
# ---------------------------------------------------------------------------


def instance(plugin, name, **config):
    """One entry of "plugins": {"plugin": ..., "name": ..., "config": {...}}."""
    entry = {"plugin": plugin, "name": name}
    if config:
        entry["config"] = config
    return entry


def admin_instance(listen, name="admin", **config):
    return instance("api.admin", name, listen=listen, **config)


def probe_instance(name, **config):
    return instance("test.probe", name, **config)


def store_instance(data_dir, name="store", **config):
    """A store.file instance keeping its data in `data_dir`. The core's
    catalog lives in the store; without one, /readyz reports the catalog
    not ready."""
    return instance("store.file", name, dir=str(data_dir), **config)


def write_config(directory, plugins, filename="trellis.json", plugin_path=None, **settings):
    """Writes a configuration and returns its path. plugin_path defaults to
    the bundled plugins plus the test-only plugins; settings are core keys."""
    if plugin_path is None:
        plugin_path = [str(BUNDLED_PLUGIN_DIR), str(TEST_PLUGIN_DIR)]
    document = {"plugin_path": [str(p) for p in plugin_path], **settings, "plugins": plugins}
    path = Path(directory) / filename
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------
# Running trellis
# ---------------------------------------------------------------------------


def run_trellis(args, cwd=None, timeout=60, binary=None):
    """Runs a short trellis command (check-config, plugins, version) to the
    end. Fails if it was killed by a signal or a sanitizer reported."""
    completed = subprocess.run([str(binary or TRELLIS_BIN), *map(str, args)], cwd=cwd,
                               env=process_env(), capture_output=True, text=True,
                               timeout=scaled(timeout), check=False)
    what = f"trellis {' '.join(map(str, args))}"
    assert completed.returncode >= 0, \
        f"{what} was killed by signal {-completed.returncode}\n{completed.stderr}"
    assert_no_sanitizer_report(completed.stdout + completed.stderr, what)
    return completed


class TrellisServer:
    """A `trellis serve -c CONFIG` process whose log goes to a file."""

    def __init__(self, config_path, workdir, binary=None, name="trellis"):
        self.config_path = Path(config_path)
        self.workdir = Path(workdir)
        self.binary = Path(binary or TRELLIS_BIN)
        self.log_path = self.workdir / f"{name}-{os.getpid()}-{id(self)}.log"
        self.process = None
        self.returncode = None

    # -- life --

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "serve", "-c", str(self.config_path)], cwd=self.workdir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=process_env())
        return self

    @property
    def pid(self):
        return self.process.pid

    def running(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, signo):
        assert self.running(), f"server is not running (exit {self.process.poll()})\n{self.log()}"
        self.process.send_signal(signo)

    def wait_exit(self, timeout=30):
        """Waits for the process to end and returns its exit status; fails
        (after killing it) if it is still running after `timeout`."""
        try:
            self.returncode = self.process.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"trellis did not exit within {scaled(timeout):.1f}s\n{self.log()}")
        assert self.returncode >= 0, \
            f"trellis was killed by signal {-self.returncode}\n{self.log()}"
        self.assert_no_sanitizer_report()
        return self.returncode

    def stop(self, timeout=30, expect_status=0):
        """SIGTERM, then a clean exit with `expect_status` and no sanitizer
        report. Returns the seconds it took."""
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        status = self.wait_exit(timeout)
        elapsed = time.monotonic() - started
        assert status == expect_status, \
            f"trellis exited with {status}, expected {expect_status}\n{self.log()}"
        return elapsed

    def kill(self):
        if self.running():
            self.process.kill()
            self.process.wait()

    # -- output --

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_entries(self):
        return [parse_log_line(line) for line in self.log().splitlines() if is_log_line(line)]

    def entries(self, **match):
        """Log entries whose keys equal every given value, in order."""
        return [e for e in self.log_entries()
                if all(e.get(key) == value for key, value in match.items())]

    def wait_for_entry(self, timeout=10, count=1, **match):
        """Waits until at least `count` entries match; returns them. Fails
        early if the process exits first."""
        def found():
            hits = self.entries(**match)
            if len(hits) >= count:
                return hits
            if not self.running():
                raise AssertionError(f"trellis exited ({self.process.poll()}) before logging "
                                     f"{count} x {match}\n{self.log()}")
            return None
        try:
            return wait_until(found, timeout, f"{count} log entries matching {match}")
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n--- log ---\n{self.log()}") from None

    def assert_no_sanitizer_report(self):
        assert_no_sanitizer_report(self.log(), f"trellis serve -c {self.config_path}")

    # -- HTTP --

    def wait_healthy(self, admin_address, timeout=15):
        """Waits until GET /healthz on the admin address answers 200."""
        def healthy():
            if not self.running():
                raise AssertionError(
                    f"trellis exited with {self.process.poll()} before answering /healthz\n"
                    f"{self.log()}")
            try:
                status, _, _ = http_request(admin_address, "GET", "/healthz", timeout=1)
                return status == 200
            except OSError:
                return False
        try:
            wait_until(healthy, timeout, f"GET http://{admin_address}/healthz to answer 200")
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n--- log ---\n{self.log()}") from None
        return self


# ---------------------------------------------------------------------------
# The pytest fixture
# ---------------------------------------------------------------------------

import pytest  # noqa: E402  (the helpers above do not need pytest)


class ServerFactory:
    """Starts servers for one test and makes sure none outlives it."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.servers = []

    def start(self, config_path, workdir=None, binary=None):
        """Starts `trellis serve` without waiting for anything."""
        server = TrellisServer(config_path, workdir or self.workdir, binary=binary,
                               name=f"trellis{len(self.servers)}")
        self.servers.append(server)
        return server.start()

    def serve(self, config_path, admin, workdir=None, binary=None, timeout=15):
        """Starts `trellis serve` and waits until GET /healthz on `admin`
        answers 200."""
        return self.start(config_path, workdir, binary).wait_healthy(admin, timeout)

    def finish(self):
        """Kills what is still running; returns the problems found."""
        problems = []
        for server in self.servers:
            if server.running():
                server.kill()
                problems.append(f"{server.config_path}: server still running at the end of "
                                "the test (stop it with server.stop())")
            report = sanitizer_report(server.log())
            if report is not None:
                problems.append(f"{server.config_path}: sanitizer report: {report}")
        return problems


@pytest.fixture
def trellis(tmp_path):
    """Factory for `trellis serve` processes: trellis.serve(config, admin=ADDR).
    Fails the test if a server is left running or a sanitizer reported."""
    factory = ServerFactory(tmp_path)
    yield factory
    problems = factory.finish()
    if problems:
        pytest.fail("\n".join(problems))
