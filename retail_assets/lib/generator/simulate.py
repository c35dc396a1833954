"""One month of the simulated retailer, in memory: every fact of a month, independent of other months.

:func:`simulate` runs the simulation for a calendar month (UTC) and returns its state as arrays;
``tables.month_tables`` turns that into frames shaped exactly like the specs. Nothing is written
here, so the streaming producer can drive events from the same simulation.

What a month needs from its neighbours is re-derived, never read: the local day straddling the
UTC month start (its evening is this month, its morning the previous one), the sales that returns
refer to, next month's purchases whose ad impressions fall in this month, and the stock levels at
the month-end top-ups (see ``inventory``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import chain

import numpy as np
import polars as pl

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator import ids, memory
from retail_assets.lib.generator import inventory as inv
from retail_assets.lib.generator import shelf
from retail_assets.lib.generator.clock import Clock
from retail_assets.lib.generator.config import GeneratorConfig
from retail_assets.lib.generator.marketing import impressions_day, journeys
from retail_assets.lib.generator.online import SHIP_FROM_DC, OnlineBatch, concat_online, online_day, order_key, order_line_key
from retail_assets.lib.generator.payments import Attempts, attempts
from retail_assets.lib.generator.receipts import (
    LINE_BITS,
    ReceiptBatch,
    ReceiptHeaders,
    concat_batches,
    receipt_headers,
    receipts_for_day,
)
from retail_assets.lib.generator.returns import DAMAGED, RETURN_TO_VENDOR, Returns, returns_between
from retail_assets.lib.generator.sensors import ble_day, foot_traffic_day
from retail_assets.lib.generator.world import World, world_for
from retail_assets.lib.specs import REGISTRY

Progress = Callable[[str, int, int], None]
# Receives each simulated day as a Simulation holding only that day's sales and sensor rows (see simulate's on_day).
DaySink = Callable[["Simulation"], None]
JOURNEY_LOOKAHEAD_DAYS = 11
# Days simulated ahead of the one being consumed: both threads busy, and one day ready.
DAYS_AHEAD = 3
ONLINE_LOOKBACK_DAYS = 3


@dataclass
class Documents:
    """The month's business-document ids (receipts, returns, orders, shipments, ...) in one text table."""

    parts: list[pl.Series]
    size: int = 0

    def add(self, values: pl.Series) -> int:
        offset = self.size
        self.parts.append(values.cast(pl.String))
        self.size += len(values)
        return offset

    def table(self) -> pl.Series:
        return pl.concat(self.parts) if self.parts else pl.Series([], dtype=pl.String)


@dataclass
class Simulation:
    """Everything simulated for one month, as arrays (UTC microsecond timestamps).

    Filled stage by stage (see STAGES); a stage's tables can be built as soon as it is reported.
    """

    config: GeneratorConfig
    world: World
    month: dt.date
    window: inv.Window
    clock: Clock
    # stage "store days"
    sales: ReceiptBatch | None = None
    sales_ids: pl.Series | None = None
    sales_tender: np.ndarray | None = None
    sales_payments: Attempts | None = None
    ble: dict | None = None
    zone_changes: dict | None = None
    foot_traffic: dict | None = None
    store_ops: dict | None = None
    # stage "sales"
    returns: Returns | None = None
    return_ids: pl.Series | None = None
    online: OnlineBatch | None = None
    order_ids: pl.Series | None = None
    online_payments: Attempts | None = None
    impressions: dict | None = None
    touches: dict | None = None
    purchases: dict | None = None
    credit: dict | None = None
    # (store, product, local time, units) of the lines shoppers left out because the shelf was empty
    lost_lines: tuple[np.ndarray, ...] | None = None
    # stages "store inventory" and "inventory"
    shelf_gaps: shelf.WindowGaps | None = None
    store_ledger: inv.Ledger | None = None
    dc_ledger: inv.Ledger | None = None
    orders: inv.StoreOrders | None = None
    shipments: inv.Shipments | None = None
    shipment_ids: pl.Series | None = None
    documents: Documents | None = None
    released: dict[str, threading.Event] = field(default_factory=lambda: {s: threading.Event() for s in STAGES})

    def release(self, stage: str) -> None:
        """Drop what only ``stage``'s tables read, once they are built: at supermarket volume a month's
        sale lines must be gone before the store ledger's table is built, or the month needs twice the memory."""
        for name in RELEASED_AFTER[stage]:
            setattr(self, name, None)
        self.released[stage].set()

    @property
    def start_utc(self) -> int:
        return self.window.start_utc

    @property
    def end_utc(self) -> int:
        return self.window.end_utc


