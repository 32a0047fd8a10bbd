"""What a run got from the outside world: recorded while it runs, replayed on demand.

Per execution (README, "Deterministic replay"): its HTTP interactions (:mod:`.http`, with
vcrpy), its wall-clock reads (:mod:`.clock`), the seed of ``random`` and the bytes of
``os.urandom`` (:mod:`.randomness`). A worker starts a :class:`Session` from its job's
``world`` settings before it loads the run's code and stops it when the code has returned;
:meth:`Session.stop` gives what goes to the supervisor with the result: the run's
**recording** (record mode), or the **report** of a replay (replay mode).

The recording (``format`` 1), as JSON: ``seed``; ``clock`` (the values read, in ns since the
epoch), ``clock_reads`` (all reads, also past the kept ones); ``urandom`` (base64 of the
bytes drawn), ``urandom_bytes`` (all bytes drawn); ``http`` (interactions: ``request``
``{method, uri, body, headers}``, ``response`` as vcrpy keeps it, ``duration_ns``; bytes as
``{"__b64__": ...}``), ``http_dropped`` (interactions past the size limit, not kept).
"""

from __future__ import annotations

import base64
import functools
import random
import re
import sys
from collections.abc import Iterable
from typing import Any

from .redact import Redactor

FORMAT = 1
CLOCK_LIMIT = 100_000  # clock reads kept
URANDOM_LIMIT = 64 * 1024  # os.urandom bytes kept


def _http() -> Any:
    """The HTTP module, or ``None`` where vcrpy is not installed (an old runtime)."""
    try:
        from . import http
    except ImportError:
        return None
    return http


def prepare() -> None:
    """Patch the HTTP clients now (before forking or confining): a run then pays nothing.
    The clock and randomness modules are imported too (time-machine takes a while)."""
    from . import clock, randomness  # noqa: F401 -- imported for the children

    http = _http()
    if http is not None:
        http.install()


# What an armed session records with until its job's settings are applied.
_ARMED_SPEC: dict[str, Any] = {"mode": "record", "http_limit": 0, "network": True}

# The session a spare armed while it waited (see arm()), until a job takes it.
_armed: Session | None = None


def warm_up() -> None:
    """Start and stop a recording session that makes no request. The zygote calls it once
    after :func:`prepare`, so that what a session builds the first time (the redactor and
    its pattern, lazy imports) is built before forking and shared by every child; spares call
    it again while they wait, so that they pay, before they have a job, for the copies of the
    zygote's memory pages a session writes to (most of a session's cost in a fresh child)."""
    session = Session(_ARMED_SPEC, ())
    session.start()
    session.stop()


def arm() -> None:
    """Start a recording session now, for the job to come (a spare of a recording zygote
    calls it last while it waits): a job that records takes it with :func:`session_for`,
    so its run does not wait for the clock and randomness to be swapped in and the cassette
    armed. Until then it records nothing that matters: a job that takes it starts with an
    empty recording (what runtree's own code did meanwhile is dropped), and the seed of
    ``random`` it drew is the run's (runtree itself never draws from ``random``)."""
    global _armed
    if _armed is None and _prepared_http() is not None:
        session = Session(_ARMED_SPEC, ())
        session.start()
        _armed = session


def session_for(spec: dict[str, Any] | None, user_files: Iterable[str]) -> Session | None:
    """The :class:`Session` for a job's ``world`` settings (``None``: the job records
    nothing, and gets no session): the armed one (:func:`arm`), given these settings, when
    the job records; else a new one, after putting back what the armed one swapped in.
    Start it with :meth:`Session.start` either way."""
    global _armed
    armed, _armed = _armed, None
    if armed is not None:
        if spec is not None and spec.get("mode") == "record":
            armed.adopt(spec, user_files)
            return armed
        armed.stop()
        random.seed()  # as a fresh process has it: not from the armed session's seed
    return None if spec is None else Session(spec, user_files)


def _prepared_http() -> Any:
    """The HTTP module when this process has patched the clients already, else ``None``."""
    http = sys.modules.get(__name__ + ".http")
    return http if http is not None and http.installed() else None


