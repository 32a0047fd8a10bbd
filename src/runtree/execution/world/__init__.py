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
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

from .reach import HTTP, LOCAL
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


def prepare(http: bool = True) -> None:
    """Patch the HTTP clients now (before forking or confining): a run then pays nothing.
    The clock and randomness modules are imported too (time-machine takes a while);
    without ``http``, only they are."""
    from . import clock, randomness  # noqa: F401 -- imported for the children

    module = _http() if http else None
    if module is not None:
        module.install()


def hold() -> None:
    """Keep the clock and ``os.urandom`` patched in this process and the processes it forks
    (a recording zygote): each run then only swaps the clock and the randomness it reads,
    which halves what a session costs a child (its first one: 34 page copies instead of
    about 80). Outside a session the real clock and bytes are read, through the patches;
    :func:`release` takes them out, for a run that records nothing."""
    from . import clock, randomness

    clock.hold()
    randomness.hold()


def seed_ready() -> None:
    """In a spare of a process that holds the clock and randomness (:func:`hold`), while it
    waits for its job: make its run's recording -- a clock, an entropy, ``random`` seeded
    with the entropy's seed (``random`` seeds itself anew in every forked child) -- and the
    session around them, so that the run only gives the session its settings and starts it.
    A run that comes first makes them when its session starts.

    Made here, in the child, they copy about 20 of the parent's pages (about 40 us). They
    were once made by the zygote right before each fork, which saved the child those copies
    but cost the zygote as many: every page it writes while a child still shares it is
    copied too, and those copies lay on the way of the run just handed to a spare (three
    runs of ``no_calls_clock`` each way: +4.3, +3.3, +3.4 % wall clock made in the zygote,
    +0.4, -1.8, -3.4 % made here; CPU +4.2 to +5.2 % either way).

    Nothing after it may draw from ``random`` before the run's code does (the recorded seed
    would no longer give the run's draws): it is the last step of a spare's warm-up, and a
    test checks that a recorded run's draws follow from its recorded seed."""
    global _ready_session
    parts = _parts or _import_parts()
    if parts[1]._held and parts[2]._held:
        ready = _recording_parts()
        parts[2].seed(ready[1])
        _ready_session = Session({"mode": "record"}, (), ready, seeded=True)


def _recording_parts() -> tuple[Any, Any]:
    """A new recording's clock and entropy (its seed drawn, ``random`` not seeded yet)."""
    parts = _parts or _import_parts()
    return parts[1].Clock(None, CLOCK_LIMIT), parts[2].Entropy(limit=URANDOM_LIMIT)


def release() -> None:
    """Undo :func:`hold` in this process (a no-op without it)."""
    clock = sys.modules.get(__name__ + ".clock")
    randomness = sys.modules.get(__name__ + ".randomness")
    if clock is not None and clock._held:
        clock.release()
    if randomness is not None and randomness._held:
        randomness.release()


def warm_up(request: bool = True, http: bool = True) -> None:
    """Start and stop a recording session, then (``request``) take one request through the
    recording path of the patched HTTP clients without sending it (:func:`warm_up_http`).
    The zygote calls it before it forks, so that what a session and a request build the
    first time (the redactor and its pattern, lazy imports, vcrpy's stubs, the interpreter's
    specialized code) is built once and shared by every child. Spares call it again, without
    the request, while they wait, so that they pay, before they have a job, for the copies of
    the zygote's memory pages a session writes to (most of a session's cost in a fresh
    child). (A spare's request would save a run that makes requests about 230 page copies,
    but cost every spare about 1 ms of CPU, also before runs that make none.) Without
    ``http`` the session records no HTTP, as in a zygote without the clients."""
    spec = {"mode": "record", "http_limit": 0, "network": http, "reach": HTTP if http else LOCAL}
    # As if random were seeded already: warming up leaves random alone (seed_ready seeds it
    # for the run, after the warm-up).
    session = Session(spec, (), _recording_parts(), seeded=True)
    session.start()
    session.stop()
    if request and http:
        warm_up_http()


def warm_up_http() -> None:
    """Take one request through the recording path of the patched HTTP clients without
    sending it (:func:`.http.warm_up`); nothing where the clients are not patched."""
    http = _prepared_http()
    if http is not None:
        http.warm_up(_redactor_for(()))


# The modules a session drives (io_steps, clock, randomness), imported by the first session:
# the server imports this package (limits) but never records. A session then runs no import
# statement: one runs the import machinery, whose pages a fresh child copies to run it.
_parts: tuple[Any, Any, Any] | None = None


def _import_parts() -> tuple[Any, Any, Any]:
    global _parts
    from ...tracking import io_steps
    from . import clock, randomness

    _parts = (io_steps, clock, randomness)
    return _parts


