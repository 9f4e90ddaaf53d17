"""README.md's "Pointing Envoy at trellis" works as written.

The blocks are taken from README.md itself, so the section cannot rot:

  * the Envoy bootstrap (```yaml) passes envoy-validate's strict check as
    envoy.config.bootstrap.v3.Bootstrap, points ADS (v3, gRPC) at trellis's
    shipped xDS address over HTTP/2, and its node is served: envoy-validate's
    Envoy-like `ads` client, connecting where the bootstrap says with its
    node id, gets resources that all pass the schema. There is no Envoy
    binary on this machine, so Envoy itself never reads the file here;
  * the gRPC bootstrap (```json) and the client (```js) run as they are
    (GRPC_XDS_BOOTSTRAP naming the file, @grpc/grpc-js-xds from tests/js): the
    client connects, is identified as a proxyless client of its virtual node
    and ACKs its configuration (GET /debug/proxies);
  * every command of the ```sh block answers (curl against the admin
    endpoint) with what the text says it shows.

Like test_shipped_config.py, this runs the shipped config/trellis.json in a
private network namespace, so the README's fixed addresses (7080, 7081,
15010) are used unchanged, and builds the README's first mesh by running its
AWS CLI block.
"""
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

import trellis_testlib as lib

README = lib.SOURCE_DIR / "README.md"
SHIPPED = lib.SOURCE_DIR / "config" / "trellis.json"
VALIDATOR = lib.ENVOY_VALIDATOR
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def section(title):
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def blocks(title):
    """{language: [code, ...]} of the fenced blocks of a README section."""
    found = {}
    for language, code in FENCE.findall(section(title)):
        found.setdefault(language, []).append(code)
    return found


def only(found, language):
    assert len(found.get(language, [])) == 1, f"expected one ```{language} block: {found}"
    return found[language][0]


def test_the_section_has_its_blocks():
    found = blocks("Pointing Envoy at trellis")
    assert sorted(found) == ["js", "json", "sh", "yaml"], sorted(found)


@pytest.fixture(scope="module", autouse=True)
def private_network():
    lib.enter_private_network()


@pytest.fixture(scope="module")
def shipped(private_network, tmp_path_factory):
    """The shipped configuration, running, with the README's first mesh."""
    document = json.loads(SHIPPED.read_text())
    admin = next(p["config"]["listen"] for p in document["plugins"] if p["plugin"] == "api.admin")
    assert admin == "127.0.0.1:7081", "the README's commands use the shipped admin address"
    workdir = tmp_path_factory.mktemp("readme")
    factory = lib.ServerFactory(workdir)
    try:
        server = factory.serve(SHIPPED, admin, workdir=workdir / "run")
        lib.wait_until(lambda: lib.http_request(admin, "GET", "/readyz")[0] == 200, 20, "readyz 200")
        first_mesh = only(blocks("A first mesh with the AWS CLI"), "sh")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", first_mesh], capture_output=True,
                              text=True, timeout=lib.scaled(120), cwd=workdir)
        assert done.returncode == 0, \
            f"the README's first mesh failed:\n{done.stderr}\n{server.log()[-3000:]}"
        yield admin
        server.stop()
    finally:
        problems = factory.finish()
        if problems:
            pytest.fail("\n".join(problems))


def proxies(admin, query=""):
    status, view = lib.http_get_json(admin, "/debug/proxies" + query)
    assert status == 200, view
    return view


