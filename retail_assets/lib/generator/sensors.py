"""In-store sensors: door/aisle counters per store-hour, BLE beacon pings and zone changes per visit.

Door counters count everyone who comes in: each sale's shopper, their companions and people who
leave without buying, so the entrances of a store-hour are always at least its sales (grocery
conversion is 25-40 %, V-Count). Each sale is a shopper's visit that ends at the till: the shopper
walks through 2-4 zones (entrance, shopping zones weighted by store format, checkout); beacons only
reach phones running the store's app (known shoppers who are app users), pinging them a few times
per zone under the customer's ``ble_id``, so zone changes are the moments a device's pings move to
a new zone.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator.clock import Clock
from retail_assets.lib.generator.receipts import ReceiptBatch, day_counts
from retail_assets.lib.generator.rng import stream
from retail_assets.lib.specs.facts import BLE_ZONES

# Zone codes: positions in the spec's BLE_ZONES (the arrays below are in this order).
ENTRANCE, ELECTRONICS, GROCERY, CLOTHING, CHECKOUT = (
    BLE_ZONES.index(z) for z in ("ENTRANCE", "ELECTRONICS", "GROCERY", "CLOTHING", "CHECKOUT")
)
if (ENTRANCE, ELECTRONICS, GROCERY, CLOTHING, CHECKOUT) != tuple(range(5)):
    raise RuntimeError("sensors.py's per-zone arrays assume BLE_ZONES in the order ENTRANCE..CHECKOUT")
# Shopping-zone weights (electronics, grocery, clothing) by store format.
SHOPPING_WEIGHTS = np.array([[0.25, 0.30, 0.15], [0.20, 0.30, 0.15], [0.15, 0.25, 0.15], [0.10, 0.25, 0.10], [0.05, 0.20, 0.05]])
PING_FORMAT_MULT = np.array([1.6, 1.3, 1.0, 0.85, 0.65])
MAX_PINGS = 63
# Pings per zone and visit: ~2-3 (a beacon reports a phone every ~30-60 s), ~9 a visit; with app users
# only, a reference day has about the reference generator's ~285k pings.
PING_SCALE = 0.55

# Foot-traffic sensor zones: the spec's FOOT_TRAFFIC_ZONES, in the order the per-zone arrays below use.
# Per store format: share of visitors through the main entrance, and of visitors reaching aisles A and B.
MAIN_ENTRANCE_SHARE = np.array([0.62, 0.66, 0.7, 0.75, 0.85])
AISLE_REACH = np.array([[0.75, 0.65], [0.7, 0.6], [0.65, 0.5], [0.6, 0.4], [0.4, 0.2]])
CHECKOUT_PEOPLE_PER_SALE = 1.25  # shoppers and the companions queueing with them
FOOT_DWELL = np.array([[45, 90], [30, 75], [180, 420], [120, 300], [90, 240]])
# Sales per entering visitor: ~0.4 on average (entrances count companions and browsers), a little
# higher at lunch and the after-work rush (quick missions), lower on weekends (families shop together).
CONVERSION = 0.42


def _conversion(hour: np.ndarray, weekend: bool) -> np.ndarray:
    """Share of entering visitors who buy, by hour."""
    factor = np.select(
        [np.isin(hour, [12, 13, 17, 18]), np.isin(hour, [10, 11, 14, 15, 16, 19]), np.isin(hour, [8, 9, 20, 21])],
        [1.1, 1.0, 0.92],
        0.85,
    )
    return CONVERSION * factor * (0.92 if weekend else 1.0)


def ble_day(world, clock: Clock, day: dt.date, sales: ReceiptBatch) -> dict[str, dict[str, np.ndarray]]:
    """BLE pings and zone changes of the day's visits whose phone answers the beacons: known shoppers
    who use the app (app_user_share of them); other shoppers leave no BLE trace."""
    c = world.config
    rng = stream(c.seed, "ble", cal.ordinal(day))
    app = np.flatnonzero((sales.customer > 0) & (rng.random(sales.size) < c.app_user_share))
    visits = {f: getattr(sales, f)[app] for f in ("store", "n_lines", "day", "ts", "ts_local", "key", "customer")}
    n = len(app)
    state = world.stores_at(day.replace(day=1))
    fmt = state.store_format[visits["store"]]
    traffic = np.clip(state.traffic[visits["store"]], 0.6, 1.8)

    n_zones = np.searchsorted([0.35, 0.75], rng.random(n), side="right") + 2
    gumbel = np.log(SHOPPING_WEIGHTS[fmt]) - np.log(-np.log(rng.random((n, 3))))
    shopping_order = np.argsort(-gumbel, axis=1) + ELECTRONICS  # zone codes 1..3, best first
    # Zone sequence: [ENTRANCE] + shopping zones + [CHECKOUT]; with 2 zones: one shopping zone + checkout.
    seq = np.full((n, 4), -1, dtype=np.int64)
    has_entrance = n_zones >= 3
    n_shopping = np.where(has_entrance, n_zones - 2, 1)
    seq[:, 0] = np.where(has_entrance, ENTRANCE, shopping_order[:, 0])
    for k in range(1, 4):
        shop_index = np.where(has_entrance, k - 1, k)
        is_shop = shop_index < n_shopping
        seq[:, k] = np.where(
            k == n_zones - 1, CHECKOUT, np.where(is_shop & (k < n_zones), shopping_order[np.arange(n), np.minimum(shop_index, 2)], -1)
        )
    per_zone = np.maximum(1, np.round((2 + rng.integers(0, 4, (n, 4))) * PING_FORMAT_MULT[fmt, None] * traffic[:, None] * PING_SCALE))
    per_zone = np.where(seq >= 0, per_zone, 0).astype(np.int64)
    total = per_zone.sum(axis=1)
    over = total > MAX_PINGS
    if over.any():
        # Scale to at most MAX_PINGS - 4 before the one-ping floor per zone, so the total stays <= MAX_PINGS.
        per_zone[over] = np.maximum(1, per_zone[over] * (MAX_PINGS - 4) // total[over, None]) * (seq[over] >= 0)
        total = per_zone.sum(axis=1)

    # Visit window: ends at the till; starts up to an hour earlier, never before the store opened.
    minutes = np.minimum(75, 6 + 1.2 * visits["n_lines"] + rng.uniform(0, 10, n))
    open_local = (visits["day"] + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY + state.open_hour[visits["store"]].astype(np.int64) * cal.US_PER_HOUR
    start_local = np.maximum(
        visits["ts_local"] - (minutes * cal.US_PER_MINUTE).astype(np.int64), np.where(state.hours[visits["store"]] == 0, 0, open_local)
    )
    span = visits["ts_local"] - start_local

    visit = np.repeat(np.arange(n, dtype=np.int32), total)
    ping_no = (np.arange(len(visit)) - np.repeat(np.cumsum(total) - total, total)).astype(np.int32)
    # Pings are ordered by visit, then by zone in walking order.
    zone = np.repeat(seq.ravel(), per_zone.ravel()).astype(np.int8)
    offset = ((ping_no + rng.random(len(visit))) / total[visit] * span[visit]).astype(np.int64)
    ts = visits["ts"][visit] - (visits["ts_local"][visit] - start_local[visit]) + offset

    visit_key = visits["key"][visit].astype(np.int64)
    pings = {
        "key": (visit_key << 6) | ping_no,
        "ts": ts,
        "store": visits["store"][visit].astype(np.int32),
        "zone": zone,
        "visit_key": visit_key,
        "customer": visits["customer"].astype(np.int32)[visit],
        "rssi": rng.integers(-80, -29, len(visit), dtype=np.int8),
    }
    first_of_zone = np.zeros(len(visit), dtype=bool)
    first_of_zone[1:] = (visit[1:] == visit[:-1]) & (zone[1:] != zone[:-1])
    changes = {k: pings[k][first_of_zone] for k in ("key", "ts", "store", "visit_key", "customer")}
    changes["from_zone"] = zone[np.flatnonzero(first_of_zone) - 1]
    changes["to_zone"] = zone[first_of_zone]
    return {"ble": pings, "zone_changes": changes}


def foot_traffic_day(world, clock: Clock, day: dt.date) -> dict[str, np.ndarray]:
    """Visitors counted per open store-hour and sensor zone."""
    c = world.config
    if cal.store_closed(day):
        return {}
    rng = stream(c.seed, "foot_traffic", cal.ordinal(day))
    counts = day_counts(world, day)
    state = world.stores_at(day.replace(day=1))
    hours = np.arange(24)
    is_open = (hours[None, :] >= state.open_hour[:, None]) & (hours[None, :] < state.close_hour[:, None])
    store, hour = np.nonzero(is_open)
    n = len(store)
    sales = counts[store, hour]
    conversion = _conversion(hour, day.weekday() >= 5) * rng.uniform(0.9, 1.1, n)
    visitors = np.ceil(sales / conversion).astype(np.int64)  # >= sales: conversion < 1
    fmt = state.store_format[store]
    main = np.round(visitors * MAIN_ENTRANCE_SHARE[fmt] * rng.uniform(0.95, 1.05, n)).astype(np.int64).clip(0, visitors)
    aisles = np.round(visitors[:, None] * AISLE_REACH[fmt] * rng.uniform(0.9, 1.1, (n, 2))).astype(np.int64)
    checkout = np.round(sales * CHECKOUT_PEOPLE_PER_SALE * rng.uniform(0.95, 1.05, n)).astype(np.int64)
    people = np.column_stack([main, visitors - main, aisles, checkout])
    dwell = FOOT_DWELL[:, 0][None, :] + (rng.random((n, 5)) * (FOOT_DWELL[:, 1] - FOOT_DWELL[:, 0])[None, :]).astype(np.int64)
    days = np.full(n, cal.ordinal(day), dtype=np.int64)
    ts = clock.local_to_utc(world.store_zone[store], days, hour.astype(np.int64) * cal.US_PER_HOUR)
    zone = np.tile(np.arange(5), n)
    rep = np.repeat(np.arange(n), 5)
    key = (days[rep] << 25) | (store[rep].astype(np.int64) << 8) | (hour[rep].astype(np.int64) << 3) | zone
    return {
        "key": key,
        "ts": ts[rep],
        "store": store[rep].astype(np.int64),
        "zone": zone,
        "count": people.ravel(),
        "dwell": dwell.ravel(),
    }