_HTTP_MODULE = __name__ + ".http"
# The run's recording session that seed_ready() made (a spare, while it waited).
_ready_session: Session | None = None


def _prepared_http() -> Any:
    """The HTTP module when this process has patched the clients already, else ``None``."""
    http = sys.modules.get(_HTTP_MODULE)
    return http if http is not None and http.installed() else None


class Session:
    """Recording or replaying one run's world (``spec``: the job's ``world`` settings:
    ``mode`` ``record`` or ``replay``, ``http_limit`` bytes, ``secret_names``, and for a
    replay the ``recording`` and its ``source``)."""

    def __init__(
        self,
        spec: dict[str, Any],
        user_files: Iterable[str],
        ready: tuple[Any, Any] | None = None,
        *,
        seeded: bool = False,
    ) -> None:
        parts = _parts or _import_parts()
        self._io_steps, self._clock, self._randomness = parts
        clock, randomness = parts[1], parts[2]
        self.spec = spec
        self.replaying = spec.get("mode") == "replay"
        recording = spec.get("recording") or {}
        # ``ready``: a recording's clock and entropy made by seed_ready(); ``seeded``:
        # ``random`` is seeded with the entropy's seed already.
        self._seeded = seeded and ready is not None and not self.replaying
        if self.replaying:
            self.clock = clock.Clock(list(recording.get("clock", ())), CLOCK_LIMIT)
            self.entropy = randomness.Entropy(
                int(recording.get("seed", 0)), base64.b64decode(recording.get("urandom", ""))
            )
        elif ready is not None:
            self.clock, self.entropy = ready
        else:
            self.clock = clock.Clock(None, CLOCK_LIMIT)
            self.entropy = randomness.Entropy(limit=URANDOM_LIMIT)
        self.recording = recording
        self.user_files = frozenset(user_files)
        self.cassette: Any = None
        self._sent = (0, 0, 0, 0, 0, 0)  # what progress() handed out: see there

    @classmethod
    def for_run(cls, spec: dict[str, Any], user_files: Iterable[str]) -> Session:
        """The session of this process's run: a recording takes the session
        :func:`seed_ready` made, once (a worker runs one execution)."""
        global _ready_session
        session, _ready_session = _ready_session, None
        if session is not None and spec.get("mode") == "record":
            session.spec = spec
            session.user_files = frozenset(user_files)
            return session
        return cls(spec, user_files)

    def start(self) -> None:
        self._io_steps.user_files = self.user_files
        self._clock.install(self.clock)
        self._randomness.install(self.entropy, seeded=self._seeded)
        # Patched by the zygote before it forked; else only where requests can be made or
        # must be answered (patching costs milliseconds).
        http = _prepared_http()
        if http is None and (self.replaying or self._may_request()):
            http = _http()
        if http is None:
            return
        self.cassette = http.install()
        redactor = _redactor_for(self.spec.get("secret_names", ()))
        if self.replaying:
            source = str(self.spec.get("source", "the recording"))
            self.cassette.replay(redactor, list(self.recording.get("http", ())), source)
        else:
            self.cassette.record(redactor, int(self.spec.get("http_limit", 16 * 1024 * 1024)))

    def _may_request(self) -> bool:
        """Recording: whether the run may make requests (network on, and code that can:
        see :mod:`.reach`)."""
        return bool(self.spec.get("network")) and self.spec.get("reach", HTTP) == HTTP

    def stop(self) -> dict[str, Any]:
        """Stop recording or replaying; ``{"recording": ...}`` or ``{"report": ...}``. The
        recording holds what :meth:`progress` has not handed out: all of it when it was
        never called."""
        self._clock.uninstall()
        self._randomness.uninstall()
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


def empty_recording() -> dict[str, Any]:
    """The recording of a run whose code can reach neither HTTP nor the clock nor
    randomness (``world["reach"]`` :data:`~.reach.NONE`): nothing is patched or read for it
    (its process runs as one that records nothing), so its recording holds a seed drawn
    from the OS -- a replay gives it to ``random``, which such code does not use -- and
    nothing else."""
    return {
        "format": FORMAT,
        "seed": int.from_bytes(os.urandom(8), "big"),
        "clock": [],
        "clock_reads": 0,
        "urandom": "",
        "urandom_bytes": 0,
        "http": [],
        "http_dropped": 0,
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


_default_redactor: Redactor | None = None  # _redactor(()), kept by the first call for ()


def _redactor_for(extra: Iterable[str]) -> Redactor:
    """:func:`_redactor` of ``extra``; without extra names, the one kept in a plain global: a
    fresh child reads it without touching the cache's memory (a page copy or more each)."""
    global _default_redactor
    if extra:
        return _redactor(tuple(extra))
    if _default_redactor is None:
        _default_redactor = _redactor(())
    return _default_redactor
