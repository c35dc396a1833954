"""Returns: items of some sales come back 1..N days later (never the same day), at the returns desk.

Whether a sale is looked at for a return (``return_rate``), when, and which of its lines come back,
is decided by hashing the sale's key, so the return is found from the sale's side: for a window of
return days, every sale of the N days before is checked, and only those sales are re-created (with
their exact lines and money) by :func:`receipts.receipts_for_keys`. No earlier month's output is needed.

Which lines: general merchandise comes back far more often than food (NRF: ~17 % of all retail
sales are returned, grocery food ~1-2 %), and dearer items more often than cheap ones; a sale
none of whose lines comes back has no return.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator.clock import Clock
from retail_assets.lib.generator.receipts import ReceiptBatch, concat_batches, day_counts, receipt_key, receipts_for_keys
from retail_assets.lib.generator.rng import stream_salt, uniform

DESK_OPEN, DESK_CLOSE = 10, 20  # local hours of the returns desk (within store hours)
RESTOCK, RETURN_TO_VENDOR, DAMAGED = range(3)
# Chance that a line of a sale looked at for a return comes back: food, non-food, non-food of at
# least DEAR_CENTS a unit.
FOOD_RETURN, GOODS_RETURN, DEAR_RETURN, DEAR_CENTS = 0.02, 0.30, 0.50, 2500


@dataclass
class Returns:
    """Returned sales: one entry per return receipt, and the returned lines."""

    original: ReceiptBatch  # the sales being returned (their original lines)
    day: np.ndarray  # return day ordinal
    ts: np.ndarray  # return time, UTC microseconds
    ts_local: np.ndarray
    # returned lines, indexes into original's lines
    line_index: np.ndarray
    line_receipt: np.ndarray  # index into the returns
    line_number: np.ndarray  # 1..m on the return receipt
    disposition: np.ndarray  # RESTOCK, RETURN_TO_VENDOR or DAMAGED

    @property
    def size(self) -> int:
        return len(self.day)


def _return_day(world, sale_day: np.ndarray, key: np.ndarray) -> np.ndarray:
    c = world.config
    u = uniform(key, stream_salt(c.seed, "return_delay"))
    delay = 1 + np.floor(c.return_window_days * u**2).astype(np.int64)
    day = sale_day + delay
    closed = np.array([cal.store_closed(cal.from_ordinal(d)) for d in np.unique(day)], dtype=bool)
    closed_days = np.unique(day)[closed]
    return np.where(np.isin(day, closed_days), day + 1, day)


def returns_between(world, clock: Clock, first_day: int, last_day: int) -> Returns:
    """Returns whose local return day is in [first_day, last_day] (ordinals)."""
    c = world.config
    batches, days = [], []
    for sale_day in range(first_day - c.return_window_days - 1, last_day):
        day = cal.from_ordinal(sale_day)
        counts = day_counts(world, day).sum(axis=1)
        store = np.repeat(np.arange(c.stores), counts)
        seq = np.arange(len(store)) - np.repeat(np.cumsum(counts) - counts, counts)
        key = receipt_key(np.full(len(store), sale_day), store, seq)
        returned = uniform(key, stream_salt(c.seed, "returned")) < c.return_rate * _season_boost(day)
        ret_day = _return_day(world, np.full(len(store), sale_day), key)
        keep = returned & (ret_day >= first_day) & (ret_day <= last_day)
        if keep.any():
            batches.append(receipts_for_keys(world, clock, day, store[keep], seq[keep]))
            days.append(ret_day[keep])
    original = concat_batches(batches)
    ret_day = np.concatenate(days) if days else np.zeros(0, dtype=np.int64)
    return _assemble(world, clock, original, ret_day)


def _season_boost(day: dt.date) -> float:
    """Gifts bought from Thanksgiving to Christmas come back more often (Boxing Day returns)."""
    thanksgiving = cal.nth_weekday(day.year, 11, 3, 4)
    return 2.0 if thanksgiving <= day <= dt.date(day.year, 12, 24) else 1.0


def _returned_lines(world, sales: ReceiptBatch) -> np.ndarray:
    """Per line of ``sales``: does it come back (a hash of the line's key)?"""
    lkey = (sales.key[sales.line_receipt] << np.uint64(6)) | sales.line_number.astype(np.uint64)
    chance = np.where(
        world.prod_food[sales.line_product], FOOD_RETURN, np.where(sales.line_unit >= DEAR_CENTS, DEAR_RETURN, GOODS_RETURN)
    )
    return uniform(lkey, stream_salt(world.config.seed, "return_line")) < chance


def _assemble(world, clock: Clock, original: ReceiptBatch, ret_day: np.ndarray) -> Returns:
    c = world.config
    has_return = np.bincount(original.line_receipt, weights=_returned_lines(world, original), minlength=original.size) > 0
    original, ret_day = original.take(has_return), ret_day[has_return]
    n = original.size
    key = original.key
    u = lambda name: uniform(key, stream_salt(c.seed, name))
    # Returns desk hours, inside the store's hours of the return day.
    open_h = np.zeros(n)
    close_h = np.zeros(n)
    for d in np.unique(ret_day):
        state = world.stores_at(cal.from_ordinal(d).replace(day=1))
        m = ret_day == d
        open_h[m] = np.maximum(state.open_hour[original.store[m]], DESK_OPEN)
        close_h[m] = np.minimum(state.close_hour[original.store[m]], DESK_CLOSE)
    local_us = ((open_h + u("return_time") * (close_h - open_h)) * cal.US_PER_HOUR).astype(np.int64)
    ts = clock.local_to_utc(world.store_zone[original.store], ret_day, local_us)
    ts_local = (ret_day + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY + local_us

    # Which lines come back; sales with none are not returns.
    line_index = np.flatnonzero(_returned_lines(world, original))
    line_receipt = original.line_receipt[line_index].astype(np.int64)
    within = np.arange(len(line_index)) - np.searchsorted(line_receipt, line_receipt)  # rank on the return receipt
    product = original.line_product[line_index]
    lkey = (key[line_receipt] << np.uint64(6)) | within.astype(np.uint64)
    ud = uniform(lkey, stream_salt(c.seed, "disposition"))
    disposition = np.where(world.prod_food[product], DAMAGED, np.where(ud < 0.6, RESTOCK, np.where(ud < 0.9, RETURN_TO_VENDOR, DAMAGED)))
    return Returns(original, ret_day, ts, ts_local, line_index, line_receipt, within + 1, disposition)
