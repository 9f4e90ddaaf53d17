#!/usr/bin/env python3
"""An authoritative DNS responder for tests, speaking real DNS over UDP and
TCP on loopback, whose records and behaviour the test changes while it runs.

As a program it serves on a free port (or --port) and takes JSON commands on
stdin, one per line, answering one JSON line each on stdout:

    {"op": "address"}                          -> {"ok": true, "address": "127.0.0.1:PORT"}
    {"op": "set", "name": "web.test", "A": ["10.0.0.1"], "AAAA": ["fd00::1"], "ttl": 5}
    {"op": "cname", "name": "alias.test", "target": "web.test", "ttl": 5}
    {"op": "remove", "name": "web.test"}       (then NXDOMAIN)
    {"op": "mode", "mode": "normal|servfail|drop|truncate|spoof"}
    {"op": "stats"}                            -> {"ok": true, "udp": n, "tcp": n,
                                                   "names": {"web.test/A": n, ...}, "ports": n}
    {"op": "quit"}

Modes: servfail answers SERVFAIL; drop never answers (timeouts); truncate
answers every UDP query with TC set and no records (the client must ask over
TCP, which answers normally); spoof first sends two decoys per UDP query (the
right question with a wrong id, the right id with a wrong question) and then
the real answer. Unknown names get NXDOMAIN with an SOA whose negative TTL is
1 second; known names without records of the type get NOERROR and no data.

Used by tests/conformance/discovery (dns backend) and discovery.dns's tests;
importable too (DnsResponder).
"""
import json
import socket
import socketserver
import struct
import sys
import threading

A, CNAME, SOA, AAAA = 1, 5, 6, 28
NEGATIVE_TTL = 1


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def read_name(msg, at):
    labels = []
    jumps = 0
    end = None
    while True:
        n = msg[at]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = at + 2
            at = ((n & 0x3F) << 8) | msg[at + 1]
            jumps += 1
            if jumps > 16:
                raise ValueError("pointer loop")
            continue
        if n == 0:
            return ".".join(labels).lower(), (end if end is not None else at + 1)
        labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace"))
        at += 1 + n


