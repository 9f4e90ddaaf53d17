#!/usr/bin/env python3
"""The Cloud Map backend of the discovery conformance suite (see
discovery_conformance.c for the protocol): moto's server as a real Cloud
Map-compatible registry, instances registered with boto3's
servicediscovery client.

A target is a service in the namespace conformance.local; "set" registers
and deregisters instances (id = the address, port 8080) until the service
holds exactly the addresses given; "down" stops the registry (SIGSTOP: every
request times out) and "up" resumes it.

MOTO_SERVER names moto's server (default /root/.pyenv/shims/moto_server);
when it cannot run, "start" answers {"ok": true, "cannot_run": reason}."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config

MOTO = os.environ.get("MOTO_SERVER", "/root/.pyenv/shims/moto_server")
NAMESPACE = "conformance.local"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.05)
        self.client = boto3.client(
            "servicediscovery", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
            aws_access_key_id="AKIDCONFORMANCE", aws_secret_access_key="conformance-secret",
            config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}))
        self.client.create_http_namespace(Name=NAMESPACE)
        self.namespace_id = [n["Id"] for n in self.client.list_namespaces()["Namespaces"]
                             if n["Name"] == NAMESPACE][0]
        self.services = {}

    def service(self, name):
        if name not in self.services:
            self.services[name] = self.client.create_service(
                Name=name, NamespaceId=self.namespace_id)["Service"]["Id"]
        return self.services[name]

    def set(self, name, addresses):
        sid = self.service(name)
        wanted = {a.replace(":", "-"): a for a in addresses}
        have = {i["Id"] for i in self.client.list_instances(ServiceId=sid)["Instances"]}
        for iid in have - set(wanted):
            self.client.deregister_instance(ServiceId=sid, InstanceId=iid)
        for iid in set(wanted) - have:
            address = wanted[iid]
            key = "AWS_INSTANCE_IPV6" if ":" in address else "AWS_INSTANCE_IPV4"
            self.client.register_instance(ServiceId=sid, InstanceId=iid,
                                          Attributes={key: address, "AWS_INSTANCE_PORT": "8080"})

    def close(self):
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait()


def main():
    registry = None
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        reply = {"ok": True}
        if op == "start":
            if not os.access(MOTO, os.X_OK):
                reply["cannot_run"] = f"moto_server not found at {MOTO} (set MOTO_SERVER)"
            else:
                registry = Registry()
                reply["config"] = {
                    "region": "us-east-1", "endpoint": f"http://127.0.0.1:{registry.port}",
                    "access_key_id": "AKIDCONFORMANCE", "secret_access_key": "conformance-secret",
                    "poll_interval_ms": 100, "refresh_interval_ms": 400, "backoff_max_ms": 400,
                    "jitter": 0, "request_timeout_ms": 500, "connect_timeout_ms": 500}
                reply["settle_ms"] = 1500
                reply["fail_within_ms"] = 5000
        elif op == "target":
            registry.service(cmd["name"])
            reply["target"] = {"method": "cloudmap", "namespace": NAMESPACE, "service": cmd["name"]}
        elif op == "set":
            registry.set(cmd["name"], cmd["addresses"])
        elif op == "down":
            registry.process.send_signal(signal.SIGSTOP)
        elif op == "up":
            registry.process.send_signal(signal.SIGCONT)
        elif op == "stop":
            print(json.dumps(reply), flush=True)
            break
        else:
            reply = {"ok": False, "error": f"unknown op {op}"}
        print(json.dumps(reply), flush=True)
    if registry is not None:
        registry.close()


if __name__ == "__main__":
    main()
