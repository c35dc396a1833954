"""Store and DC inventory: replenishment decisions, shipments and the ledgers with running balances.

How every month can be generated on its own while balances stay continuous across months:

- A store's inventory day ("period") runs from 05:00 to 05:00 local time; deliveries arrive at
  05:00, the nightly replenishment run is at 23:00. On the morning of the last local day of every
  month, vendors top every product up to a level both neighbouring months can compute (direct
  store delivery): ``level = max(par, that period's outflow + reorder point)``. The month after
  starts from exactly that level, so it needs nothing from the month before.
- A DC's day runs from 14:00 (its daily supplier-order check) to 14:00; supplier deliveries arrive
  at 22:00, store loads leave around midnight. At 14:00 on the last local day of every month,
  suppliers top the DC up the same way.
- Sales do not depend on stock except through the shelf gaps, which are hashes (``shelf``): the
  checks order from a forecast, and deliveries are shaped so the stock reaches zero exactly where
  a gap starts and never goes negative elsewhere. Reorders go to the store's nearest DC and travel
  by truck (SCHEDULED -> LOADING -> IN_TRANSIT -> ARRIVED -> UNLOADING -> COMPLETED), arriving
  before the store opens.

Every ledger row carries its balance after the movement; rows are ordered by (node, product, time),
so ``balance = previous balance + quantity`` holds row by row, also from one month's file to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator import shelf
from retail_assets.lib.generator.clock import Clock, local_day
from retail_assets.lib.generator.receipts import day_counts
from retail_assets.lib.generator.rng import stream_salt, uniform

HOUR = cal.US_PER_HOUR
MINUTE = cal.US_PER_MINUTE
STORE_PERIOD_START = 5.0  # local hour deliveries arrive and the store's inventory day begins
STORE_CHECK = 23.0  # nightly replenishment run
CYCLE_COUNT = STORE_CHECK - 1 / 60
DC_PERIOD_START = 14.0  # daily supplier-order check (and the month-end top-up)
DC_ARRIVAL = 22.0  # supplier deliveries

# Store ledger kinds (also the top bits of the trace key).
SALE, RETURN, DAMAGED, RTV, ONLINE_PICK, INBOUND, TOPUP, ADJUSTMENT, WRITE_OFF = range(9)
STORE_TXN_TYPE = (
    "SALE",
    "RETURN",
    "DAMAGED",
    "OUTBOUND_SHIPMENT",
    "ONLINE_PICK",
    "INBOUND_SHIPMENT",
    "INBOUND_SHIPMENT",
    "ADJUSTMENT",
    "ADJUSTMENT",
)
# DC ledger kinds.
DC_LOAD, DC_SUPPLY, DC_TOPUP, DC_ONLINE_PICK, DC_ADJUSTMENT = range(5)
DC_TXN_TYPE = ("OUTBOUND_SHIPMENT", "INBOUND_SHIPMENT", "INBOUND_SHIPMENT", "ONLINE_PICK", "ADJUSTMENT")
KIND_SHIFT = np.int64(53)
CYCLE_DELTAS = np.array([-3, -2, -1, 1, 2])
CYCLE_CUM = np.cumsum([0.2, 0.3, 0.3, 0.15, 0.05])


@dataclass
class Ledger:
    """Inventory movements of stores (or DCs), one entry per row."""

    node: np.ndarray
    product: np.ndarray
    ts: np.ndarray
    qty: np.ndarray
    kind: np.ndarray
    trace: np.ndarray  # packed natural key (kind in the top bits)
    source: np.ndarray  # index into the month's document-id table, -1 for none
    balance: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.node)

    def select(self, mask: np.ndarray) -> Ledger:
        return Ledger(**{f: (None if getattr(self, f) is None else getattr(self, f)[mask]) for f in Ledger.__dataclass_fields__})


def concat_ledgers(parts: list[Ledger], *, consume: bool = False) -> Ledger:
    """One ledger of ``parts`` in order. With ``consume`` the parts' arrays are dropped column by
    column as they are copied, so a month of movements is never held twice."""
    out = {}
    for f in Ledger.__dataclass_fields__:
        if f == "balance":
            continue
        out[f] = np.concatenate([getattr(p, f) for p in parts])
        if consume:
            for p in parts:
                setattr(p, f, None)
    return Ledger(**out)


def trace_key(kind, key) -> np.ndarray:
    return (np.asarray(kind, dtype=np.int64) << KIND_SHIFT) | np.asarray(key, dtype=np.int64)


@dataclass
class Window:
    """The span one month's inventory simulation covers (local day ordinals, UTC microseconds)."""

    first_day: int  # last local day of the previous month: starts with the previous month's top-up
    last_day: int  # last local day of the month: ends with this month's top-up
    start_utc: int  # month start (UTC)
    end_utc: int  # next month start (UTC)
    month_ordinal: int  # first day of the month
    next_month_ordinal: int
    # False when only the start of the month is simulated (``simulate(through=...)``): no month-end
    # top-up, every check is a regular one, and rows stop at ``end_utc``.
    closes_month: bool = True

    @property
    def periods(self) -> int:
        return self.last_day - self.first_day + 1


