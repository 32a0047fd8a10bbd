"""The randomness of a run, recorded or replayed.

* ``random``'s module-level functions (``random.random``, ``choice``, ``shuffle`` ...): the
  shared generator is seeded with a seed drawn from the operating system when the run starts,
  and the seed is recorded; a replay seeds it with the same one.
* ``os.urandom`` and what is built on it -- ``uuid.uuid4``, ``secrets``,
  ``random.SystemRandom`` -- cannot be seeded without making them predictable, so their
  bytes are recorded as they are drawn (up to ``limit`` bytes, then counted) and handed out
  again, in order, by a replay; past the recorded bytes a replay draws real ones. Bytes
  drawn while a module is imported are real and not recorded (see :mod:`.importing`).

Not covered (documented in the README): ``random.Random()`` instances made without a seed,
``os.getrandom``, ``numpy.random`` and other generators with their own state, hash
randomization of ``str`` (``PYTHONHASHSEED``), ``uuid.uuid1``.
"""

from __future__ import annotations

import os
import random
import sys

from .importing import importing

_real_urandom = os.urandom

_current: Entropy | None = None


class Entropy:
    """The seed of ``random`` and the ``os.urandom`` bytes of one run: ``recorded`` to hand
    out again (replay), or ``None`` (record)."""

    def __init__(
        self, seed: int | None = None, recorded: bytes | None = None, limit: int = 64 * 1024
    ) -> None:
        self.replaying = recorded is not None
        self.seed = seed if seed is not None else int.from_bytes(_real_urandom(8), "big")
        self.recorded = recorded or b""
        self.limit = limit
        self.drawn = bytearray()  # recording: the bytes drawn, up to the limit
        self.count = 0  # bytes drawn in all
        self.past = 0  # replaying: bytes asked for past the recorded ones

    def urandom(self, size: int) -> bytes:
        if self.replaying:
            start = self.count
            self.count += size
            part = self.recorded[start : start + size]
            if len(part) < size:
                self.past += size - len(part)
                part += _real_urandom(size - len(part))
            return part
        value = _real_urandom(size)
        room = self.limit - len(self.drawn)
        if room > 0:
            self.drawn += value[:room]
        self.count += len(value)
        return value


def urandom(size: int, /) -> bytes:
    """``os.urandom``, through the run's :class:`Entropy` (the real one while a module is
    imported: see :mod:`.importing`)."""
    entropy = _current
    if entropy is None or not isinstance(size, int) or size < 0:
        return _real_urandom(size)  # the real one raises what it raises
    if importing(sys._getframe(1)):
        return _real_urandom(size)
    return entropy.urandom(size)


urandom.__doc__ = _real_urandom.__doc__

_installed = False


def seed(entropy: Entropy) -> None:
    """Seed ``random`` with ``entropy``'s seed."""
    random.seed(entropy.seed)


def install(entropy: Entropy, seeded: bool = False) -> None:
    """Seed ``random`` (unless ``seeded``: it was, with this seed) and route ``os.urandom``
    through ``entropy`` (until :func:`uninstall`)."""
    global _current, _installed
    _current = entropy
    if not seeded:
        seed(entropy)
    if not _installed:
        os.urandom = urandom
        random._urandom = urandom  # type: ignore[attr-defined]  # SystemRandom, secrets
        _installed = True


_held = False  # hold(): os.urandom stays routed through here in between runs


def hold() -> None:
    """Route ``os.urandom`` through here now and keep it so (a recording zygote, before it
    forks; in between runs the real bytes are drawn): see :func:`.clock.hold`."""
    global _held
    install(Entropy(limit=0))
    _held = True
    uninstall()


def release() -> None:
    """Take out what :func:`hold` keeps."""
    global _held
    _held = False
    uninstall()


def uninstall() -> None:
    global _current, _installed
    _current = None
    if _installed and not _held:
        os.urandom = _real_urandom
        random._urandom = _real_urandom  # type: ignore[attr-defined]
        _installed = False
