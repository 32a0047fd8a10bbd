"""The hostile functions (and the victim), as deployed sources with their settings.

Every payload that could hurt the machine if it ran unconfined first checks that it does not
run as root, and refuses otherwise -- a second line behind the suite's fixture, which runs
nothing unless the server reports the sandbox on.
"""

from __future__ import annotations

from typing import Any

GUARD = """
def refuse_as_root():
    import os
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("refusing to run a hostile payload as root")
"""

VICTIM = """
import os, time
def note(path, uid):
    return path
def victim(seconds: float = 1.2):
    with open("secret.txt", "w") as file:
        file.write("victim secret")
    note(os.getcwd(), os.getuid())
    time.sleep(seconds)
    with open("secret.txt") as file:
        data = file.read()
    return {"alive": True, "uid": os.getuid(), "data": data}
"""

WHOAMI = """
import os
def whoami():
    return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
            "groups": os.getgroups(), "cwd": os.getcwd(), "env": sorted(os.environ)}
"""

TCP_CONNECT = """
import socket
def tcp_connect(host: str, port: int):
    connection = socket.create_connection((host, port), timeout=2)
    connection.close()
    return "connected"
"""

TCP_LISTEN = """
import socket
def tcp_listen(port: int):
    server = socket.socket()
    server.bind(("0.0.0.0", port))
    server.listen()
    return "listening"
"""

UNIX_ABSTRACT = """
import socket
def unix_abstract(name: str):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect("\\0" + name)
    return "connected"
"""

READ_FILE = """
def read_file(path: str):
    with open(path, "rb") as file:
        return file.read(200).decode("latin-1")
"""

LIST_DIR = """
import os
def list_dir(path: str):
    return os.listdir(path)
"""

WRITE_FILE = """
def write_file(path: str):
    with open(path, "w") as file:
        file.write("hostile")
    return "written"
"""

FORK_BOMB = (
    GUARD
    + """
import os
def fork_bomb():
    refuse_as_root()
    while True:
        os.fork()
"""
)

FORK_BOMB_SUB = FORK_BOMB.replace("def fork_bomb():", "def fork_bomb_sub():")

MEMORY_CHILDREN = (
    GUARD
    + """
import os, time
def note(uid):
    return uid
def memory_children(children: int = 8, mb: int = 300):
    refuse_as_root()
    note(os.getuid())
    time.sleep(0.1)  # the note reaches the server even if this process is killed
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                block = b"x" * (mb * 1024 * 1024)  # touched: real memory
                time.sleep(1.5)
                os._exit(0 if block else 1)
            except MemoryError:
                os._exit(3)
            finally:
                os._exit(4)
        pids.append(pid)
    statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    return {"uid": os.getuid(), "statuses": statuses}
"""
)

ALLOCATE = """
def allocate(gib: int = 10):
    block = bytearray(gib * 1024 ** 3)
    return len(block)
"""

CPU_LOOP = """
def cpu_loop():
    while True:
        pass
"""

SLEEP_FOREVER = """
import time
def sleep_forever():
    while True:
        time.sleep(3600)
"""

ORPHAN = (
    GUARD
    + """
import os, time
def orphan():
    refuse_as_root()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            os.close(read_end)
            os.write(write_end, str(os.getpid()).encode())
            os.close(write_end)
            while True:
                time.sleep(3600)
        os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    pid = int(os.read(read_end, 32) or b"0")
    return {"uid": os.getuid(), "orphan": pid}
"""
)

ORPHAN_DEFAULT = ORPHAN.replace("def orphan():", "def orphan_default():")

KILL_ALL = (
    GUARD
    + """
import os, signal
def kill_all():
    refuse_as_root()
    os.kill(-1, signal.SIGKILL)
    return "sent"
"""
)

KILL_ALL_SUB = KILL_ALL.replace("def kill_all():", "def kill_all_sub():")

DISK_FILL = """
import os
def disk_fill(files: int = 2000, mb: int = 1):
    chunk = b"x" * (mb * 1024 * 1024)
    for i in range(files):
        with open(f"fill-{i}", "wb") as file:
            file.write(chunk)
    return len(os.listdir("."))
"""

