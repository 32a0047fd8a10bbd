"""Whether a thread is importing a module: its clock reads and random bytes then are not the
run's.

Some modules read the clock or draw random bytes while they are imported (``logging``
stamps its start time; ``multiprocessing`` draws its authentication key). Whether that
happens during a run depends on which modules the process had imported before -- the
preloads of the zygote that forked it, which differ between the zygote that records a run
and the one that replays it (:mod:`.reach`), or an earlier import -- not on what the run's
code does. A replay hands out the recorded values in order, so one import-time read
recorded by one process and not made by the other would shift every later value by one
(a log record stamped with the time its module was imported). Reads made while a module is
imported are therefore left out of the recording and answered by the real clock and
bytes, recording and replaying alike (README, "Not captured").

A run's own modules are not imported but executed by the worker, so their top-level reads
(``STARTED = time.time()``) are recorded as any other.
"""

from __future__ import annotations

import _frozen_importlib
import types

# The import system executes every module it imports, and calls every loader and finder,
# through this function (the frames tracebacks leave out). It is the one the running
# interpreter imports with, on 3.11 to 3.13 (``importlib._bootstrap`` is this module). Both
# names are private: an interpreter without them gets no answer (never importing) rather
# than no recording, and a test checks that the supported ones have them.
_import_function = getattr(_frozen_importlib, "_call_with_frames_removed", None)
_IMPORT_CODE: types.CodeType | None = getattr(_import_function, "__code__", None)
# The locks of the modules being imported, in any thread, by name: empty when no import is
# under way, which spares the usual read the walk up its stack (about 1.5 us at a depth of
# 40 frames, and an HTTP client's cookie jar reads the clock a few times a request).
_MODULE_LOCKS: dict[str, object] | None = getattr(_frozen_importlib, "_module_locks", None)


def importing(frame: types.FrameType | None) -> bool:
    """Whether ``frame`` runs inside an import (the import system is on its stack)."""
    code = _IMPORT_CODE
    if code is None or (_MODULE_LOCKS is not None and not _MODULE_LOCKS):
        return False
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False
