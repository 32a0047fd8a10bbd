"""cgroups (tier 2): total memory per slot, process count and CPU share of the executions.

* Per slot uid, created once and reused: ``memory/<server's group>/runtree/uid-N`` on
  cgroup v1 (``<server's group>/runtree/uid-N`` with memory and pids on v2). Every execution
  joins its slot's group itself, before it drops root (see :mod:`.confine`): the group
  counts what the address-space limit does not -- memfd, shared memory, the page cache the
  run dirties, its children. The groups are keyed by uid, which one execution at a time
  holds.
* Per server (v1): ``pids`` and ``cpu`` groups ``runtree/server-PID`` that the zygote joins
  once when it starts, so every execution is born in them: all executions together get at
  most ``pids.max`` tasks and the CPU weight of ``runtree`` (512, half a normal group's).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

from .policy import CPU_SHARES

ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = ("memory", "pids", "cpu")


def _read(path: str) -> str:
    with open(path) as file:
        return file.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as file:
        file.write(value)


@dataclasses.dataclass
class SlotGroup:
    """The groups of one slot uid (one directory per v1 controller, or one on v2)."""

    version: int
    dirs: dict[str, str]  # controller ("memory", "pids", "cpu", or "" on v2) -> directory
    last: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def procs_files(self) -> tuple[str, ...]:
        return tuple(os.path.join(d, "cgroup.procs") for d in dict.fromkeys(self.dirs.values()))

    def _file(self, controller: str, name: str) -> str:
        return os.path.join(self.dirs.get(controller, self.dirs.get("", "")), name)

    def _set(self, controller: str, name: str, value: str) -> None:
        path = self._file(controller, name)
        if self.last.get(path) != value:
            _write(path, value)
            self.last[path] = value

    def configure(self, memory_bytes: int, pids: int) -> None:
        """Limits for the next execution (written only when they change); on v1 the process
        count is the server group's and the slot uid's RLIMIT_NPROC."""
        if self.version == 1:
            current = int(_read(self._file("memory", "memory.limit_in_bytes")))
            swap = self._file("memory", "memory.memsw.limit_in_bytes")
            has_swap = os.path.exists(swap)
            # memsw must stay >= the memory limit at every moment.
            if has_swap and memory_bytes > current:
                self._set("memory", "memory.memsw.limit_in_bytes", str(memory_bytes))
            self._set("memory", "memory.limit_in_bytes", str(memory_bytes))
            if has_swap:
                self._set("memory", "memory.memsw.limit_in_bytes", str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(self._file("memory", "memory.max_usage_in_bytes"), "0")
        else:
            self._set("", "memory.max", str(memory_bytes))
            with contextlib.suppress(OSError):
                self._set("", "memory.swap.max", "0")
            self._set("", "pids.max", str(pids))

    def oom_kills(self) -> int:
        """How many processes the kernel killed in this group for memory, so far."""
        try:
            if self.version == 1:
                text = _read(self._file("memory", "memory.oom_control"))
            else:
                text = _read(self._file("", "memory.events"))
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def peak_memory(self) -> int | None:
        """The most memory the group used since :meth:`configure` (v1; v2 when it has
        ``memory.peak``)."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int(_read(self._file("memory" if self.version == 1 else "", name)))
        except (OSError, ValueError):
            return None

    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in _read(path).split())
        return sorted(found)