STDOUT_FLOOD = """
def stdout_flood():
    line = "x" * 65536
    while True:
        print(line)
"""

RAW_FLOOD = """
import os
def raw_flood():
    line = b"x" * 65536
    while True:
        os.write(1, line)
"""

PTRACE = """
import ctypes, os
def ptrace(pid: int):
    libc = ctypes.CDLL(None, use_errno=True)
    attach = libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH
    attach_errno = ctypes.get_errno()
    traceme = libc.ptrace(0, 0, 0, 0)  # PTRACE_TRACEME
    traceme_errno = ctypes.get_errno()
    return {"attach": [attach, os.strerror(attach_errno)],
            "traceme": [traceme, os.strerror(traceme_errno)]}
"""

UNSHARE = """
import ctypes, os
def unshare():
    libc = ctypes.CDLL(None, use_errno=True)
    results = {}
    for name, flag in (("user", 0x10000000), ("net", 0x40000000), ("mount", 0x20000)):
        code = libc.unshare(flag)
        results[name] = [code, os.strerror(ctypes.get_errno())]
    return results
"""

SOCKET_KINDS = """
import socket
def socket_kinds(host: str, port: int):
    # Each (family, type, protocol): opened, and for IP sockets connected to host:port.
    kinds = {"mptcp": (2, 1, 262), "mptcp6": (10, 1, 262), "sctp": (2, 1, 132),
             "raw": (2, 3, 6), "icmp": (2, 2, 1), "netlink": (16, 3, 0),
             "packet": (17, 3, 0), "vsock": (40, 1, 0), "unix": (1, 1, 0),
             "seqpacket": (2, 5, 0), "tcp_flags": (2, 1 | 0x800 | 0x80000, 0)}
    results = {}
    for name, (family, kind, protocol) in kinds.items():
        try:
            sock = socket.socket(family, kind, protocol)
        except OSError as error:
            results[name] = ["blocked", str(error)]
            continue
        try:
            if family == 2 and kind & 0xF == 1:
                sock.setblocking(True)
                sock.settimeout(2)
                sock.connect((host, port))
                results[name] = ["connected", ""]
            else:
                results[name] = ["opened", ""]
        except OSError as error:
            results[name] = ["refused", str(error)]
        finally:
            sock.close()
    return results
"""

UDP_SEND = """
import socket
def udp_send(host: str, port: int):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"hostile", (host, port))
    return "sent"
"""

MEMFD_FILL = """
import os
def memfd_fill(mb: int):
    # Many memfds (each stays under the file-size limit), all kept open.
    chunk = b"x" * (1024 * 1024)
    held = []
    for index in range(mb):
        if index % 32 == 0:
            held.append(os.memfd_create("hostile"))
        os.write(held[-1], chunk)
    return "held"
"""

SYSV_SHM = """
import ctypes, os
def sysv_shm(mb: int):
    # Segments of 32 MiB, each attached, filled and detached: they stay, outside the
    # address space that RLIMIT_AS counts.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    size = 32 * 1024 * 1024
    for _ in range(mb // 32):
        shmid = libc.shmget(0, ctypes.c_size_t(size), 0o1600)  # IPC_PRIVATE, IPC_CREAT
        if shmid < 0:
            code = ctypes.get_errno()
            raise PermissionError(code, "shmget: " + os.strerror(code))
        address = libc.shmat(shmid, None, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            code = ctypes.get_errno()
            raise OSError(code, "shmat: " + os.strerror(code))
        ctypes.memset(address, 1, size)
        libc.shmdt(address)
    return "held"
"""

SHM_OPEN = """
import os
def shm_open():
    fd = os.open("/dev/shm/runtree-hostile", os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    return "opened"
"""

X32_SYSCALL = """
import ctypes, threading, time
def x32_syscall():
    libc = ctypes.CDLL(None, use_errno=True)
    thread = threading.Thread(target=libc.syscall, args=(0x40000000 | 39,))  # x32 getpid
    thread.start()
    thread.join()
    time.sleep(30)  # only the thread died: the run would wait for its deadline
    return "survived"
"""

