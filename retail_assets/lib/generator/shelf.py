"""Empty shelves: which (store, product, inventory day) runs out, from when, and what shoppers do then.

A receipt is a hash of its key (returns and ad journeys re-create sales of other months from their
keys alone), so whether a shopper finds a shelf empty cannot come from the month's sequential
stock simulation. It is decided here, from hashed inputs only, and the inventory simulation then
makes the ledger agree (see ``inventory.simulate_stores``):

- A *gap* starts on a store's inventory day (05:00-05:00 local) with a probability that rises with
  the product's velocity at that store and with the day's demand multipliers (holiday and season
  tags): fast movers and spiking products run out more (Gruen & Corsten: out-of-stocks concentrate
  on promoted, high-velocity items). It starts at an instant drawn along the day's shopping curve
  (so on average half of the day's demand is still to come) and lasts until the next delivery, or
  one or two days longer (a missed or short delivery).
- A shopper who wants a product while its shelf is empty substitutes another product of the same
  department (``SUBSTITUTE_SHARE``, a second hashed draw; never one that is itself missing) or
  leaves the line out of the basket: that demand is a lost sale. A receipt keeps at least one line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator import dictionaries as dic
from retail_assets.lib.generator.rng import stream_salt, uniform

PERIOD_START_HOUR = 5  # a store's inventory day starts with the 05:00 delivery (inventory.STORE_PERIOD_START)
# Gap probability per store-product-day: BASE_RATE x velocity factor x day multiplier^TAG_ELASTICITY.
BASE_RATE = 0.032
VELOCITY_FLOOR, VELOCITY_SPAN = 0.25, 1.75  # factor = floor + span x (velocity rank in the store)^2
TAG_ELASTICITY = 0.8
MAX_RATE = 0.5
# Extra days a gap lasts past its first day (a missed delivery), and their probabilities.
EXTRA_DAYS_CUM = np.cumsum([0.35, 0.25, 0.20, 0.20])
MAX_DAYS = len(EXTRA_DAYS_CUM)
# Gruen & Corsten: ~45 % of shoppers facing an empty shelf buy a substitute in the store.
SUBSTITUTE_SHARE = 0.45


def _gap_key(day, store, product) -> np.ndarray:
    return (np.asarray(day, dtype=np.uint64) << np.uint64(32)) | (np.asarray(store, dtype=np.uint64) << np.uint64(18)) | np.asarray(
        product, dtype=np.uint64
    )


@lru_cache(maxsize=4)
def velocity_factor(world) -> np.ndarray:
    """(stores, products): how much likelier than average a product runs out at a store, by velocity rank."""
    demand = world.store_daily_demand
    rank = np.argsort(np.argsort(demand, axis=1, kind="stable"), axis=1, kind="stable") / max(demand.shape[1] - 1, 1)
    return (VELOCITY_FLOOR + VELOCITY_SPAN * rank**2).astype(np.float32)


def tag_factor(world, ordinal: int) -> np.ndarray:
    """(products,) the day's demand multiplier from holiday and season tags (1.0 without)."""
    cache = world.day_cache("shelf_tags")
    if ordinal not in cache:
        mult = np.ones(world.config.products)
        for bit, m in enumerate(cal.tag_multipliers(cal.from_ordinal(ordinal))):
            if m != 1.0:
                mult = np.where((world.prod_tag_bits >> bit) & 1 == 1, np.maximum(mult, m), mult)
        cache[ordinal] = mult
    return cache[ordinal]


def _start_table(ordinal: int) -> np.ndarray:
    """Cumulative shopping curve over the 24 hours of an inventory day (hour 0 = 05:00)."""
    curve = np.roll(cal.hourly_curve(cal.from_ordinal(ordinal)), -PERIOD_START_HOUR)
    return np.concatenate([[0.0], np.cumsum(curve) / curve.sum()])


