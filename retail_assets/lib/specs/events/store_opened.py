"""store_opened: a store opened ↔ one row of fact_store_ops (built as for its pair, in ``_store_operation.py``)."""

from __future__ import annotations

from retail_assets.lib.specs.events import _store_operation

POSITION = 12

STORE_OPENED = _store_operation.spec("store_opened", "opened")

MAPPINGS = {"fact_store_ops": _store_operation.mapping("store_opened", "opened")}

NOTES = {"fact_store_ops": _store_operation.NOTE}

ENVELOPES = (_store_operation.envelope("store_opened", "opened"),)