PROC_SELF = """
import os
def proc_self():
    found = {}
    for name in ("mounts", "mountinfo", "mountstats", "task/%d/mounts" % os.getpid()):
        try:
            with open("/proc/self/" + name) as file:
                found[name] = file.read()[:200]
        except OSError as error:
            found[name] = "blocked: " + error.strerror
    namespaces = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if target.startswith("net:"):
            namespaces.append(target)
    found["namespace_fds"] = namespaces
    return found
"""

FUNCTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "victim": (VICTIM, {"timeout_s": 30}),
    "whoami": (WHOAMI, {}),
    "tcp_connect": (TCP_CONNECT, {"timeout_s": 10}),
    "tcp_connect_net": (
        TCP_CONNECT.replace("def tcp_connect(", "def tcp_connect_net("),
        {"timeout_s": 10, "network": True},
    ),
    "tcp_listen_net": (
        TCP_LISTEN.replace("def tcp_listen(", "def tcp_listen_net("),
        {"timeout_s": 10, "network": True},
    ),
    "unix_abstract": (UNIX_ABSTRACT, {}),
    "unix_abstract_net": (
        UNIX_ABSTRACT.replace("def unix_abstract(", "def unix_abstract_net("),
        {"network": True},
    ),
    "read_file": (READ_FILE, {}),
    "list_dir": (LIST_DIR, {}),
    "write_file": (WRITE_FILE, {}),
    "fork_bomb": (FORK_BOMB, {"timeout_s": 10}),
    "fork_bomb_sub": (FORK_BOMB_SUB, {"timeout_s": 5, "subprocesses": True}),
    "memory_children": (MEMORY_CHILDREN, {"timeout_s": 20, "memory_mb": 512, "subprocesses": True}),
    "allocate": (ALLOCATE, {"memory_mb": 256}),
    "cpu_loop": (CPU_LOOP, {"timeout_s": 1}),
    "sleep_forever": (SLEEP_FOREVER, {"timeout_s": 1}),
    "orphan": (ORPHAN, {"timeout_s": 20, "subprocesses": True}),
    "orphan_default": (ORPHAN_DEFAULT, {"timeout_s": 20}),
    "kill_all": (KILL_ALL, {}),
    "kill_all_sub": (KILL_ALL_SUB, {"subprocesses": True}),
    "disk_fill": (DISK_FILL, {"timeout_s": 20}),
    "stdout_flood": (STDOUT_FLOOD, {"timeout_s": 20}),
    "raw_flood": (RAW_FLOOD, {"timeout_s": 1}),
    "ptrace": (PTRACE, {}),
    "unshare": (UNSHARE, {}),
    "socket_kinds": (SOCKET_KINDS, {"timeout_s": 20}),
    "socket_kinds_net": (
        SOCKET_KINDS.replace("def socket_kinds(", "def socket_kinds_net("),
        {"timeout_s": 20, "network": True},
    ),
    "udp_send_net": (
        UDP_SEND.replace("def udp_send(", "def udp_send_net("),
        {"timeout_s": 10, "network": True},
    ),
    "memfd_fill": (MEMFD_FILL, {"timeout_s": 20, "memory_mb": 256}),
    "memfd_fill_sub": (
        MEMFD_FILL.replace("def memfd_fill(", "def memfd_fill_sub("),
        {"timeout_s": 20, "memory_mb": 256, "subprocesses": True},
    ),
    "sysv_shm": (SYSV_SHM, {"timeout_s": 20, "memory_mb": 256}),
    "sysv_shm_sub": (
        SYSV_SHM.replace("def sysv_shm(", "def sysv_shm_sub("),
        {"timeout_s": 20, "memory_mb": 256, "subprocesses": True},
    ),
    "shm_open": (SHM_OPEN, {}),
    "x32_syscall": (X32_SYSCALL, {"timeout_s": 20}),
    "proc_self": (PROC_SELF, {}),
    "proc_self_net": (PROC_SELF.replace("def proc_self(", "def proc_self_net("), {"network": True}),
}
