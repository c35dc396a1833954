"""Sections of the docs rendered from the code (Gold catalog, Silver event mapping, realism bands): one way to find
and rewrite the section between its begin and end markers, so a doc and its source cannot drift."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def section(text: str, begin: str, end: str) -> str:
    """The committed section of ``text``, markers included."""
    return text[text.index(begin) : text.index(end) + len(end)]


def splice(text: str, begin: str, end: str, rendered: str) -> str:
    """``text`` with its section (markers included) replaced by ``rendered``."""
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + rendered + text[stop:]


def rewrite(path: str | Path, begin: str, end: str, render: Callable[[], str]) -> int:
    """Re-render the section of the file at ``path`` in place (the ``python -m`` entry of each renderer)."""
    path = Path(path)
    path.write_text(splice(path.read_text(), begin, end, render()))
    return 0
