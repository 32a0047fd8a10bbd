"""The zygote: a warm process that forks one child per execution.

Starting Python and importing runtree costs tens of milliseconds; forking a process that has
already done so costs about one. The server starts one zygote (``python -I -m
runtree.execution.zygote CONTROL_FD``) and talks to it over a ``SOCK_SEQPACKET`` socket:

* server -> zygote: ``{"id": n}`` with two file descriptors attached (the job pipe's read end
  and the message pipe's write end); the zygote forks, the child becomes its own session
  (process group) and runs :func:`runtree.execution.worker.serve_job`;
* zygote -> server: ``{"id": n, "pid": pid}`` after each fork, and ``{"exit": pid,
  "returncode": rc}`` when a child ends (``rc < 0``: killed by signal ``-rc``).

The zygote is single-threaded (forking is safe) and runs no user code itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys


def _preload() -> None:
    """Import what every execution needs, so children start warm."""
    import pickle  # noqa: F401

    from ..instrument import compiler
    from ..tracking import output, recording, threads  # noqa: F401
    from . import worker  # noqa: F401

    # Warm the per-process caches instrumenting needs (tokenize's compiled patterns ...), so
    # each child does not rebuild them: a few milliseconds per execution.
    compiler.instrument("def _warm(a):\n    return a  # comment\n", "<runtree-warmup>")


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        notice = {"exit": pid, "returncode": os.waitstatus_to_exitcode(status)}
        with contextlib.suppress(OSError):
            control.send(json.dumps(notice).encode())


def _child(control: socket.socket, wake_r: int, wake_w: int, job_fd: int, message_fd: int) -> None:
    code = 70  # EX_SOFTWARE: the worker itself failed
    try:
        control.close()
        os.close(wake_r)
        os.close(wake_w)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        from .worker import serve_job

        code = serve_job(job_fd, message_fd)
    finally:
        os._exit(code)


def serve(control: socket.socket) -> None:
    """Fork a child per request until the server closes the control socket."""
    _preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    while True:
        readable, _, _ = select.select([control.fileno(), wake_r], [], [])
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            _reap(control)
        if control.fileno() not in readable:
            continue
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 4096, 2)
        except OSError:
            return
        if not message:
            return  # the server went away
        request = json.loads(message)
        job_fd, message_fd = fds
        pid = os.fork()
        if pid == 0:
            _child(control, wake_r, wake_w, job_fd, message_fd)
        os.close(job_fd)
        os.close(message_fd)
        control.send(json.dumps({"id": request["id"], "pid": pid}).encode())
        _reap(control)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(control)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