class DnsResponder:
    def __init__(self, host="127.0.0.1", port=0):
        self.lock = threading.Lock()
        self.records = {}          # name -> {"A": [...], "AAAA": [...], "ttl": n}
        self.cnames = {}           # name -> (target, ttl)
        self.mode = "normal"
        self.udp_queries = 0
        self.tcp_queries = 0
        self.per_name = {}         # "name/A" -> queries
        self.ports = set()         # UDP source ports seen
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        responder = self

        class TcpHandler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    while True:
                        head = self._read(2)
                        if head is None:
                            return
                        query = self._read(struct.unpack("!H", head)[0])
                        if query is None:
                            return
                        answer = responder.answer(query, tcp=True)
                        if answer is not None:
                            self.request.sendall(struct.pack("!H", len(answer)) + answer)
                except OSError:
                    return

            def _read(self, n):
                data = b""
                while len(data) < n:
                    chunk = self.request.recv(n - len(data))
                    if not chunk:
                        return None
                    data += chunk
                return data

        class TcpServer(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            address_family = family

        # One port for UDP and TCP: a free UDP port may be taken for TCP.
        for attempt in range(50):
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
            self.udp.bind((host, port))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp = TcpServer((host, self.port), TcpHandler)
                break
            except OSError:
                self.udp.close()
                if port != 0 or attempt == 49:
                    raise
        self.host = host
        threading.Thread(target=self._serve_udp, daemon=True).start()
        threading.Thread(target=self.tcp.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    # -- control --

    def set(self, name, a=(), aaaa=(), ttl=5):
        with self.lock:
            self.cnames.pop(name.lower(), None)
            self.records[name.lower()] = {"A": list(a), "AAAA": list(aaaa), "ttl": int(ttl)}

    def cname(self, name, target, ttl=5):
        with self.lock:
            self.records.pop(name.lower(), None)
            self.cnames[name.lower()] = (target.lower(), int(ttl))

    def remove(self, name):
        with self.lock:
            self.records.pop(name.lower(), None)
            self.cnames.pop(name.lower(), None)

    def set_mode(self, mode):
        assert mode in ("normal", "servfail", "drop", "truncate", "spoof"), mode
        with self.lock:
            self.mode = mode

    def stats(self):
        with self.lock:
            return {"udp": self.udp_queries, "tcp": self.tcp_queries, "names": dict(self.per_name),
                    "ports": len(self.ports)}

    def close(self):
        self.tcp.shutdown()
        self.tcp.server_close()
        self.udp.close()

    # -- serving --

    def _serve_udp(self):
        while True:
            try:
                query, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            with self.lock:
                spoof = self.mode == "spoof"
            if spoof:
                for decoy in self._decoys(query):
                    self.udp.sendto(decoy, peer)
            with self.lock:
                self.ports.add(peer[1])
            answer = self.answer(query, tcp=False)
            if answer is not None:
                try:
                    self.udp.sendto(answer, peer)
                except OSError:
                    pass

    def _decoys(self, query):
        """The right question with a wrong id; the right id with a wrong
        question (both claim 6.6.6.6)."""
        try:
            (qid,) = struct.unpack("!H", query[:2])
            qname, end = read_name(query, 12)
            qtype, _ = struct.unpack("!HH", query[end:end + 4])
        except (ValueError, IndexError, struct.error):
            return []
        if qtype != A:
            return []

        def forged(fid, name):
            q = encode_name(name) + struct.pack("!HH", A, 1)
            rr = b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 4) + socket.inet_aton("6.6.6.6")
            return struct.pack("!HHHHHH", fid, 0x8180, 1, 1, 0, 0) + q + rr
        return [forged((qid + 1) & 0xFFFF, qname), forged(qid, "evil." + qname)]

    def answer(self, query, tcp):
        try:
            qid, flags, qd = struct.unpack("!HHH", query[:6])
            qname, end = read_name(query, 12)
            qtype, qclass = struct.unpack("!HH", query[end:end + 4])
        except (ValueError, IndexError, struct.error):
            return None
        question = query[12:end + 4]
        with self.lock:
            if tcp:
                self.tcp_queries += 1
            else:
                self.udp_queries += 1
            key = f"{qname}/{ {A: 'A', AAAA: 'AAAA'}.get(qtype, qtype)}"
            self.per_name[key] = self.per_name.get(key, 0) + 1
            mode = self.mode
            if mode == "drop":
                return None
            if mode == "servfail":
                return struct.pack("!HHHHHH", qid, 0x8182, 1, 0, 0, 0) + question
            if mode == "truncate" and not tcp:
                return struct.pack("!HHHHHH", qid, 0x8380, 1, 0, 0, 0) + question
            answers = b""
            count = 0
            name = qname
            for _ in range(8):
                if name not in self.cnames:
                    break
                target, ttl = self.cnames[name]
                answers += encode_name(name) + struct.pack("!HHI", CNAME, 1, ttl)
                rdata = encode_name(target)
                answers += struct.pack("!H", len(rdata)) + rdata
                count += 1
                name = target
            record = self.records.get(name)
            if record is None and count == 0:
                soa = (encode_name("test") + encode_name("hostmaster.test") +
                       struct.pack("!IIIII", 1, 60, 60, 60, NEGATIVE_TTL))
                authority = (encode_name("test") + struct.pack("!HHIH", SOA, 1, NEGATIVE_TTL, len(soa))
                             + soa)
                return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 1, 0) + question + authority
            if record is not None:
                key = "A" if qtype == A else "AAAA" if qtype == AAAA else None
                for address in record.get(key, []) if key else []:
                    raw = socket.inet_pton(socket.AF_INET if qtype == A else socket.AF_INET6, address)
                    answers += (encode_name(name) + struct.pack("!HHIH", qtype, 1, record["ttl"], len(raw))
                                + raw)
                    count += 1
            return struct.pack("!HHHHHH", qid, 0x8180, 1, count, 0, 0) + question + answers


def main():
    port = 0
    host = "127.0.0.1"
    args = sys.argv[1:]
    if "--port" in args:
        port = int(args[args.index("--port") + 1])
    if "--host" in args:
        host = args[args.index("--host") + 1]
    dns = DnsResponder(host, port)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            reply = {"ok": True}
            if op == "address":
                reply["address"] = dns.address
            elif op == "set":
                dns.set(cmd["name"], cmd.get("A", []), cmd.get("AAAA", []), cmd.get("ttl", 5))
            elif op == "cname":
                dns.cname(cmd["name"], cmd["target"], cmd.get("ttl", 5))
            elif op == "remove":
                dns.remove(cmd["name"])
            elif op == "mode":
                dns.set_mode(cmd["mode"])
            elif op == "stats":
                reply.update(dns.stats())
            elif op == "quit":
                print(json.dumps(reply), flush=True)
                break
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except (ValueError, KeyError, AssertionError) as e:
            reply = {"ok": False, "error": str(e)}
        print(json.dumps(reply), flush=True)
    dns.close()


if __name__ == "__main__":
    main()
