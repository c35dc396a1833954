"""online_order_shipped: an online order was shipped ↔ updates to its lines in fact_online_order_lines.

Built as its pair, online_order_picked, by ``_order_step.py``; Silver applies it in ``lib/silver/lifecycle.py``.
"""

from __future__ import annotations

from retail_assets.lib.specs.events import _order_step

POSITION = 18

ONLINE_ORDER_SHIPPED = _order_step.spec("online_order_shipped", "shipped_time", "shipped")

UPDATES = _order_step.UPDATES

NOTES = {"fact_online_order_lines": _order_step.NOTE}

ENVELOPES = (_order_step.envelope("online_order_shipped", "shipped", "shipped_time"),)