class Session:
    """Recording or replaying one run's world (``spec``: the job's ``world`` settings:
    ``mode`` ``record`` or ``replay``, ``http_limit`` bytes, ``secret_names``, and for a
    replay the ``recording`` and its ``source``)."""

    def __init__(self, spec: dict[str, Any], user_files: Iterable[str]) -> None:
        # Here, not at the top: the server imports this package (limits) but never records.
        from . import clock, randomness

        self.spec = spec
        self.replaying = spec.get("mode") == "replay"
        recording = spec.get("recording") or {}
        if self.replaying:
            self.clock = clock.Clock(list(recording.get("clock", ())), CLOCK_LIMIT)
            self.entropy = randomness.Entropy(
                int(recording.get("seed", 0)), base64.b64decode(recording.get("urandom", ""))
            )
        else:
            self.clock = clock.Clock(None, CLOCK_LIMIT)
            self.entropy = randomness.Entropy(limit=URANDOM_LIMIT)
        self.recording = recording
        self.user_files = frozenset(user_files)
        self.cassette: Any = None
        self._sent = (0, 0, 0, 0, 0, 0)  # what progress() handed out: see there
        self._started = False

    def adopt(self, spec: dict[str, Any], user_files: Iterable[str]) -> None:
        """Take the settings of a recording job (``spec``) for this armed, recording
        session, and drop what it recorded so far: the job's run starts from nothing."""
        self.spec = spec
        self.user_files = frozenset(user_files)
        self.clock.reads.clear()
        self.clock.count = 0
        self.entropy.drawn.clear()
        self.entropy.count = 0
        if self.cassette is not None:
            names = tuple(spec.get("secret_names", ()))
            limit = int(spec.get("http_limit", 16 * 1024 * 1024))
            self.cassette.record(_redactor(names), limit)

    def start(self) -> None:
        """Swap the clock and randomness in and arm the cassette. An armed session taken by
        a job (:func:`session_for`) has started already: only its user files are set."""
        from ...tracking import io_steps

        io_steps.user_files = self.user_files
        if self._started:
            return
        self._started = True
        from . import clock, randomness

        clock.install(self.clock)
        randomness.install(self.entropy)
        # Patched by the zygote before it forked; else only where requests can be made or
        # must be answered (patching costs milliseconds).
        http = _prepared_http()
        if http is None and (self.replaying or self.spec.get("network")):
            http = _http()
        if http is None:
            return
        self.cassette = http.install()
        names = tuple(self.spec.get("secret_names", ()))
        redactor = _redactor(names)
        if self.replaying:
            source = str(self.spec.get("source", "the recording"))
            self.cassette.replay(redactor, list(self.recording.get("http", ())), source)
        else:
            self.cassette.record(redactor, int(self.spec.get("http_limit", 16 * 1024 * 1024)))

    def stop(self) -> dict[str, Any]:
        """Stop recording or replaying; ``{"recording": ...}`` or ``{"report": ...}``. The
        recording holds what :meth:`progress` has not handed out: all of it when it was
        never called."""
        from . import clock, randomness

        clock.uninstall()
        randomness.uninstall()
        cassette = self.cassette
        if cassette is not None:
            cassette.stop()
        if self.replaying:
            return {"report": self._report()}
        return {"recording": self._unsent()}

    def progress(self) -> dict[str, Any] | None:
        """Recording: what was recorded since the previous call, in the recording's shape
        (``clock``, ``urandom`` and ``http`` hold only what is new; the counts are totals),
        or ``None`` when nothing changed (and when replaying). The worker streams these
        while the run goes on, so a run that times out or crashes keeps its recording up to
        then, as it keeps its partial tree; its result then carries only the rest. Safe to
        call from another thread: it only reads what the run appends to."""
        if self.replaying:
            return None
        before = self._sent
        part = self._unsent()
        if part["clock"] or part["http"] or part["urandom"] or self._sent[3:] != before[3:]:
            return part
        return None

    def _unsent(self) -> dict[str, Any]:
        """The part of the recording not handed out yet, now marked as handed out."""
        cassette = self.cassette
        kept: list[dict[str, Any]] = [] if cassette is None else cassette.kept
        dropped = 0 if cassette is None else cassette.dropped
        http_at, clock_at, urandom_at = self._sent[:3]
        http = kept[http_at : len(kept)]
        reads = self.clock.reads[clock_at : len(self.clock.reads)]
        drawn = bytes(self.entropy.drawn[urandom_at : len(self.entropy.drawn)])
        totals = (self.clock.count, self.entropy.count, dropped)
        self._sent = (http_at + len(http), clock_at + len(reads), urandom_at + len(drawn), *totals)
        return {
            "format": FORMAT,
            "seed": self.entropy.seed,
            "clock": reads,
            "clock_reads": totals[0],
            "urandom": base64.b64encode(drawn).decode("ascii"),
            "urandom_bytes": totals[1],
            "http": http,
            "http_dropped": dropped,
        }

    def _report(self) -> dict[str, Any]:
        cassette = self.cassette
        recorded_http = len(self.recording.get("http", ()))
        unplayed = [] if cassette is None else cassette.unplayed
        divergences = [] if cassette is None else cassette.divergences
        return {
            "http": {
                "recorded": recorded_http,
                "played": recorded_http - len(unplayed),
                "unplayed": unplayed[:20],
            },
            "clock": {"recorded": len(self.clock.recorded), "read": self.clock.count},
            "urandom": {"recorded": len(self.entropy.recorded), "read": self.entropy.count},
            "divergence": divergences[0] if divergences else None,
            "divergences": len(divergences),
        }


@functools.lru_cache(maxsize=8)
def _redactor(extra: tuple[str, ...]) -> Redactor:
    """The redactor for the default secret names and ``extra`` (one per process and set of
    names: a worker runs one execution)."""
    from ...tracking.capture import DEFAULT_SECRET_NAMES

    names = tuple(dict.fromkeys((*DEFAULT_SECRET_NAMES, *extra)))
    return Redactor(_pattern(names), names)


@functools.lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    from ...tracking.capture import CapturePolicy

    return CapturePolicy(secret_names=names).secret_pattern
