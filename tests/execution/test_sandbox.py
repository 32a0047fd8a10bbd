"""The sandbox's parts: policy, report, settings, opt-ins, the doctor command, /healthz.

The attacks themselves are in tests/sandbox (a real server, marked slow)."""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pydantic
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from runtree.api import create_app
from runtree.cli import app
from runtree.errors import SandboxUnavailable
from runtree.execution.sandbox import detection
from runtree.execution.sandbox.config import SandboxConfig
from runtree.execution.sandbox.policy import Policy, environment
from runtree.execution.sandbox.processes import kill_user_with_helper, processes_of
from runtree.execution.sandbox.report import Layer, SandboxReport, build_report
from runtree.execution.sandbox.slots import Sandbox
from runtree.execution.zygote import Options, kill_user
from runtree.service import make_settings
from runtree.service.deploy import content_hash
from runtree.settings import Settings

ROOT = os.geteuid() == 0


def test_policy_round_trips_through_json() -> None:
    policy = Policy(
        uid=64001,
        gid=64001,
        workdir="/w",
        network=True,
        network_ports=(443,),
        cgroup_procs=("/sys/fs/cgroup/memory/x/cgroup.procs",),
    )
    again = Policy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy


def test_the_environment_of_a_function_holds_nothing_of_the_servers() -> None:
    env = environment(Policy(uid=64001, gid=64001, workdir="/w"), "/usr/bin")
    assert env["HOME"] == env["TMPDIR"] == "/w"
    assert not [key for key in env if key.startswith("RUNTREE")]


def test_the_insecure_escape_only_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(sandbox=False, host="127.0.0.1").sandbox is False
    with pytest.raises(pydantic.ValidationError, match="loopback"):
        Settings(sandbox=False, host="0.0.0.0")
    monkeypatch.setenv("RUNTREE_SANDBOX", "off")
    assert Settings.load().sandbox is False
    assert SandboxConfig.from_env().enabled is False


def test_serve_refuses_the_escape_on_a_public_address(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "--database",
            f"sqlite:///{tmp_path}/r.db",
            "serve",
            "--host",
            "0.0.0.0",
            "--insecure-no-sandbox",
        ],
    )
    assert result.exit_code == 2
    assert "loopback" in result.stderr


def test_slot_uids_are_never_root_or_system_accounts() -> None:
    with pytest.raises(ValueError):
        SandboxConfig(uid_base=0)
    for killer in (kill_user, lambda uid: kill_user_with_helper("/bin/false", uid)):
        for uid in (0, 1, 999):
            with pytest.raises(ValueError, match="refusing"):
                killer(uid)


def test_opt_ins_keep_the_content_hash_of_older_versions() -> None:
    settings = make_settings(timeout_s=30, memory_mb=512, tracking=True)
    assert settings.stored() == {"timeout_s": 30.0, "memory_mb": 512, "tracking": True}
    old = json.dumps({"source": "x", "settings": settings.stored()}, sort_keys=True)
    assert content_hash("x", settings) == hashlib.sha256(old.encode()).hexdigest()
    opted = make_settings(network=True, subprocesses=True)
    assert opted.stored()["network"] is True and opted.stored()["subprocesses"] is True
    assert content_hash("x", opted) != content_hash("x", settings)


def test_zygote_options() -> None:
    options = Options.parse(["--sandbox", "--namespaces", "--cgroups=/a/cgroup.procs,/b"])
    assert options == Options(True, True, ("/a/cgroup.procs", "/b"))
    assert Options.parse([]) == Options()


BLOCKED = "[Errno 1] blocked"
NETWORK_CHECKS = {
    "tcp": "allowed",
    "udp6": "allowed",
    "loopback_tcp": BLOCKED,
    "loopback_udp": BLOCKED,
    "mptcp": BLOCKED,
    "sctp": BLOCKED,
    "raw": BLOCKED,
    "icmp": BLOCKED,
    "netlink": BLOCKED,
    "packet": BLOCKED,
    "vsock": BLOCKED,
    "unix": BLOCKED,
}
FIREWALL = (True, "nftables table inet runtree_egress_64000_64999")


