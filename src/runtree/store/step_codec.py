"""Step dicts to rows and back: the store's one entry point for both directions.

A step arrives as ``runtree.tracking.Step.to_dict(include_blobs=True)``. It becomes one
``steps`` row; its captured values (each input, the output, a generator's first yield) are
kept in that row's ``payloads`` column when they are small (:func:`is_inline`: most are, and a
row of their own cost about three times their content), else in a ``step_payloads`` row each.
:func:`decode_step` puts the same dict shape back together from both.

The work is split by concept; this module re-exports it, so callers need not know the split:

- :mod:`.step_encode`: a worker's step dict (untrusted) checked and split into rows
  (:func:`encode_step`, :class:`EncodedStep`, :data:`KNOWN_KEYS`);
- :mod:`.step_inline`: the compact inline layout of a small value (:func:`is_inline`,
  :func:`inline`, :func:`from_inline`, :data:`INLINE_BLOB_MAX`);
- :mod:`.step_decode`: rows back to a :class:`~runtree.models.StepRecord`
  (:func:`decode_step`, :func:`decode_captured`).
"""

from __future__ import annotations

from .step_decode import decode_captured, decode_step
from .step_encode import KNOWN_KEYS, EncodedStep, encode_step
from .step_inline import INLINE_BLOB_MAX, from_inline, inline, is_inline

__all__ = [
    "INLINE_BLOB_MAX",
    "KNOWN_KEYS",
    "EncodedStep",
    "decode_captured",
    "decode_step",
    "encode_step",
    "from_inline",
    "inline",
    "is_inline",
]