def test_envoy_bootstrap(shipped, tmp_path):
    """There is no Envoy binary here: the bootstrap is checked against the
    upstream Envoy schema (unknown fields rejected, PGV rules), its ADS
    settings read back, and its node served to an Envoy-like ADS client."""
    text = only(blocks("Pointing Envoy at trellis"), "yaml")
    bootstrap = yaml.safe_load(text)
    path = tmp_path / "envoy.json"
    path.write_text(json.dumps(bootstrap))
    assert VALIDATOR.is_file(), f"envoy-validate not found at {VALIDATOR}"
    done = subprocess.run(["/usr/bin/python3", str(VALIDATOR), "json",
                           "envoy.config.bootstrap.v3.Bootstrap", str(path)],
                          capture_output=True, text=True, timeout=lib.scaled(60))
    assert done.returncode == 0 and "VALID: 1 document(s), 0 error(s), 0 warning(s)" in done.stdout, \
        done.stdout + done.stderr

    dynamic = bootstrap["dynamic_resources"]
    ads = dynamic["ads_config"]
    assert (ads["api_type"], ads["transport_api_version"]) == ("GRPC", "V3")
    for source in ("lds_config", "cds_config"):
        assert dynamic[source] == {"ads": {}, "resource_api_version": "V3"}, dynamic[source]
    (service,) = ads["grpc_services"]
    (cluster,) = [c for c in bootstrap["static_resources"]["clusters"]
                  if c["name"] == service["envoy_grpc"]["cluster_name"]]
    options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert "http2_protocol_options" in options["explicit_http_config"], "ADS is gRPC: HTTP/2"
    (locality,) = cluster["load_assignment"]["endpoints"]
    (endpoint,) = locality["lb_endpoints"]
    address = endpoint["endpoint"]["address"]["socket_address"]
    xds = f"{address['address']}:{address['port_value']}"
    document = json.loads(SHIPPED.read_text())
    assert xds == next(p["config"]["listen"] for p in document["plugins"] if p["plugin"] == "api.xds")

    # Envoy's view: connect where the bootstrap says, as its node; everything
    # served must pass the schema and be ACKed
    node = bootstrap["node"]["id"]
    assert re.fullmatch(r"mesh/[^/]+/virtualNode/[^/]+", node), node
    done = subprocess.run(["/usr/bin/python3", str(VALIDATOR), "ads", "--server", xds, "--node", node],
                          capture_output=True, text=True, timeout=lib.scaled(120),
                          env=dict(os.environ, XDS_CLIENT_DIR=str(lib.xds_client_dir("@grpc/grpc-js"))))
    assert done.returncode == 0 and "VALID:" in done.stdout and " 0 error(s)" in done.stdout, \
        done.stdout + done.stderr
    assert "lds_egress_0.0.0.0_15001" in done.stdout, done.stdout
    # the other node id the comment offers, the node's ARN, names the same identity
    (arn,) = re.findall(r"#.*?\b(arn:aws:appmesh:\S+)", text)
    dumps = [lib.http_request(shipped, "GET", f"/debug/config_dump?node={n}") for n in (node, arn)]
    assert [d[0] for d in dumps] == [200, 200] and dumps[0][2] == dumps[1][2], (arn, dumps[1][:2])


def test_grpc_bootstrap_and_client(shipped, tmp_path):
    found = blocks("Pointing Envoy at trellis")
    bootstrap = json.loads(only(found, "json"))
    node = bootstrap["node"]["id"]
    (bootstrap_path,) = re.findall(r"GRPC_XDS_BOOTSTRAP=(\S+)", only(found, "js"))
    (tmp_path / bootstrap_path).write_text(only(found, "json"))
    script = tmp_path / "serviceA.js"
    script.write_text(only(found, "js"))
    modules = lib.xds_client_dir("@grpc/grpc-js", "@grpc/grpc-js-xds") / "node_modules"
    log = open(tmp_path / "serviceA.log", "wb")
    client = subprocess.Popen(["node", str(script)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, NODE_PATH=str(modules), GRPC_XDS_BOOTSTRAP=bootstrap_path))
    try:
        def connected():
            assert client.poll() is None, (tmp_path / "serviceA.log").read_text()
            view = proxies(shipped, f"?node={node}")
            # in sync after each ACK: the client asks for RDS and CDS only once it
            # has the listener, so wait for the whole chain, not the first step
            proxy = view["proxies"][0] if view["proxies"] else None
            wanted = {"Listener", "RouteConfiguration", "Cluster"}
            return proxy if proxy and proxy["in_sync"] and set(proxy["types"]) >= wanted else None
        try:
            proxy = lib.wait_until(connected, 15, f"{node} to connect and ACK its listener, routes and clusters")
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{proxies(shipped)}\n"
                                 f"{(tmp_path / 'serviceA.log').read_text()}") from None
        assert proxy["identity"] == node and proxy["flavor"] == "proxyless", proxy
        assert proxy["types"]["Listener"]["subscription"] == ["serviceb.apps.local:80"], proxy
        assert proxy["user_agent"].lower().startswith("grpc"), proxy  # "gRPC Node Pure JS 1.14.1"

        # the README's commands, as they are, while the client is connected
        for line in only(found, "sh").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            assert words[:2] == ["curl", "-s"], line
            done = subprocess.run(words, capture_output=True, text=True, timeout=lib.scaled(30))
            assert done.returncode == 0, (line, done.stderr)
            answer = json.loads(done.stdout)
            path = words[2].split("/", 1)[1]
            if path.startswith("debug/config_dump"):
                types = [c["@type"].rsplit(".", 1)[1] for c in answer["configs"]]
                assert "ListenersConfigDump" in types, (line, types)
                listeners = json.dumps(answer["configs"][types.index("ListenersConfigDump")])
                expected = "serviceb.apps.local:80" if "flavor=proxyless" in line else "lds_egress_0.0.0.0_15001"
                assert expected in listeners, (line, listeners[:2000])
            elif "out_of_sync=1" in path:
                assert answer["proxies"] == [] and answer["summary"]["out_of_sync"] == 0, (line, answer)
            else:
                assert [p["node_id"] for p in answer["proxies"]] == [node], (line, answer)
    finally:
        client.kill()
        client.wait()
        log.close()
