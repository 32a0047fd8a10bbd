"""The structural diff of two runs: alignment by call path with sequence-aligned siblings,
what differs per pair, and the first divergence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from runtree.service.alignment import matching_pairs
from runtree.service.tree_diff import diff_trees

from .trees import Node, build, make_step


def loop(values: list[int]) -> list[Node]:
    return [("main", {}, [("step", {"i": v}, []) for v in values])]


def kinds(diff) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(row.name, row.kind) for row in diff.rows]


def test_one_extra_loop_iteration_is_one_inserted_step() -> None:
    a = build(loop([1, 2, 3, 4, 5, 6]))
    b = build(loop([1, 2, 3, 99, 4, 5, 6]))
    diff = diff_trees(a, b)
    # main itself differs by nothing recorded (times never count): it stays "same".
    assert (
        kinds(diff)
        == [("main", "same")]
        + [("step", "same")] * 3
        + [("step", "added")]
        + [("step", "same")] * 3
    )
    assert diff.counts == {"same": 7, "changed": 0, "added": 1, "removed": 0}
    assert diff.rows[4].b is not None and diff.rows[4].b.id == 5
    assert diff.first_divergence == 4 and diff.reason == "added"


def test_same_call_with_other_arguments_is_paired_and_reports_the_keys() -> None:
    a = build(
        [("main", {"x": 1}, [("get", {"id": 42, "flag": True}, []), ("tax", {"amount": 90}, [])])]
    )
    b = build(
        [("main", {"x": 1}, [("get", {"id": 7, "flag": True}, []), ("tax", {"amount": 90}, [])])]
    )
    diff = diff_trees(a, b)
    assert kinds(diff) == [("main", "same"), ("get", "changed"), ("tax", "same")]
    (change,) = diff.rows[1].inputs
    assert (change.key, change.change, change.a, change.b) == ("id", "changed", 42, 7)
    assert diff.first_divergence == 1 and diff.reason == "inputs"
    assert diff.path(1) == ["main", "get"]


def test_first_divergence_is_the_innermost_failure_before_any_input_difference() -> None:
    a = build([("main", {"x": 1}, [("early", {"v": 1}, []), ("outer", {}, [("inner", {}, [])])])])
    b = build(
        [("main", {"x": 1}, [("early", {"v": 2}, []), ("outer", {}, [("inner", {}, [])])])],
        failing={"inner"},
    )
    diff = diff_trees(a, b)
    assert diff.reason == "failure"
    assert diff.path(diff.first_divergence) == ["main", "outer", "inner"]  # type: ignore[arg-type]
    row = diff.rows[diff.first_divergence]  # type: ignore[index]
    assert row.error == "appeared" and row.status_changed
    assert diff.rows[0].error == "appeared"
    reverse = diff_trees(b, a)
    assert reverse.path(reverse.first_divergence) == ["main", "outer", "inner"]  # type: ignore[arg-type]
    assert reverse.rows[reverse.first_divergence].error == "disappeared"  # type: ignore[index]


def test_unmatched_subtrees_are_removed_or_added_whole() -> None:
    a = build([("main", {}, [("a", {}, [("a1", {}, []), ("a2", {}, [])])])])
    b = build([("main", {}, [("b", {}, [("b1", {}, [])])])])
    diff = diff_trees(a, b)
    assert sorted(kinds(diff)) == sorted(
        [
            ("main", "same"),
            ("a", "removed"),
            ("a1", "removed"),
            ("a2", "removed"),
            ("b", "added"),
            ("b1", "added"),
        ]
    )
    assert [r.depth for r in diff.rows if r.name in ("a1", "b1")] == [2, 2]


def test_versions_redaction_aggregates_and_times() -> None:
    redacted = {
        "preview": {"token": "[redacted]"},
        "size": 9,
        "format": "pickle",
        "truncated": False,
        "redacted": True,
    }
    a = [
        make_step(
            1,
            None,
            0,
            "f",
            version=1,
            duration=1000,
            aggregates=[{"name": "fib", "count": 10, "total_ns": 5, "errors": 0}],
        )
    ]
    b = [
        make_step(
            1,
            None,
            0,
            "f",
            version=2,
            duration=3000,
            aggregates=[
                {
                    "name": "fib",
                    "count": 12,
                    "total_ns": 5,
                    "errors": 0,
                    "children": [{"name": "g", "count": 2, "total_ns": 1, "errors": 1}],
                }
            ],
        )
    ]
    a[0].inputs["auth"] = redacted
    b[0].inputs["auth"] = dict(redacted)  # another secret, same record: not a difference
    diff = diff_trees(a, b)
    row = diff.rows[0]
    assert row.version_changed and (row.a.version, row.b.version) == (1, 2)  # type: ignore[union-attr]
    assert not row.inputs
    assert [(g.name, g.count_a, g.count_b, g.errors_b) for g in row.aggregates] == [
        ("fib", 10, 12, 0),
        ("fib › g", 0, 2, 1),
    ]
    assert row.total_ratio == 3.0 and row.self_ratio == 3.0
    b[0].inputs["auth"] = {**redacted, "preview": {"token": "[redacted]", "user": "x"}}
    (change,) = diff_trees(a, b).rows[0].inputs
    assert change.key == "auth" and change.redacted


def test_truncated_values_compare_by_hash() -> None:
    a, b = build(loop([1])), build(loop([1]))
    for steps, digest in ((a, "1" * 64), (b, "2" * 64)):
        steps[1].inputs["i"] = {
            "preview": "same prefix…",
            "size": 10**6,
            "format": "pickle",
            "truncated": True,
            "redacted": False,
            "sha256": digest,
        }
    assert diff_trees(a, b).rows[1].inputs[0].key == "i"


def test_deep_recursion_does_not_blow_up() -> None:
    depth = 10_000
    a = [make_step(i + 1, i or None, i, "fib", inputs={"n": depth - i}) for i in range(depth)]
    b = [make_step(i + 1, i or None, i, "fib", inputs={"n": depth - i}) for i in range(depth - 1)]
    diff = diff_trees(a, b)
    assert diff.counts["removed"] == 1 and diff.counts["same"] == depth - 1
    assert len(diff.path(depth - 1)) == depth


def test_thousands_of_siblings_with_other_inputs_are_paired_by_name() -> None:
    a = build([("main", {}, [("f", {"i": i}, []) for i in range(5000)])])
    b = build([("main", {}, [("f", {"i": -i - 1}, []) for i in range(5000)])])
    diff = diff_trees(a, b)
    assert diff.counts["changed"] == 5000  # all paired by name: inputs differ


# --- properties ---------------------------------------------------------------------------

names = st.sampled_from(["a", "b", "c"])
nodes = st.recursive(
    st.tuples(names, st.fixed_dictionaries({"x": st.integers(0, 2)}), st.just([])),
    lambda children: st.tuples(
        names, st.fixed_dictionaries({"x": st.integers(0, 2)}), st.lists(children, max_size=4)
    ),
    max_leaves=20,
)
forests = st.lists(nodes, min_size=0, max_size=3)


@settings(max_examples=150, deadline=None)
@given(forests, st.sets(names))
def test_a_run_compared_with_itself_has_no_difference(
    forest: list[Node], failing: set[str]
) -> None:
    steps = build(forest, failing=failing)
    diff = diff_trees(steps, steps)
    assert diff.identical and diff.reason is None
    assert diff.counts["same"] == len(steps) == len(diff.rows)
    assert all(
        row.a is not None and row.b is not None and row.a.id == row.b.id for row in diff.rows
    )


def _pairs(diff) -> set[tuple[int | None, int | None]]:  # type: ignore[no-untyped-def]
    return {(row.a and row.a.id, row.b and row.b.id) for row in diff.rows}


@settings(max_examples=200, deadline=None)
@given(forests, forests, st.sets(names))
def test_alignment_is_symmetric(one: list[Node], two: list[Node], failing: set[str]) -> None:
    a, b = build(one), build(two, failing=failing)
    forward, backward = diff_trees(a, b), diff_trees(b, a)
    assert _pairs(forward) == {(j, i) for i, j in _pairs(backward)}
    assert forward.counts["added"] == backward.counts["removed"]
    mirrored = {"added": "removed", "removed": "added"}
    assert forward.reason == mirrored.get(backward.reason, backward.reason)  # type: ignore[arg-type]
    if forward.first_divergence is not None:
        assert forward.path(forward.first_divergence) == backward.path(backward.first_divergence)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=14), st.lists(st.integers(0, 3), max_size=14))
def test_matching_is_a_longest_common_subsequence(a: list[int], b: list[int]) -> None:
    pairs = matching_pairs(a, b)
    assert all(a[i] == b[j] for i, j in pairs)
    assert all(p[0] < q[0] and p[1] < q[1] for p, q in zip(pairs, pairs[1:]))
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
            )
    assert len(pairs) == table[0][0]
    assert sorted((j, i) for i, j in matching_pairs(b, a)) == pairs
