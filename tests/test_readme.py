"""The README's tested shell sessions run, and print what the README says they print.

The convention (also at the top of README.md and in docs/readme-tests.md): a fenced block
whose opening line is ```` ```console ```` and that directly follows the line
``<!-- tested -->`` is a shell session. Lines starting with ``$ `` are commands (a line
starting with ``> `` continues the previous one); the lines after a command, up to the next
command, are its expected output, where ``...`` matches any text (ids, times, durations). A
command ends with exit code 0 unless its line ends with ``# exit code N``. Every tested block
of the README runs, in order, in one bash session in a scratch directory holding a copy of
``examples/``, with ``runtree`` on ``PATH`` and no ``RUNTREE_*`` variables. Other blocks
(plain ```` ```sh ````, untagged ```` ```console ````) are never run.
"""

from __future__ import annotations

import dataclasses
import doctest
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- tested -->"
EXIT_CODE = re.compile(r"\s+# exit code (\d+)$")


@dataclasses.dataclass
class Command:
    line: int  # in the README, for messages
    text: str
    expected_output: str = ""
    expected_exit: int = 0


def session_commands(markdown: str) -> list[Command]:
    """The commands of every tested session, in order, with their expected output."""
    lines = markdown.splitlines()
    commands: list[Command] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == MARKER:
            fence = lines[index + 1] if index + 1 < len(lines) else ""
            assert fence.strip() == "```console", (
                f"README.md line {index + 2}: {MARKER} must be followed by a ```console block"
            )
            index += 2
            output: list[str] = []
            while lines[index].strip() != "```":
                line = lines[index]
                if line.startswith("$ "):
                    if commands:
                        commands[-1].expected_output += "".join(o + "\n" for o in output)
                    output = []
                    text = line[2:]
                    exit_code = 0
                    found = EXIT_CODE.search(text)
                    if found:
                        exit_code = int(found.group(1))
                        text = text[: found.start()]
                    commands.append(Command(index + 1, text, "", exit_code))
                elif line.startswith("> ") and commands and not output:
                    commands[-1].text += "\n" + line[2:]
                else:
                    output.append(line)
                index += 1
            if commands:
                commands[-1].expected_output += "".join(o + "\n" for o in output)
        index += 1
    return commands


def run_session(commands: list[Command], directory: Path) -> list[tuple[str, int]]:
    """Each command's output (stdout and stderr) and exit code, run in one bash session."""
    script = []
    for number, command in enumerate(commands):
        script.append(f"printf '@@readme-start {number}@@\\n'")
        script.append(f"{{\n{command.text}\n}} 2>&1")
        script.append(f"printf '\\n@@readme-exit {number} %d@@\\n' $?")
    env = {key: value for key, value in os.environ.items() if not key.startswith("RUNTREE_")}
    env.update({"COLUMNS": "100", "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"})
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = []
    for number in range(len(commands)):
        found = re.search(
            rf"@@readme-start {number}@@\n(.*?)\n?@@readme-exit {number} (\d+)@@",
            done.stdout,
            re.S,
        )
        assert found, f"the session stopped before command {number}:\n{done.stdout}{done.stderr}"
        results.append((found.group(1), int(found.group(2))))
    return results


def test_the_readme_parser_follows_the_convention() -> None:
    markdown = (
        "```sh\nrm -rf /\n```\n"  # untagged: never run
        f"{MARKER}\n```console\n$ echo a \\\n> b\na b\n$ false  # exit code 1\n```\n"
        "```console\n$ echo untagged\n```\n"
    )
    commands = session_commands(markdown)
    assert [(c.text, c.expected_output, c.expected_exit) for c in commands] == [
        ("echo a \\\nb", "a b\n", 0),
        ("false", "", 1),
    ]


@pytest.mark.slow
@pytest.mark.long
def test_the_readme_sessions_print_what_the_readme_says(tmp_path: Path) -> None:
    commands = session_commands(README.read_text(encoding="utf-8"))
    assert len(commands) >= 3, "the README has lost its tested sessions"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    checker = doctest.OutputChecker()
    failures = []
    for command, (output, exit_code) in zip(commands, run_session(commands, tmp_path), strict=True):
        got = output + "\n" if output and not output.endswith("\n") else output
        where = f"README.md line {command.line}: $ {command.text}"
        if exit_code != command.expected_exit:
            failures.append(
                f"{where}\nexit code {exit_code}, expected {command.expected_exit}\n{got}"
            )
        elif not checker.check_output(command.expected_output, got, doctest.ELLIPSIS):
            example = doctest.Example(command.text, command.expected_output)
            failures.append(
                where + "\n" + checker.output_difference(example, got, doctest.ELLIPSIS)
            )
    assert not failures, "\n\n".join(failures)