def _raw(network: dict[str, Any] | None = None, **tier0: Any) -> dict[str, Any]:
    checks = {
        "confined": True,
        "uid": 64000,
        "groups": [],
        "secrets_readable": [],
        "usr_writable": False,
        "workdir_writable": True,
        "socket": BLOCKED,
        "unix_socket": BLOCKED,
        "fork": BLOCKED,
        "memfd": BLOCKED,
        "mounts_readable": False,
        "stdlib_readable": True,
        "packages_readable": True,
        "rlimit_as": 512 * 1024 * 1024,
    }
    checks.update(tier0)
    return {
        "python": "/opt/runtree/venv/bin/python",
        "python_version": "3.11.2",
        "landlock_abi": 7,
        "readable": ["/usr", "/opt/runtree/venv"],
        "tier0": checks,
        "namespaces": {"confined": True},
        "network": {"confined": True, **NETWORK_CHECKS, **(network or {})},
        "x32": {"confined": False, "signal": 31},
    }


def test_report_tier0_needs_every_always_on_layer() -> None:
    config = SandboxConfig(secret_paths=("/srv/runtree.db",))
    report = build_report(
        config, "python", True, _raw(), None, "cgroup v1 (memory, pids, cpu)", FIREWALL
    )
    assert report.tier0 and not report.problems
    assert {layer.name for layer in report.layers if layer.active} >= {
        "uid",
        "rlimits",
        "landlock",
        "seccomp",
        "runtime",
        "supervision",
        "namespaces",
        "cgroups",
        "landlock-network",
        "landlock-scopes",
        "egress-firewall",
    }

    readable_socket = build_report(config, "python", True, _raw(socket="allowed"), None, "-")
    assert not readable_socket.tier0 and not readable_socket.active("seccomp")
    for leak in ({"mptcp": "allowed"}, {"netlink": "allowed"}, {"tcp": BLOCKED}):
        leaky = build_report(config, "python", True, _raw(network=leak), None, "-", FIREWALL)
        assert not leaky.tier0 and not leaky.active("seccomp"), leak
    x32_survives = {**_raw(), "x32": {"confined": True, "survived": True}}
    assert not build_report(config, "python", True, x32_survives, None, "-").tier0
    for leak in ({"memfd": "allowed"}, {"mounts_readable": True}):
        assert not build_report(config, "python", True, _raw(**leak), None, "-").tier0, leak

    loopback = build_report(
        config, "python", True, _raw(network={"loopback_udp": "allowed"}), None, "-", FIREWALL
    )
    assert loopback.tier0 and not loopback.active("egress-firewall")
    no_nft = build_report(config, "python", True, _raw(), None, "-", (False, "no nft"))
    assert no_nft.tier0 and "no nft" in no_nft.layer("egress-firewall").detail  # type: ignore[union-attr]

    # Not root: tier 0 without uid separation, and doctor says what that costs.
    not_root = build_report(config, "python", False, _raw(), None, "not running as root")
    assert not_root.tier0 and not not_root.problems and not not_root.uid_separation
    assert not not_root.active("uid") and not not_root.active("egress-firewall")
    uid = not_root.layer("uid")
    assert uid is not None and not uid.required
    assert "not root" in uid.detail and "may not start processes" in uid.detail
    assert "without uid separation" in not_root.summary

    old_kernel = build_report(config, "python", True, {**_raw(), "landlock_abi": 2}, None, "-")
    assert old_kernel.tier0
    assert not old_kernel.active("landlock-network") and not old_kernel.active("landlock-scopes")


def test_report_refuses_a_secret_under_a_readable_directory() -> None:
    config = SandboxConfig(secret_paths=("/opt/runtree/venv/runtree.db",))
    report = build_report(config, "python", True, _raw(), None, "-")
    assert not report.tier0 and not report.active("landlock")
    assert "/opt/runtree/venv/runtree.db" in report.layer("landlock").detail  # type: ignore[union-attr]


