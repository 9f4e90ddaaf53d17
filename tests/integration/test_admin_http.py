"""The admin endpoint's HTTP/1.1 server (plugins/common/http_server.c) under
requests real clients and bad clients send, over raw sockets: malformed and
oversized requests, pipelining, chunked bodies, HTTP/1.0, keep-alive,
timeouts and many connections. After each, the server still answers and
stops cleanly."""

import socket
import time

import pytest

import trellis_testlib as lib

IDLE_TIMEOUT_MS = 400
REQUEST_TIMEOUT_MS = 600


@pytest.fixture
def admin(trellis, tmp_path):
    """A running api.admin; yields its address, then checks it still answers
    and stops with exit 0."""
    address = lib.loopback_address()
    config = lib.write_config(tmp_path, [lib.admin_instance(
        address, idle_timeout_ms=IDLE_TIMEOUT_MS, request_timeout_ms=REQUEST_TIMEOUT_MS,
        max_connections=64)])
    server = trellis.serve(config, address)
    yield address
    assert lib.http_request(address, "GET", "/healthz")[0] == 200, server.log()
    server.stop()


def connect(address):
    host, port = lib.split_address(address)
    return socket.create_connection((host, port), timeout=lib.scaled(5))


class Reader:
    """Reads HTTP/1.1 responses from a socket, one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buffer += chunk

    def response(self, to_head=False):
        """(status, {header: value}, body); `to_head`: the answer to HEAD, no body."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, _ = lines[0].split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if to_head else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status), headers, body

    def closed(self):
        """Whether the server closed the connection (after what was buffered)."""
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True


def exchange(address, raw):
    """Sends raw bytes on a new connection; returns (first response, closed after)."""
    with connect(address) as sock:
        sock.sendall(raw)
        reader = Reader(sock)
        answer = reader.response()
        return answer, reader.closed() if answer[1].get("connection") == "close" else None