class Cgroups:
    """The cgroup hierarchy this server may create slot groups in."""

    def __init__(self, version: int, parents: dict[str, str]) -> None:
        self.version = version
        self.parents = parents  # controller -> the "runtree" parent directory

    @classmethod
    def detect(cls) -> tuple[Cgroups | None, str]:
        """The writable hierarchy, or ``None`` and why not."""
        try:
            mounts = _read("/proc/self/mounts").splitlines()
            own = _read("/proc/self/cgroup").splitlines()
        except OSError as error:
            return None, f"cannot read the cgroup mounts: {error}"
        v1: dict[str, str] = {}
        v2 = None
        for line in mounts:
            fields = line.split()
            if len(fields) < 4:
                continue
            if fields[2] == "cgroup":
                for option in fields[3].split(","):
                    if option in V1_CONTROLLERS:
                        v1[option] = fields[1]
            elif fields[2] == "cgroup2" and fields[1] == ROOT:
                v2 = fields[1]
        if all(c in v1 for c in V1_CONTROLLERS):
            paths = {}
            for line in own:
                _, controllers, path = line.split(":", 2)
                for controller in controllers.split(","):
                    paths[controller] = path
            parents = {
                c: os.path.join(v1[c] + paths.get(c, "/").rstrip("/"), "runtree")
                for c in V1_CONTROLLERS
            }
            try:
                for controller, parent in parents.items():
                    os.makedirs(parent, exist_ok=True)
                    if controller == "cpu":
                        _write(os.path.join(parent, "cpu.shares"), str(CPU_SHARES))
                probe = os.path.join(parents["pids"], f"probe-{os.getpid()}")
                os.makedirs(probe, exist_ok=True)
                _write(os.path.join(probe, "pids.max"), "64")
                os.rmdir(probe)
            except OSError as error:
                return None, f"cgroup v1 is not writable here: {error}"
            return cls(1, parents), "cgroup v1 (memory, pids, cpu)"
        if v2 is not None:
            own_path = next((line[3:] for line in own if line.startswith("0::")), "/")
            parent = os.path.join(v2 + own_path.rstrip("/"), "runtree")
            try:
                os.makedirs(parent, exist_ok=True)
                available = set(_read(os.path.join(parent, "cgroup.controllers")).split())
                missing = {"memory", "pids", "cpu"} - available
                if missing:
                    return None, f"cgroup v2 without the {', '.join(sorted(missing))} controller"
                _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids +cpu")
                weight = str(max(1, CPU_SHARES * 100 // 1024))
                with contextlib.suppress(OSError):
                    _write(os.path.join(parent, "cpu.weight"), weight)
            except OSError as error:
                return None, f"cgroup v2 is not writable here (delegate a subtree): {error}"
            return cls(2, {"": parent}), "cgroup v2 (memory, pids, cpu)"
        return None, "no cgroup hierarchy with the memory, pids and cpu controllers"

    def slot(self, uid: int) -> SlotGroup:
        controllers = ("memory",) if self.version == 1 else ("",)
        dirs = {}
        for controller in controllers:
            path = os.path.join(self.parents[controller], f"uid-{uid}")
            os.makedirs(path, exist_ok=True)
            dirs[controller] = path
        return SlotGroup(self.version, dirs)

    def server_group(self, name: str, pids: int) -> list[str]:
        """v1: the pids and cpu groups ``server-PID-NAME`` of this server's sandbox (created
        now); their ``cgroup.procs`` files, for the zygote to join. v2 has none (a group
        with processes cannot have children with controllers): there the slot groups do it
        all."""
        if self.version != 1:
            return []
        procs = []
        for controller in ("pids", "cpu"):
            path = os.path.join(self.parents[controller], f"server-{os.getpid()}-{name}")
            os.makedirs(path, exist_ok=True)
            if controller == "pids":
                _write(os.path.join(path, "pids.max"), str(pids))
            procs.append(os.path.join(path, "cgroup.procs"))
        self._clean_stale()
        return procs

    def remove_server_group(self, name: str) -> None:
        for controller in ("pids", "cpu") if self.version == 1 else ():
            with contextlib.suppress(OSError):
                path = os.path.join(self.parents[controller], f"server-{os.getpid()}-{name}")
                os.rmdir(path)

    def _clean_stale(self) -> None:
        """Groups of servers that are gone (empty ones only: rmdir refuses the others)."""
        for controller in ("pids", "cpu"):
            parent = self.parents[controller]
            with contextlib.suppress(OSError):
                for name in os.listdir(parent):
                    pid = name.removeprefix("server-").partition("-")[0]
                    if name.startswith("server-") and pid.isdigit() and not _alive(int(pid)):
                        with contextlib.suppress(OSError):
                            os.rmdir(os.path.join(parent, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
