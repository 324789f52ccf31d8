"""A hostile Python gate for the sandbox tests: `with: { attack: ... }`
picks what it tries. Each attack either is stopped by the host (a trap,
a time or memory limit: a gate error that blocks) or finds nothing to
steal; the summary says what it saw, for the tests to check."""

import os

from modelgate_gate import Gate, Verdict, export, outcome


class Hostile(Gate):
    name = "hostile"
    description = "Tries to escape the sandbox; for tests only."
    config_schema = {
        "type": "object",
        "required": ["attack"],
        "properties": {"attack": {"enum": ["loop", "allocate", "open", "environ", "socket", "clock", "none"]}},
    }

    def evaluate(self, config):
        attack = config["attack"]
        if attack == "loop":
            while True:
                pass
        if attack == "allocate":
            hoard = []
            while True:
                hoard.append(bytearray(16 << 20))
        if attack == "open":
            with open("/etc/passwd") as f:
                return outcome(Verdict.PASS, f"read /etc/passwd: {f.read(40)!r}")
        if attack == "environ":
            seen = dict(os.environ)
            return outcome(Verdict.PASS, f"{len(seen)} environment variables: {sorted(seen)}")
        if attack == "socket":
            import socket

            s = socket.create_connection(("127.0.0.1", 80), timeout=1)
            return outcome(Verdict.PASS, f"connected: {s!r}")
        if attack == "clock":
            import time

            return outcome(Verdict.PASS, f"time.time() = {time.time()}, monotonic = {time.monotonic()}")
        return outcome(Verdict.PASS, "harmless")


WitWorld = export(Hostile)