# Stages of a simulation and the fact tables that can be built once each is done.
STAGES: dict[str, tuple[str, ...]] = {
    "store days": ("fact_ble_pings", "fact_customer_zone_changes", "fact_foot_traffic", "fact_store_ops"),
    "sales": (
        "fact_receipt_lines",
        "fact_receipts",
        "fact_payments",
        "fact_promo_lines",
        "fact_promotions",
        "fact_marketing",
        "fact_online_order_headers",
        "fact_online_order_lines",
        "fact_marketing_attribution",
    ),
    # The store ledger is the largest table: it is built while the DCs are simulated.
    "store inventory": ("fact_store_inventory_txn", "fact_reorders", "fact_truck_moves", "fact_truck_inventory"),
    "inventory": ("fact_dc_inventory_txn", "fact_stockouts"),
}
# What only a stage's tables read: simulate() no longer uses it once the stage is reported.
RELEASED_AFTER: dict[str, tuple[str, ...]] = {
    "store days": ("ble", "zone_changes", "foot_traffic", "store_ops"),
    "sales": (
        "sales",
        "sales_ids",
        "sales_tender",
        "sales_payments",
        "returns",
        "return_ids",
        "online",
        "order_ids",
        "online_payments",
        "impressions",
        "touches",
        "purchases",
        "credit",
    ),
    "store inventory": (),
    "inventory": (),
}
Stage = Callable[[str, Simulation], None]
if sorted(t for tables in STAGES.values() for t in tables) != sorted(t.name for t in REGISTRY.facts):
    raise RuntimeError("simulate.STAGES must list every fact table exactly once")


