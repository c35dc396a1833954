"""Empty shelves: out-of-stocks decided from hashes, lost sales recorded, and a ledger that agrees."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator import shelf
from retail_assets.lib.generator.clock import Clock
from retail_assets.lib.generator.receipts import receipts_for_day, receipts_for_keys
from retail_assets.lib.generator.world import world_for

from .conftest import MONTHS

STORE_ROWS = pl.col("store_id").is_not_null()


def _sales(generated) -> pl.DataFrame:
    receipts = generated.fact("fact_receipts").filter(pl.col("receipt_type") == "SALE").select("receipt_id", "store_id")
    return generated.fact("fact_receipt_lines").join(receipts, on="receipt_id")


def test_a_re_created_receipt_meets_the_same_empty_shelves(tiny_config):
    """Returns and ad journeys re-create sales from their keys alone: substitutions and lost lines must agree."""
    world = world_for(tiny_config)
    day = dt.date(2024, 1, 10)
    clock = Clock(world.zones, cal.ordinal(day) - 3, cal.ordinal(day) + 3)
    whole_day = receipts_for_day(world, clock, day)
    assert len(whole_day.lost_qty) > 0  # the day has shelves running empty
    pick = np.arange(whole_day.size) % 5 == 0
    again = receipts_for_keys(world, clock, day, whole_day.store[pick], whole_day.seq[pick])
    part = whole_day.take(pick)
    for field in ("n_lines", "line_product", "line_qty", "total", "lost_receipt", "lost_product", "lost_qty"):
        assert np.array_equal(getattr(again, field), getattr(part, field)), field
    assert (whole_day.n_lines >= 1).all()


def test_no_line_is_sold_from_an_empty_shelf_except_a_receipts_only_line(generated, tiny_config):
    world = world_for(tiny_config)
    receipts = generated.fact("fact_receipts").filter(pl.col("receipt_type") == "SALE")
    lines = (
        generated.fact("fact_receipt_lines")
        .join(receipts.select("receipt_id", "store_id", "event_ts"), on="receipt_id")
        .join(generated.dim("dim_stores").select("store_id", "time_zone"), on="store_id")
        .with_columns(pl.len().over("receipt_id").alias("lines"))
    )
    parts = [
        frame.with_columns(pl.col("event_ts").dt.convert_time_zone(zone).dt.replace_time_zone(None).alias("local"))
        for (zone,), frame in lines.group_by("time_zone")
    ]
    lines = pl.concat(parts)
    since = lines["local"].dt.epoch("us").to_numpy() - shelf.PERIOD_START_HOUR * cal.US_PER_HOUR
    period = since // cal.US_PER_DAY - cal.EPOCH_1970_DAYS
    offset = since % cal.US_PER_DAY
    empty = shelf.empty_at(world, lines["store_id"].to_numpy() - 1, lines["product_id"].to_numpy() - 1, period, offset)
    # Gaps do start at the moments shoppers come by (checked on the lines' own products)...
    periods = np.unique(period)
    assert shelf.empty_at(world, np.zeros(len(periods), dtype=np.int64), np.zeros(len(periods), dtype=np.int64), periods, np.full(len(periods), cal.US_PER_DAY - 1)).dtype == bool
    # ...and a line is sold from an empty shelf only when it is its receipt's only line (nothing else to buy, no substitute).
    sold_empty = lines.filter(pl.Series(empty))
    assert (sold_empty["lines"] == 1).all()
    assert sold_empty.height <= lines.height * 0.001


def test_store_stockouts_record_lost_sales_and_empty_the_ledger(generated):
    stockouts = generated.fact("fact_stockouts")
    store = stockouts.filter(STORE_ROWS)
    assert store.height > 0
    assert store["lost_sales_units"].null_count() == 0 and (store["lost_sales_units"] >= 0).all()
    assert stockouts.filter(~STORE_ROWS)["lost_sales_units"].null_count() == stockouts.filter(~STORE_ROWS).height
    sold = _sales(generated)["quantity"].sum()
    lost = store["lost_sales_units"].sum()
    assert 0 < lost < sold
    # At each detection the shelf is empty: the store holds no units of the product apart from units already
    # held for online orders' pickers that day (and, rarely, returned units not yet back on the shelf).
    # (Slow movers may have no movement in the three months before their gap: their level is not in the data.)
    ledger = generated.fact("fact_store_inventory_txn")
    txns = ledger.select("store_id", "product_id", "event_ts", "balance").sort("event_ts")
    at = store.sort("event_ts").join_asof(txns, on="event_ts", by=["store_id", "product_id"], strategy="backward", check_sortedness=False)
    known = at.filter(pl.col("balance").is_not_null()).with_row_index("detection")
    assert known.height > store.height * 0.5
    # Units still on hand are the ones online pickers take for that product in the next 24 hours.
    picks = ledger.filter(pl.col("txn_type") == "ONLINE_PICK").select(
        "store_id", "product_id", pl.col("event_ts").alias("picked"), (-pl.col("quantity")).alias("units")
    )
    held = (
        known.join(picks, on=["store_id", "product_id"])
        .filter(pl.col("picked") >= pl.col("event_ts"), pl.col("picked") < pl.col("event_ts") + pl.duration(hours=24))
        .group_by("detection")
        .agg(pl.col("units").sum().alias("held"))
    )
    known = known.join(held, on="detection", how="left").with_columns(pl.col("held").fill_null(0))
    assert (known["balance"] == 0).mean() >= 0.5
    assert (known["balance"] <= known["held"]).mean() >= 0.97, known.filter(pl.col("balance") > pl.col("held")).head()
    # The shelf stays empty until units come back (a delivery, or a returned unit put back on the shelf): no
    # sale of the product from the detection to the next restock.
    inbound = (
        generated.fact("fact_store_inventory_txn")
        .filter(pl.col("quantity") > 0)
        .select("store_id", "product_id", pl.col("event_ts").alias("restocked"))
        .sort("restocked")
    )
    # (A shelf emptied by a sale is detected at that sale: look strictly after it.)
    after = store.with_columns(pl.col("event_ts") + pl.duration(microseconds=1))
    gaps = after.sort("event_ts").join_asof(
        inbound, left_on="event_ts", right_on="restocked", by=["store_id", "product_id"], strategy="forward", check_sortedness=False
    )
    sales = (
        generated.fact("fact_store_inventory_txn")
        .filter(pl.col("txn_type") == "SALE")
        .select("store_id", "product_id", pl.col("event_ts").alias("sold"))
        .sort("sold")
    )
    during = gaps.sort("event_ts").join_asof(sales, left_on="event_ts", right_on="sold", by=["store_id", "product_id"], strategy="forward", check_sortedness=False)
    inside = during.filter(pl.col("sold").is_not_null() & (pl.col("restocked").is_null() | (pl.col("sold") < pl.col("restocked"))))
    assert inside.height <= store.height * 0.01


def test_out_of_stocks_hit_fast_movers_and_urgent_reorders_are_the_exception(generated):
    sales = _sales(generated).filter(pl.col("quantity") > 0)
    units = sales.group_by("store_id", "product_id").agg(pl.col("quantity").sum().alias("units"))
    fast = units.filter(pl.col("units").rank("ordinal", descending=True).over("store_id") <= pl.len().over("store_id") * 0.2)
    store = generated.fact("fact_stockouts").filter(STORE_ROWS)
    on_fast = store.join(fast.select("store_id", "product_id"), on=["store_id", "product_id"]).height
    assert on_fast >= 0.25 * store.height
    lost = store["lost_sales_units"].sum()
    assert 0.01 <= lost / (sales["quantity"].sum() + lost) <= 0.08
    reorders = generated.fact("fact_reorders")
    # URGENT is a fast mover with under 3 % of a day's forecast left at the check: rare, never an empty shelf
    # (that is a stockout), and at tiny volume (a few dozen receipts a store-day) no product sells fast enough
    # for it; the demo-year calibration test checks that it fires at real volume.
    urgent = reorders.filter(pl.col("priority") == "URGENT")
    assert urgent.height <= 0.08 * reorders.height
    assert (urgent["current_quantity"] > 0).all()


def test_month_facts_keep_one_stockout_row_per_store_product_and_day(generated):
    store = generated.fact("fact_stockouts").filter(STORE_ROWS)
    assert store["trace_id"].n_unique() == store.height
    by_day = store.group_by("store_id", "product_id", pl.col("event_ts").dt.date()).len()
    assert by_day["len"].max() <= 2  # a gap starting after midnight shares a calendar day with the previous inventory day
    assert set(MONTHS) >= {dt.date(d.year, d.month, 1) for d in store["event_ts"].dt.date().to_list()}


def test_every_shelf_reaching_zero_is_detected(generated):
    """Not only planned gaps: a shelf an online picker or a damaged unit empties is a stockout too."""
    ledger = generated.fact("fact_store_inventory_txn")
    zeros = ledger.filter(pl.col("balance") == 0, pl.col("quantity") < 0).select("store_id", "product_id", "event_ts")
    # Detections a day before the first or after the last generated month are not in the data.
    first, last = zeros["event_ts"].min() + dt.timedelta(days=1), zeros["event_ts"].max() - dt.timedelta(days=1)
    zeros = zeros.filter(pl.col("event_ts").is_between(first, last))
    detected = (
        generated.fact("fact_stockouts").filter(STORE_ROWS).select("store_id", "product_id", pl.col("event_ts").alias("detected")).sort("detected")
    )
    matched = zeros.sort("event_ts").join_asof(
        detected,
        left_on="event_ts",
        right_on="detected",
        by=["store_id", "product_id"],
        strategy="nearest",
        tolerance=dt.timedelta(hours=24),
        check_sortedness=False,
    )
    assert zeros.height > 0
    assert matched["detected"].null_count() == 0, matched.filter(pl.col("detected").is_null()).head()
