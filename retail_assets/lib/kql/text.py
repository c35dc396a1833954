"""Small helpers that spell KQL text: string literals, file headers, command blocks."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable

# Every rendered file starts with this so nobody edits it by hand.
GENERATED = "Rendered by `retail-assets kql render` from the spec registry; do not edit by hand."
# Wraps a deployment script so the whole file runs as one request; the first failing command stops it.
SCRIPT_HEADER = ".execute database script with (ThrowOnErrors = true) <|"


def string(value: str) -> str:
    """A KQL string literal (double quotes; backslash and quote escaped as KQL expects)."""
    return json.dumps(value, ensure_ascii=False)


COMMENT_WIDTH = 110


def comment(text: str) -> list[str]:
    """``text`` as ``//`` comment lines, wrapped; a wrapped line keeps its indentation."""
    lines = []
    for line in text.splitlines():
        pad = line[: len(line) - len(line.lstrip())]
        wrapped = textwrap.wrap(line.strip(), COMMENT_WIDTH, initial_indent=pad, subsequent_indent=pad + "  ") or [""]
        lines += [f"// {part}".rstrip() for part in wrapped]
    return lines


def header(title: str, *notes: str) -> list[str]:
    """The comment block that opens every rendered file."""
    lines = comment(title) + comment(GENERATED)
    for note in notes:
        lines += comment(note)
    return lines


def script(title: str, notes: Iterable[str], commands: Iterable[list[str]]) -> str:
    """A deployment script: header, ``.execute database script``, commands separated by blank lines.

    The first command follows the script header directly: editors run the block around the
    cursor, and a blank line right after ``<|`` would leave the header a block of its own.
    """
    blocks = ["\n".join(lines) for lines in commands]
    return "\n".join([*header(title, *notes), SCRIPT_HEADER]) + "\n" + "\n\n".join(blocks) + "\n"


def query(title: str, notes: Iterable[str], lines: Iterable[str]) -> str:
    """A query file: header then the query (no blank line inside, so it is one editor block)."""
    return "\n".join([*header(title, *notes), *lines]) + "\n"


def indent(lines: Iterable[str], by: int = 4) -> list[str]:
    pad = " " * by
    return [pad + line if line else line for line in lines]
