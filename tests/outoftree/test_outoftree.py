"""A plugin built outside the trellis tree, from the installed headers only.

Installs the current build into a temporary prefix (`cmake --install`),
compiles hello.c in a directory of its own with exactly the documented
command, `cc $(pkg-config --cflags --libs trellis-plugin) hello.c -o hello.so`,
with PKG_CONFIG_PATH pointing into the prefix, and loads the result with the
installed `trellis serve`."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import trellis_testlib as lib

HERE = Path(__file__).resolve().parent


def run(command, env=None, cwd=None, shell=False):
    completed = subprocess.run(command, env=env, cwd=cwd, shell=shell, capture_output=True,
                               text=True, timeout=lib.scaled(300), check=False)
    assert completed.returncode == 0, \
        f"{command} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(prefix, environment with PKG_CONFIG_PATH) of a fresh install."""
    prefix = tmp_path_factory.mktemp("prefix")
    run(["cmake", "--install", str(lib.BUILD_DIR), "--prefix", str(prefix)])
    [pc_file] = prefix.glob("**/pkgconfig/trellis-plugin.pc")
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc_file.parent))
    # Nothing from the source or build tree may leak into the plugin's build.
    env.pop("CPATH", None)
    env.pop("C_INCLUDE_PATH", None)
    return prefix, env


@pytest.fixture(scope="module")
def hello_so(installed, tmp_path_factory):
    prefix, env = installed
    workdir = tmp_path_factory.mktemp("hello")
    shutil.copy(HERE / "hello.c", workdir / "hello.c")
    run("cc $(pkg-config --cflags --libs trellis-plugin) hello.c -o hello.so",
        env=env, cwd=workdir, shell=True)
    return workdir / "hello.so"


def test_pkg_config_points_into_the_prefix(installed):
    prefix, env = installed
    cflags = run(["pkg-config", "--cflags", "trellis-plugin"], env=env).stdout.split()
    include_dirs = [Path(flag[2:]).resolve() for flag in cflags if flag.startswith("-I")]
    assert include_dirs == [(prefix / "include").resolve()]
    assert (prefix / "include" / "trellis" / "plugin.h").is_file()
    assert "-fvisibility=hidden" in cflags and "-fPIC" in cflags
    assert run(["pkg-config", "--libs", "trellis-plugin"], env=env).stdout.split() == ["-shared"]
    plugindir = run(["pkg-config", "--variable=plugindir", "trellis-plugin"], env=env).stdout.strip()
    assert (Path(plugindir) / "api.admin.so").is_file()


def test_example_is_warning_free(installed, tmp_path):
    _, env = installed
    shutil.copy(HERE / "hello.c", tmp_path / "hello.c")
    run("cc -std=c17 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags --libs trellis-plugin)"
        " hello.c -o hello.so", env=env, cwd=tmp_path, shell=True)


def test_only_the_entry_symbol_is_exported(hello_so):
    symbols = run(["nm", "-D", "--defined-only", str(hello_so)]).stdout.split("\n")
    exported = sorted(line.split()[-1] for line in symbols
                      if line.strip() and line.split()[1] in ("T", "D", "B", "R"))
    assert exported == ["trellis_plugin_entry"]


def test_installed_trellis_lists_the_plugin(installed, hello_so):
    prefix, _ = installed
    result = lib.run_trellis(["plugins", "--dir", hello_so.parent], binary=prefix / "bin" / "trellis")
    major, minor = lib.abi_version()
    [line] = [line for line in result.stdout.splitlines() if line.startswith("ok")]
    assert line.split() == ["ok", "hello", "frontend", "1.0.0", f"{major}.{minor}", str(hello_so)]


def test_installed_trellis_serves_the_plugin(trellis, installed, hello_so, tmp_path):
    prefix, _ = installed
    admin = lib.loopback_address()
    config = lib.write_config(
        tmp_path,
        [lib.admin_instance(admin),
         lib.instance("hello", "greeter", greeting="hello from outside", interval_ms=50)],
        plugin_path=[prefix / "lib" / "trellis" / "plugins", hello_so.parent])
    server = trellis.serve(config, admin, binary=prefix / "bin" / "trellis")
    [started] = server.wait_for_entry(event="hello_started")
    assert (started["plugin"], started["instance"], started["greeting"]) == \
        ("hello", "greeter", "hello from outside")
    server.wait_for_entry(event="hello_again", count=2)
    status, body = lib.http_get_json(admin, "/readyz")
    assert {"plugin": "hello", "instance": "greeter", "state": "started", "ready": True,
            "detail": ""} in body["instances"]
    server.stop()
    [stopped] = server.entries(event="hello_stopped")
    assert stopped["instance"] == "greeter"
    assert server.entries(event="leftover_resources") == []


def test_the_abi_guide_shows_this_example():
    guide = (lib.SOURCE_DIR / "docs" / "plugin-abi.md").read_text()
    start = guide.index("<!-- hello.c begins -->\n```c\n") + len("<!-- hello.c begins -->\n```c\n")
    end = guide.index("```\n<!-- hello.c ends -->")
    assert guide[start:end] == (HERE / "hello.c").read_text(), \
        "docs/plugin-abi.md section 8 differs from tests/outoftree/hello.c: copy the file there"
