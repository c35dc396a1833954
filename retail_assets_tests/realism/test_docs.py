"""docs/realism.md stays true: its bands table is what lib/realism.py's BENCHMARKS render."""

from __future__ import annotations

from pathlib import Path

from retail_assets.lib.realism import BEGIN, BENCHMARKS, END, render_bands

DOC = Path(__file__).resolve().parents[2] / "docs" / "realism.md"


def test_the_bands_table_is_rendered_from_the_benchmarks():
    text = DOC.read_text()
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert committed == render_bands(), "re-render it: uv run python -m retail_assets.lib.realism docs/realism.md"
    assert all(f"`{b.id}`" in committed for b in BENCHMARKS)


def test_readme_and_generator_docs_link_it():
    root = DOC.parents[1]
    assert "(docs/realism.md)" in (root / "README.md").read_text()
    assert "(realism.md)" in (root / "docs" / "generator.md").read_text()