def test_require_raises_with_the_reasons() -> None:
    report = SandboxReport(
        enabled=True, layers=(Layer("uid", 0, False, "not root"),), problems=("uid: not root",)
    )
    with pytest.raises(SandboxUnavailable, match="uid: not root"):
        Sandbox(SandboxConfig(), report).require()
    assert Sandbox.disabled().require().enabled is False  # the escape is not refused here
    assert "OFF" in Sandbox.disabled().report.summary


def test_processes_of_finds_this_process() -> None:
    assert (os.getpid(), False) in processes_of(os.getuid())


@pytest.mark.slow
@pytest.mark.skipif(not ROOT, reason="the sandbox switches uids: root only (CI runs as root)")
def test_doctor_reports_every_layer(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--database", f"sqlite:///{tmp_path}/r.db", "doctor"])
    assert result.exit_code == 0, result.stdout + result.stderr
    for name in ("uid", "rlimits", "landlock", "seccomp", "runtime", "namespaces", "cgroups"):
        assert f" {name} " in result.stdout
    assert "sandbox on: tier 0" in result.stdout
    as_json = runner.invoke(app, ["--database", f"sqlite:///{tmp_path}/r.db", "doctor", "--json"])
    report = json.loads(as_json.stdout)
    assert report["tier0"] is True and report["python"]
    off = runner.invoke(
        app, ["--database", f"sqlite:///{tmp_path}/r.db", "doctor"], env={"RUNTREE_SANDBOX": "off"}
    )
    assert off.exit_code == 1 and "SANDBOX OFF" in off.stdout


@pytest.mark.slow
@pytest.mark.skipif(not ROOT, reason="the sandbox switches uids: root only (CI runs as root)")
def test_healthz_reports_the_sandbox(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/r.db", workers=1, auth=False)
    with TestClient(create_app(settings)) as client:
        sandbox = client.get("/healthz").json()["sandbox"]
    assert sandbox["enabled"] and sandbox["tier0"]
    assert {layer["name"] for layer in sandbox["layers"]} >= {"uid", "landlock", "seccomp"}


@pytest.mark.slow
@pytest.mark.skipif(not ROOT, reason="the sandbox switches uids: root only (CI runs as root)")
def test_the_probe_finds_the_database_unreadable(tmp_path: Path) -> None:
    secret = tmp_path / "runtree.db"
    secret.write_text("secret")
    sandbox = Sandbox.probe(SandboxConfig(secret_paths=(str(secret),)))
    assert sandbox.report.tier0, sandbox.report.problems
    assert detection._probed  # cached: the server's second look costs nothing


@pytest.mark.slow
@pytest.mark.skipif(not ROOT, reason="the sandbox switches uids: root only (CI runs as root)")
def test_a_private_ipc_namespace_without_a_memory_cgroup_gets_no_shared_memory() -> None:
    # seccomp off here, so that only the zeroed System V limits of the namespace can refuse.
    sandbox = Sandbox.probe(SandboxConfig(cgroups=False))
    if not sandbox.namespaces:
        pytest.skip("no namespaces on this host")
    job = dataclasses.make_dataclass("J", [("memory_mb", int), ("timeout_s", float)])(256, 5)
    lease = sandbox.lease(job)
    try:
        assert not lease.policy.shared_memory and lease.policy.namespaces
        policy = dataclasses.replace(lease.policy, seccomp=False, landlock=False)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                from runtree.execution.sandbox.confine import confine

                confine(policy)
                libc = ctypes.CDLL(None, use_errno=True)
                shmid = libc.shmget(0, ctypes.c_size_t(4096), 0o1600)
                os.write(write_fd, json.dumps([shmid, ctypes.get_errno()]).encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        result = json.loads(os.read(read_fd, 1000) or b"null")
        os.waitpid(pid, 0)
        os.close(read_fd)
    finally:
        sandbox.release(lease, sandbox.kill_user)
        sandbox.close()
    assert result is not None and result[0] == -1, result
    assert result[1] in (errno.ENOSPC, errno.EINVAL), result
