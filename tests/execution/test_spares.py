"""The zygote's spare workers, sandboxed: the priority they wait at, and the spare each
dispatcher slot keeps in its cgroups (issue 17: confinement off the request path)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runtree.execution.job import FunctionSource, Job
from runtree.execution.sandbox.slots import Sandbox
from runtree.execution.supervisor import Outcome, Supervisor
from runtree.execution.zygote_launcher import ZygoteLauncher

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0, reason="the sandbox switches uids: root only (CI runs as root)"
    ),
]

WHO = """\
import contextlib
import os

def main():
    with open("/proc/self/cgroup") as file:
        groups = file.read()
    return {"pid": os.getpid(), "uid": os.getuid(), "groups": groups, "cwd": os.getcwd()}
"""


@pytest.fixture(scope="module")
def sandboxed() -> Iterator[tuple[Sandbox, ZygoteLauncher]]:
    sandbox = Sandbox.probe()
    if not sandbox.enabled or not sandbox.report.tier0:
        pytest.skip(f"no sandbox here: {sandbox.report.problems}")
    sandbox.reserve(1)
    launcher = ZygoteLauncher(sandbox)
    yield sandbox, launcher
    launcher.close()
    sandbox.close()


def run(launcher: ZygoteLauncher, slot: int | None, **settings: Any) -> Outcome:
    job = Job("e1", "default", "main", {"main": FunctionSource(WHO, 1)}, **settings)
    outcome = Supervisor(launcher).run(job, on_steps=lambda steps: None, slot=slot)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.output is not None
    return outcome


def output(outcome: Outcome) -> dict[str, Any]:
    assert outcome.output is not None
    preview = outcome.output["preview"]
    assert isinstance(preview, dict), outcome.output
    return preview


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return [int(child) for child in file.read().split()]


def stat(pid: int) -> tuple[str, int]:
    """State and nice value of ``pid`` (``/proc/<pid>/stat`` fields 3 and 19)."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[16])


def uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line")


def in_groups(pid: int, procs_files: tuple[str, ...]) -> bool:
    """Whether ``pid`` is listed in each of these ``cgroup.procs`` files."""
    for procs in procs_files:
        with open(procs) as file:
            if str(pid) not in file.read().split():
                return False
    return True


def wait_for(condition: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.01)
    return found


def zygote_pid(launcher: ZygoteLauncher) -> int:
    process = launcher._process
    assert process is not None
    return process.pid


def test_a_warm_spare_waits_at_the_zygotes_priority(
    sandboxed: tuple[Sandbox, ZygoteLauncher],
) -> None:
    _sandbox, launcher = sandboxed
    run(launcher, None)
    zygote = zygote_pid(launcher)
    own_nice = stat(zygote)[1]

    def waiting_spares() -> list[int]:
        # Sleeping in recv: warmed up (warm-up at nice 19 is CPU work, then the wait).
        spares = [pid for pid in children(zygote) if stat(pid)[0] == "S"]
        return [pid for pid in spares if stat(pid)[1] == own_nice]

    # Without the fix a spare keeps nice 19 while it waits: its job would queue behind
    # everything else on a busy host until its confinement sets the run's priority.
    wait_for(waiting_spares, f"no spare back at nice {own_nice}: {children(zygote)}")


def test_each_slot_keeps_a_spare_in_its_cgroups_that_runs_its_next_job_confined(
    sandboxed: tuple[Sandbox, ZygoteLauncher],
) -> None:
    sandbox, launcher = sandboxed
    if sandbox.cgroups is None:
        pytest.skip("no cgroups on this host")
    first = output(run(launcher, 0))
    groups = sandbox._slots[0].group
    assert groups is not None
    procs = groups.procs_files
    zygote = zygote_pid(launcher)

    def slot_spare() -> int | None:
        found = [p for p in children(zygote) if p != first["pid"] and in_groups(p, procs)]
        return found[0] if len(found) == 1 else None

    spare = wait_for(slot_spare, "no spare joined the slot's cgroups")
    assert uid_of(spare) == 0  # not the slot's uid while it waits: no user code, no run
    # Forked once the slot's worker had exited: it never shares the groups with a run.
    assert not os.path.exists(f"/proc/{first['pid']}") or stat(first["pid"])[0] == "Z"
    if sandbox.namespaces:  # and in private namespaces made for the slot's last policy
        assert os.readlink(f"/proc/{spare}/ns/mnt") != os.readlink(f"/proc/{zygote}/ns/mnt")
        assert os.readlink(f"/proc/{spare}/ns/ipc") != os.readlink(f"/proc/{zygote}/ns/ipc")
    second = output(run(launcher, 0))
    assert second["pid"] == spare  # the job went to the spare already in the slot's groups
    assert second["uid"] == sandbox._slots[0].uid  # and it confined itself as ever
    assert second["uid"] == first["uid"] != 0
    assert second["cwd"] != first["cwd"]  # in a work directory of its own


