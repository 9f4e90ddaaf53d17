"""A throwaway PostgreSQL server for tests and benchmarks.

Debian's `postgresql` package (scripts/install-deps.sh test) provides the
server binaries under /usr/lib/postgresql/<version>/bin. A cluster is made
with initdb in a fresh temporary directory, listens on 127.0.0.1 on a free
port (and on a Unix socket inside that directory), trusts local connections,
and is removed when stopped for good. initdb refuses to run as root, so when
the tests run as root the server runs as the `postgres` OS user (runuser).

From Python (pytest fixtures, benchmarks):

    with PostgresCluster() as pg:           # initdb + start, stop + remove at the end
        pg.create_database("trellis")
        conninfo = pg.conninfo("trellis")   # "host=127.0.0.1 port=... user=... dbname=..."
        pg.psql("SELECT 1", "trellis")
        pg.restart()                        # fast shutdown and start, same data
        pg.stop(mode="immediate"); pg.start()   # a crash and a recovery

From the command line, to run any command (a C test) against a fresh server;
the command gets PGHOST, PGPORT, PGUSER, PGDATABASE (database "trellis") and
TRELLIS_TEST_PG_CONNINFO in its environment, and its exit status is returned
(1, without running it, when no PostgreSQL server is installed):

    python3 pg_cluster.py run -- ./store_conformance --plugin store.postgres ...

Only the standard library is used, so the module imports without pytest or
the trellis test environment. Every wait is a poll with a deadline.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER_USER = "postgres"  # the OS user the server runs as when we are root
DEFAULT_DATABASE = "trellis"
MISSING = ("no PostgreSQL server is installed (the Debian package `postgresql`: "
           "scripts/install-deps.sh test installs it)")


def postgres_bin_dir():
    """The newest installed server's bin directory (TRELLIS_PG_BIN overrides)."""
    override = os.environ.get("TRELLIS_PG_BIN")
    if override:
        return Path(override)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name)
                        if Path(p).parent.parent.name.isdigit() else 0)
    if not candidates:
        raise RuntimeError("no PostgreSQL server found under /usr/lib/postgresql: install the "
                           "Debian package `postgresql` (scripts/install-deps.sh test)")
    return Path(candidates[-1]).parent


def available():
    """Whether a PostgreSQL server can be started here."""
    try:
        postgres_bin_dir()
    except RuntimeError:
        return False
    return os.geteuid() != 0 or _user_exists(SERVER_USER)


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """One PostgreSQL server in its own temporary directory."""

    def __init__(self, base_dir=None, port=None, settings=None):
        self.bin = postgres_bin_dir()
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="trellis-pg-", dir=base_dir))
        self.data = self.base / "data"
        self.socket_dir = self.base
        self.logfile = self.base / "server.log"
        self.port = port or _free_port()
        self.user = SERVER_USER if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "on",
            "synchronous_commit": "on",
            "max_connections": "200",
            "log_min_messages": "warning",
            "log_line_prefix": "%m [%p] ",
        }
        self.settings.update(settings or {})
        self.initialized = False
        if self.as_root:
            pw = pwd.getpwnam(SERVER_USER)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)

    # -- running server binaries --

    def _run_server_tool(self, tool, *args, check=True, timeout=120):
        command = [str(self.bin / tool), *map(str, args)]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                   check=False, cwd="/")
        if check and completed.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(map(str, args))} failed "
                               f"({completed.returncode}):\n{completed.stdout}{completed.stderr}"
                               f"\n--- server log ---\n{self.log()}")
        return completed

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""

    # -- life --

    def init(self):
        if self.initialized:
            return self
        self._run_server_tool("initdb", "-D", self.data, "-U", self.user, "--auth=trust",
                              "--encoding=UTF8", "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# trellis tests\n")
            for key, value in self.settings.items():
                conf.write(f"{key} = '{value}'\n")
        self.initialized = True
        return self

    def start(self, timeout=60):
        """Starts the server and waits until it accepts connections."""
        self.init()
        self._run_server_tool("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t",
                              int(timeout), "start", timeout=timeout + 10)
        self.wait_accepting(timeout)
        return self

    def stop(self, mode="fast", timeout=60):
        """pg_ctl stop: "fast" (clean: sessions are ended, a checkpoint is
        written) or "immediate" (like a crash: recovery replays the WAL at
        the next start)."""
        if self.running():
            self._run_server_tool("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", int(timeout),
                                  "stop", timeout=timeout + 10)
        return self

    def restart(self, mode="fast", timeout=60):
        self.stop(mode, timeout)
        return self.start(timeout)

    def running(self):
        if not self.initialized:
            return False
        return self._run_server_tool("pg_ctl", "-D", self.data, "status",
                                     check=False).returncode == 0

    def wait_accepting(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            ready = subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p",
                                    str(self.port), "-U", self.user, "-d", "postgres"],
                                   capture_output=True, check=False)
            if ready.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"PostgreSQL on port {self.port} did not accept connections "
                                   f"within {timeout}s\n--- server log ---\n{self.log()}")
            time.sleep(0.05)

    def destroy(self):
        """Stops the server (immediately: nothing is kept) and removes its files."""
        with contextlib.suppress(Exception):
            self.stop(mode="immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()

    # -- clients --

    def conninfo(self, dbname=DEFAULT_DATABASE):
        """A libpq connection string over TCP (no password: the cluster trusts local users)."""
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def env(self, dbname=DEFAULT_DATABASE):
        """The PG* environment libpq reads when no connection string is given."""
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.user,
                "PGDATABASE": dbname, "TRELLIS_TEST_PG_CONNINFO": self.conninfo(dbname)}

    def psql(self, sql, dbname=DEFAULT_DATABASE, check=True, timeout=60):
        """Runs SQL with psql; returns its unaligned, tuples-only output."""
        completed = subprocess.run(
            [str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", dbname,
             "-c", sql],
            capture_output=True, text=True, timeout=timeout, check=False)
        if check and completed.returncode != 0:
            raise RuntimeError(f"psql failed ({completed.returncode}): {sql}\n"
                               f"{completed.stderr}")
        return completed.stdout

    def create_database(self, name=DEFAULT_DATABASE):
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", "postgres")
        if exists.strip() != "1":
            self.psql(f'CREATE DATABASE "{name}"', "postgres")
        return name

    def terminate_backends(self, dbname=DEFAULT_DATABASE, application_like="%"):
        """Ends every session of `dbname` whose application_name matches (a
        dropped connection, as a network failure or an administrator would)."""
        out = self.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid() "
                        f"AND application_name LIKE '{application_like}'", "postgres")
        return int(out.strip() or 0)


def main(argv):
    if len(argv) < 2 or argv[1] != "run":
        print("usage: pg_cluster.py run [--] COMMAND [ARGS...]", file=sys.stderr)
        return 2
    command = argv[2:]
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("pg_cluster.py run: no command given", file=sys.stderr)
        return 2
    if not available():
        # A check that cannot run must not pass as skipped.
        print(f"pg_cluster.py: {MISSING}", file=sys.stderr)
        return 1
    cluster = PostgresCluster(base_dir=os.environ.get("TMPDIR"))
    try:
        cluster.start()
        cluster.create_database(DEFAULT_DATABASE)
        env = dict(os.environ)
        env.update(cluster.env(DEFAULT_DATABASE))
        status = subprocess.run(command, env=env, check=False).returncode
        if status != 0:
            tail = cluster.log()[-4000:]
            if tail:
                print(f"--- PostgreSQL server log (tail) ---\n{tail}", file=sys.stderr)
        return status if status >= 0 else 128 - status
    finally:
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
