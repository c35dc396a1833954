"""store_closed: a store closed ↔ one row of fact_store_ops (built as for its pair, in ``_store_operation.py``)."""

from __future__ import annotations

from retail_assets.lib.specs.events import _store_operation

POSITION = 13

STORE_CLOSED = _store_operation.spec("store_closed", "closed")

MAPPINGS = {"fact_store_ops": _store_operation.mapping("store_closed", "closed")}

NOTES = {"fact_store_ops": _store_operation.NOTE}

ENVELOPES = (_store_operation.envelope("store_closed", "closed"),)
