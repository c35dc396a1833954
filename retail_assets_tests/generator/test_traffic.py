"""Store traffic, door counts, BLE reach and the customer base over time (tiny profile)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.world import World, world_for
from retail_assets_tests.generator.conftest import MONTHS

ENTRANCES = ["ENTRANCE_MAIN", "ENTRANCE_SIDE"]


def test_entrances_count_at_least_every_sale_of_each_store_hour(generated):
    """Door counters count shoppers, companions and browsers: entrances >= sales in every store-hour
    (so Gold's conversion_rate is a rate), ~0.4 sales per entering visitor over a store-day."""
    hour = pl.col("event_ts").dt.truncate("1h").alias("hour")
    sales = generated.fact("fact_receipts").filter(pl.col("receipt_type") == "SALE").group_by("store_id", hour).len("sales")
    doors = (
        generated.fact("fact_foot_traffic")
        .filter(pl.col("zone").is_in(ENTRANCES))
        .group_by("store_id", hour)
        .agg(pl.col("customer_count").sum().alias("entrances"))
    )
    both = sales.join(doors, on=["store_id", "hour"], how="left").with_columns(pl.col("entrances").fill_null(0))
    assert both.filter(pl.col("entrances") < pl.col("sales")).height == 0
    days = both.group_by("store_id", pl.col("hour").dt.date()).agg(pl.col("sales").sum(), pl.col("entrances").sum())
    conversion = days["sales"] / days["entrances"]
    assert ((conversion > 0) & (conversion <= 1)).all()
    assert 0.3 <= conversion.mean() <= 0.5


def test_ble_pings_only_for_app_users_and_proportionate(generated):
    """Beacons reach phones running the app: every ping names a known customer, and pinged visits are
    about known_customer_share x app_user_share of sales."""
    config = generated.config
    pings = generated.fact("fact_ble_pings")
    assert pings["customer_id"].null_count() == 0
    sales = generated.fact("fact_receipts").filter(pl.col("receipt_type") == "SALE").height
    visits = pings.select(pl.col("customer_id"), pl.col("event_ts").dt.date(), "store_id").unique().height
    expected = config.known_customer_share * config.app_user_share
    assert 0.7 * expected <= visits / sales <= 1.3 * expected


def test_customers_join_and_lapse_every_month():
    """New customers keep joining (2-12 % of a month's actives) and ~half of January's base is still
    active in December; the acquisition history never depends on generating earlier months."""
    world = World(load_config("demo", environ={}))
    months = [dt.date(2024, m, 1) for m in range(1, 13)]
    active = [world.customers_at(m).active for m in months]
    ever = active[0].copy()
    for month, now in zip(months[1:], active[1:], strict=True):
        new = now & ~ever
        assert 0.02 <= new.sum() / now.sum() <= 0.12, month
        ever |= now
    assert 0.35 <= (active[0] & active[-1]).sum() / active[0].sum() <= 0.75
    sizes = [a.sum() for a in active]
    assert max(sizes) / min(sizes) < 1.15  # joiners replace lapsers: the base stays level


def test_identified_shoppers_are_active_customers_weighted_by_visit_rate(generated):
    world = world_for(generated.config)
    frequent = world.cust_visit_rate > np.quantile(world.cust_visit_rate, 0.75)
    for month in MONTHS:
        receipts = generated.facts[month]["fact_receipts"].filter(pl.col("receipt_type") == "SALE")
        customer = receipts["customer_id"].drop_nulls().to_numpy() - 1
        state = world.customers_at(month)
        assert state.active[customer].all(), month
        # The top quarter by visit rate makes well over a quarter of the visits.
        assert frequent[customer].mean() > 0.4
        # Online orders come from the same active customers (orders straddling a month start are skipped).
        orders = generated.facts[month]["fact_online_order_headers"]
        ordered = orders.filter(pl.col("event_ts").dt.month() == month.month)["customer_id"].to_numpy() - 1
        assert len(ordered) and state.active[ordered].all(), month