def gap_starts(world, ordinal, store, product) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (store, product) pairs on inventory day ``ordinal`` (arrays or a scalar day): whether a
    gap starts that day, its start (microseconds after 05:00) and how many days it lasts (1-3)."""
    c = world.config
    ordinal = np.broadcast_to(np.asarray(ordinal, dtype=np.int64), np.shape(store))
    key = _gap_key(ordinal, store, product)
    days = np.unique(ordinal)
    if len(days) == 1:
        tags = tag_factor(world, int(days[0]))[product]
    else:
        tags = np.empty(len(store))
        for d in days:
            m = ordinal == d
            tags[m] = tag_factor(world, int(d))[product[m]]
    rate = np.minimum(BASE_RATE * velocity_factor(world)[store, product] * tags**TAG_ELASTICITY, MAX_RATE)
    starts = uniform(key, stream_salt(c.seed, "shelf_gap")) < rate
    start = np.zeros(len(store), dtype=np.int64)
    length = np.zeros(len(store), dtype=np.int64)
    hit = np.flatnonzero(starts)
    if len(hit):
        u_start = uniform(key[hit], stream_salt(c.seed, "shelf_gap_start"))
        for d in days:
            m = ordinal[hit] == d
            if m.any():
                table = _start_table(int(d))
                hour = np.searchsorted(table, u_start[m], side="right").clip(1, 24) - 1
                frac = (u_start[m] - table[hour]) / np.maximum(table[hour + 1] - table[hour], 1e-12)
                start[hit[m]] = ((hour + frac) * cal.US_PER_HOUR).astype(np.int64)
        u_days = uniform(key[hit], stream_salt(c.seed, "shelf_gap_days"))
        length[hit] = np.searchsorted(EXTRA_DAYS_CUM, u_days, side="right").clip(0, MAX_DAYS - 1) + 1
    return starts, start, length


def empty_at(world, store: np.ndarray, product: np.ndarray, period: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Whether the shelf of (store, product) is empty on inventory day ``period`` at ``offset``
    microseconds after its 05:00 start: inside a gap that started that day or up to two days before."""
    empty = np.zeros(len(store), dtype=bool)
    for back in range(MAX_DAYS):
        starts, start, length = gap_starts(world, period - back, store, product)
        empty |= starts & (length > back) & ((back > 0) | (offset >= start))
    return empty