@dataclass(frozen=True)
class SourceIndex:
    """Offsets of document ids in the month's id table (see simulate.Documents)."""

    shipment: int  # + shipment leg
    dsd: int  # + store: month-end direct store delivery
    store_rtv: int  # + store: month-end return of overstock
    cycle_count: int
    supplier: int  # + (day - window.first_day) * dcs + dc
    dc_topup: int  # + dc
    dc_return: int  # + dc


@dataclass
class StoreOrders:
    """Replenishment decided at the nightly checks."""

    day: np.ndarray  # check day ordinal
    store: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    on_hand: np.ndarray
    reorder_point: np.ndarray
    priority: np.ndarray  # 0 NORMAL, 1 HIGH, 2 URGENT


def _launched(world, ordinal: int) -> np.ndarray:
    return world.prod_launch_ordinal <= ordinal


def _dense(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=size).astype(np.int64)


class StoreDemand:
    """Units leaving each (store, product) per inventory period, accumulated day by day.

    ``outflow[k]`` is what period k sells or picks, ``tail[k]`` the part after the nightly check,
    ``returns[k]`` the net stock returns put back before the check.
    """

    def __init__(self, window: Window, stores: int, products: int):
        self.window = window
        self.products = products
        shape = (window.periods, stores * products)
        self.outflow = np.zeros(shape, dtype=np.int32)
        self.tail = np.zeros(shape, dtype=np.int32)
        self.returns = np.zeros(shape, dtype=np.int32)

    def _periods(self, local_ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        period = local_day(local_ts, STORE_PERIOD_START) - self.window.first_day
        since = local_ts - (self.window.first_day + period + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY
        return period, since >= STORE_CHECK * HOUR

    def _add(self, target: np.ndarray, period: np.ndarray, sp: np.ndarray, units: np.ndarray) -> None:
        if not len(period):
            return
        size = target.shape[1]
        if len(period) < 200_000:  # few rows (returns, online picks): add them in place
            ok = (period >= 0) & (period < len(target))
            np.add.at(target, (period[ok], sp[ok]), units[ok].astype(np.int32))
            return
        for k in range(max(int(period.min()), 0), min(int(period.max()), len(target) - 1) + 1):
            m = period == k
            if m.any():
                target[k] += np.bincount(sp[m], weights=units[m], minlength=size).astype(np.int32)

    def add_outflow(self, store: np.ndarray, product: np.ndarray, local_ts: np.ndarray, units: np.ndarray) -> None:
        period, after_check = self._periods(local_ts)
        sp = store * self.products + product
        self._add(self.outflow, period, sp, units)
        self._add(self.tail, period[after_check], sp[after_check], units[after_check])

    def add_returns(self, store: np.ndarray, product: np.ndarray, local_ts: np.ndarray, qty: np.ndarray) -> None:
        period, _ = self._periods(local_ts)
        self._add(self.returns, period, store * self.products + product, qty)

    def in_window(self, local_ts: np.ndarray) -> np.ndarray:
        period = local_day(local_ts, STORE_PERIOD_START) - self.window.first_day
        return (period >= 0) & (period < self.window.periods)


def simulate_stores(world, window: Window, demand: StoreDemand, gaps: shelf.WindowGaps):
    """Run the nightly replenishment checks over the window.

    Returns (orders, cycle counts, write-offs, month-end top-ups, opening levels). Each check
    orders from a forecast (an exponentially smoothed average of what the product sold, times the
    next day's holiday tags), not from what tomorrow will sell: when the stock expected after
    tomorrow falls below the reorder point it orders up to the par level, in whole case packs.
    The shelf gaps (``shelf``) are decided ahead from hashes, so the deliveries make the ledger
    agree with them: a store's stock never exceeds what it sells until its next gap (orders are
    cut short before it, as when the DC ships short), on a gap day the morning level is exactly
    what the day still sells before and around the gap, and on other days the delivery covers the
    day. Stock that cannot be run down in time (a gap early in the month, after the top-up) is
    written off when the gap starts (the count finds the shelf empty).
    """
    c = world.config
    S, P, K = c.stores, c.products, window.periods
    outflow, tail, returns_net = demand.outflow, demand.tail, demand.returns
    gap = gaps.state
    pack = case_pack(world)
    launched_now = _launched(world, window.month_ordinal)
    prior = (world.store_daily_demand * launched_now[None, :]).ravel()
    alive = np.tile(launched_now, S).astype(np.int64)
    level_now = month_end_level(world, window.month_ordinal, window.first_day, outflow[0], gap[0])
    level_next = month_end_level(world, window.next_month_ordinal, window.last_day, outflow[K - 1], gap[K - 1])

    # Backward: the highest morning level of each period that still lets the stock reach zero at
    # the next gap (a gap day's level is its outflow).
    # The month-end top-up sets the last period's level anyway: aiming below it saves returning stock to vendors.
    unbounded = np.int64(1 << 40)
    cap = np.empty((K, S * P), dtype=np.int64)
    nxt = level_next if window.closes_month else np.full(S * P, unbounded)
    cap[K - 1] = nxt
    for k in range(K - 2, -1, -1):
        nxt = np.where(gap[k] > 0, outflow[k], np.minimum(nxt + outflow[k] - returns_net[k], unbounded))
        cap[k] = nxt

    orders: list[tuple] = []
    adjustments: list[tuple] = []
    write_offs: list[tuple] = []
    balance = level_now.copy()
    forecast = prior.copy()
    topup = np.zeros(S * P, dtype=np.int64)
    for k in range(K - 1):
        day = window.first_day + k
        at_check = balance + returns_net[k] - (outflow[k] - tail[k])
        adj_sp, adj_qty = _cycle_counts(world, day, at_check - tail[k])
        at_check[adj_sp] += adj_qty
        adjustments.append((np.full(len(adj_sp), day), adj_sp, adj_qty))
        end = at_check - tail[k]
        forecast += SMOOTHING * (outflow[k] - forecast)
        if k < K - 2 or not window.closes_month:
            need = outflow[k + 1].astype(np.int64)
            # The smoothed sales already hold today's holiday tags; tomorrow's change is planned ahead.
            expected = forecast * np.tile(shelf.tag_factor(world, day + 1) / shelf.tag_factor(world, day), S)
            par, reorder_point = par_levels(expected, pack)
            short = end - expected < reorder_point
            policy = np.where(short, end + _round_up(par - end, pack), end)
            target = np.maximum(np.minimum(np.maximum(policy, need + alive), cap[k + 1]), need)
            excess = np.flatnonzero((gap[k + 1] > 0) & (end > need))
            write_offs.append((np.full(len(excess), k + 1), excess, end[excess] - need[excess]))
            idx = np.flatnonzero(target > end)
            qty = target[idx] - end[idx]
            urgent = (at_check[idx] > 0) & (at_check[idx] < c.urgent_cover_days * expected[idx])
            high = at_check[idx] < reorder_point[idx]
            priority = np.where(urgent, 2, np.where(high, 1, 0))
            orders.append((np.full(len(idx), day), idx, qty, at_check[idx], reorder_point[idx], priority))
            balance = end
            balance[idx] += qty
            balance[excess] = need[excess]
        else:
            topup = level_next - end
            balance = level_next
    order_parts = [np.concatenate(part) for part in zip(*orders, strict=True)] if orders else [np.zeros(0, np.int64)] * 6
    store_orders = StoreOrders(
        day=order_parts[0],
        store=order_parts[1] // P,
        product=order_parts[1] % P,
        qty=order_parts[2],
        on_hand=order_parts[3],
        reorder_point=order_parts[4],
        priority=order_parts[5],
    )
    adj_day, adj_sp, adj_qty = (np.concatenate(p) for p in zip(*adjustments, strict=True))
    if write_offs:
        w_period, w_sp, w_qty = (np.concatenate(p) for p in zip(*write_offs, strict=True))
    else:
        w_period = w_sp = w_qty = np.zeros(0, dtype=np.int64)
    return store_orders, (adj_day, adj_sp // P, adj_sp % P, adj_qty), (w_period, w_sp, w_qty), topup, level_now


SMOOTHING = 0.15  # weight of the latest day in the demand forecast
REORDER_DAYS = 2.0  # reorder point: the stock after tomorrow should still cover this many days
PACKS_FOOD = np.array([6, 12, 24])
PACKS_OTHER = np.array([1, 2, 4, 6])


def case_pack(world) -> np.ndarray:
    """Units per case (stores order whole cases), per store x product; a hash of the product."""
    cache = world.__dict__.setdefault("_case_pack", {})
    if "pack" not in cache:
        c = world.config
        u = uniform(np.arange(c.products, dtype=np.uint64), stream_salt(c.seed, "case_pack"))
        pack = np.where(
            world.prod_food, PACKS_FOOD[(u * len(PACKS_FOOD)).astype(np.int64)], PACKS_OTHER[(u * len(PACKS_OTHER)).astype(np.int64)]
        )
        cache["pack"] = np.tile(pack, c.stores).astype(np.int64)
    return cache["pack"]


def _round_up(qty: np.ndarray, pack: np.ndarray) -> np.ndarray:
    return -(-np.maximum(qty, 0) // pack) * pack


def par_levels(expected: np.ndarray, pack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(par, reorder point) from the daily forecast: par covers the cover days plus a case on the
    shelf (presentation stock); the reorder point the protection days plus safety stock."""
    reorder_point = np.ceil(expected * REORDER_DAYS + 1.65 * np.sqrt(expected * REORDER_DAYS)).astype(np.int64)
    par = (np.ceil(expected * STORE_COVER_DAYS).astype(np.int64) + pack + reorder_point) * (expected > 0)
    return par, reorder_point


STORE_COVER_DAYS = 45.0


def month_end_level(world, month_ordinal: int, day: int, outflow: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """The stock level of the month-end top-up (morning of ``day``, the last local day of a month),
    which both neighbouring months compute from what they share: the world's expected demand,
    scaled per store to what that day actually sold, and the hashed shelf gaps.

    It is the product's par, but never more than ``LEVEL_BOUND`` of what the product is expected
    to sell before its next gap (so the next month can still run the shelf empty there, with
    little left to write off), never less than the day's outflow plus one, and exactly the
    outflow on a gap day.
    """
    c = world.config
    S, P = c.stores, c.products
    launched = _launched(world, month_ordinal)
    prior = world.store_daily_demand * launched[None, :]
    traffic = lambda d: np.maximum(day_counts(world, cal.from_ordinal(d)).sum(axis=1), 1) / np.maximum(world.expected_receipts_per_day, 1e-9)
    expected_today = prior.sum(axis=1) * traffic(day)
    sold_today = outflow.reshape(S, P).sum(axis=1)
    scale = np.where(expected_today > 0, sold_today / np.where(expected_today > 0, expected_today, 1.0), 1.0)
    expected = (prior * scale[:, None]).ravel()
    pack = case_pack(world)
    par, _ = par_levels(expected, pack)
    outflow = outflow.astype(np.int64)
    until_gap = np.zeros(S * P)
    pending = np.flatnonzero(until_gap * LEVEL_BOUND < par)
    for ahead in range(1, LOOKAHEAD_DAYS + 1):
        starts, _, _ = shelf.gap_starts(world, day + ahead, pending // P, pending % P)
        pending = pending[~starts]
        until_gap[pending] += expected[pending] * traffic(day + ahead)[pending // P]
        pending = pending[until_gap[pending] * LEVEL_BOUND < par[pending]]
        if not len(pending):
            break
    reached = np.zeros(S * P, dtype=bool)
    reached[pending] = True
    bound = np.where(until_gap * LEVEL_BOUND >= par, par, np.floor(LEVEL_BOUND * until_gap).astype(np.int64) + outflow)
    bound[reached] = par[reached]  # no gap within the look-ahead
    level = np.maximum(np.minimum(par, bound), outflow + 1) * np.tile(launched, S)
    return np.where(gap > 0, outflow, np.maximum(level, outflow))


LEVEL_BOUND = 0.9
LOOKAHEAD_DAYS = 60


def _cycle_counts(world, day: int, available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nightly cycle counts: a few products per store are counted and corrected (mostly shrink)."""
    c = world.config
    n = c.cycle_count_products
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    S, P = c.stores, c.products
    store = np.repeat(np.arange(S, dtype=np.int64), n)
    key = (np.int64(day) << 32) | (store << 12) | np.tile(np.arange(n, dtype=np.int64), S)
    product = (uniform(key.astype(np.uint64), stream_salt(c.seed, "cycle_product")) * P).astype(np.int64)
    sp = np.unique(store * P + product)
    sp = sp[_launched(world, day)[sp % P]]
    delta = CYCLE_DELTAS[
        np.searchsorted(
            CYCLE_CUM, uniform(sp.astype(np.uint64) ^ np.uint64(day << 40), stream_salt(c.seed, "cycle_delta")), side="right"
        ).clip(0, 4)
    ]
    delta = np.maximum(delta, -np.maximum(available[sp], 0))
    keep = delta != 0
    return sp[keep], delta[keep]


def store_ledger_rows(
    world,
    clock: Clock,
    window: Window,
    movements: list[Ledger],
    orders: StoreOrders,
    order_leg: np.ndarray,
    adjustments,
    write_offs,
    gaps: shelf.WindowGaps,
    topup,
    level_now,
    sources: SourceIndex,
) -> Ledger:
    """All store movements of the window (until the month's end) with balances.

    ``movements`` (sales, returns and online picks, already cut to the window) come first; their
    arrays are handed over and dropped once copied into the ledger.
    """
    c = world.config
    S, P = c.stores, c.products
    zone = world.store_zone
    parts = []
    # Regular deliveries: at 05:00 local the morning after the check.
    arrival_day = orders.day + 1
    ts = clock.local_to_utc(zone[orders.store], arrival_day, np.full(len(orders.day), int(STORE_PERIOD_START * HOUR)))
    parts.append(
        _ledger(
            orders.store,
            orders.product,
            ts,
            orders.qty,
            INBOUND,
            _day_node_product(arrival_day, orders.store, orders.product),
            sources.shipment + order_leg,
        )
    )
    # Month-end direct store delivery (or return of overstock) on the last local day.
    idx = np.flatnonzero(topup != 0)
    t_store, t_product = idx // P, idx % P
    t_day = np.full(len(idx), window.last_day)
    ts = clock.local_to_utc(zone[t_store], t_day, np.full(len(idx), int(STORE_PERIOD_START * HOUR)))
    top = _ledger(
        t_store,
        t_product,
        ts,
        topup[idx],
        TOPUP,
        _day_node_product(t_day, t_store, t_product),
        np.where(topup[idx] > 0, sources.dsd, sources.store_rtv) + t_store,
    )
    top.kind = np.where(topup[idx] > 0, TOPUP, RTV).astype(np.int8)
    parts.append(top)
    # Cycle counts just before the nightly check.
    a_day, a_store, a_product, a_qty = adjustments
    ts = clock.local_to_utc(zone[a_store], a_day, np.full(len(a_day), int(CYCLE_COUNT * HOUR)))
    parts.append(
        _ledger(
            a_store, a_product, ts, a_qty, ADJUSTMENT, _day_node_product(a_day, a_store, a_product), np.full(len(ts), sources.cycle_count)
        )
    )
    # Write-offs of stock a gap could not run down, when the gap starts.
    w_period, w_sp, w_qty = write_offs
    w_store, w_product, w_day = w_sp // P, w_sp % P, window.first_day + w_period
    at = np.searchsorted(gaps.period * (S * P) + gaps.sp, w_period * (S * P) + w_sp)
    ts = period_instant(clock, zone[w_store], w_day, gaps.start[at])
    parts.append(
        _ledger(
            w_store, w_product, ts, -w_qty, WRITE_OFF, _day_node_product(w_day, w_store, w_product), np.full(len(ts), sources.cycle_count)
        )
    )
    ledger = concat_ledgers(movements + [p.select(p.ts < window.end_utc) for p in parts], consume=True)
    return _with_balances(ledger, level_now.reshape(S, P), P, "store")


def period_instant(clock: Clock, zone: np.ndarray, day: np.ndarray, since_start: np.ndarray) -> np.ndarray:
    """UTC instant of a store's inventory day ``day`` plus ``since_start`` microseconds after its 05:00 start."""
    local = int(STORE_PERIOD_START * HOUR) + np.asarray(since_start, dtype=np.int64)
    next_day = local >= cal.US_PER_DAY
    return clock.local_to_utc(zone, np.asarray(day) + next_day, local - next_day * cal.US_PER_DAY)


def _ledger(node, product, ts, qty, kind: int, key, source) -> Ledger:
    """Ledger rows of one kind, in the ledger's compact dtypes."""
    n = len(ts)
    return Ledger(
        np.asarray(node, dtype=np.int32),
        np.asarray(product, dtype=np.int32),
        np.asarray(ts, dtype=np.int64),
        np.asarray(qty, dtype=np.int32),
        np.full(n, kind, dtype=np.int8),
        trace_key(kind, key),
        np.asarray(source, dtype=np.int32),
    )


def _day_node_product(day, node, product) -> np.ndarray:
    return (np.asarray(day, dtype=np.int64) << 32) | (np.asarray(node, dtype=np.int64) << 18) | np.asarray(product, dtype=np.int64)


BALANCE_BLOCK_ROWS = 4_000_000  # rows per block of nodes whose balances are computed together


def _with_balances(ledger: Ledger, opening: np.ndarray, n_products: int, what: str) -> Ledger:
    """The balance after each movement: per (node, product), in time order, from the opening level.

    Rows keep their order; at the same instant inflows count before outflows (ties keep row order).
    Nodes' ledgers are independent, so balances are computed for a block of nodes at a time: the
    sort and running totals then need memory for a block, not for the month.
    """
    n_nodes = opening.shape[0]
    balance = np.empty(ledger.size, dtype=np.int64)
    if ledger.size:
        per_block = max(1, BALANCE_BLOCK_ROWS * n_nodes // ledger.size)
        opening = opening.reshape(n_nodes, n_products)
        for lo in range(0, n_nodes, per_block):
            hi = min(lo + per_block, n_nodes)
            rows = np.flatnonzero((ledger.node >= lo) & (ledger.node < hi)) if per_block < n_nodes else slice(None)
            balance[rows] = _block_balances(
                ledger.node[rows] - lo, ledger.product[rows], ledger.ts[rows], ledger.qty[rows], opening[lo:hi], n_products
            )
    ledger.balance = balance
    if ledger.size and balance.min() < 0:
        bad = int(np.argmin(balance))
        raise RuntimeError(
            f"{what} inventory went negative (node {ledger.node[bad] + 1}, product {ledger.product[bad] + 1}, "
            f"balance {balance[bad]}): the replenishment model is inconsistent"
        )
    return ledger


def _block_balances(node, product, ts, qty, opening: np.ndarray, n_products: int) -> np.ndarray:
    """Balances of the rows of a block of nodes (``node`` relative to the block's first)."""
    sp = node.astype(np.int64) * n_products + product
    rel = ts - int(ts.min())
    outflow = (qty < 0).astype(np.int64)
    if int(sp.max()) < (1 << 20) and int(rel.max()) < (1 << 42):
        # A stable sort of one packed key: rows of the same key keep their order.
        order = pl.Series((sp << 43) | (rel << 1) | outflow).arg_sort().to_numpy()
    else:
        order = np.lexsort((outflow, ts, sp))
    del rel, outflow
    sp_sorted = sp[order]
    del sp
    q = qty[order].astype(np.int64)
    cum = np.cumsum(q)
    # Index of each row's group start, carried forward: the running total before the group.
    first = np.zeros(len(sp_sorted), dtype=np.int64)
    new_group = np.flatnonzero(np.r_[True, sp_sorted[1:] != sp_sorted[:-1]])
    first[new_group] = new_group
    np.maximum.accumulate(first, out=first)
    out = np.empty(len(sp_sorted), dtype=np.int64)
    out[order] = opening.ravel()[sp_sorted] + cum - (cum[first] - q[first])
    return out


def stockouts(ledger: Ledger, local_ts: np.ndarray, period_start_hour: float) -> np.ndarray:
    """Indexes of ledger rows that emptied a shelf: the first per node, product and inventory day."""
    empty = (ledger.balance == 0) & (ledger.qty < 0)
    idx = np.flatnonzero(empty)
    period = local_day(local_ts[idx], period_start_hour)
    key = (period << 40) | (ledger.node[idx] << 20) | ledger.product[idx]
    _, first = np.unique(key, return_index=True)
    return np.sort(idx[first])


def store_stockouts(world, clock: Clock, window: Window, gaps: shelf.WindowGaps, ledger: Ledger, lost: tuple) -> dict:
    """One row per gap day of a store's shelf: when the shelf is found empty (the gap's start, or
    05:00 on the days it continues), the units of the sale that emptied it (0 when it was already
    empty), and the units shoppers wanted during the gap and did not replace (lost sales).

    ``lost`` is (store, product, local time, units) of the lines left out of baskets.
    """
    P = world.config.products
    SP = world.config.stores * P
    store, product = gaps.sp // P, gaps.sp % P
    day = window.first_day + gaps.period
    ts = period_instant(clock, world.store_zone[store], day, gaps.start)
    # The outflow that emptied the shelf: the latest ledger row of the store-product reaching 0 at or before the gap start.
    zero = np.flatnonzero((ledger.balance == 0) & (ledger.qty < 0))
    t0 = int(min(ledger.ts.min(), ts.min())) if ledger.size and len(ts) else 0
    zkey = (ledger.node[zero].astype(np.int64) * P + ledger.product[zero]) << 42 | (ledger.ts[zero] - t0)
    order = np.argsort(zkey)
    zkey, zero = zkey[order], zero[order]
    gkey = gaps.sp << 42 | (ts - t0)
    at = np.searchsorted(zkey, gkey, side="right") - 1
    found = (at >= 0) & ((zkey[np.maximum(at, 0)] >> 42) == gaps.sp) & (gaps.start > 0)
    found &= ts - ledger.ts[zero[np.maximum(at, 0)]] < cal.US_PER_DAY
    emptied = np.where(found, -ledger.qty[zero[np.maximum(at, 0)]], 0)
    l_store, l_product, l_local, l_qty = lost
    l_period = local_day(l_local, STORE_PERIOD_START) - window.first_day
    ok = (l_period >= 0) & (l_period < window.periods)
    lost_units = np.bincount(
        (l_period[ok] * SP + l_store[ok] * P + l_product[ok]).astype(np.int64), weights=l_qty[ok], minlength=window.periods * SP
    )
    # A shelf can also reach zero outside a gap (an online picker or a damaged unit takes the last
    # units): that is a stockout too, detected when it happens, with no sale lost.
    z_local = clock.utc_to_local(world.store_zone[ledger.node[zero]], ledger.ts[zero])
    z_day = local_day(z_local, STORE_PERIOD_START)
    z_key = z_day * SP + ledger.node[zero].astype(np.int64) * P + ledger.product[zero]
    z_key, first = np.unique(z_key, return_index=True)  # the first zero of each store-product-day (zero is time-ordered per key)
    extra = zero[first[~np.isin(z_key, day * SP + gaps.sp)]]
    return {
        "day": np.r_[day, local_day(clock.utc_to_local(world.store_zone[ledger.node[extra]], ledger.ts[extra]), STORE_PERIOD_START)],
        "store": np.r_[store, ledger.node[extra]],
        "product": np.r_[product, ledger.product[extra]],
        "ts": np.r_[ts, ledger.ts[extra]],
        "emptied": np.r_[emptied, -ledger.qty[extra]].astype(np.int64),
        "lost": np.r_[lost_units[gaps.period * SP + gaps.sp], np.zeros(len(extra))].astype(np.int64),
    }


# ---- DCs ------------------------------------------------------------------------------------


def simulate_dcs(world, clock: Clock, window: Window, movements: Ledger, sources: SourceIndex) -> Ledger:
    """Supplier replenishment of the DCs around their outflows (store loads, online picks)."""
    c = world.config
    D, P, K = c.dcs, c.products, window.periods
    local_ts = clock.utc_to_local(world.dc_zone[movements.node], movements.ts)
    segment = local_day(local_ts, DC_PERIOD_START) - window.first_day
    in_window = (segment >= 0) & (segment < K)
    mv = movements.select(in_window)
    segment, local_ts = segment[in_window], local_ts[in_window]
    flat = segment * (D * P) + mv.node * P + mv.product
    size = K * D * P
    since = local_ts - (window.first_day + segment + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY - int(DC_PERIOD_START * HOUR)
    before_arrival = since < (DC_ARRIVAL - DC_PERIOD_START) * HOUR
    pre = _dense(flat[before_arrival], -mv.qty[before_arrival], size).reshape(K, D * P)
    post = _dense(flat[~before_arrival], -mv.qty[~before_arrival], size).reshape(K, D * P)

    rp = world.dc_reorder_point.ravel().astype(np.int64)
    par_now = (world.dc_par * _launched(world, window.month_ordinal)[None, :]).ravel().astype(np.int64)
    par_next = (world.dc_par * _launched(world, window.next_month_ordinal)[None, :]).ravel().astype(np.int64)
    level_now = np.maximum(par_now, pre[0] + rp)
    level_next = np.maximum(par_next, pre[K - 1] + rp)
    balance = level_now.copy()
    supply = []
    topup = np.zeros(D * P, dtype=np.int64)
    for k in range(K):
        if k == K - 1:
            if window.closes_month:
                topup = level_next - balance
            break
        before = balance - pre[k]
        after = before - post[k] - pre[k + 1]
        idx = np.flatnonzero(after < rp)
        qty = np.maximum(par_now[idx] - before[idx], post[k][idx] + pre[k + 1][idx] + rp[idx] - before[idx])
        supply.append((np.full(len(idx), window.first_day + k), idx, qty))
        balance = before - post[k]
        balance[idx] += qty
    parts = [mv]
    zone = world.dc_zone
    if supply:
        s_day, s_idx, s_qty = (np.concatenate(p) for p in zip(*supply, strict=True))
        s_dc, s_product = s_idx // P, s_idx % P
        ts = clock.local_to_utc(zone[s_dc], s_day, np.full(len(s_day), int(DC_ARRIVAL * HOUR)))
        parts.append(
            Ledger(
                s_dc,
                s_product,
                ts,
                s_qty,
                np.full(len(ts), DC_SUPPLY),
                trace_key(DC_SUPPLY, _day_node_product(s_day, s_dc, s_product)),
                sources.supplier + (s_day - window.first_day) * D + s_dc,
            )
        )
    idx = np.flatnonzero(topup != 0)
    t_dc, t_product = idx // P, idx % P
    t_day = np.full(len(idx), window.last_day)
    ts = clock.local_to_utc(zone[t_dc], t_day, np.full(len(idx), int(DC_PERIOD_START * HOUR)))
    kind = np.where(topup[idx] > 0, DC_TOPUP, DC_ADJUSTMENT)
    parts.append(
        Ledger(
            t_dc,
            t_product,
            ts,
            topup[idx],
            kind,
            trace_key(DC_TOPUP, _day_node_product(t_day, t_dc, t_product)),
            np.where(topup[idx] > 0, sources.dc_topup, sources.dc_return) + t_dc,
        )
    )
    ledger = concat_ledgers(parts)
    ledger = ledger.select(ledger.ts < window.end_utc)
    return _with_balances(ledger, level_now.reshape(D, P), P, "DC")


# ---- shipments ------------------------------------------------------------------------------

DOCK_WAIT_MINUTES = 25.0  # mean wait beyond the first 10 minutes
MAX_DOCK_WAIT_MINUTES = 65.0


@dataclass
class Shipments:
    """Truck legs from a DC to a store (one entry per leg) and what each carries."""

    day: np.ndarray  # order (check) day
    store: np.ndarray
    leg: np.ndarray
    dc: np.ndarray
    truck: np.ndarray
    units: np.ndarray
    scheduled: np.ndarray
    loading: np.ndarray
    in_transit: np.ndarray
    arrived: np.ndarray
    unloading: np.ndarray
    completed: np.ndarray
    estimated_unload: np.ndarray  # minutes
    # lines: index into the legs
    line_leg: np.ndarray
    line_product: np.ndarray
    line_qty: np.ndarray
    order_leg: np.ndarray  # per order (StoreOrders row): its leg

    @property
    def size(self) -> int:
        return len(self.day)


def plan_shipments(world, clock: Clock, orders: StoreOrders) -> Shipments:
    """Group each store's nightly order into truck legs of at most the truck capacity."""
    c = world.config
    order = np.lexsort((orders.product, orders.store, orders.day))
    day, store, qty = orders.day[order], orders.store[order], orders.qty[order]
    group_start = np.r_[True, (day[1:] != day[:-1]) | (store[1:] != store[:-1])]
    group = np.cumsum(group_start) - 1
    cum = np.cumsum(qty)
    starts = np.flatnonzero(group_start)
    before = (cum - qty) - (cum[starts] - qty[starts])[group]
    leg_no = before // c.truck_capacity_units
    leg_key = (group << 16) | leg_no
    leg_first = np.r_[True, leg_key[1:] != leg_key[:-1]]
    leg_index = np.cumsum(leg_first) - 1
    first = np.flatnonzero(leg_first)
    n = len(first)
    units = np.add.reduceat(qty, first) if n else np.zeros(0, dtype=np.int64)
    l_day, l_store, l_leg = day[first], store[first], leg_no[first]
    dc = world.store_dc[l_store]
    trucks = [world.dc_trucks[d] for d in dc]
    truck = np.array(
        [t[(int(dd) + int(s) + int(g)) % len(t)] for t, dd, s, g in zip(trucks, l_day, l_store, l_leg, strict=True)], dtype=np.int64
    )
    key = ((l_day << 32) | (l_store << 8) | l_leg).astype(np.uint64)
    u = lambda name: uniform(key, stream_salt(c.seed, name))
    zone = world.store_zone[l_store]
    unloading = clock.local_to_utc(zone, l_day + 1, np.full(n, int(STORE_PERIOD_START * HOUR)))
    # Waiting for a door: usually a quarter of an hour, sometimes an hour (an exponential tail, capped
    # so that loading still follows the 23:05 schedule after the longest trip).
    wait = np.minimum(10 - DOCK_WAIT_MINUTES * np.log(1 - u("arrive")), MAX_DOCK_WAIT_MINUTES)
    arrived = unloading - (wait * MINUTE).astype(np.int64)
    in_transit = arrived - (world.store_travel_hours[l_store] * HOUR).astype(np.int64)
    loading = in_transit - ((45 + 30 * u("load")) * MINUTE).astype(np.int64)
    scheduled = clock.local_to_utc(zone, l_day, np.full(n, int(STORE_CHECK * HOUR) + 5 * MINUTE)) + l_leg * 20_000_000
    estimated = np.minimum(120, 15 + units // 150)
    completed = unloading + (estimated * (0.9 + 0.2 * u("unload")) * MINUTE).astype(np.int64)
    order_leg = np.empty(len(order), dtype=np.int64)
    order_leg[order] = leg_index
    return Shipments(
        day=l_day,
        store=l_store,
        leg=l_leg,
        dc=dc,
        truck=truck,
        units=units,
        scheduled=scheduled,
        loading=loading,
        in_transit=in_transit,
        arrived=arrived,
        unloading=unloading,
        completed=completed,
        estimated_unload=estimated,
        line_leg=leg_index,
        line_product=orders.product[order],
        line_qty=qty,
        order_leg=order_leg,
    )


def dc_load_movements(shipments: Shipments, sources: SourceIndex) -> Ledger:
    """DC outflows: each shipment line leaves its DC when the truck is loaded."""
    leg = shipments.line_leg
    key = (shipments.day[leg] << 38) | (shipments.store[leg] << 26) | (shipments.leg[leg] << 20) | shipments.line_product
    return Ledger(
        node=shipments.dc[leg],
        product=shipments.line_product,
        ts=shipments.loading[leg],
        qty=-shipments.line_qty,
        kind=np.full(len(leg), DC_LOAD),
        trace=trace_key(DC_LOAD, key),
        source=sources.shipment + leg,
    )
