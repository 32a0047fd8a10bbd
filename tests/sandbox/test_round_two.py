"""The holes hostile testing found in the first sandbox (issue 10), each as an attack against
a real sandboxed server with a victim run in the other slot: socket kinds beyond TCP and UDP
(MPTCP reached any loopback port), loopback and private addresses with network on, memory
outside the address-space limit (memfd, System V shared memory), an x32 system call, the
host's mounts and network namespace seen from a run. See conftest.py for the safety rules.

Network traffic goes only to listeners these tests start on loopback, and to a network
namespace they create (a veth pair to an address of TEST-NET-2 inside it): never off this
machine.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Platform
from .outside import Outside
from .test_hostile import NETWORK_DISABLED, attack, failed_with

pytestmark = pytest.mark.slow

SHARED_MEMORY_DISABLED = "shared memory (memfd, System V IPC) is not available"


# --- socket kinds ------------------------------------------------------------------------


def test_network_on_opens_only_tcp_and_udp(platform: Platform) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", platform.allowed_port))
        listener.listen()
        listener.setblocking(False)
        body, _ = attack(
            platform, "socket_kinds_net", {"host": "127.0.0.1", "port": platform.allowed_port}
        )
        assert body["status"] == "succeeded", body
        results = body["output"]
        for kind in (
            "mptcp",
            "mptcp6",
            "sctp",
            "raw",
            "icmp",
            "netlink",
            "packet",
            "vsock",
            "unix",
            "seqpacket",
        ):
            assert results[kind][0] == "blocked", (kind, results[kind])
            assert "not allowed for functions" in results[kind][1], (kind, results[kind])
        # TCP with SOCK_NONBLOCK|SOCK_CLOEXEC opens, but loopback stays out of reach.
        assert results["tcp_flags"][0] == "refused", results["tcp_flags"]
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_network_off_opens_no_socket_of_any_kind(platform: Platform) -> None:
    off, _ = attack(platform, "socket_kinds", {"host": "127.0.0.1", "port": platform.port})
    assert off["status"] == "succeeded", off
    for kind, (outcome, message) in off["output"].items():
        assert outcome == "blocked" and NETWORK_DISABLED in message, (kind, message)


def test_network_on_udp_to_loopback_is_dropped(platform: Platform) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.setblocking(False)
        body, _ = attack(
            platform, "udp_send_net", {"host": "127.0.0.1", "port": listener.getsockname()[1]}
        )
        assert body["status"] == "failed", body
        assert body["error"]["type"] == "PermissionError", body["error"]
        with pytest.raises(BlockingIOError):
            listener.recvfrom(100)  # nothing arrived


# --- outside reachability, inside a network namespace of the test ------------------------


@pytest.fixture
def outside() -> Iterator[Outside]:
    with Outside() as made:
        yield made


def test_network_on_reaches_port_80_outside_but_not_the_host(
    platform: Platform, outside: Outside
) -> None:
    body, _ = attack(platform, "tcp_connect_net", {"host": outside.address, "port": 80})
    assert body["status"] == "succeeded" and body["output"] == "connected", body
    assert outside.accepted() == outside.host_address  # it came through the veth
    # The host's end of the same link is an address of the host: out of reach, even on a
    # port Landlock allows and with a listener there.
    with socket.socket() as listener:
        listener.bind((outside.host_address, platform.allowed_port))
        listener.listen()
        listener.setblocking(False)
        body, _ = attack(
            platform,
            "tcp_connect_net",
            {"host": outside.host_address, "port": platform.allowed_port},
        )
        failed_with(body, "ConnectionRefusedError")  # the firewall's reset
        with pytest.raises(BlockingIOError):
            listener.accept()
    # Outside, but a port Landlock does not allow.
    body, _ = attack(platform, "tcp_connect_net", {"host": outside.address, "port": 8080})
    failed_with(body, "PermissionError", "is not allowed for functions")


# --- memory ------------------------------------------------------------------------------


def memory_refused(platform: Platform, body: dict[str, Any]) -> None:
    """The run could not hold more than its limit: where cgroups exist its memory cgroup
    killed it (every run joins its slot's); otherwise it was refused the shared memory."""
    if platform.layer("cgroups"):
        assert body["status"] == "crashed", (body["status"], body["error"])
        assert body["error"]["type"] == "MemoryLimitExceeded", body["error"]
    else:
        failed_with(body, "PermissionError", SHARED_MEMORY_DISABLED)


@pytest.mark.parametrize("subprocesses", [False, True])
def test_memfd_beyond_the_memory_limit(platform: Platform, subprocesses: bool) -> None:
    name = "memfd_fill_sub" if subprocesses else "memfd_fill"
    body, _ = attack(platform, name, {"mb": 800})  # memory_mb 256
    memory_refused(platform, body)


@pytest.mark.parametrize("subprocesses", [False, True])
def test_sysv_shared_memory_beyond_the_memory_limit(platform: Platform, subprocesses: bool) -> None:
    name = "sysv_shm_sub" if subprocesses else "sysv_shm"
    body, _ = attack(platform, name, {"mb": 800})  # memory_mb 256
    if platform.layer("cgroups"):
        memory_refused(platform, body)
    else:
        failed_with(body, "PermissionError", "shmget")


def test_posix_shared_memory(platform: Platform) -> None:
    body, _ = attack(platform, "shm_open")
    failed_with(body, "PermissionError", "/dev/shm")


# --- finding 7 ---------------------------------------------------------------------------


def test_an_x32_system_call_ends_the_run_at_once(platform: Platform) -> None:
    started = time.monotonic()
    body, _ = attack(platform, "x32_syscall")
    assert body["status"] == "crashed", body
    assert "SIGSYS" in body["error"]["message"], body["error"]
    assert time.monotonic() - started < 15  # not its 20 s deadline


@pytest.mark.parametrize("function", ["proc_self", "proc_self_net"])
def test_no_host_mounts_and_no_namespace_handle(platform: Platform, function: str) -> None:
    body, _ = attack(platform, function)
    assert body["status"] == "succeeded", body
    found = body["output"]
    for name in ("mounts", "mountinfo", "mountstats"):
        assert found[name].startswith("blocked"), (name, found[name])
    assert found["namespace_fds"] == [], found


def test_the_firewall_only_matches_slot_uids() -> None:
    # The host's own loopback traffic is untouched (this test process is root).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with contextlib.closing(socket.create_connection(listener.getsockname(), timeout=2)):
            listener.accept()[0].close()
