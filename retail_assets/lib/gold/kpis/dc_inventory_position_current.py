"""gold/dc_inventory_position_current: its spec, build and reconciliation with Silver.

The distribution-centre side of the incremental positions shared with the store position table
(lib/gold/positions.py).
"""

from __future__ import annotations

from functools import partial

from retail_assets.lib.gold.columns import count_column, inputs
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.positions import POSITION_FORMULA, positions, reconcile_positions
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col, dc_id, product_id

DC_INVENTORY_POSITION_CURRENT = GoldTable(
    name="dc_inventory_position_current",
    origin="reference gold.dc_inventory_position_current",
    kind="snapshot",
    description="On-hand units per distribution centre and product at the end of the month (see inventory_position_current).",
    grain="DC × product ever moved, as of the end of month_start's month",
    refresh="month",
    formula=POSITION_FORMULA.format(node="DC"),
    reconciliation=(
        "Rows = previous snapshot's rows + pairs first moved this month; Σ movements_this_month = Silver "
        "fact_dc_inventory_txn rows; every pair whose latest movement carries a balance has on_hand = that balance."
    ),
    columns=(
        dc_id(),
        product_id(),
        col("on_hand", D.INT64, "Units on hand after the pair's latest movement.", ge=0),
        col("as_of", D.TIMESTAMP, "Time of the pair's latest movement."),
        col("last_txn_type", D.STRING, "Kind of the latest movement."),
        count_column("movements_this_month", "Movements of the pair in the snapshot month."),
    ),
    key=("dc_id", "product_id"),
    inputs=inputs("fact_dc_inventory_txn"),
)


# The same computation for stores and distribution centres (lib/gold/positions.py), told apart by the table name.
dc_inventory_position_current = partial(positions, table="dc_inventory_position_current")
reconcile_dc_inventory_position_current = partial(reconcile_positions, table="dc_inventory_position_current")
