#!/usr/bin/env python3
"""The DNS backend of the discovery conformance suite (see
discovery_conformance.c for the protocol): a real DNS server on loopback
(tests/support/dns_responder.py) whose records the suite sets.

Records have TTL 0 so every change shows after min_ttl_ms; "down" stops
answering (every query times out)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "support"))
from dns_responder import DnsResponder  # noqa: E402

DOMAIN = "conformance.test"


def main():
    dns = None
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        reply = {"ok": True}
        if op == "start":
            dns = DnsResponder()
            reply["config"] = {"nameservers": [dns.address], "resolv_conf": "",
                               "min_ttl_ms": 100, "max_ttl_ms": 1000, "timeout_ms": 150,
                               "attempts": 1}
            reply["settle_ms"] = 700
            reply["fail_within_ms"] = 3000
        elif op == "target":
            reply["target"] = {"method": "dns", "hostname": f"{cmd['name']}.{DOMAIN}"}
        elif op == "set":
            name = f"{cmd['name']}.{DOMAIN}"
            addresses = cmd["addresses"]
            if addresses:
                dns.set(name, [a for a in addresses if ":" not in a],
                        [a for a in addresses if ":" in a], ttl=0)
            else:
                dns.remove(name)
        elif op == "down":
            dns.set_mode("drop")
        elif op == "up":
            dns.set_mode("normal")
        elif op == "stop":
            print(json.dumps(reply), flush=True)
            break
        else:
            reply = {"ok": False, "error": f"unknown op {op}"}
        print(json.dumps(reply), flush=True)
    if dns is not None:
        dns.close()


if __name__ == "__main__":
    main()
