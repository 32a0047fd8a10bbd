"""The start-up probe's inside half: run in the Python that runs user code, as root.

``python -I -m runtree.execution.sandbox.probe POLICY_JSON SECRETS_JSON`` (through
:func:`runtree.execution.sandbox.interpreter.python_command`) prepares the confinement as the
zygote does, then forks children that confine themselves with the given test policy -- once
without and once with namespaces -- and try what a hostile function would: read the secret
paths, open a socket (and, with network on, MPTCP, SCTP, raw, netlink ... sockets), start a
process, create a memfd, read the mounts, make an x32 system call, write outside the work
directory. It prints one JSON
object: what worked, what was blocked, and the errors. Nothing is assumed: a layer counts as
on only if a child applied it and the check behind it held.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from ...errors import SandboxError
from .confine import confine, prepare
from .policy import Policy


def _checks(secrets: list[str]) -> dict[str, Any]:
    """Run inside a confined child."""
    import socket

    found: dict[str, Any] = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid()}
    found["groups"] = os.getgroups()
    readable = []
    for path in secrets:
        try:
            with open(path, "rb") as file:
                file.read(1)
            readable.append(path)
        except OSError:
            pass
    found["secrets_readable"] = readable
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        found["socket"] = "allowed"
    except OSError as error:
        found["socket"] = str(error)
    try:
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
        found["unix_socket"] = "allowed"
    except OSError as error:
        found["unix_socket"] = str(error)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        found["fork"] = "allowed"
    except OSError as error:
        found["fork"] = str(error)
    try:
        with open("marker", "w") as file:
            file.write("x")
        found["workdir_writable"] = True
    except OSError as error:
        found["workdir_writable"] = str(error)
    try:
        with open("/usr/runtree-probe-write", "w"):
            pass
        found["usr_writable"] = True
        os.unlink("/usr/runtree-probe-write")
    except OSError:
        found["usr_writable"] = False
    try:
        import colorsys  # noqa: F401  (not preloaded: read from the runtime's files now)

        found["stdlib_readable"] = True
    except Exception as error:
        found["stdlib_readable"] = f"{type(error).__name__}: {error}"
    try:
        import dill  # noqa: F401

        found["packages_readable"] = True
    except Exception as error:
        found["packages_readable"] = f"{type(error).__name__}: {error}"
    try:
        os.close(os.memfd_create("runtree-probe"))
        found["memfd"] = "allowed"
    except OSError as error:
        found["memfd"] = str(error)
    try:
        with open("/proc/self/mounts") as file:
            file.read(1)
        found["mounts_readable"] = True
    except OSError:
        found["mounts_readable"] = False
    import resource

    found["rlimit_as"] = resource.getrlimit(resource.RLIMIT_AS)[0]
    found["rlimit_nproc"] = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    return found


SOCKET_KINDS = {  # what a function with network on may not open: (family, type, protocol)
    "mptcp": (2, 1, 262),
    "sctp": (2, 1, 132),
    "raw": (2, 3, 1),
    "icmp": (2, 2, 1),
    "netlink": (16, 3, 0),
    "packet": (17, 3, 0),
    "vsock": (40, 1, 0),
    "unix": (1, 1, 0),
}


def _network_checks(secrets: list[str]) -> dict[str, Any]:
    """Run inside a confined child with network on: TCP and UDP sockets open, no other."""
    import socket

    found: dict[str, Any] = {}
    for name, (family, kind, protocol) in {
        "tcp": (2, 1, 0),
        "udp6": (10, 2, 17),
        **SOCKET_KINDS,
    }.items():
        try:
            socket.socket(family, kind, protocol).close()
            found[name] = "allowed"
        except OSError as error:
            found[name] = str(error)
    # The probe listens on loopback (TCP on a port Landlock allows, and UDP): the egress
    # firewall must stop both.
    tcp_port, udp_port = (int(p) for p in secrets[-1].split(":"))
    try:
        with socket.create_connection(("127.0.0.1", tcp_port), timeout=2):
            found["loopback_tcp"] = "allowed"
    except OSError as error:
        found["loopback_tcp"] = str(error)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"probe", ("127.0.0.1", udp_port))
        found["loopback_udp"] = "allowed"
    except OSError as error:
        found["loopback_udp"] = str(error)
    return found


def _x32_check(secrets: list[str]) -> dict[str, Any]:
    """A system call of the x32 ABI from a thread: the whole process must die (SIGSYS)."""
    import ctypes
    import threading

    libc = ctypes.CDLL(None, use_errno=True)
    thread = threading.Thread(target=libc.syscall, args=(0x40000000 | 39,))  # x32 getpid
    thread.start()
    thread.join()
    return {"survived": True}


def _in_child(
    policy: Policy, secrets: list[str], checks: Callable[[list[str]], dict[str, Any]] = _checks
) -> dict[str, Any]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            try:
                confine(policy)
                result: dict[str, Any] = {"confined": True, **checks(secrets)}
            except SandboxError as error:
                result = {"confined": False, "error": str(error)}
            os.write(write_fd, json.dumps(result).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 1 << 16):
        chunks.append(chunk)
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return {
            "confined": False,
            "error": f"the probe child ended with status {status}",
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        }
    data: dict[str, Any] = json.loads(b"".join(chunks))
    return data


def run(policy: Policy, secrets: list[str], namespaces: bool) -> dict[str, Any]:
    prepared = prepare()
    report: dict[str, Any] = {
        "python": sys.executable,
        "python_version": ".".join(str(v) for v in sys.version_info[:3]),
        "euid": os.geteuid(),
        "landlock_abi": prepared.landlock_abi,
        "landlock_module": prepared.landlock is not None,
        "seccomp_error": prepared.seccomp_error,
        "readable": prepared.readable,
    }
    report["tier0"] = _in_child(policy, secrets)
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("127.0.0.1", 0))
        tcp_port, udp_port = tcp.getsockname()[1], udp.getsockname()[1]
        network = dataclasses.replace(policy, network=True, network_ports=(80, 443, tcp_port))
        report["network"] = _in_child(
            network, [*secrets, f"{tcp_port}:{udp_port}"], _network_checks
        )
    report["x32"] = _in_child(policy, secrets, _x32_check)
    if namespaces:
        report["namespaces"] = _in_child(dataclasses.replace(policy, namespaces=True), secrets)
    return report


def main() -> None:
    policy = Policy.from_dict(json.loads(sys.argv[1]))
    secrets = list(json.loads(sys.argv[2]))
    namespaces = len(sys.argv) > 3 and sys.argv[3] == "namespaces"
    print(json.dumps(run(policy, secrets, namespaces)))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
