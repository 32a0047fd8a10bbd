"""A shadow report for people, rendered from the JSON document ``runtree shadow --json``
prints (the same locally and through a server): a summary, then one line per replayed input
with its verdict and what changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from .views import compact_json

PREVIEW_CHARS = 60
LABELS = {
    "same": "same",
    "different_output": "different output",
    "new_error": "new error",
    "fixed_error": "fixed error",
    "different_error": "different error",
    "different_tree": "different tree",
    "slower": "slower",
    "cancelled": "cancelled",
    "pending": "pending",
}
STYLES = {
    "same": "green",
    "fixed_error": "cyan",
    "pending": "dim",
}
LABEL_WIDTH = max(len(label) for label in LABELS.values())


def _preview(value: Any) -> str:
    text = compact_json(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}ms" if value >= 10 else f"{value:.2f}ms"


def summary(document: Mapping[str, Any]) -> str:
    """``N inputs replayed: 1 same, 1 fixed error`` (and the skipped ones, with why)."""
    replayed = document["replayed"]
    parts = [
        f"{count} {LABELS.get(verdict, verdict)}"
        for verdict, count in document["counts"].items()
        if count
    ]
    text = f"{replayed} input{'' if replayed == 1 else 's'} replayed"
    text += f": {', '.join(parts)}" if parts else ""
    skipped = document["skipped"]
    if skipped:
        whys = sorted({entry.get("why") or entry.get("reason") for entry in skipped})
        text += f"; {len(skipped)} skipped ({'; '.join(str(w) for w in whys)})"
    return text


def run_details(run: Mapping[str, Any]) -> str:
    """What a verdict means for one input, in a few words."""
    recorded, shadow = run["recorded"], run["shadow"]
    verdict = run["verdict"]
    times = f"{_ms(recorded['call_ms'])} → {_ms(shadow['call_ms'])}"
    if verdict == "pending":
        return f"{shadow['status']}"
    if verdict == "new_error":
        return f"{recorded['status']} → {shadow['status']}: {shadow['error']}"
    if verdict == "fixed_error":
        return f"{recorded['error']} → output {_preview(shadow['output'])}"
    if verdict == "different_error":
        return f"{recorded['error']} → {shadow['error']}"
    if verdict == "different_output":
        return f"output {_preview(recorded['output'])} → {_preview(shadow['output'])}"
    if verdict == "different_tree":
        tree = run["tree"] or {}
        text = (
            f"steps: {tree.get('changed', 0)} changed, {tree.get('added', 0)} added, "
            f"{tree.get('removed', 0)} removed"
        )
        first = tree.get("first_divergence")
        if first:
            text += f"; first at {' → '.join(first['path'])} ({first['reason']})"
        return text
    if verdict == "slower" and run.get("time_ratio") is not None:
        return f"×{run['time_ratio']:.1f} ({times})"
    return times


def report_lines(document: Mapping[str, Any]) -> list[Text]:
    """The whole report: header, summary, one line per input, the verdict on the whole."""
    function = document["function"]
    version, baseline = document["version"], document["baseline_version"]
    current = document.get("current_version")
    head = Text(f"shadow report {document['id']}  ", style="bold")
    head.append(f"{function} v{version} against v{baseline}")
    if current == version:
        head.append(" (promoted: now current)", style="dim")
    head.append(", network off", style="dim")
    lines = [head, Text(summary(document))]
    if document["runs"]:
        lines.append(Text(""))
    for run in document["runs"]:
        verdict = run["verdict"]
        label = f"  {LABELS.get(verdict, verdict):<{LABEL_WIDTH}}  "
        line = Text(label, style=STYLES.get(verdict, "yellow"))
        recorded = run["recorded"]
        line.append(f"{recorded['function'].split('/', 1)[-1]} ")
        line.append(_preview(run["input"]), style="dim")
        line.append(f"  {run_details(run)}")
        lines.append(line)
        ids = f"{' ' * len(label)}recorded {recorded['id']}  shadow {run['shadow']['id']}"
        lines.append(Text(ids, style="dim"))
    rule = document["slower_rule"]
    lines.append(Text(""))
    lines.append(
        Text(
            f"slower: at least ×{rule['ratio']:g} and +{rule['min_ms']:g} ms on the root call, "
            "one run each side; `runtree compare RECORDED SHADOW` shows one pair",
            style="dim",
        )
    )
    name = function.split("/", 1)
    target = name[1] if name[0] == "default" else function
    if document["status"] != "finished":
        lines.append(Text(f"running: {document['counts']['pending']} runs to go", style="dim"))
    elif document["clean"]:
        lines.append(
            Text(f"clean: `runtree promote {target} {version} --require-clean` makes it current")
        )
    elif current != version:
        lines.append(
            Text(
                f"not clean: review the differences; `runtree promote {target} {version}` "
                "makes it current anyway",
                style="yellow",
            )
        )
    return lines
