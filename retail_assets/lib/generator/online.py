"""Online orders: created through the day, fulfilled from the nearest DC or the home store.

Each UTC day's orders come from that day's random stream. An order is shipped from a DC, shipped
from a store, or picked up in store (BOPIS); it is picked, shipped and delivered at realistic
times (store picks and pickups only while the store is open). Picks take stock from the node
(ONLINE_PICK inventory rows). 2 % are cancelled: no money, no payment, no pick; the header still
counts the units its lines ordered.

An online order is a stock-up trip, not a top-up: grocery-led and about $100 before tax (delivery and
pickup AOV ~$105 against ~$30-60 in store, foodondemandnews.com). The number of lines is sized from the
day's catalogue (expected value of a line under the online department mix), so the basket value stays
where the sources put it whatever the prices. Fulfilment follows Brick Meets Click / digitalcommerce360
2024: pickup 42-47 % of e-grocery orders, ship-to-home 16-19 %, the rest delivered from the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator.clock import Clock, local_day
from retail_assets.lib.generator.receipts import CREDIT, DEBIT, OTHER, PAYPAL, draw_products, product_day, tax_cents
from retail_assets.lib.generator.rng import cumulative, stream
from retail_assets.lib.specs.facts import FULFILLMENT_MODES

# Fulfilment mode codes: positions in the spec's FULFILLMENT_MODES (MODE_SHARE below is in this order).
SHIP_FROM_DC, SHIP_FROM_STORE, BOPIS = (FULFILLMENT_MODES.index(m) for m in ("SHIP_FROM_DC", "SHIP_FROM_STORE", "BOPIS"))
# Order shares by fulfilment mode (SHIP_FROM_DC, SHIP_FROM_STORE, BOPIS): ship-to-home 17.5 %, pickup 45 %.
MODE_SHARE = np.array([0.175, 0.375, 0.45])
MODE_CUM = cumulative(MODE_SHARE)
# Share of an online order's lines per department (dictionaries.DEPARTMENTS order): a grocery stock-up
# with household, baby and pet staples; little general merchandise, which shoppers buy elsewhere online.
ONLINE_MIX = np.array([0.70, 0.08, 0.06, 0.02, 0.01, 0.01, 0.05, 0.04, 0.005, 0.01, 0.005, 0.01])
# Mean subtotal of an order before tax and discounts, in cents; with sales tax on non-food ~$105 total.
TARGET_GROSS_CENTS = 10_400
# Units per line: food (1, 2 or 3 units; 60/30/10 %) and other products (1 or 2; 85/15 %).
FOOD_QTY_CUM = cumulative([0.6, 0.3, 0.1])
OTHER_QTY_CUM = cumulative([0.85, 0.15])
MEAN_QTY_FOOD, MEAN_QTY_OTHER = 1.5, 1.15
# Spread of the basket size around its mean (gamma shape: coefficient of variation 1/sqrt(4) = 0.5).
LINES_SHAPE = 4.0
MAX_LINES = 80
LINE_BITS = 7  # order_line_key: line numbers 1..MAX_LINES of an order
if MAX_LINES >= 1 << LINE_BITS:
    raise RuntimeError("online.MAX_LINES must fit in LINE_BITS")
TENDERS = np.array([CREDIT, DEBIT, PAYPAL, OTHER])
TENDER_CUM = cumulative([0.6, 0.25, 0.1, 0.05])
PROMO_CODES = ("PROMO5", "PROMO10", "PROMO20")
PROMO_PCT = np.array([5, 10, 20])
CANCEL_RATE = 0.02
MIN = cal.US_PER_MINUTE
HOUR = cal.US_PER_HOUR
# Orders by UTC hour: the US evening peak falls around 00:00-03:00 UTC.
UTC_CURVE = np.roll(cal.HOURLY_ONLINE, 5)


@dataclass
class OnlineBatch:
    """Online orders (one entry per order) and their lines."""

    day: np.ndarray
    seq: np.ndarray
    ts: np.ndarray
    customer: np.ndarray
    mode: np.ndarray
    node: np.ndarray  # dc index or store index
    tax_store: np.ndarray
    tender: np.ndarray
    cancelled: np.ndarray
    attributed: np.ndarray
    n_lines: np.ndarray
    line_start: np.ndarray
    gross: np.ndarray
    discount: np.ndarray
    subtotal: np.ndarray
    tax: np.ndarray
    items: np.ndarray
    picked: np.ndarray  # per order, UTC us (0 when cancelled)
    shipped: np.ndarray  # 0 when not shipped (BOPIS, cancelled)
    delivered: np.ndarray
    line_order: np.ndarray
    line_number: np.ndarray
    line_product: np.ndarray
    line_qty: np.ndarray
    line_unit: np.ndarray
    line_discount: np.ndarray
    line_ext: np.ndarray
    line_promo: np.ndarray  # index into PROMO_CODES, -1 when none

    @property
    def size(self) -> int:
        return len(self.day)

    @property
    def total(self) -> np.ndarray:
        return self.subtotal + self.tax


def order_key(day: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return (np.asarray(day, dtype=np.int64) << 20) | np.asarray(seq, dtype=np.int64)


def order_line_key(okey: np.ndarray, line_number: np.ndarray) -> np.ndarray:
    """A key per order line (pick movements are traced by it): the order's key and the line number."""
    return (np.asarray(okey, dtype=np.int64) << LINE_BITS) | np.asarray(line_number, dtype=np.int64)


