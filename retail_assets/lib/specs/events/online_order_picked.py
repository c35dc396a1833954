"""online_order_picked: an online order was picked ↔ updates to its lines in fact_online_order_lines.

Built as its pair, online_order_shipped, by ``_order_step.py``; Silver applies it in ``lib/silver/lifecycle.py``.
"""

from __future__ import annotations

from retail_assets.lib.specs.events import _order_step

POSITION = 17

ONLINE_ORDER_PICKED = _order_step.spec("online_order_picked", "picked_time", "picked")

UPDATES = _order_step.UPDATES

NOTES = {"fact_online_order_lines": _order_step.NOTE}

ENVELOPES = (_order_step.envelope("online_order_picked", "picked", "picked_time"),)
