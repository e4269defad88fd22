"""The command examples of the README and of every ``docs/*.md``, run on the real data, so that no example can drift.

Each ```` ```console ```` block holds ``$ python -m cpts_geo …`` commands (a line ending with ``\\`` continues on
the next) and the lines they print, in that order; a line ``…`` stands for lines left out, and a ``…`` inside a
line for any text (a date, a path). The commands of a block run one after the other in one scratch folder holding
a link to the project's ``docs/`` (the files they write stay there, not in the project), on the all-France bundle
(``$CPTS_GEO_DATA``) and with a store of their own (``$CPTS_GEO_STORE``, never the user's); the standard output
of each must hold the lines shown (spaces at line ends and the no-break spaces of French numbers read as spaces:
the page shows ``48 454`` as the terminal does). The figures the text states in bold (``**48 454 habitants**``) in
the paragraph just before a block must be printed by that block's commands, word for word."""

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
DOCUMENTS = [PROJECT / "README.md", PROJECT / "bench" / "README.md", *sorted((PROJECT / "docs").rglob("*.md"))]
ELISION = "…"
PROGRAM = ["python", "-m", "cpts_geo"]


@dataclass(frozen=True)
class Example:
    """One command of a console block and the output lines shown under it."""

    line: int           # line of the command in its document
    command: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """A console block: its commands, run in that order in one folder, and the figures stated just before it."""

    document: str       # path from the project's root
    line: int
    examples: tuple[Example, ...]
    stated: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.document}:{self.line}"


def console_blocks(text: str) -> list[tuple[int, list[str], list[str]]]:
    """The ```` ```console ```` fenced blocks of a Markdown text: (line of the fence, lines without the fence's
    indentation, lines of the paragraph just before the fence)."""
    blocks, lines = [], text.splitlines()
    number = 0
    while number < len(lines):
        fence = re.fullmatch(r"(\s*)```console\s*", lines[number])
        number += 1
        if not fence:
            continue
        paragraph_end = number - 1                      # the fence, then the blank lines before it
        while paragraph_end > 0 and not lines[paragraph_end - 1].strip():
            paragraph_end -= 1
        paragraph_start = paragraph_end
        while paragraph_start > 0 and lines[paragraph_start - 1].strip():
            paragraph_start -= 1
        indent, start, body = len(fence.group(1)), number, []
        while number < len(lines) and lines[number].strip() != "```":
            body.append(lines[number][indent:])
            number += 1
        blocks.append((start, body, lines[paragraph_start:paragraph_end]))
        number += 1
    return blocks


def examples(start: int, body: list[str], where: str = "README.md") -> list[Example]:
    """The commands of a console block (its first line being line ``start`` + 1) with their expected output."""
    found: list[Example] = []
    for offset, line in enumerate(body):
        if line.startswith("$ "):
            found.append(Example(start + offset + 1, line[2:], ()))
        elif not found:
            raise ValueError(f"{where} line {start + offset + 1}: output before any « $ » command")
        elif found[-1].command.endswith("\\") and not found[-1].expected:
            found[-1] = Example(found[-1].line, found[-1].command + "\n" + line, ())
        else:
            found[-1] = Example(found[-1].line, found[-1].command, (*found[-1].expected, line))
    return found


def stated_figures(paragraph: list[str]) -> tuple[str, ...]:
    """The bold spans holding a digit of a paragraph: the figures its text quotes from the example below it."""
    return tuple(normalised(span) for span in re.findall(r"\*\*([^*]*\d[^*]*)\*\*", " ".join(paragraph)))


def document_blocks(path: Path) -> list[Block]:
    where = str(path.relative_to(PROJECT))
    return [Block(where, start, tuple(examples(start, body, where)), stated_figures(paragraph))
            for start, body, paragraph in console_blocks(path.read_text(encoding="utf-8"))]


def normalised(line: str) -> str:
    return re.sub(r"[ \u202f\u00a0]", " ", line).rstrip()


def line_matches(expected: str, printed: str) -> bool:
    """True when ``printed`` is ``expected``, a ``…`` inside ``expected`` standing for any text."""
    if ELISION not in expected:
        return expected == printed
    return re.fullmatch(".*".join(map(re.escape, expected.split(ELISION))), printed) is not None


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
        match = next((s for s in starts
                      if len(printed) >= s + len(segment)
                      and all(line_matches(e, p) for e, p in zip(segment, printed[s:s + len(segment)]))
                      and (not anchored_end or s + len(segment) == len(printed))), None)
        if match is None:
            return segment
        position = match + len(segment)
    return []


def command_arguments(command: str) -> list[str]:
    """The arguments after ``python -m cpts_geo`` of a documented command, as a POSIX shell reads them."""
    arguments = shlex.split(command.replace("\\\n", ""))
    assert arguments[:3] == PROGRAM, f"example not run by this test: {command}"
    return arguments[3:]