@lru_cache(maxsize=16)
def _substitutes(world, month_ordinal: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative popularity of launched products grouped by department (department d spans [d, d+1))."""
    launched = world.prod_launch_ordinal <= month_ordinal
    weight = world.prod_weight * launched
    order = np.lexsort((np.arange(len(weight)), world.prod_dept))
    dept = world.prod_dept[order]
    total = np.bincount(dept, weights=weight[order], minlength=len(dic.DEPARTMENTS))
    cum = np.cumsum(weight[order])
    before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    table = dept + (cum - before[dept]) / np.where(total[dept] > 0, total[dept], 1.0)
    return table, order


@dataclass
class ShelfLines:
    """The lines of a batch of receipts after meeting the shelves."""

    line_receipt: np.ndarray
    line_number: np.ndarray  # 1.. within the receipt, contiguous
    line_start: np.ndarray  # per receipt
    n_lines: np.ndarray  # per receipt, >= 1
    product: np.ndarray
    qty: np.ndarray
    kept: np.ndarray  # index of each line among the drawn ones
    lost_receipt: np.ndarray  # lines left out: receipt, product wanted and its units
    lost_product: np.ndarray
    lost_qty: np.ndarray


def sell_from_shelves(
    world,
    day: dt.date,
    store: np.ndarray,
    local_us: np.ndarray,
    line_receipt: np.ndarray,
    line_key: np.ndarray,
    product: np.ndarray,
    qty: np.ndarray,
    quantity_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> ShelfLines:
    """Substitute or drop the drawn lines whose product is in a gap at the receipt's time.

    ``store`` and ``local_us`` (microseconds into the local day) are per receipt; ``line_key``,
    ``product`` and ``qty`` per drawn line; ``quantity_of(line_index, product)`` gives a
    substituted line's units. Everything is a hash of the line's key, so a receipt re-created from
    its key alone meets the same shelves.
    """
    c = world.config
    n = len(store)
    ordinal = cal.ordinal(day)
    since = local_us - PERIOD_START_HOUR * cal.US_PER_HOUR
    period = np.where(since < 0, ordinal - 1, ordinal)
    offset = np.where(since < 0, since + cal.US_PER_DAY, since)
    l_store = store[line_receipt]
    empty = empty_at(world, l_store, product, period[line_receipt], offset[line_receipt])
    product = product.copy()
    qty = qty.copy()
    keep = ~empty
    if empty.any():
        idx = np.flatnonzero(empty)
        u_choice = uniform(line_key[idx], stream_salt(c.seed, "shelf_substitute"))
        u_product = uniform(line_key[idx], stream_salt(c.seed, "shelf_substitute_product"))
        table, order = _substitutes(world, cal.ordinal(day.replace(day=1)))
        dept = world.prod_dept[product[idx]]
        pos = np.searchsorted(table, dept + u_product, side="right").clip(0, len(table) - 1)
        substitute = order[pos].astype(product.dtype)
        r = line_receipt[idx]
        usable = (
            (substitute != product[idx])
            & (world.prod_dept[substitute] == dept)
            & ~empty_at(world, l_store[idx], substitute, period[r], offset[r])
        )
        # A receipt keeps at least one line: when neither its available lines nor its chosen substitutes
        # leave any, its first missing line is substituted (or, with no usable substitute, sold as is).
        chosen = usable & (u_choice < SUBSTITUTE_SHARE)
        kept_lines = np.bincount(line_receipt[keep], minlength=n) + np.bincount(r[chosen], minlength=n)
        first_missing = np.r_[True, r[1:] != r[:-1]]
        must = first_missing & (kept_lines[r] == 0)
        swap = chosen | (usable & must)
        product[idx[swap]] = substitute[swap]
        qty[idx[swap]] = quantity_of(idx[swap], substitute[swap])
        keep[idx[swap | must]] = True  # no usable substitute for the last line: the shopper found one left
    lost = np.flatnonzero(~keep)
    kept = np.flatnonzero(keep)
    receipt = line_receipt[kept]
    n_lines = np.bincount(receipt, minlength=n).astype(np.int64)
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    number = (np.arange(len(kept)) - line_start[receipt] + 1).astype(np.int32)
    return ShelfLines(
        line_receipt=receipt,
        line_number=number,
        line_start=line_start,
        n_lines=n_lines,
        product=product[kept],
        qty=qty[kept],
        kept=kept,
        lost_receipt=line_receipt[lost],
        lost_product=product[lost],
        lost_qty=qty[lost],
    )


@dataclass
class WindowGaps:
    """Gaps over an inventory window, per period (rows) and store-product (columns, store x products + product)."""

    state: np.ndarray  # (periods, stores x products) int8: 0 stocked, 1 a gap starts, 2 a gap continues
    period: np.ndarray  # per gap day: period index, store-product, start (microseconds after 05:00; 0 when continuing)
    sp: np.ndarray
    start: np.ndarray


def window_gaps(world, first_day: int, periods: int) -> WindowGaps:
    """Every gap day of the inventory days ``first_day`` .. ``first_day + periods - 1``."""
    c = world.config
    S, P = c.stores, c.products
    sp_all = np.arange(S * P, dtype=np.int64)
    store, product = sp_all // P, sp_all % P
    state = np.zeros((periods, S * P), dtype=np.int8)
    rows_period, rows_sp, rows_start = [], [], []
    for day in range(first_day - MAX_DAYS + 1, first_day + periods):
        starts, start, length = gap_starts(world, day, store, product)
        hit = np.flatnonzero(starts)
        for back in range(MAX_DAYS):
            k = day - first_day + back
            if not 0 <= k < periods:
                continue
            on = hit[length[hit] > back]
            state[k, on] = np.maximum(state[k, on], 1 if back == 0 else 2)
            rows_period.append(np.full(len(on), k))
            rows_sp.append(on)
            rows_start.append(start[on] if back == 0 else np.zeros(len(on), dtype=np.int64))
    period = np.concatenate(rows_period)
    sp = np.concatenate(rows_sp)
    start = np.concatenate(rows_start)
    # Overlapping gaps of one store-product: one row per day, the earliest start.
    order = np.lexsort((start, sp, period))
    period, sp, start = period[order], sp[order], start[order]
    first = np.r_[True, (period[1:] != period[:-1]) | (sp[1:] != sp[:-1])]
    # A day a previous gap continues is empty from 05:00, whatever starts later.
    start = np.where(state[period, sp] == 2, 0, start)
    return WindowGaps(state, period[first], sp[first], start[first])
