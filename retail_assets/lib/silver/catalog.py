"""The event → fact mapping table of ``docs/silver.md``, rendered from the event modules (``lib/specs/events/``)
so the doc says what the code and the Silver asset descriptions say.

    uv run python -m retail_assets.lib.silver.catalog docs/silver.md   # rewrite the section in place

The test suite checks that the committed section equals what the modules render.
"""

from __future__ import annotations

import sys

from retail_assets.lib.rendered import rewrite
from retail_assets.lib.silver.stream import BATCH_ONLY
from retail_assets.lib.specs.events import MODULES

BEGIN = "<!-- event-mapping:begin (rendered from lib/specs/events/ by `python -m retail_assets.lib.silver.catalog`) -->"
END = "<!-- event-mapping:end -->"


def _cell(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def render() -> str:
    # Event types sharing one note for one fact (store_opened/store_closed, online_order_picked/shipped) share a row.
    rows: dict[tuple[str, str], list[str]] = {}
    for module in MODULES:
        spec = next(v for k, v in vars(module).items() if k.isupper() and getattr(v, "event_type", None))
        for fact in spec.facts:
            rows.setdefault((fact, module.NOTES[fact]), []).append(spec.event_type)
    lines = [BEGIN, "", "| Event | Fact | Mapping and decisions (also in the Silver asset's description) |", "|---|---|---|"]
    for (fact, note), events in rows.items():
        lines.append(f"| {' / '.join(events)} | {fact} | {_cell(note)} |")
    lines += ["", "Batch only:", ""]
    lines += [f"- {fact}: {_cell(reason.removeprefix('Batch only: '))}" for fact, reason in BATCH_ONLY.items()]
    return "\n".join([*lines, "", END])


def main(argv: list[str]) -> int:
    return rewrite(argv[0] if argv else "docs/silver.md", BEGIN, END, render)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
