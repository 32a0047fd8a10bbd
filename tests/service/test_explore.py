"""The time rules behind the web UI: own time, critical path, failing path, percentiles."""

from __future__ import annotations

import dataclasses

from runtree.models import StepStatus
from runtree.service import critical_path, failing_path_ids, percentile, self_times
from runtree.service.explore import covered_ns


@dataclasses.dataclass
class S:
    id: int
    parent_id: int | None
    started_at_ns: int
    duration_ns: int | None
    status: StepStatus = StepStatus.COMPLETED


def test_covered_merges_overlapping_children_and_clips_to_the_parent() -> None:
    assert covered_ns(0, 100, []) == 0
    assert covered_ns(0, 100, [(10, 20), (30, 40)]) == 20
    assert covered_ns(0, 100, [(10, 50), (20, 60)]) == 50  # overlap counted once
    assert covered_ns(0, 100, [(90, 150), (-10, 5)]) == 15  # clipped


def test_self_time_is_duration_minus_recorded_children() -> None:
    steps = [S(1, None, 0, 100), S(2, 1, 10, 30), S(3, 1, 50, 20), S(4, 2, 15, 5)]
    assert self_times(steps) == {1: 50, 2: 25, 3: 20, 4: 5}


def test_self_time_of_concurrent_children_counts_their_union() -> None:
    steps = [S(1, None, 0, 100), S(2, 1, 10, 60), S(3, 1, 20, 60)]
    assert self_times(steps)[1] == 100 - 70


def test_running_steps_have_no_self_time_and_cover_their_parent_until_now() -> None:
    steps = [S(1, None, 0, 100), S(2, 1, 60, None, StepStatus.RUNNING), S(3, 1, 0, 10)]
    own = self_times(steps)
    assert 2 not in own
    assert own[1] == 100 - 10 - 40  # the running child covers 60..100 (the horizon)


def test_critical_path_follows_the_heaviest_blocking_child() -> None:
    # sequential children: the heaviest one at every level
    steps = [
        S(1, None, 0, 100),
        S(2, 1, 0, 20),
        S(3, 1, 20, 50),
        S(4, 1, 70, 25),
        S(5, 3, 20, 10),
        S(6, 3, 30, 35),
    ]
    assert critical_path(steps) == [1, 3, 6]


def test_critical_path_skips_a_long_concurrent_child_that_finished_early() -> None:
    # 2 runs 0..80 alongside 3 which runs 10..95 and ends last: 3 decided the end;
    # 4 ran before 3 started and blocked it.
    steps = [S(1, None, 0, 100), S(2, 1, 0, 80), S(3, 1, 10, 85), S(4, 1, 1, 8)]
    assert critical_path(steps) == [1, 3]
    assert critical_path([]) == []


def test_failing_path_goes_down_failed_steps_then_interrupted_ones() -> None:
    failed, interrupted = StepStatus.FAILED, StepStatus.INTERRUPTED
    steps = [
        S(1, None, 0, 10, failed),
        S(2, 1, 0, 1),
        S(3, 1, 1, 1, failed),
        S(4, 3, 1, 1, failed),
        S(5, 3, 2, 1),
    ]
    assert failing_path_ids(steps) == [1, 3, 4]
    timed_out = [S(1, None, 0, 10, interrupted), S(2, 1, 0, 5), S(3, 1, 5, 5, interrupted)]
    assert failing_path_ids(timed_out) == [1, 3]
    assert failing_path_ids([S(1, None, 0, 1)]) == []


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50, 95, 99)
    assert percentile([7], 99) == 7
    assert percentile([3, 1, 2], 50) == 2