@pytest.mark.parametrize("shared_memory_first", [False, True])
def test_namespaces_made_in_advance_are_used_only_for_a_policy_like_the_runs(
    shared_memory_first: bool,
) -> None:
    """A slot's spare enters the namespaces of the slot's last policy; a run whose policy
    differs where they do (System V shared memory) gets namespaces of its own."""
    import ctypes
    import dataclasses
    import json

    sandbox = Sandbox.probe()
    if not sandbox.enabled or not sandbox.namespaces:
        pytest.skip("no namespaces on this host")
    job = Job("e3", "default", "main", {"main": FunctionSource("def main():\n    pass\n", 1)})
    lease = sandbox.lease(job)
    try:
        base = dataclasses.replace(lease.policy, seccomp=False, landlock=False)
        template = dataclasses.replace(base, shared_memory=shared_memory_first)
        policy = dataclasses.replace(base, shared_memory=not shared_memory_first)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                from runtree.execution.sandbox import confine

                confine.enter_slot((), template.to_dict())
                before = os.readlink("/proc/self/ns/ipc")
                confine.confine(policy)
                after = os.readlink("/proc/self/ns/ipc")
                libc = ctypes.CDLL(None, use_errno=True)
                shmid = libc.shmget(0, ctypes.c_size_t(4096), 0o1600)
                os.write(write_fd, json.dumps([before, after, shmid]).encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        result = json.loads(os.read(read_fd, 1000) or b"null")
        os.waitpid(pid, 0)
        os.close(read_fd)
    finally:
        sandbox.release(lease, sandbox.kill_user)
        sandbox.close()
    assert result is not None
    before, after, shmid = result
    assert before != after  # made again: the ones made in advance were for the other policy
    if policy.shared_memory:
        assert shmid >= 0  # the limits of a fresh IPC namespace
    else:
        assert shmid == -1  # zeroed, as the run's policy says


def test_a_job_with_other_limits_still_gets_its_own_confinement(
    sandboxed: tuple[Sandbox, ZygoteLauncher],
) -> None:
    sandbox, launcher = sandboxed
    run(launcher, 0)
    small = run(launcher, 0, memory_mb=128)
    assert small.status == "succeeded"
    job = Job(
        "e2",
        "default",
        "main",
        {"main": FunctionSource("def main():\n    return bytearray(200 * 2**20)\n", 1)},
        memory_mb=128,
    )
    outcome = Supervisor(launcher).run(job, on_steps=lambda steps: None, slot=0)
    assert outcome.status in ("failed", "crashed"), outcome


def test_a_slot_keeps_a_spare_only_in_the_zygote_that_ran_its_last_job(
    sandboxed: tuple[Sandbox, ZygoteLauncher],
) -> None:
    """A recording launcher has two zygotes (runs that cannot make HTTP requests go to the
    one without the HTTP clients): a slot's spare must never wait in the slot's cgroups in
    one while the other runs the slot's job there."""
    sandbox, launcher = sandboxed
    if sandbox.cgroups is None:
        pytest.skip("no cgroups on this host")
    groups = sandbox._slots[0].group
    assert groups is not None
    procs = groups.procs_files
    ran: set[int] = set()

    def spares_in_slot(zygote: int) -> list[int]:
        return [p for p in children(zygote) if p not in ran and in_groups(p, procs)]

    local_world = {"mode": "record", "http_limit": 0, "secret_names": [], "reach": "local"}
    ran.add(output(run(launcher, 0))["pid"])  # no world: the main zygote
    main = zygote_pid(launcher)
    wait_for(lambda: spares_in_slot(main), "no spare of the main zygote in the slot")
    ran.add(output(run(launcher, 0, world=local_world))["pid"])
    local = launcher._lesser["local"].process.pid
    wait_for(lambda: not spares_in_slot(main), "the main zygote's spare stayed in the slot")
    wait_for(lambda: spares_in_slot(local), "no spare of the other zygote in the slot")
    ran.add(output(run(launcher, 0))["pid"])  # and back
    wait_for(lambda: not spares_in_slot(local), "the other zygote's spare stayed in the slot")
    wait_for(lambda: spares_in_slot(main), "no spare of the main zygote in the slot again")


def test_an_unsandboxed_spare_warms_up_at_the_lowest_priority_too() -> None:
    """Unsandboxed (as root, with CAP_SYS_NICE), a spare used to warm up at the zygote's
    priority and took CPU from the run meanwhile; now it warms up at nice 19, as a
    sandboxed one does, and waits for its job at the zygote's priority."""
    launcher = ZygoteLauncher(Sandbox.disabled())
    try:
        run(launcher, None)
        zygote = zygote_pid(launcher)
        own_nice = stat(zygote)[1]
        seen: set[int] = set()
        deadline = time.monotonic() + 30
        while 19 not in seen and time.monotonic() < deadline:
            run(launcher, None)  # the zygote forks the next spare, which warms up now
            until = time.monotonic() + 0.05
            while time.monotonic() < until:
                for pid in children(zygote):
                    with contextlib.suppress(OSError, IndexError):
                        seen.add(stat(pid)[1])
        assert 19 in seen, f"no spare seen warming up at nice 19: {seen}"

        def waiting_at_own_nice() -> list[int]:
            return [p for p in children(zygote) if stat(p) == ("S", own_nice)]

        wait_for(waiting_at_own_nice, f"no spare waiting at nice {own_nice}")
    finally:
        launcher.close()


def test_killing_a_slots_processes_uses_a_running_zygote(
    sandboxed: tuple[Sandbox, ZygoteLauncher],
) -> None:
    """A launcher that so far ran only jobs that reach less of the world has no main zygote:
    killing a slot uid's processes asks one of the running zygotes instead of starting it."""
    sandbox, _launcher = sandboxed
    launcher = ZygoteLauncher(sandbox)
    try:
        local_world = {"mode": "record", "http_limit": 0, "secret_names": [], "reach": "none"}
        run(launcher, 0, world=local_world)
        assert set(launcher._lesser) == {"none"} and launcher._zygote is None
        launcher.kill_user(sandbox._slots[0].uid)  # whether any was left: zombies count too
        assert launcher._zygote is None
    finally:
        launcher.close()
