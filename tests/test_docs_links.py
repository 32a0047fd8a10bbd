"""The README, the docs and every help screen stay inside the repository: no link or mention
points outside it (a clone has nothing beside it), and relative links resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def without_code_blocks(markdown: str) -> str:
    """The prose: HTML comments and fenced code blocks (of any fence length) removed."""
    markdown = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    kept, fence = [], ""
    for line in markdown.splitlines():
        opening = re.match(r"\s*(`{3,})", line)
        if fence:
            if opening and opening.group(1) == fence and not line.strip()[len(fence) :]:
                fence = ""
        elif opening:
            fence = opening.group(1)
        else:
            kept.append(line)
    return "\n".join(kept)


def test_no_document_points_outside_the_repository() -> None:
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        assert "../shared" not in text and "DESIGN.md" not in text, document
        prose = re.sub(r"`[^`\n]*`", "", without_code_blocks(text))
        for target in LINK.findall(prose):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{document.name}: {target} leaves the repo"
            assert resolved.exists(), f"{document.name}: {target} does not exist"


def test_no_source_mentions_a_design_file_outside_the_repository() -> None:
    for path in (ROOT / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text and "../shared" not in text, path
