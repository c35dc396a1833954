"""Counts of tables and event types in the docs are the registry's, and code states none.

Adding a fact or an event type changes ``REGISTRY``; every sentence in README.md and docs/ that counts them must
then change too (this test names each one), while docstrings and column descriptions say "every fact of the
registry" instead of a number, so they never go stale."""

from __future__ import annotations

import re
from pathlib import Path

from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.specs import REGISTRY

REPO = Path(__file__).resolve().parents[2]
COUNTED = re.compile(
    r"\b(?P<n>\d+) (?P<what>fact tables|facts|streaming event types|event types|dimensions(?P<calendar> \+ a calendar)?"
    r"|Gold tables)\b"
)


def _expected(what: str, calendar: bool) -> int:
    dimensions = sum(1 for t in REGISTRY.tables.values() if t.kind == "dimension")
    return {
        "fact tables": len(REGISTRY.facts),
        "facts": len(REGISTRY.facts),
        "streaming event types": len(REGISTRY.events),
        "event types": len(REGISTRY.events),
        "dimensions": dimensions - 1 if calendar else dimensions,
        "Gold tables": len(GOLD_TABLES),
    }[what.removesuffix(" + a calendar")]


def test_counts_in_the_docs_are_the_registrys() -> None:
    wrong, seen = [], 0
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in COUNTED.finditer(line):
                seen += 1
                expected = _expected(match["what"], bool(match["calendar"]))
                if int(match["n"]) != expected:
                    wrong.append(f"{path.relative_to(REPO)}:{number}: {match[0]!r}, the registry has {expected}")
    assert seen >= 5, "the pattern no longer finds the docs' counts"
    assert not wrong, wrong


def test_code_counts_nothing_by_hand() -> None:
    stated = [
        f"{path.relative_to(REPO)}:{number}: {match[0]!r}"
        for path in sorted((REPO / "retail_assets").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for match in COUNTED.finditer(line)
    ]
    assert not stated, f"say 'every fact of the registry' (or compute it) instead: {stated}"