def next_open(world, clock: Clock, store: np.ndarray, utc_us: np.ndarray, delay_us: np.ndarray) -> np.ndarray:
    """``utc_us`` if the store is open then, else its next opening plus ``delay_us``."""
    zone = world.store_zone[store]
    out = utc_us.copy()
    pending = np.ones(len(out), dtype=bool)
    for _ in range(4):
        if not pending.any():
            break
        idx = np.flatnonzero(pending)
        local = clock.utc_to_local(zone[idx], out[idx])
        day = local_day(local)
        hour = (local - (day + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY) / HOUR
        open_h = np.zeros(len(idx))
        close_h = np.zeros(len(idx))
        closed = np.zeros(len(idx), dtype=bool)
        for d in np.unique(day):
            date = cal.from_ordinal(d)
            state = world.stores_at(date.replace(day=1))
            m = day == d
            open_h[m] = state.open_hour[store[idx[m]]]
            close_h[m] = state.close_hour[store[idx[m]]]
            closed[m] = cal.store_closed(date)
        ok = ~closed & (hour >= open_h) & (hour < close_h)
        before = ~closed & (hour < open_h)
        target_day = np.where(before, day, day + 1)
        moved = ~ok
        if moved.any():
            tgt = target_day[moved]
            moved_store = store[idx[moved]]
            open_next = np.zeros(len(tgt), dtype=np.int64)
            for d in np.unique(tgt):
                m = tgt == d
                open_next[m] = world.stores_at(cal.from_ordinal(d).replace(day=1)).open_hour[moved_store[m]]
            out[idx[moved]] = clock.local_to_utc(zone[idx[moved]], tgt, open_next * HOUR + delay_us[idx[moved]])
        pending[idx[ok]] = False
    return out


def _local_day_time(world, clock: Clock, store: np.ndarray, utc_us: np.ndarray, plus_days: np.ndarray, hours: np.ndarray):
    """UTC of (local day of ``utc_us`` + ``plus_days``) at local ``hours``, in the store's zone."""
    zone = world.store_zone[store]
    day = local_day(clock.utc_to_local(zone, utc_us)) + plus_days
    return clock.local_to_utc(zone, day, (hours * HOUR).astype(np.int64))


def mean_lines(world, day: dt.date) -> float:
    """Lines of an average order on ``day``: the target basket over the expected value of one line."""
    cache = world.day_cache("online_mean_lines")
    if day not in cache:
        table, _ = product_day(world, day).table(ONLINE_MIX[None, :])
        chance = np.diff(table, prepend=0.0)
        qty = np.where(world.prod_food, MEAN_QTY_FOOD, MEAN_QTY_OTHER)
        line_value = float(chance @ (world.prod_price * qty))
        cache[day] = float(np.clip(TARGET_GROSS_CENTS / max(line_value, 1.0), 3.0, MAX_LINES / 2))
    return cache[day]


def store_units_per_order(world, day: dt.date) -> float:
    """Expected units an average order takes from a store (pickup or store delivery), for par levels."""
    food = float(ONLINE_MIX[0])
    qty = food * MEAN_QTY_FOOD + (1 - food) * MEAN_QTY_OTHER
    return mean_lines(world, day) * qty * float(MODE_SHARE[SHIP_FROM_STORE] + MODE_SHARE[BOPIS])


def online_day(world, clock: Clock, day: dt.date, *, lifecycle: bool = True) -> OnlineBatch:
    """The orders created on UTC ``day``; without ``lifecycle`` only what ad journeys need."""
    c = world.config
    ordinal = cal.ordinal(day)
    rng = stream(c.seed, "online", ordinal)
    n = int(rng.poisson(c.online_orders_per_day * cal.online_multiplier(day)))
    hour = np.searchsorted(cumulative(UTC_CURVE), rng.random(n), side="right").clip(0, 23)
    ts = np.sort((ordinal + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY + hour * HOUR + (rng.random(n) * HOUR).astype(np.int64))
    # Online shoppers are active customers (joined, not lapsed), weighted by how often they shop.
    state = world.customers_at(day.replace(day=1))
    customer = state.pick(rng.random(n), np.full(n, -1, dtype=np.int64)) + 1
    mode = np.searchsorted(MODE_CUM, rng.random(n), side="right").clip(0, 2)
    home = state.home_store[customer - 1]
    node = np.where(mode == SHIP_FROM_DC, world.geo_nearest_dc[state.geography[customer - 1]], home)
    tender = TENDERS[np.searchsorted(TENDER_CUM, rng.random(n), side="right").clip(0, 3)]
    cancelled = rng.random(n) < CANCEL_RATE
    attributed = ~cancelled & (rng.random(n) < c.attribution_rate)
    size = rng.gamma(LINES_SHAPE, mean_lines(world, day) / LINES_SHAPE, n)
    n_lines = np.clip(np.rint(size), 1, MAX_LINES).astype(np.int64)
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    line_order = np.repeat(np.arange(n), n_lines)
    line_number = np.arange(len(line_order)) - np.repeat(line_start, n_lines) + 1
    product = draw_products(world, day, ONLINE_MIX[None, :], np.zeros(len(line_order), dtype=np.int64), rng.random(len(line_order)))
    uq = rng.random(len(line_order))
    qty = np.where(
        world.prod_food[product],
        np.searchsorted(FOOD_QTY_CUM, uq, side="right").clip(0, 2) + 1,
        np.searchsorted(OTHER_QTY_CUM, uq, side="right").clip(0, 1) + 1,
    ).astype(np.int64)
    unit = world.prod_price[product]
    has_promo = rng.random(n) < 0.25
    promo = np.where(has_promo, np.searchsorted(cumulative([0.5, 0.35, 0.15]), rng.random(n), side="right").clip(0, 2), -1)
    line_promo = np.where(rng.random(len(line_order)) < 0.5, promo[line_order], -1)
    line_promo = np.where(cancelled[line_order], -1, line_promo)
    gross_line = np.where(cancelled[line_order], 0, unit * qty)
    line_discount = np.where(line_promo >= 0, (gross_line * PROMO_PCT[np.maximum(line_promo, 0)] + 50) // 100, 0)
    ext = gross_line - line_discount
    tax_store = home
    line_tax = tax_cents(ext, world.store_tax_bps[tax_store][line_order].astype(np.int64), world.prod_tax_half_units[product])
    reduce = lambda v: np.add.reduceat(v, line_start) if n else np.zeros(0, dtype=np.int64)
    items = reduce(qty)

    picked = np.zeros(n, dtype=np.int64)
    shipped = np.zeros(n, dtype=np.int64)
    delivered = np.zeros(n, dtype=np.int64)
    if lifecycle and n:
        active = ~cancelled
        dc_mode = active & (mode == SHIP_FROM_DC)
        store_mode = active & (mode == SHIP_FROM_STORE)
        bopis = active & (mode == BOPIS)
        wait = (rng.uniform(30, 240, n) * MIN).astype(np.int64)
        delay = (rng.uniform(15, 60, n) * MIN).astype(np.int64)
        transit = rng.integers(1, 4, n)
        drop_hour = rng.uniform(10, 20, n)
        picked[dc_mode] = ts[dc_mode] + wait[dc_mode]
        in_store = store_mode | bopis
        picked[in_store] = next_open(world, clock, node[in_store], ts[in_store] + wait[in_store], delay[in_store])
        handling = (rng.uniform(60, 420, n) * MIN).astype(np.int64)
        ships = dc_mode | store_mode
        shipped[ships] = picked[ships] + handling[ships]
        transit = np.where(store_mode, np.minimum(transit, 2), transit)
        delivered[ships] = _local_day_time(world, clock, home[ships], shipped[ships], transit[ships], drop_hour[ships])
        pickup = picked[bopis] + (rng.uniform(2, 48, int(bopis.sum())) * HOUR).astype(np.int64)
        delivered[bopis] = next_open(world, clock, node[bopis], pickup, delay[bopis])
    return OnlineBatch(
        day=np.full(n, ordinal, dtype=np.int64),
        seq=np.arange(n, dtype=np.int64),
        ts=ts,
        customer=customer.astype(np.int64),
        mode=mode,
        node=node.astype(np.int64),
        tax_store=tax_store.astype(np.int64),
        tender=tender,
        cancelled=cancelled,
        attributed=attributed,
        n_lines=n_lines,
        line_start=line_start,
        gross=reduce(gross_line),
        discount=reduce(line_discount),
        subtotal=reduce(ext),
        tax=reduce(line_tax),
        items=items,
        picked=picked,
        shipped=shipped,
        delivered=delivered,
        line_order=line_order,
        line_number=line_number,
        line_product=product.astype(np.int64),
        line_qty=qty,
        line_unit=unit,
        line_discount=line_discount,
        line_ext=ext,
        line_promo=line_promo,
    )


def concat_online(batches: list[OnlineBatch]) -> OnlineBatch:
    batches = [b for b in batches if b.size]
    if not batches:
        return OnlineBatch(**{f: np.zeros(0, dtype=np.int64) for f in OnlineBatch.__dataclass_fields__})
    out = {}
    line_offsets = np.cumsum([0] + [len(b.line_order) for b in batches[:-1]])
    order_offsets = np.cumsum([0] + [b.size for b in batches[:-1]])
    for f in OnlineBatch.__dataclass_fields__:
        parts = [getattr(b, f) for b in batches]
        if f == "line_start":
            parts = [p + o for p, o in zip(parts, line_offsets, strict=True)]
        elif f == "line_order":
            parts = [p + o for p, o in zip(parts, order_offsets, strict=True)]
        out[f] = np.concatenate(parts)
    return OnlineBatch(**out)