BLOCKS = [block for path in DOCUMENTS for block in document_blocks(path)]


def test_every_command_has_checked_examples():
    commands = [" ".join(command_arguments(e.command)[:2]) for b in BLOCKS for e in b.examples]
    for command in ("prepare", "summary", "export", "coverage", "registry history", "registry diff",
                    "registry restore"):
        assert any(c.startswith(command) for c in commands), command
    assert all(e.expected for b in BLOCKS for e in b.examples)
    assert {b.document for b in BLOCKS} >= {"README.md", "docs/cli.md"}


def test_missing_lines_follows_the_elisions():
    output = "a\nb\u202fc  \nd\ne\nVersion 2 — 6 décembre 2026, 04:28 — x\n"
    assert missing_lines(("a", "b c", ELISION, "Version 2 — … — x"), output) == []
    assert missing_lines(("a", ELISION, "d", ELISION), output) == []
    assert missing_lines(("b c", ELISION), output) == ["b c"]          # not at the start
    assert missing_lines(("a", ELISION, "d"), output) == ["d"]          # not at the end
    assert missing_lines((ELISION, "d", "b c", ELISION), output) == ["d", "b c"]   # order
    assert missing_lines((ELISION, "e", ELISION, "d"), output) == ["d"]
    assert missing_lines((ELISION, "Version 3 — … — x"), output) == ["Version 3 — … — x"]


def test_stated_figures_are_the_bold_spans_with_digits():
    assert stated_figures(["Ruscino has **48 454 habitants** and is", "**Taille : 2**, **one piece**."]) == (
        "48 454 habitants", "Taille : 2")
    page = "Intro.\n\nRuscino has\n**48 454 habitants**:\n\n```console\n$ python -m cpts_geo x\ny\n```\n"
    assert console_blocks(page) == [(6, ["$ python -m cpts_geo x", "y"], ["Ruscino has", "**48 454 habitants**:"])]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_documented_example_prints_what_the_page_shows(block, france_dir, tmp_path):
    (tmp_path / "docs").symlink_to(PROJECT / "docs")     # the files the examples name; what they write stays here
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "CPTS_GEO_DATA": str(france_dir),
           "CPTS_GEO_STORE": str(tmp_path / "territoires.sqlite")}
    outputs = []
    for example in block.examples:
        result = subprocess.run([sys.executable, "-m", "cpts_geo", *command_arguments(example.command)],
                                capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
        assert result.returncode == 0, f"{block.document} line {example.line}: {result.stderr}"
        assert missing_lines(example.expected, result.stdout) == [], (
            f"{block.document} line {example.line}: these lines are not printed as shown\n{result.stdout}")
        outputs.append(normalised(result.stdout))
    unprinted = [figure for figure in block.stated if not any(figure in output for output in outputs)]
    assert unprinted == [], f"{block.name}: the text before the example states what it does not print"


def test_the_cli_page_names_every_option():
    """docs/cli.md documents every command, action and option of the parser."""
    from cpts_geo.commands.main import build_parser
    from tests.test_cli import command_parsers

    page = (PROJECT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path, parser in command_parsers(build_parser([])):
        assert not path or f"## {path[0]}" in page, path
        options = [o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")]
        assert [o for o in options if f"`{o}" not in page and f"{o} " not in page] == [], path


#: A command written in a document: a line of a shell block, or a code span, starting with a command's name.
COMMAND_IN_TEXT = re.compile(r"(?:python -m cpts_geo )?\b(prepare|summary|export|coverage|registry)\b([^`#]*)")


def documented_commands(text: str) -> list[tuple[str, str]]:
    """The commands of a Markdown text, in its shell blocks (lines ending with ``\\`` joined) and its code spans:
    (command, rest of the line)."""
    lines = [line.split("python -m cpts_geo", 1)[1].strip()
             for block in re.findall(r"```(?:bash|console)\n(.*?)```", text, re.S)
             for line in block.replace("\\\n", " ").splitlines() if "python -m cpts_geo" in line]
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return [found.groups() for found in map(COMMAND_IN_TEXT.match, lines + spans) if found]


def test_documented_commands_use_real_options():
    """Every option written after a command name in the README and the docs (synopses, shell blocks, code spans)
    is an option of that command: a renamed or removed option cannot stay in the docs."""
    from cpts_geo.commands.main import build_parser
    from tests.test_cli import command_parsers

    parsers = dict(command_parsers(build_parser([])))
    wrong = []
    for document in DOCUMENTS:
        for command, rest in documented_commands(document.read_text(encoding="utf-8")):
            action = rest.split()[:1]
            path = (command, *action) if (command, *action) in parsers else (command,)
            known = {o for a in parsers[path]._actions for o in a.option_strings}
            wrong += [(document.name, command, option) for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)
                      if option not in known]
    assert wrong == []
