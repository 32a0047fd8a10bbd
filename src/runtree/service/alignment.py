"""Sequence alignment of sibling steps: which call of one run is "the same call" in the other.

Pure (no I/O). Two sibling lists are aligned in two passes:

1. by a *strong* key (the call's function and name *and* its inputs), so that in a loop
   whose iterations differ by their arguments an extra iteration lines up as one inserted
   call, whatever its position;
2. inside every gap the first pass left, by a *weak* key (function and name only), so that
   the same call made with different arguments is paired (and reported as changed).

Each pass trims the common prefix and suffix (linear), then runs Myers' O((N+M)·D) diff on
the rest, giving up past a bound on D (edit distance) so that two unrelated 10,000-step
sibling lists cost milliseconds rather than seconds; past the bound, equal keys are paired by
position. ``difflib.SequenceMatcher`` is not used: on the repetitive sequences loops make
(thousands of equal keys) it is quadratic, and with its default junk heuristic it matches
nothing at all.

**Symmetry.** Aligning ``a`` with ``b`` pairs exactly the elements that aligning ``b`` with
``a`` pairs (mirrored): ties between equally long alignments are broken in one canonical
orientation (the lexicographically smaller sequence first) whichever way round the caller
asks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

# Keys must be hashable and totally ordered among themselves (tuples of strings, ints).
K = TypeVar("K", bound=Hashable)

# Myers' diff gives up when the edit distance passes this many operations per pair of
# elements budgeted (cost ~ (N+M)·D): about a million snake steps.
WORK_BUDGET = 1_000_000
MIN_EDIT_BOUND = 64

Pair = tuple[int, int]


def align(
    strong_a: Sequence[K], strong_b: Sequence[K], weak_a: Sequence[K], weak_b: Sequence[K]
) -> list[tuple[int | None, int | None]]:
    """Align two sibling lists; returns the merged order as ``(i, j)`` pairs: both set for
    matched elements, ``(i, None)`` for an element only in ``a``, ``(None, j)`` for one only
    in ``b``. Within a gap, the elements of the canonically first sequence (the
    lexicographically smaller by strong key) come first, so that the merged order too is the
    same whichever way round the two are given."""
    anchors = matching_pairs(strong_a, strong_b)
    pairs: list[Pair] = []
    prev_i, prev_j = 0, 0
    for i, j in [*anchors, (len(strong_a), len(strong_b))]:
        inner = matching_pairs(weak_a[prev_i:i], weak_b[prev_j:j])
        pairs.extend((prev_i + x, prev_j + y) for x, y in inner)
        if i < len(strong_a):
            pairs.append((i, j))
        prev_i, prev_j = i + 1, j + 1
    a_first = not _precedes(strong_b, strong_a)
    return _merge(pairs, len(strong_a), len(strong_b), a_first)


def _merge(pairs: list[Pair], n: int, m: int, a_first: bool) -> list[tuple[int | None, int | None]]:
    merged: list[tuple[int | None, int | None]] = []
    i = j = 0
    for pi, pj in [*pairs, (n, m)]:
        only_a: list[tuple[int | None, int | None]] = [(x, None) for x in range(i, pi)]
        only_b: list[tuple[int | None, int | None]] = [(None, y) for y in range(j, pj)]
        merged.extend(only_a + only_b if a_first else only_b + only_a)
        if pi < n:
            merged.append((pi, pj))
        i, j = pi + 1, pj + 1
    return merged


def matching_pairs(a: Sequence[K], b: Sequence[K]) -> list[Pair]:
    """Index pairs ``(i, j)`` with ``a[i] == b[j]``, increasing in both, forming a longest
    common subsequence (or, past the edit bound, equal keys paired by position). Symmetric:
    ``matching_pairs(b, a)`` is the mirror image."""
    if _precedes(b, a):
        return [(i, j) for j, i in _matching(b, a)]
    return _matching(a, b)


def _precedes(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """The canonical orientation: ``a`` sorts before ``b``."""
    return bool(list(a) < list(b))


def _matching(a: Sequence[K], b: Sequence[K]) -> list[Pair]:
    n, m = len(a), len(b)
    head = 0
    while head < n and head < m and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    pairs = [(k, k) for k in range(head)]
    middle_a, middle_b = a[head : n - tail], b[head : m - tail]
    if middle_a and middle_b:
        bound = max(MIN_EDIT_BOUND, WORK_BUDGET // (len(middle_a) + len(middle_b)))
        inner = _myers(middle_a, middle_b, bound)
        if inner is None:
            inner = [
                (k, k)
                for k in range(min(len(middle_a), len(middle_b)))
                if middle_a[k] == middle_b[k]
            ]
        pairs.extend((head + x, head + y) for x, y in inner)
    pairs.extend((n - tail + k, m - tail + k) for k in range(tail))
    return pairs


def _myers(a: Sequence[K], b: Sequence[K], max_d: int) -> list[Pair] | None:
    """Myers' greedy shortest edit script; the matched pairs, or ``None`` past ``max_d``."""
    n, m = len(a), len(b)
    v: dict[int, int] = {1: 0}
    trace: list[dict[int, int]] = []
    for d in range(max_d + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            down = k == -d or (k != d and v[k - 1] < v[k + 1])
            x = v[k + 1] if down else v[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m)
    return None


def _backtrack(trace: list[dict[int, int]], n: int, m: int) -> list[Pair]:
    x, y = n, m
    pairs: list[Pair] = []
    for d in range(len(trace) - 1, -1, -1):
        v = trace[d]
        k = x - y
        if d == 0:
            prev_x = prev_y = 0
        else:
            prev_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
            prev_x = v[prev_k]
            prev_y = prev_x - prev_k
        # The snake after the move: from the move's end back to the diagonal's start.
        start_x = prev_x if d == 0 else (prev_x if prev_k == k + 1 else prev_x + 1)
        while x > start_x and y > 0 and x > 0:
            x -= 1
            y -= 1
            pairs.append((x, y))
        x, y = prev_x, prev_y
    pairs.reverse()
    return pairs
