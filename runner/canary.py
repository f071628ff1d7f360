#!/usr/bin/env python3
"""The network canary (standard library only): run by the worker at start-up as a pod under the same
policy as experiment pods, it tries every target it is given and says which it reached.

MLR_PROBE_TARGETS is a comma-separated list of host:port (TCP, 3 s each) and dns:<name> (a name lookup,
which alone would let a script leak data through the cluster's resolver). The termination message is
{"reached": [...], "refused": [...]}; the exit code is 0 when nothing was reached, 3 otherwise.
"""
import json
import os
import socket
import sys


def reached(target):
    if target.startswith("dns:"):
        try:
            socket.getaddrinfo(target[4:], 443, proto=socket.IPPROTO_TCP)
            return True
        except OSError:
            return False
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=3):
            return True
    except (OSError, ValueError):
        return False


def main():
    targets = [t.strip() for t in os.environ.get("MLR_PROBE_TARGETS", "").split(",") if t.strip()]
    result = {"reached": [], "refused": []}
    for t in targets[:32]:
        result["reached" if reached(t) else "refused"].append(t[:200])
    message = json.dumps(result)[:4000]
    try:
        with open(os.environ.get("MLR_TERMINATION_LOG", "/dev/termination-log"), "w") as f:
            f.write(message)
    except OSError:
        pass
    print(message)
    return 3 if result["reached"] else 0


if __name__ == "__main__":
    sys.exit(main())
