"""docs/silver.md's event → fact table is what the event modules say (the same notes the Silver assets show)."""

from __future__ import annotations

from pathlib import Path

from retail_assets.lib.silver.catalog import BEGIN, END, render
from retail_assets.lib.silver.stream import MAPPING_NOTES
from retail_assets.lib.specs import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "silver.md"


def test_the_event_mapping_table_is_rendered_from_the_event_modules() -> None:
    text = DOC.read_text()
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert committed == render(), "re-render it: uv run python -m retail_assets.lib.silver.catalog docs/silver.md"


def test_every_event_type_and_every_fact_is_in_the_table() -> None:
    rendered = render()
    rows = [line for line in rendered.splitlines() if line.startswith("| ") and not line.startswith("| Event")]
    events = {e for line in rows for e in line.split(" | ")[0].removeprefix("| ").split(" / ")}
    assert events == {e.event_type for e in REGISTRY.events}
    for fact in (t.name for t in REGISTRY.facts):
        assert fact in rendered, fact
        assert fact in MAPPING_NOTES, fact
