"""The zygote's cache of compiled function modules (see :mod:`.zygote`): each version's code is
instrumented once, not in every child."""

from __future__ import annotations

import collections
import types

from .job import Job
from .worker import compile_function

# Bounds of the code cache: entries, and characters of source they were compiled from.
CACHE_ENTRIES = 256
CACHE_SOURCE_CHARS = 8 * 1024 * 1024

_Key = tuple[str, int, bool, str]


class CodeCache:
    """Compiled function modules, keyed by everything their code depends on (file name,
    version number, tracking, source); the least recently used go past the bounds."""

    def __init__(self, entries: int = CACHE_ENTRIES, chars: int = CACHE_SOURCE_CHARS) -> None:
        self._codes: collections.OrderedDict[_Key, types.CodeType] = collections.OrderedDict()
        self._chars = 0
        self._max_entries = entries
        self._max_chars = chars

    def __len__(self) -> int:
        return len(self._codes)

    def compile_job(self, job: Job) -> dict[str, types.CodeType]:
        """The code of each of the job's functions, by name. A module that does not compile
        is left out: the child compiles it again and reports the error as the run's."""
        codes: dict[str, types.CodeType] = {}
        for name, spec in job.functions.items():
            filename = job.filename_of(name)
            key = (filename, spec.version, spec.tracking, spec.source)
            code = self._codes.get(key)
            if code is None:
                try:
                    code = compile_function(spec, filename)
                except Exception:
                    continue
                self._add(key, code)
            else:
                self._codes.move_to_end(key)
            codes[name] = code
        return codes

    def _add(self, key: _Key, code: types.CodeType) -> None:
        self._codes[key] = code
        self._chars += len(key[3])
        while self._codes and (
            len(self._codes) > self._max_entries or self._chars > self._max_chars
        ):
            old, _ = self._codes.popitem(last=False)
            self._chars -= len(old[3])
