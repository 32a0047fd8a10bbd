"""A stand-in for "the outside" that tests of network-on runs can reach: a network namespace
the test creates, joined to the host by a veth pair, with addresses on a /30 of TEST-NET-2
(198.51.100.0/24, documentation space: never routed off this machine). Everything is
removed by name when the test ends, whatever happened.
"""

from __future__ import annotations

import random
import secrets
import subprocess
import sys


class Outside:
    """A network namespace with a veth pair to the host: the host side is a host address,
    the far side (``address``) stands for "the outside", with a server on port 80: by
    default a TCP listener that prints each peer's address (:meth:`accepted`); ``code``: a
    Python program of the caller's instead, which prints ``ready`` once it listens."""

    def __init__(self, code: str | None = None) -> None:
        tag = secrets.token_hex(3)
        self.name = f"rtt-{tag}"
        self.host_if, self.far_if = f"rtt{tag}h", f"rtt{tag}n"
        base = _free_base()  # a /30 of TEST-NET-2 (198.51.100.0/24)
        self.host_address = f"198.51.100.{base + 1}"
        self.address = f"198.51.100.{base + 2}"
        self.listener: subprocess.Popen[bytes] | None = None
        self.code = code

    def __enter__(self) -> Outside:
        def ip(*args: str) -> None:
            subprocess.run(["ip", *args], check=True, capture_output=True)

        ip("netns", "add", self.name)
        try:
            ip(
                "link",
                "add",
                self.host_if,
                "type",
                "veth",
                "peer",
                "name",
                self.far_if,
                "netns",
                self.name,
            )
            ip("addr", "add", f"{self.host_address}/30", "dev", self.host_if)
            ip("link", "set", self.host_if, "up")
            ip("-n", self.name, "addr", "add", f"{self.address}/30", "dev", self.far_if)
            ip("-n", self.name, "link", "set", self.far_if, "up")
            ip("-n", self.name, "link", "set", "lo", "up")
            code = self.code or (
                "import socket, sys\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('0.0.0.0', 80)); s.listen(); print('ready', flush=True)\n"
                "while True:\n    c, a = s.accept(); print(a[0], flush=True); c.close()\n"
            )
            self.listener = subprocess.Popen(
                ["ip", "netns", "exec", self.name, sys.executable, "-c", code],
                stdout=subprocess.PIPE,
            )
            assert self.listener.stdout is not None
            assert self.listener.stdout.readline().strip() == b"ready"
        except BaseException:
            self.__exit__()
            raise
        return self

    def stop_server(self) -> None:
        """Stop the server (the namespace stays)."""
        if self.listener is not None:
            self.listener.kill()
            self.listener.wait()
            self.listener = None

    def __exit__(self, *_: object) -> None:
        self.stop_server()
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "delete", self.host_if], capture_output=True, check=False)

    def accepted(self) -> str:
        assert self.listener is not None and self.listener.stdout is not None
        return self.listener.stdout.readline().decode().strip()


def _free_base() -> int:
    """The first address of a /30 of TEST-NET-2 no interface of the host uses (tests running
    in parallel each make their own namespace)."""
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True)
    used = {
        int(part.split("/")[0].rsplit(".", 1)[1]) // 4
        for part in shown.stdout.split()
        if part.startswith("198.51.100.")
    }
    free = [block for block in range(1, 63) if block not in used]
    return 4 * random.choice(free or list(range(1, 63)))
