"""``runtree blame`` for people, rendered from the JSON document ``--json`` prints: the
flagged paths first, each with its distributions and the source hunks on it, then a table
of every path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from ..tracking.render import format_duration

VERDICT_STYLES = {"slower": "red", "faster": "green"}
SHOWN_PATHS = 30


def _path(item: Mapping[str, Any]) -> str:
    return " → ".join(name.rsplit(".", 1)[-1] for name in item["path"])


def _dist(item: Mapping[str, Any], key: str) -> str:
    old, new = item.get("old"), item.get("new")

    def one(side: Mapping[str, Any] | None, which: str) -> str:
        return "-" if side is None else format_duration(side[f"{key}_{which}_ns"])

    return f"{one(old, 'p50')} → {one(new, 'p50')} (p95 {one(old, 'p95')} → {one(new, 'p95')})"


def _runs(item: Mapping[str, Any]) -> str:
    old, new = item.get("old"), item.get("new")
    return f"{old['runs'] if old else 0}/{new['runs'] if new else 0}"


def flagged_lines(item: Mapping[str, Any]) -> list[Text]:
    lines: list[Text] = []
    head = Text()
    if item["verdict"]:
        head.append(item["verdict"].upper(), style=VERDICT_STYLES[item["verdict"]])
        ratio = item["ratio"]
        head.append(f"  {_path(item)}  own time ×{ratio:.2f}" if ratio else f"  {_path(item)}")
        head.append(f"  (p = {item['p_value']:.2g}, runs {_runs(item)})", style="dim")
    else:
        head.append("ERRORS", style="red")
        head.append(f"  {_path(item)}")
    lines.append(head)
    lines.append(Text(f"    own   {_dist(item, 'self')}"))
    lines.append(Text(f"    total {_dist(item, 'total')}"))
    if item["errors"]:
        lines.append(Text(f"    {item['errors']['message']}", style="red"))
    for hunk in item["hunks"]:
        touches = f"  ({', '.join(hunk['touches'])})" if hunk["touches"] else ""
        lines.append(
            Text(
                f"    {hunk['function']} v{hunk['from_version']} → v{hunk['to_version']}{touches}",
                style="bold",
            )
        )
        lines.append(Text(f"    {hunk['header']}", style="cyan"))
        for line in hunk["lines"]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            lines.append(Text(f"    {line}", style=style))
    return lines


def blame_lines(document: Mapping[str, Any]) -> list[Text | Table]:
    rules = document["rules"]
    lines: list[Text | Table] = [
        Text(
            f"{document['function']}: v{document['from_version']} ({document['old_runs']} "
            f"runs) → v{document['to_version']} ({document['new_runs']} runs)",
            style="bold",
        ),
        Text(
            f"own time per run and path; Mann-Whitney U, Benjamini-Hochberg adjusted; flagged "
            f"with >= {rules['min_runs']} runs on each side, p < {rules['alpha']}, a change "
            f"of x{rules['min_ratio']} and at least "
            f"{format_duration(rules['min_delta_ns'])}",
            style="dim",
        ),
        Text(""),
    ]
    paths = document["paths"]
    flagged = [p for p in paths if p["verdict"] or p["errors"]]
    if not flagged:
        lines.append(Text("nothing flagged", style="green"))
    for item in flagged:
        lines.extend(flagged_lines(item))
        lines.append(Text(""))
    table = Table(box=None, pad_edge=False)
    for column in (
        "path",
        "runs old/new",
        "own p50 old → new (p95)",
        "total p50 old → new (p95)",
        "p",
        "verdict",
    ):
        table.add_column(column)
    for item in paths[:SHOWN_PATHS]:
        verdict = item["verdict"] or (
            "errors" if item["errors"] else "" if item["tested"] else "untested"
        )
        table.add_row(
            Text(_path(item)),
            _runs(item),
            _dist(item, "self"),
            _dist(item, "total"),
            "-" if item["p_value"] is None else f"{item['p_value']:.2g}",
            Text(verdict, style=VERDICT_STYLES.get(verdict, "")),
        )
    lines.append(table)
    left = len(paths) - SHOWN_PATHS + document["more"]
    if left > 0:
        lines.append(Text(f"({left} more paths; --json for all)", style="dim"))
    return lines