def month_window(month: dt.date) -> inv.Window:
    first, nxt = cal.month_bounds(month)
    start = (cal.ordinal(first) + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY
    end = (cal.ordinal(nxt) + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY
    return inv.Window(cal.ordinal(first) - 1, cal.ordinal(nxt) - 1, start, end, cal.ordinal(first), cal.ordinal(nxt))


def _concat_dicts(parts: list[dict]) -> dict:
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {
        k: np.concatenate([p[k] for p in parts]) if isinstance(parts[0][k], np.ndarray) else list(chain.from_iterable(p[k] for p in parts))
        for k in parts[0]
    }


def simulate(
    config: GeneratorConfig,
    month: dt.date,
    progress: Progress | None = None,
    *,
    through: dt.date | None = None,
    on_stage: Stage | None = None,
    ledger_after_sales_released: bool = False,
    on_day: DaySink | None = None,
) -> Simulation:
    """Simulate the calendar month containing ``month`` (UTC).

    ``on_stage(name, sim)`` is called when a stage of STAGES is complete, so its tables can be
    built and written while the rest is simulated. With ``through``, only the month's start is
    simulated: rows stop at the end of that UTC day and are identical to the full month's rows up
    to there (used to check daily volumes cheaply). With ``ledger_after_sales_released`` (the caller
    calls ``sim.release("sales")`` once that stage's tables are built, failed or not) the store ledger
    is assembled only after the month's sales are dropped: the two are the month's largest arrays, and
    holding both at once is what sets the peak memory.

    With ``on_day`` the month's sales are never held: each simulated day (then the first hours of the
    next month) is passed to ``on_day`` as a Simulation whose sales, their ids and payments, BLE pings,
    zone changes and attributed purchases (with their journeys) are that day's only, so the tables made
    of them can be written day by day; the month keeps what its other stages read of the sales (their
    ids, store movements and lost lines, and the attributed purchases). ``sim.sales``, ``sim.ble`` and
    ``sim.zone_changes`` then stay None, and ``sim.sales_ids`` holds the month's receipt ids.
    """
    month = month.replace(day=1)
    report = progress or (lambda step, done, total: None)
    world = world_for(config)
    window = month_window(month)
    if through is not None and cal.ordinal(through) + 3 < window.last_day:
        # Three days of margin: decisions up to ``through`` only look two periods ahead.
        window = dataclasses.replace(
            window,
            last_day=cal.ordinal(through) + 3,
            end_utc=(cal.ordinal(through) + 1 + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY,
            closes_month=False,
        )
    first, last = window.first_day, window.last_day
    clock = Clock(world.zones, first - config.return_window_days - 4, last + JOURNEY_LOOKAHEAD_DAYS + 8)
    sim = Simulation(config=config, world=world, month=month, window=window, clock=clock)
    stage = on_stage or (lambda name, simulation: None)
    n_days = last - first + 1
    steps = n_days + 5

    # In-store days: the straddling local day before the month, every local day of the month, and the
    # first hours of the next month's first day (night sales of 24/7 stores before its first delivery).
    demand = inv.StoreDemand(window, config.stores, config.products)
    documents = sim.documents = Documents([])
    streamed = _StreamedDays(sim, on_day, documents) if on_day is not None else None
    batches, ble_parts, change_parts, foot_parts = [], [], [], []
    # Days are independent: two threads share the work (numpy releases the GIL); results keep day order.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="store-day") as pool:
        days = _in_order(pool, partial(_store_day, world, clock), range(first, last + 1), ahead=DAYS_AHEAD)
        for i, (batch, sensed, foot) in enumerate(days):
            _add_sales_demand(demand, batch)
            if streamed is not None:
                streamed.add(batch, sensed)
            else:
                batches.append(batch)
                ble_parts.append(sensed["ble"])
                change_parts.append(sensed["zone_changes"])
            foot_parts.append(foot)
            del batch, sensed
            report("store days", i + 1, steps)
    batch = receipts_for_day(world, clock, cal.from_ordinal(last + 1), hours=(0, int(inv.STORE_PERIOD_START)))
    _add_sales_demand(demand, batch)
    if streamed is not None:
        streamed.add(batch, None)
    else:
        batches.append(batch)
    del batch
    sim.foot_traffic = _concat_dicts(foot_parts)
    if streamed is None:
        sim.ble, sim.zone_changes = _concat_dicts(ble_parts), _concat_dicts(change_parts)
    del ble_parts, change_parts, foot_parts
    sim.store_ops = _store_ops(world, clock, first - 1, last + 1)
    stage("store days", sim)
    if streamed is not None:
        sales = None
        sim.sales_ids = documents.table()  # the documents hold only the sales' ids so far
        sold, sale_moves, lost_lines = streamed.month()
    else:
        sales = sim.sales = concat_batches(batches, consume=True)
        del batches
        memory.trim()
        sim.sales_ids = ids.receipt_ids(sales.day, sales.store, sales.seq)
        sim.sales_payments, sim.sales_tender = attempts(
            config.seed, sales.key, sales.tender, sales.ts, config.payment_decline_rate
        )
        sales_offset = documents.add(sim.sales_ids)
        sold = _sale_purchases(window, sales, sim.sales_ids, sales_offset)
        sale_moves = [_sale_movements(window, sales, sales_offset)]
        lost = sales.lost_receipt
        lost_lines = (sales.store[lost], sales.lost_product, sales.ts_local[lost], sales.lost_qty)

    returns = sim.returns = returns_between(world, clock, first, last)
    sim.return_ids = ids.receipt_ids(returns.original.day, returns.original.store, returns.original.seq, prefix="RET")
    online = sim.online = concat_online(
        [online_day(world, clock, cal.from_ordinal(d)) for d in range(first - ONLINE_LOOKBACK_DAYS, last + 2)]
    )
    sim.order_ids = ids.build("ONL", ids.day_text(online.day), ids.padded(online.seq, 6), n=online.size)
    okey = order_key(online.day, online.seq).astype(np.uint64) | np.uint64(1 << 62)
    sim.online_payments, _ = attempts(config.seed, okey, online.tender, online.ts, config.payment_decline_rate)
    sim.impressions = _concat_dicts([impressions_day(world, d) for d in range(first + 1, last + 1)])
    sim.purchases = _purchases(world, clock, window, sold, online, sim.order_ids)
    del sold
    sim.touches = journeys(world, sim.purchases["kind"], sim.purchases["key"], sim.purchases["ts"], sim.purchases["customer"])
    sim.credit = credited_touches(sim.touches, len(sim.purchases["ts"]))
    returns_offset = documents.add(sim.return_ids)
    orders_offset = documents.add(sim.order_ids)
    # Everything the inventory needs of sales, returns and online orders is taken before the sales
    # stage is reported: from then on only that stage's tables read them, so the caller can free them.
    moves = _store_movements(world, clock, window, demand, sale_moves, returns, online, returns_offset, orders_offset)
    del sale_moves
    dc_picks = _dc_online_picks(online, orders_offset)
    sim.lost_lines = lost_lines
    del sales, returns, online, lost_lines
    memory.trim()
    report("returns, online, marketing", n_days + 1, steps)
    stage("sales", sim)

    gaps = sim.shelf_gaps = shelf.window_gaps(world, window.first_day, window.periods)
    orders, adjustments, write_offs, topup, level_now = inv.simulate_stores(world, window, demand, gaps)
    del demand
    memory.trim()
    sim.orders = orders
    shipments = sim.shipments = inv.plan_shipments(world, clock, orders)
    sim.shipment_ids = ids.build(
        "SHP", ids.day_text(shipments.day), ids.padded(shipments.store + 1, 4), ids.padded(shipments.leg, 2), n=shipments.size
    )
    sources = _register_sources(documents, world, window, sim.shipment_ids)
    if ledger_after_sales_released:
        sim.released["sales"].wait()
    sim.store_ledger = inv.store_ledger_rows(
        world, clock, window, moves, orders, shipments.order_leg, adjustments, write_offs, gaps, topup, level_now, sources
    )
    memory.trim()
    report("store inventory", n_days + 2, steps)
    stage("store inventory", sim)
    dc_moves = inv.concat_ledgers([inv.dc_load_movements(shipments, sources), dc_picks])
    sim.dc_ledger = inv.simulate_dcs(world, clock, window, dc_moves, sources)
    report("DC inventory", n_days + 3, steps)
    stage("inventory", sim)
    report("done", steps, steps)
    return sim


class _StreamedDays:
    """Hands each simulated day to ``on_day`` and keeps only what the month's later stages read of its
    sales: the receipt ids (the ledger's documents), the sale movements, the lines lost to empty shelves
    and the attributed sales. Every one of these, like the day's tables, is a function of each receipt
    (ids, payment attempts and ad journeys are keyed by the receipt), so concatenated day by day they
    equal what the month's sales give at once; payments are in receipt order, one receipt's together."""

    def __init__(self, sim: Simulation, on_day: DaySink, documents: Documents):
        self.sim, self.on_day, self.documents = sim, on_day, documents
        self.sold: list[dict] = []
        self.moves: list[inv.Ledger] = []
        self.lost: list[tuple[np.ndarray, ...]] = []

    def add(self, batch: ReceiptBatch, sensed: dict | None) -> None:
        sim, config = self.sim, self.sim.config
        sales_ids = ids.receipt_ids(batch.day, batch.store, batch.seq)
        payments, tender = attempts(config.seed, batch.key, batch.tender, batch.ts, config.payment_decline_rate)
        offset = self.documents.add(sales_ids)
        sold = _sale_purchases(sim.window, batch, sales_ids, 0)
        kind = np.zeros(len(sold["key"]), dtype=np.int64)  # store receipts
        touches = journeys(sim.world, kind, sold["key"], sold["ts"], sold["customer"])
        self.on_day(
            dataclasses.replace(
                sim,
                sales=batch,
                sales_ids=sales_ids,
                sales_tender=tender,
                sales_payments=payments,
                ble=sensed["ble"] if sensed else None,
                zone_changes=sensed["zone_changes"] if sensed else None,
                purchases=sold,
                touches=touches,
                credit=credited_touches(touches, len(sold["key"])),
            )
        )
        self.sold.append({**sold, "sale_index": sold["sale_index"] + offset})
        self.moves.append(_sale_movements(sim.window, batch, offset))
        lost = batch.lost_receipt
        self.lost.append((batch.store[lost], batch.lost_product, batch.ts_local[lost], batch.lost_qty))

    def month(self) -> tuple[dict, list[inv.Ledger], tuple[np.ndarray, ...]]:
        """The month's attributed sales, sale movements (one part a day) and lost lines."""
        sold, moves = _concat_sold(self.sold), self.moves
        lost = tuple(np.concatenate(parts) for parts in zip(*self.lost, strict=True))
        self.sold, self.moves, self.lost = [], [], []
        return sold, moves, lost


def credited_touches(touches: dict, n_purchases: int) -> dict:
    """Per purchase, the touch credited by last-touch-within-7-days (-1 when none) and whether it fell outside."""
    credited = (touches["touch_no"] == 2) | touches["outside"]
    idx = np.flatnonzero(credited)
    purchase = touches["purchase"][idx]
    touch = np.full(n_purchases, -1, dtype=np.int64)
    outside = np.zeros(n_purchases, dtype=bool)
    touch[purchase] = idx
    outside[purchase] = touches["outside"][idx]
    return {"touch": touch, "outside": outside}


def _register_sources(documents: Documents, world, window: inv.Window, shipment_ids: pl.Series) -> inv.SourceIndex:
    c = world.config
    last = cal.from_ordinal(window.last_day).strftime("%Y%m%d")
    stores = np.arange(1, c.stores + 1)
    dcs = np.arange(1, c.dcs + 1)
    shipment = documents.add(shipment_ids)
    dsd = documents.add(pl.Series([f"DSD{last}{s:04d}" for s in stores]))
    store_rtv = documents.add(pl.Series([f"RTV{last}{s:04d}" for s in stores]))
    cycle = documents.add(pl.Series(["CYCLE_COUNT"]))
    supplier = documents.add(
        pl.Series([f"PO{cal.from_ordinal(d):%Y%m%d}{x:03d}" for d in range(window.first_day, window.last_day + 1) for x in dcs])
    )
    dc_topup = documents.add(pl.Series([f"POM{last}{x:03d}" for x in dcs]))
    dc_return = documents.add(pl.Series([f"RTS{last}{x:03d}" for x in dcs]))
    return inv.SourceIndex(shipment, dsd, store_rtv, cycle, supplier, dc_topup, dc_return)


def _in_order(pool: ThreadPoolExecutor, fn: Callable, items: Iterable, ahead: int) -> Iterator:
    """``fn`` of each item, in order, with at most ``ahead`` items submitted but not yet read.
    ``pool.map`` submits every item at once and keeps each result until it is read: when the days are
    streamed the reader is the slower side, and finished days piled up (at 344 stores most of the
    month's sales were held again, ~10 GiB)."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _store_day(world, clock: Clock, ordinal: int) -> tuple[ReceiptBatch, dict, dict]:
    day = cal.from_ordinal(ordinal)
    batch = receipts_for_day(world, clock, day)
    return batch, ble_day(world, clock, day, batch), foot_traffic_day(world, clock, day)


def _add_sales_demand(demand: inv.StoreDemand, batch: ReceiptBatch) -> None:
    r = batch.line_receipt
    demand.add_outflow(batch.store[r], batch.line_product, batch.ts_local[r], batch.line_qty)


def _store_movements(
    world,
    clock: Clock,
    window: inv.Window,
    demand: inv.StoreDemand,
    sale_moves: list[inv.Ledger],
    returns: Returns,
    online: OnlineBatch,
    returns_offset: int,
    orders_offset: int,
) -> list[inv.Ledger]:
    """Sales (``sale_moves``, from ``_sale_movements``), returns and online store picks of the window as
    store ledger movements (parts, in ledger order: ``inventory.store_ledger_rows`` concatenates them
    once, with everything else).

    Sales were already counted in ``demand`` day by day; returns and online picks are added here.
    """
    parts = list(sale_moves)
    o = returns.original
    ret = returns.line_receipt
    product = o.line_product[returns.line_index]
    qty = o.line_qty[returns.line_index]
    store = o.store[ret].astype(np.int32)
    base_key = (
        (o.key[o.line_receipt[returns.line_index]] << np.uint64(LINE_BITS)) | o.line_number[returns.line_index].astype(np.uint64)
    ).astype(np.int64)
    m = np.bincount(ret, minlength=returns.size)[ret] if returns.size else np.zeros(0, dtype=np.int64)
    ts = returns.ts[ret] - (m - returns.line_number)
    ts_local = returns.ts_local[ret] - (m - returns.line_number)
    src = (returns_offset + ret).astype(np.int32)
    others = [
        (
            inv.Ledger(store, product, ts, qty, np.full(len(ret), inv.RETURN, dtype=np.int8), inv.trace_key(inv.RETURN, base_key), src),
            ts_local,
        )
    ]
    for disposition, kind, minutes in ((DAMAGED, inv.DAMAGED, 15), (RETURN_TO_VENDOR, inv.RTV, 30)):
        sel = returns.disposition == disposition
        delay = minutes * cal.US_PER_MINUTE
        others.append(
            (
                inv.Ledger(
                    store[sel],
                    product[sel],
                    ts[sel] + delay,
                    -qty[sel],
                    np.full(int(sel.sum()), kind, dtype=np.int8),
                    inv.trace_key(kind, base_key[sel]),
                    src[sel],
                ),
                ts_local[sel] + delay,
            )
        )
    lo = online.line_order
    picked = (online.picked[lo] > 0) & (online.mode[lo] != SHIP_FROM_DC)
    store = online.node[lo][picked].astype(np.int32)
    ts = online.picked[lo][picked] + online.line_number[picked]
    key = order_line_key(order_key(online.day, online.seq)[lo][picked], online.line_number[picked])
    others.append(
        (
            inv.Ledger(
                store,
                online.line_product[picked].astype(np.int32),
                ts,
                -online.line_qty[picked].astype(np.int32),
                np.full(len(ts), inv.ONLINE_PICK, dtype=np.int8),
                inv.trace_key(inv.ONLINE_PICK, key),
                (orders_offset + lo[picked]).astype(np.int32),
            ),
            clock.utc_to_local(world.store_zone[store], ts),
        )
    )
    for ledger, local in others:
        if ledger.kind.size and ledger.kind[0] == inv.ONLINE_PICK:
            demand.add_outflow(ledger.node, ledger.product, local, -ledger.qty)
        else:
            demand.add_returns(ledger.node, ledger.product, local, ledger.qty)
        parts.append(ledger.select(demand.in_window(local) & (ledger.ts < window.end_utc)))
    return parts


def _sale_movements(window: inv.Window, sales: ReceiptBatch, offset: int) -> inv.Ledger:
    """The sale lines of ``sales`` in the window as store ledger movements; ``offset`` is the first
    receipt's index in the month's documents. A function of each receipt, so a day's sales give the
    same movements alone as within the month (which is what lets ``simulate`` stream the days)."""
    reset = (window.first_day + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY + int(inv.STORE_PERIOD_START * cal.US_PER_HOUR)
    in_window = (sales.ts_local >= reset) & (sales.ts < window.end_utc)
    lines = in_window[sales.line_receipt]
    r = sales.line_receipt[lines]
    number = sales.line_number[lines]
    # Lines of one receipt leave the shelf microseconds apart, in line order, ending at the receipt time.
    shift = sales.n_lines[r] - number
    line_key = ((sales.key[r] << np.uint64(LINE_BITS)) | number.astype(np.uint64)).astype(np.int64)
    return inv.Ledger(
        sales.store[r].astype(np.int32),
        sales.line_product[lines],
        sales.ts[r] - shift,
        -sales.line_qty[lines],
        np.full(len(r), inv.SALE, dtype=np.int8),
        inv.trace_key(inv.SALE, line_key),
        (offset + r).astype(np.int32),
    )


def _dc_online_picks(online: OnlineBatch, orders_offset: int) -> inv.Ledger:
    lo = online.line_order
    picked = (online.picked[lo] > 0) & (online.mode[lo] == SHIP_FROM_DC)
    key = order_line_key(order_key(online.day, online.seq)[lo][picked], online.line_number[picked])
    return inv.Ledger(
        online.node[lo][picked],
        online.line_product[picked],
        online.picked[lo][picked] + online.line_number[picked],
        -online.line_qty[picked],
        np.full(int(picked.sum()), inv.DC_ONLINE_PICK),
        inv.trace_key(inv.DC_ONLINE_PICK, key),
        orders_offset + lo[picked],
    )


SOLD_FIELDS = ("key", "ts", "customer", "subtotal", "tax", "discount")


def _sale_purchases(window: inv.Window, sales: ReceiptBatch, sales_ids: pl.Series, offset: int) -> dict:
    """The attributed sales of ``sales`` in the month (about 0.2 % of them): what journeys and the
    attribution table need of each, ``sale_index`` counted from ``offset`` (the first sale's index in
    the month). A function of each sale, so a day's extracts concatenate to the month's."""
    in_store = (sales.day <= window.last_day) & sales.attributed & (sales.ts >= window.start_utc)
    sold = {f: getattr(sales, f)[in_store] for f in SOLD_FIELDS}
    sold["id"] = sales_ids.filter(pl.Series(in_store))
    sold["sale_index"] = offset + np.flatnonzero(in_store)
    return sold


def _concat_sold(parts: list[dict]) -> dict:
    return {f: (pl.concat if f == "id" else np.concatenate)([p[f] for p in parts]) for f in parts[0]}


def _purchases(world, clock: Clock, window: inv.Window, sold: dict, online: OnlineBatch, order_ids: pl.Series) -> dict:
    """Attributed purchases from the month start to JOURNEY_LOOKAHEAD_DAYS after its end (``sold``: the
    month's attributed sales, from ``_sale_purchases``). Later purchases' money is 0: the attribution
    table reads only this month's."""
    horizon = window.end_utc + JOURNEY_LOOKAHEAD_DAYS * cal.US_PER_DAY
    heads: list[ReceiptHeaders] = [
        receipt_headers(world, clock, cal.from_ordinal(d)) for d in range(window.last_day + 1, window.last_day + JOURNEY_LOOKAHEAD_DAYS + 1)
    ]
    h = {f: np.concatenate([getattr(x, f) for x in heads]) for f in ("key", "store", "day", "seq", "ts", "customer", "attributed")}
    h_keep = h["attributed"] & (h["ts"] < horizon)
    later_online = concat_online(
        [
            online_day(world, clock, cal.from_ordinal(d), lifecycle=False)
            for d in range(window.last_day + 2, window.last_day + JOURNEY_LOOKAHEAD_DAYS + 1)
        ]
    )
    o_keep = online.attributed & (online.ts >= window.start_utc)
    l_keep = later_online.attributed & (later_online.ts < horizon)
    receipt_ids = pl.concat(
        [
            sold["id"],
            ids.receipt_ids(h["day"][h_keep], h["store"][h_keep], h["seq"][h_keep]),
        ]
    )
    purchase_ids = pl.concat(
        [
            receipt_ids,
            order_ids.filter(pl.Series(o_keep)),
            ids.build("ONL", ids.day_text(later_online.day[l_keep]), ids.padded(later_online.seq[l_keep], 6), n=int(l_keep.sum())),
        ]
    )
    n_sold = len(sold["key"])
    n_receipts = n_sold + int(h_keep.sum())
    okeys = np.concatenate([order_key(online.day, online.seq)[o_keep], order_key(later_online.day, later_online.seq)[l_keep]])
    later = lambda n: np.zeros(n, dtype=np.int64)
    money = {
        f: np.r_[sold[f], later(int(h_keep.sum())), getattr(online, f)[o_keep], later(int(l_keep.sum()))]
        for f in ("subtotal", "tax", "discount")
    }
    return {
        "kind": np.r_[np.zeros(n_receipts, dtype=np.int64), np.ones(len(okeys), dtype=np.int64)],
        "key": np.r_[sold["key"].astype(np.int64), h["key"][h_keep].astype(np.int64), okeys],
        "ts": np.r_[sold["ts"], h["ts"][h_keep], online.ts[o_keep], later_online.ts[l_keep]],
        "customer": np.r_[
            sold["customer"], h["customer"][h_keep], online.customer[o_keep], later_online.customer[l_keep]
        ],
        "id": purchase_ids,
        "sale_index": np.r_[sold["sale_index"], np.full(int(h_keep.sum()) + len(okeys), -1)],
        "order_index": np.r_[np.full(n_receipts, -1), np.flatnonzero(o_keep), np.full(int(l_keep.sum()), -1)],
        **money,
    }


def _store_ops(world, clock: Clock, first: int, last: int) -> dict:
    """Opening and closing instants per store; a 24/7 store only closes for Christmas Day."""
    c = world.config
    starts, ends, store_of = [], [], []
    for ordinal in range(first, last + 1):
        day = cal.from_ordinal(ordinal)
        if cal.store_closed(day):
            continue
        state = world.stores_at(day.replace(day=1))
        stores = np.arange(c.stores)
        days = np.full(c.stores, ordinal)
        starts.append(clock.local_to_utc(world.store_zone, days, state.open_hour.astype(np.int64) * cal.US_PER_HOUR))
        close = state.close_hour.astype(np.int64)
        ends.append(
            np.where(
                close == 24,
                clock.local_to_utc(world.store_zone, days + 1, np.zeros(c.stores, dtype=np.int64)),
                clock.local_to_utc(world.store_zone, days, close * cal.US_PER_HOUR),
            )
        )
        store_of.append(stores)
    start, end, store = np.concatenate(starts), np.concatenate(ends), np.concatenate(store_of)
    order = np.lexsort((start, store))
    start, end, store = start[order], end[order], store[order]
    same_store = np.r_[False, store[1:] == store[:-1]]
    continues = same_store & (start == np.r_[0, end[:-1]])  # opening the instant it closed: no event
    opened = ~continues
    closed = ~np.r_[continues[1:], False]
    ts = np.r_[start[opened], end[closed]]
    st = np.r_[store[opened], store[closed]]
    op = np.r_[np.zeros(int(opened.sum()), dtype=np.int64), np.ones(int(closed.sum()), dtype=np.int64)]
    return {"ts": ts, "store": st, "op": op}
