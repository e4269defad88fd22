"""The README's command examples, run on the real data: each ```` ```console ```` block holds ``$ python -m
cpts_geo …`` commands (a line ending with ``\\`` continues on the next) and the lines they print, in that order;
a line ``…`` stands for lines left out. The command runs on the all-France bundle (``--data`` added) in a scratch
folder holding a link to the project's ``docs/`` (report files are written there, not in the project); its
standard output must hold the lines shown (spaces at line ends and the no-break spaces of French numbers read as
spaces: the page shows ``48 454`` as the terminal does)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
README = PROJECT / "README.md"
ELISION = "…"
PROGRAM = ["python", "-m", "cpts_geo"]


@dataclass(frozen=True)
class Example:
    """One command of a console block and the output lines shown under it."""

    line: int           # line of the command in README.md
    command: str
    expected: tuple[str, ...]


def console_blocks(text: str) -> list[tuple[int, list[str]]]:
    """The ```` ```console ```` fenced blocks of a Markdown text: (line of the fence, lines without the fence's
    indentation)."""
    blocks, lines = [], text.splitlines()
    number = 0
    while number < len(lines):
        fence = re.fullmatch(r"(\s*)```console\s*", lines[number])
        number += 1
        if not fence:
            continue
        indent, start, body = len(fence.group(1)), number, []
        while number < len(lines) and lines[number].strip() != "```":
            body.append(lines[number][indent:])
            number += 1
        blocks.append((start, body))
        number += 1
    return blocks


def examples(text: str) -> list[Example]:
    """The commands of the console blocks with their expected output."""
    found: list[Example] = []
    for start, body in console_blocks(text):
        first = len(found)
        for offset, line in enumerate(body):
            if line.startswith("$ "):
                found.append(Example(start + offset + 1, line[2:], ()))
            elif len(found) == first:
                raise ValueError(f"README.md line {start + offset + 1}: output before any « $ » command")
            elif found[-1].command.endswith("\\") and not found[-1].expected:
                found[-1] = Example(found[-1].line, found[-1].command + "\n" + line, ())
            else:
                found[-1] = Example(found[-1].line, found[-1].command, (*found[-1].expected, line))
    return found


def normalised(line: str) -> str:
    return line.replace("\u202f", " ").replace("\u00a0", " ").rstrip()


def missing_lines(expected: tuple[str, ...], output: str) -> list[str]:
    """The expected lines not printed where the example shows them (empty when the output agrees): the lines
    between two ``…`` follow each other in the output, in the order shown, the first at the start of the output
    and the last at its end unless a ``…`` is there."""
    printed = [normalised(line) for line in output.splitlines()]
    segments, current = [], []
    for line in expected:
        if line.strip() == ELISION:
            segments.append(current)
            current = []
        else:
            current.append(normalised(line))
    segments.append(current)
    position = 0
    for index, segment in enumerate(segments):
        if not segment:
            continue
        anchored_start, anchored_end = index == 0, index == len(segments) - 1
        starts = [position] if anchored_start else range(position, len(printed) - len(segment) + 1)
        match = next((s for s in starts if printed[s:s + len(segment)] == segment
                      and (not anchored_end or s + len(segment) == len(printed))), None)
        if match is None:
            return segment
        position = match + len(segment)
    return []


def command_arguments(command: str) -> list[str]:
    """The arguments after ``python -m cpts_geo`` of a README command, as a POSIX shell reads them."""
    arguments = shlex.split(command.replace("\\\n", ""))
    assert arguments[:3] == PROGRAM, f"README example not run by this test: {command}"
    return arguments[3:]


README_EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_checked_examples():
    commands = [" ".join(command_arguments(e.command)[:1]) for e in README_EXAMPLES]
    assert commands.count("summary") >= 1 and commands.count("coverage") >= 1
    assert all(e.expected for e in README_EXAMPLES)


def test_missing_lines_follows_the_elisions():
    output = "a\nb\u202fc  \nd\ne\n"
    assert missing_lines(("a", "b c", ELISION, "e"), output) == []
    assert missing_lines(("a", ELISION, "d", ELISION), output) == []
    assert missing_lines(("b c", ELISION), output) == ["b c"]          # not at the start
    assert missing_lines(("a", ELISION, "d"), output) == ["d"]          # not at the end
    assert missing_lines((ELISION, "d", "b c", ELISION), output) == ["d", "b c"]   # order
    assert missing_lines((ELISION, "e", ELISION, "d"), output) == ["d"]


@pytest.mark.parametrize("example", README_EXAMPLES, ids=[f"README.md:{e.line}" for e in README_EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(example, france_dir, tmp_path):
    (tmp_path / "docs").symlink_to(PROJECT / "docs")     # the files the examples name; what they write stays here
    result = subprocess.run([sys.executable, "-m", "cpts_geo", *command_arguments(example.command),
                             "--data", str(france_dir)], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(PROJECT)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert missing_lines(example.expected, result.stdout) == [], (
        f"README.md line {example.line}: these lines are not printed as shown\n{result.stdout}")