GET_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.mark.parametrize("raw, status, message", [
    (b"GARBAGE\r\n\r\n", 400, "malformed HTTP request"),
    (b"GET /healthz\r\n\r\n", 400, "malformed HTTP request"),
    (b"GET healthz HTTP/1.1\r\n\r\n", 400, "malformed HTTP request"),
    (b"GET /healthz HTTP/2.0\r\n\r\n", 505, "HTTP version not supported"),
    (b"GET /healthz HTTP/1.1\r\nNoColonHere\r\n\r\n", 400, "malformed HTTP request"),
    (b"GET /healthz HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", 400, "malformed HTTP request"),
    (b"POST /healthz HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", 400,
     "malformed HTTP request"),
    (b"POST /healthz HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400, "malformed HTTP request"),
    (b"POST /healthz HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413, "request body too large"),
    (b"GET /healthz HTTP/1.1\r\nExpect: magic\r\n\r\n", 417, "unsupported Expect header"),
    (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431,
     "request headers too large"),
])
def test_bad_requests_are_answered_and_closed(admin, raw, status, message):
    (got_status, headers, body), closed = exchange(admin, raw)
    assert (got_status, body) == (status, b'{"message":"%s"}' % message.encode())
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    assert closed


def test_headers_without_end_are_cut_at_the_limit(admin):
    with connect(admin) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        try:
            for _ in range(40):  # more than the 16 KiB header limit, never ending
                sock.sendall(b"X-Filler: " + b"f" * 1000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        reader = Reader(sock)
        status, headers, body = reader.response()
        assert (status, body) == (431, b'{"message":"request headers too large"}')


def test_pipelined_requests_are_answered_in_order(admin):
    with connect(admin) as sock:
        sock.sendall(GET_HEALTHZ + b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
                     + b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                     + b"DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + GET_HEALTHZ)
        reader = Reader(sock)
        assert reader.response()[0::2] == (200, b"ok\n")
        assert reader.response()[0::2] == (404, b"not found\n")
        # HEAD: the length of the GET answer, no body.
        status, headers, body = reader.response(to_head=True)
        assert (status, headers["content-length"], body) == (200, "3", b"")
        assert reader.response()[0::2] == (405, b"method not allowed\n")
        assert reader.response()[0::2] == (200, b"ok\n")


def test_chunked_body_is_decoded_and_the_next_request_follows(admin):
    with connect(admin) as sock:
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n" + GET_HEALTHZ)
        reader = Reader(sock)
        assert reader.response()[0::2] == (405, b"method not allowed\n")
        assert reader.response()[0::2] == (200, b"ok\n")


def test_chunked_body_sent_in_pieces(admin):
    with connect(admin) as sock:
        sock.sendall(b"POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"3\r", b"\nabc", b"\r\n", b"0\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.01)  # separate TCP segments, not a wait for an outcome
        assert Reader(sock).response()[0] == 405


@pytest.mark.parametrize("body, status, message", [
    (b"zz\r\nab\r\n0\r\n\r\n", 400, "malformed chunked body"),
    (b"2\r\nabc\r\n0\r\n\r\n", 400, "malformed chunked body"),
    (b"%x\r\n" % 5000 + b"a" * 5000 + b"\r\n0\r\n\r\n", 413, "request body too large"),
    (b"800\r\n" + b"a" * 2048 + b"\r\n800\r\n" + b"a" * 2048 + b"\r\n1\r\na\r\n0\r\n\r\n", 413,
     "request body too large"),
])
def test_bad_chunked_bodies(admin, body, status, message):
    (got, headers, text), closed = exchange(
        admin, b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert (got, text) == (status, b'{"message":"%s"}' % message.encode())
    assert closed


def test_expect_100_continue(admin):
    with connect(admin) as sock:
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        reader = Reader(sock)
        while b"\r\n\r\n" not in reader.buffer:
            reader._fill()
        assert reader.buffer.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        reader.buffer = reader.buffer[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        sock.sendall(b"body")
        assert reader.response()[0] == 405


def test_http_1_0_closes_unless_keep_alive(admin):
    (status, headers, body), closed = exchange(admin, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert (status, body, headers["connection"], closed) == (200, b"ok\n", "close", True)
    with connect(admin) as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, headers, _ = reader.response()
            assert status == 200 and "connection" not in headers


def test_keep_alive_serves_many_requests_on_one_connection(admin):
    with connect(admin) as sock:
        reader = Reader(sock)
        for path, status in [("/healthz", 200), ("/metrics", 200), ("/debug/none", 404),
                             ("/healthz", 200)] * 5:
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
            assert reader.response()[0] == status
        sock.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        status, headers, _ = reader.response()
        assert (status, headers["connection"]) == (200, "close")
        assert reader.closed()


def test_idle_connections_are_closed(admin):
    with connect(admin) as sock:
        reader = Reader(sock)
        sock.sendall(GET_HEALTHZ)
        assert reader.response()[0] == 200
        started = time.monotonic()
        assert reader.closed()
        idle = time.monotonic() - started
        assert IDLE_TIMEOUT_MS / 1000 * 0.8 <= idle < IDLE_TIMEOUT_MS / 1000 + lib.scaled(2)
    # A connection that never sends anything is idle too.
    with connect(admin) as sock:
        started = time.monotonic()
        assert Reader(sock).closed()
        assert time.monotonic() - started < IDLE_TIMEOUT_MS / 1000 + lib.scaled(2)


def test_slow_request_is_cut_off(admin):
    with connect(admin) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        assert Reader(sock).closed()
        elapsed = time.monotonic() - started
        assert REQUEST_TIMEOUT_MS / 1000 * 0.8 <= elapsed < REQUEST_TIMEOUT_MS / 1000 + lib.scaled(2)


def test_many_concurrent_connections(admin):
    sockets = [connect(admin) for _ in range(60)]
    try:
        for sock in sockets:
            sock.sendall(GET_HEALTHZ)
        for sock in sockets:
            assert Reader(sock).response()[0::2] == (200, b"ok\n")
    finally:
        for sock in sockets:
            sock.close()


def test_connections_beyond_the_limit_get_503(trellis, tmp_path):
    address = lib.loopback_address()
    config = lib.write_config(tmp_path, [lib.admin_instance(address, max_connections=4)])
    server = trellis.serve(config, address)
    held = [connect(address) for _ in range(4)]
    try:
        # Every held connection is accepted (and served) before the extra one.
        for sock in held:
            sock.sendall(GET_HEALTHZ)
            assert Reader(sock).response()[0] == 200
        (status, headers, body), closed = exchange(address, GET_HEALTHZ)
        assert (status, headers["connection"], closed) == (503, "close", True)
    finally:
        for sock in held:
            sock.close()
    lib.wait_until(lambda: lib.http_request(address, "GET", "/healthz")[0] == 200, 5,
                   "a free connection slot after closing the held ones")
    server.stop()


def test_client_that_vanishes_mid_request(admin):
    for raw in (b"GET /heal", b"POST /healthz HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
                b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"):
        with connect(admin) as sock:
            sock.sendall(raw)
        # Reset instead of FIN.
        sock = connect(admin)
        sock.sendall(raw)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    assert lib.http_request(admin, "GET", "/healthz")[0] == 200
