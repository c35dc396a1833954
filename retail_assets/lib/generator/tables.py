"""A simulated month as frames shaped exactly like the fact specs (names, order, dtypes).

Each builder keeps the rows whose time column falls in the month (UTC); rows of the straddling days
that belong to the neighbouring months are produced by those months, identically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import polars as pl

from retail_assets.lib.generator import FACT_TABLES, ids
from retail_assets.lib.generator import inventory as inv
from retail_assets.lib.generator.marketing import CHANNELS, DEVICES
from retail_assets.lib.generator.online import BOPIS, SHIP_FROM_DC, order_key
from retail_assets.lib.generator.online import PROMO_CODES as ONLINE_PROMO_CODES
from retail_assets.lib.generator.payments import attempts
from retail_assets.lib.generator.receipts import PROMO_BOGO, PROMO_CODES
from retail_assets.lib.generator.simulate import Simulation
from retail_assets.lib.specs import REGISTRY, polars_schema
from retail_assets.lib.specs.facts import (
    BLE_ZONES,
    DECLINE_REASONS,
    FOOT_TRAFFIC_ZONES,
    FULFILLMENT_MODES,
    NODE_TYPES,
    PAYMENT_METHODS,
)

STOCKOUT_DC_BIT = np.int64(1) << np.int64(52)


def shape(table: str, data: dict | pl.DataFrame) -> pl.DataFrame:
    """Exactly the spec's columns, in spec order, with the spec's dtypes."""
    schema = polars_schema(REGISTRY.table(table).columns)
    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
    missing = [n for n in schema if n not in frame.columns]
    frame = frame.with_columns([pl.lit(None, dtype=schema[n]).alias(n) for n in missing])
    return frame.select([pl.col(n).cast(t) for n, t in schema.items()])


# Rows per frame of the tables built in parts (one row per sale line or ledger movement): a month
# of them is tens of millions of rows, and their text columns would need gigabytes at once.
BLOCK_ROWS = 1_000_000


def _row_blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, BLOCK_ROWS):
        yield slice(start, min(start + BLOCK_ROWS, n))


def _nullable(values: np.ndarray, zero=0) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int64)).replace(zero, None)


def _in_month(sim: Simulation, ts: np.ndarray) -> np.ndarray:
    return (ts >= sim.start_utc) & (ts < sim.end_utc)


# ---- receipts ------------------------------------------------------------------------------


def _touch_ids(sim: Simulation) -> pl.Series:
    t = sim.touches
    return ids.build(
        "IMT", sim.purchases["id"].gather(pl.Series(t["purchase"])), pl.lit("-"), ids.padded(t["touch_no"], 1), n=len(t["purchase"])
    )


def _campaign_of_sales(sim: Simulation, credit: dict) -> pl.Series:
    """Campaign credited to each sale in sim.sales (null when not attributed within the window)."""
    p = sim.purchases
    campaigns = pl.Series(sim.touches["campaign"], dtype=pl.String)
    values = pl.Series([None] * sim.sales.size, dtype=pl.String)
    ok = (p["sale_index"] >= 0) & (credit["touch"] >= 0) & ~credit["outside"]
    if ok.any():
        values = values.scatter(p["sale_index"][ok], campaigns.gather(pl.Series(credit["touch"][ok])))
    return values


def fact_receipts(sim: Simulation, credit: dict) -> pl.DataFrame:
    return pl.concat([_sale_receipts(sim, credit), shape("fact_receipts", _return_receipts(sim))])


def _sale_receipts(sim: Simulation, credit: dict) -> pl.DataFrame:
    s = sim.sales
    keep = _in_month(sim, s.ts)
    sales = pl.DataFrame(
        {
            "receipt_id": sim.sales_ids,
            "event_ts": ids.utc(s.ts),
            "store_id": s.store + 1,
            "customer_id": _nullable(s.customer),
            "receipt_type": pl.Series(["SALE"] * s.size, dtype=pl.String),
            "payment_method": ids.lookup(PAYMENT_METHODS, sim.sales_tender),
            "item_count": s.items,
            "gross_subtotal_cents": s.gross,
            "discount_cents": s.discount,
            "subtotal_cents": s.subtotal,
            "tax_cents": s.tax,
            "total_cents": s.total,
            "campaign_id": _campaign_of_sales(sim, credit),
        }
    ).filter(pl.Series(keep))
    return shape("fact_receipts", sales)


def _return_money(sim: Simulation) -> dict[str, np.ndarray]:
    r = sim.returns
    o = r.original
    li = r.line_index
    sums = lambda v: np.bincount(r.line_receipt, weights=v, minlength=r.size).astype(np.int64)
    return {
        "gross": -sums(o.line_unit[li] * o.line_qty[li]),
        "discount": -sums(o.line_discount[li]),
        "subtotal": -sums(o.line_ext[li]),
        "tax": -sums(o.line_tax[li]),
        "items": -sums(o.line_qty[li]),
    }


def _return_receipts(sim: Simulation) -> pl.DataFrame:
    r = sim.returns
    o = r.original
    keep = _in_month(sim, r.ts)
    money = _return_money(sim)
    _, tender = attempts(sim.config.seed, o.key, o.tender, o.ts, sim.config.payment_decline_rate)
    return pl.DataFrame(
        {
            "receipt_id": sim.return_ids,
            "event_ts": ids.utc(r.ts),
            "store_id": o.store + 1,
            "customer_id": _nullable(o.customer),
            "receipt_type": pl.Series(["RETURN"] * r.size, dtype=pl.String),
            "return_for_receipt_id": ids.receipt_ids(o.day, o.store, o.seq),
            "payment_method": ids.lookup(PAYMENT_METHODS, tender),
            "item_count": money["items"],
            "gross_subtotal_cents": money["gross"],
            "discount_cents": money["discount"],
            "subtotal_cents": money["subtotal"],
            "tax_cents": money["tax"],
            "total_cents": money["subtotal"] + money["tax"],
        }
    ).filter(pl.Series(keep))


def _promo_text(codes: np.ndarray, vocabulary) -> pl.Series:
    """Text of vocabulary codes; -1 becomes null."""
    index = pl.Series(np.asarray(codes, dtype=np.int64)).replace(-1, None)
    return pl.Series(list(vocabulary), dtype=pl.String).gather(index)


def fact_receipt_lines(sim: Simulation) -> Iterator[pl.DataFrame]:
    yield from _sale_lines(sim)
    yield _return_lines(sim)


def _sale_lines(sim: Simulation) -> Iterator[pl.DataFrame]:
    s = sim.sales
    in_month = _in_month(sim, s.ts)
    for rows in _row_blocks(len(s.line_receipt)):
        r = s.line_receipt[rows]
        sales = pl.DataFrame(
            {
                "receipt_id": sim.sales_ids.gather(pl.Series(r)),
                "line_number": s.line_number[rows],
                "event_ts": ids.utc(s.ts[r]),
                "product_id": s.line_product[rows] + 1,
                "quantity": s.line_qty[rows],
                "unit_price_cents": s.line_unit[rows],
                "discount_cents": s.line_discount[rows],
                "ext_price_cents": s.line_ext[rows],
                "promo_code": _promo_text(s.line_promo[rows], PROMO_CODES),
            }
        ).filter(pl.Series(in_month[r]))
        yield shape("fact_receipt_lines", sales)


def _return_lines(sim: Simulation) -> pl.DataFrame:
    ret = sim.returns
    o = ret.original
    li = ret.line_index
    rkeep = _in_month(sim, ret.ts)[ret.line_receipt]
    returns = pl.DataFrame(
        {
            "receipt_id": sim.return_ids.gather(pl.Series(ret.line_receipt)),
            "line_number": ret.line_number,
            "event_ts": ids.utc(ret.ts[ret.line_receipt]),
            "product_id": o.line_product[li] + 1,
            "quantity": -o.line_qty[li],
            "unit_price_cents": o.line_unit[li],
            "discount_cents": -o.line_discount[li],
            "ext_price_cents": -o.line_ext[li],
            "promo_code": _promo_text(o.line_promo[li], PROMO_CODES),
        }
    ).filter(pl.Series(rkeep))
    return shape("fact_receipt_lines", returns)


def fact_payments(sim: Simulation) -> pl.DataFrame:
    return pl.concat([_store_payments(sim), _online_payments(sim)])


def _store_payments(sim: Simulation) -> pl.DataFrame:
    s, a = sim.sales, sim.sales_payments
    keep = _in_month(sim, a.ts)
    receipt = sim.sales_ids.gather(pl.Series(a.owner))
    store = pl.DataFrame(
        {
            "transaction_id": ids.build("TXN", receipt.str.slice(3), ids.padded(a.attempt, 1), n=len(a.owner)),
            "event_ts": ids.utc(a.ts),
            "receipt_id": receipt,
            "payment_method": ids.lookup(PAYMENT_METHODS, a.method),
            "amount_cents": s.total[a.owner],
            "processing_time_ms": a.processing_ms,
            "status": ids.lookup(("DECLINED", "APPROVED"), a.approved.astype(np.int64)),
            "decline_reason": _promo_text(a.reason, DECLINE_REASONS),
            "store_id": s.store[a.owner] + 1,
            "customer_id": _nullable(s.customer[a.owner]),
        }
    ).filter(pl.Series(keep))
    return shape("fact_payments", store)


def _online_payments(sim: Simulation) -> pl.DataFrame:
    o, b = sim.online, sim.online_payments
    okeep = _in_month(sim, b.ts) & ~o.cancelled[b.owner]
    order = sim.order_ids.gather(pl.Series(b.owner))
    online = pl.DataFrame(
        {
            "transaction_id": ids.build("TXO", order.str.slice(3), ids.padded(b.attempt, 1), n=len(b.owner)),
            "event_ts": ids.utc(b.ts),
            "order_id": order,
            "payment_method": ids.lookup(PAYMENT_METHODS, b.method),
            "amount_cents": o.total[b.owner],
            "processing_time_ms": b.processing_ms,
            "status": ids.lookup(("DECLINED", "APPROVED"), b.approved.astype(np.int64)),
            "decline_reason": _promo_text(b.reason, DECLINE_REASONS),
            "customer_id": o.customer[b.owner],
        }
    ).filter(pl.Series(okeep))
    return shape("fact_payments", online)


def _receipt_blocks(line_receipt: np.ndarray) -> Iterator[slice]:
    """Blocks of about BLOCK_ROWS sale lines that end at a receipt's end (lines are in receipt order)."""
    n, start = len(line_receipt), 0
    while start < n:
        end = start + BLOCK_ROWS
        end = n if end >= n else int(np.searchsorted(line_receipt, line_receipt[end], side="left"))
        end = max(end, int(np.searchsorted(line_receipt, line_receipt[start], side="right")))
        yield slice(start, end)
        start = end


def fact_promotions(sim: Simulation) -> Iterator[pl.DataFrame]:
    """One row per receipt and code: a receipt can carry several (shelf promotions and a coupon)."""
    s = sim.sales
    in_month = _in_month(sim, s.ts)
    for rows in _receipt_blocks(s.line_receipt):
        r = s.line_receipt[rows]
        discounted = (s.line_discount[rows] > 0) & in_month[r]
        lines = pl.DataFrame(
            {
                "receipt": r[discounted],
                "code": s.line_promo[rows][discounted].astype(np.int64),
                "product_id": s.line_product[rows][discounted] + 1,
                "discount": s.line_discount[rows][discounted].astype(np.int64),
            }
        )
        per_code = lines.group_by("receipt", "code", maintain_order=True).agg(
            pl.col("product_id").alias("product_ids"), pl.len().alias("n"), pl.col("discount").sum()
        )
        receipt = per_code["receipt"].to_numpy()
        code = per_code["code"].to_numpy()
        yield shape(
            "fact_promotions",
            {
                "receipt_id": sim.sales_ids.gather(pl.Series(receipt)),
                "promo_code": ids.lookup(PROMO_CODES, code),
                "event_ts": ids.utc(s.ts[receipt]),
                "discount_cents": per_code["discount"],
                "discount_type": ids.lookup(("PERCENTAGE", "BOGO"), PROMO_BOGO[code].astype(np.int64)),
                "product_count": per_code["n"],
                "product_ids": per_code["product_ids"],
                "store_id": s.store[receipt] + 1,
                "customer_id": _nullable(s.customer[receipt]),
            },
        )


def fact_promo_lines(sim: Simulation) -> Iterator[pl.DataFrame]:
    s = sim.sales
    in_month = _in_month(sim, s.ts)
    for rows in _row_blocks(len(s.line_receipt)):
        r = s.line_receipt[rows]
        discounted = (s.line_discount[rows] > 0) & in_month[r]
        rr = r[discounted]
        yield shape(
            "fact_promo_lines",
            {
                "receipt_id": sim.sales_ids.gather(pl.Series(rr)),
                "line_number": s.line_number[rows][discounted],
                "promo_code": ids.lookup(PROMO_CODES, s.line_promo[rows][discounted].astype(np.int64)),
                "event_ts": ids.utc(s.ts[rr]),
                "product_id": s.line_product[rows][discounted] + 1,
                "quantity": s.line_qty[rows][discounted],
                "discount_cents": s.line_discount[rows][discounted],
            },
        )


# ---- inventory and logistics ----------------------------------------------------------------


def _ledger_frames(sim: Simulation, ledger: inv.Ledger, table: str, node_column: str, types) -> Iterator[pl.DataFrame]:
    documents = sim.documents.table()
    for rows in _row_blocks(ledger.size):
        lg = ledger.select(rows)
        lg = lg.select(lg.ts >= sim.start_utc)
        source = pl.Series(lg.source)
        yield shape(
            table,
            {
                "trace_id": ids.trace_ids(table, lg.trace),
                "event_ts": ids.utc(lg.ts),
                node_column: lg.node + 1,
                "product_id": lg.product + 1,
                "quantity": lg.qty,
                "txn_type": ids.lookup(types, lg.kind),
                "source": documents.gather(source.replace(-1, None)),
                "balance": lg.balance,
            },
        )


def fact_store_inventory_txn(sim: Simulation) -> Iterator[pl.DataFrame]:
    return _ledger_frames(sim, sim.store_ledger, "fact_store_inventory_txn", "store_id", inv.STORE_TXN_TYPE)


def fact_dc_inventory_txn(sim: Simulation) -> Iterator[pl.DataFrame]:
    return _ledger_frames(sim, sim.dc_ledger, "fact_dc_inventory_txn", "dc_id", inv.DC_TXN_TYPE)


def fact_stockouts(sim: Simulation) -> pl.DataFrame:
    gaps = inv.store_stockouts(sim.world, sim.clock, sim.window, sim.shelf_gaps, sim.store_ledger, sim.lost_lines)
    keep = _in_month(sim, gaps["ts"])
    g = {k: v[keep] for k, v in gaps.items()}
    frames = [
        shape(
            "fact_stockouts",
            {
                "trace_id": ids.trace_ids("fact_stockouts", (g["day"] << 36) | (g["store"] << 20) | g["product"]),
                "event_ts": ids.utc(g["ts"]),
                "store_id": g["store"] + 1,
                "product_id": g["product"] + 1,
                "last_known_quantity": g["emptied"],
                "lost_sales_units": g["lost"],
            },
        )
    ]
    for ledger, zones, hour, column, dc_bit in ((sim.dc_ledger, sim.world.dc_zone, inv.DC_PERIOD_START, "dc_id", STOCKOUT_DC_BIT),):
        local = sim.clock.utc_to_local(zones[ledger.node], ledger.ts)
        idx = inv.stockouts(ledger, local, hour)
        idx = idx[_in_month(sim, ledger.ts[idx])]
        period = inv.local_day(local[idx], hour)
        key = dc_bit | (period << 36) | (ledger.node[idx] << 20) | ledger.product[idx]
        frames.append(
            shape(
                "fact_stockouts",
                {
                    "trace_id": ids.trace_ids("fact_stockouts", key),
                    "event_ts": ids.utc(ledger.ts[idx]),
                    column: ledger.node[idx] + 1,
                    "product_id": ledger.product[idx] + 1,
                    "last_known_quantity": -ledger.qty[idx],
                },
            )
        )
    return pl.concat(frames).sort("event_ts", maintain_order=True)


def fact_reorders(sim: Simulation) -> pl.DataFrame:
    o = sim.orders
    ts = sim.clock.local_to_utc(sim.world.store_zone[o.store], o.day, np.full(len(o.day), int(inv.STORE_CHECK * inv.HOUR)))
    keep = _in_month(sim, ts)
    key = (o.day << 32) | (o.store << 18) | o.product
    return shape(
        "fact_reorders",
        {
            "trace_id": ids.trace_ids("fact_reorders", key),
            "event_ts": ids.utc(ts),
            "store_id": o.store + 1,
            "dc_id": sim.world.store_dc[o.store] + 1,
            "product_id": o.product + 1,
            "current_quantity": o.on_hand,
            "reorder_quantity": o.qty,
            "reorder_point": o.reorder_point,
            "priority": ids.lookup(("NORMAL", "HIGH", "URGENT"), o.priority),
        },
    ).filter(pl.Series(keep))


TRUCK_STATUSES = ("SCHEDULED", "LOADING", "IN_TRANSIT", "ARRIVED", "UNLOADING", "COMPLETED")


def fact_truck_moves(sim: Simulation) -> pl.DataFrame:
    sh = sim.shipments
    n = sh.size
    times = np.stack([sh.scheduled, sh.loading, sh.in_transit, sh.arrived, sh.unloading, sh.completed], axis=1).ravel()
    leg = np.repeat(np.arange(n), 6)
    status = np.tile(np.arange(6), n)
    actual = (sh.completed - sh.arrived) // inv.MINUTE
    minutes = np.where(status == 3, sh.estimated_unload[leg], np.where(status == 5, actual[leg], -1))
    keep = _in_month(sim, times)
    return shape(
        "fact_truck_moves",
        {
            "shipment_id": sim.shipment_ids.gather(pl.Series(leg)),
            "status": ids.lookup(TRUCK_STATUSES, status),
            "event_ts": ids.utc(times),
            "truck_id": sh.truck[leg] + 1,
            "dc_id": sh.dc[leg] + 1,
            "store_id": sh.store[leg] + 1,
            "eta": ids.utc(sh.arrived[leg]),
            "etd": ids.utc(sh.completed[leg]),
            "unload_duration_minutes": _nullable(minutes, -1),
        },
    ).filter(pl.Series(keep))


def fact_truck_inventory(sim: Simulation) -> pl.DataFrame:
    sh = sim.shipments
    leg = sh.line_leg
    frames = []
    for action, ts, location_type, location in (
        ("LOAD", sh.loading[leg], "DC", sh.dc[leg]),
        ("UNLOAD", sh.unloading[leg], "STORE", sh.store[leg]),
    ):
        keep = _in_month(sim, ts)
        frames.append(
            shape(
                "fact_truck_inventory",
                {
                    "shipment_id": sim.shipment_ids.gather(pl.Series(leg)),
                    "product_id": sh.line_product + 1,
                    "action": pl.Series([action] * len(leg), dtype=pl.String),
                    "event_ts": ids.utc(ts),
                    "truck_id": sh.truck[leg] + 1,
                    "quantity": sh.line_qty,
                    "location_type": pl.Series([location_type] * len(leg), dtype=pl.String),
                    "location_id": location + 1,
                },
            ).filter(pl.Series(keep))
        )
    return pl.concat(frames)


# ---- sensors --------------------------------------------------------------------------------


def _store_zone_lut(sim: Simulation, prefix: str, zones) -> pl.Series:
    n = sim.config.stores
    return pl.Series([f"{prefix}_{s:03d}_{z}" for s in range(1, n + 1) for z in zones], dtype=pl.String)


def fact_foot_traffic(sim: Simulation) -> pl.DataFrame:
    f = sim.foot_traffic
    keep = _in_month(sim, f["ts"])
    store, zone = f["store"][keep], f["zone"][keep]
    return shape(
        "fact_foot_traffic",
        {
            "trace_id": ids.trace_ids("fact_foot_traffic", f["key"][keep]),
            "event_ts": ids.utc(f["ts"][keep]),
            "store_id": store + 1,
            "sensor_id": _store_zone_lut(sim, "SENSOR", FOOT_TRAFFIC_ZONES).gather(pl.Series(store * 5 + zone)),
            "zone": ids.lookup(FOOT_TRAFFIC_ZONES, zone),
            "customer_count": f["count"][keep],
            "dwell_seconds": f["dwell"][keep],
        },
    )


def _device_ids(sim: Simulation, customer: np.ndarray, visit_key: np.ndarray) -> pl.Series:
    """A customer's ble_id for app users; an anonymous id per visit otherwise."""
    known = customer > 0
    anon_visits, anon_index = np.unique(visit_key[~known], return_inverse=True)
    anon = pl.Series(anon_visits, dtype=pl.Int64).cast(pl.String)
    anon = pl.select(pl.concat_str(pl.lit("ANON-"), pl.lit(anon))).to_series()
    out = np.empty(len(customer), dtype=np.int64)
    ble = sim.world.customer_ble_ids
    # Known devices first, then anonymous: one gather over both vocabularies.
    out[known] = customer[known] - 1
    out[~known] = len(ble) + anon_index
    return pl.concat([ble, anon]).gather(pl.Series(out))


def fact_ble_pings(sim: Simulation) -> Iterator[pl.DataFrame]:
    b = sim.ble
    beacons = _store_zone_lut(sim, "BEACON", BLE_ZONES)
    for rows in _row_blocks(len(b["ts"])):
        keep = _in_month(sim, b["ts"][rows])
        store, zone, customer = b["store"][rows][keep], b["zone"][rows][keep], b["customer"][rows][keep]
        yield shape(
            "fact_ble_pings",
            {
                "trace_id": ids.trace_ids("fact_ble_pings", b["key"][rows][keep]),
                "event_ts": ids.utc(b["ts"][rows][keep]),
                "store_id": store + 1,
                "beacon_id": beacons.gather(pl.Series(store * 5 + zone)),
                "customer_ble_id": _device_ids(sim, customer, b["visit_key"][rows][keep]),
                "customer_id": _nullable(customer),
                "rssi": b["rssi"][rows][keep],
                "zone": ids.lookup(BLE_ZONES, zone),
            },
        )


def fact_customer_zone_changes(sim: Simulation) -> pl.DataFrame:
    z = sim.zone_changes
    keep = _in_month(sim, z["ts"])
    return shape(
        "fact_customer_zone_changes",
        {
            "trace_id": ids.trace_ids("fact_customer_zone_changes", z["key"][keep]),
            "event_ts": ids.utc(z["ts"][keep]),
            "store_id": z["store"][keep] + 1,
            "customer_ble_id": _device_ids(sim, z["customer"][keep], z["visit_key"][keep]),
            "from_zone": ids.lookup(BLE_ZONES, z["from_zone"][keep]),
            "to_zone": ids.lookup(BLE_ZONES, z["to_zone"][keep]),
        },
    )


def fact_store_ops(sim: Simulation) -> pl.DataFrame:
    o = sim.store_ops
    keep = _in_month(sim, o["ts"])
    key = ((o["ts"] // inv.MINUTE) << 13) | (o["store"] << 1) | o["op"]
    return shape(
        "fact_store_ops",
        {
            "trace_id": ids.trace_ids("fact_store_ops", key[keep]),
            "event_ts": ids.utc(o["ts"][keep]),
            "store_id": o["store"][keep] + 1,
            "operation_type": ids.lookup(("opened", "closed"), o["op"][keep]),
        },
    ).sort("event_ts", "store_id")


# ---- marketing and online -------------------------------------------------------------------


def _creatives(campaign: pl.Series, channel: np.ndarray, creative: np.ndarray) -> pl.Series:
    return ids.build("CRV", campaign.str.slice(3), ids.lookup(CHANNELS, channel).str.slice(0, 3), ids.padded(creative, 2), n=len(channel))


def fact_marketing(sim: Simulation) -> Iterator[pl.DataFrame]:
    """Served impressions in blocks (millions a month at the reference profile), then the journeys' touches."""
    m = sim.impressions
    ad_ids = sim.world.customer_ad_ids
    served = _in_month(sim, m["ts"]) if m else np.zeros(0, dtype=bool)
    campaigns = m.get("campaign", [])
    for rows in _row_blocks(len(served)):
        campaign = pl.Series(np.asarray(campaigns[rows]).astype(str), dtype=pl.String)
        yield shape(
            "fact_marketing",
            {
                "impression_id": ids.build(
                    "IMP", ids.day_text(m["day"][rows]), ids.padded(m["seq"][rows], 7), n=rows.stop - rows.start
                ),
                "event_ts": ids.utc(m["ts"][rows]),
                "channel": ids.lookup(CHANNELS, m["channel"][rows]),
                "campaign_id": campaign,
                "creative_id": _creatives(campaign, m["channel"][rows], m["creative"][rows]),
                "customer_ad_id": ad_ids.gather(pl.Series(m["ad_customer"][rows] - 1)),
                "customer_id": _nullable(m["customer"][rows]),
                "cost_cents": m["cost"][rows],
                "device": ids.lookup(DEVICES, m["device"][rows]),
            },
        ).filter(pl.Series(served[rows]))
    t = sim.touches
    keep = _in_month(sim, t["ts"])
    tcampaign = pl.Series(t["campaign"], dtype=pl.String)
    touches = shape(
        "fact_marketing",
        {
            "impression_id": _touch_ids(sim),
            "event_ts": ids.utc(t["ts"]),
            "channel": ids.lookup(CHANNELS, t["channel"]),
            "campaign_id": tcampaign,
            "creative_id": _creatives(tcampaign, t["channel"], t["creative"]),
            "customer_ad_id": ad_ids.gather(pl.Series(t["customer"] - 1)),
            "customer_id": t["customer"],
            "cost_cents": t["cost"],
            "device": ids.lookup(DEVICES, t["device"]),
        },
    ).filter(pl.Series(keep))
    yield touches


def fact_online_order_headers(sim: Simulation, credit: dict) -> pl.DataFrame:
    o = sim.online
    keep = _in_month(sim, o.ts)
    p = sim.purchases
    campaigns = pl.Series([None] * o.size, dtype=pl.String)
    ok = (p["order_index"] >= 0) & (credit["touch"] >= 0) & ~credit["outside"]
    if ok.any():
        campaigns = campaigns.scatter(
            p["order_index"][ok], pl.Series(sim.touches["campaign"], dtype=pl.String).gather(pl.Series(credit["touch"][ok]))
        )
    _, tender = attempts(
        sim.config.seed, order_key(o.day, o.seq).astype(np.uint64) | np.uint64(1 << 62), o.tender, o.ts, sim.config.payment_decline_rate
    )
    return shape(
        "fact_online_order_headers",
        {
            "order_id": sim.order_ids,
            "event_ts": ids.utc(o.ts),
            "customer_id": o.customer,
            "fulfillment_mode": ids.lookup(FULFILLMENT_MODES, o.mode),
            "node_type": ids.lookup(NODE_TYPES, np.where(o.mode == SHIP_FROM_DC, NODE_TYPES.index("DC"), NODE_TYPES.index("STORE"))),
            "node_id": o.node + 1,
            "item_count": o.items,
            "gross_subtotal_cents": o.gross,
            "discount_cents": o.discount,
            "subtotal_cents": o.subtotal,
            "tax_cents": o.tax,
            "total_cents": o.total,
            "payment_method": ids.lookup(PAYMENT_METHODS, tender),
            "order_status": ids.lookup(("DELIVERED", "CANCELLED"), o.cancelled.astype(np.int64)),
            "completed_ts": ids.utc(o.delivered).replace(ids.utc(np.zeros(1, dtype=np.int64))[0], None),
            "campaign_id": campaigns,
        },
    ).filter(pl.Series(keep))


def fact_online_order_lines(sim: Simulation) -> pl.DataFrame:
    o = sim.online
    lo = o.line_order
    keep = _in_month(sim, o.ts)[lo]
    status = np.where(o.cancelled[lo], 1, 0)
    stamp = lambda v: ids.utc(v).replace(ids.utc(np.zeros(1, dtype=np.int64))[0], None)
    # One pick time per order and node (the order is picked at once): the online_order_picked event the
    # stream sends for the order carries the same instant, so Silver sees batch and stream agree.
    picked = o.picked[lo]
    return shape(
        "fact_online_order_lines",
        {
            "order_id": sim.order_ids.gather(pl.Series(lo)),
            "line_number": o.line_number,
            "event_ts": ids.utc(o.ts[lo]),
            "product_id": o.line_product + 1,
            "quantity": o.line_qty,
            "unit_price_cents": o.line_unit,
            "discount_cents": o.line_discount,
            "ext_price_cents": o.line_ext,
            "promo_code": _promo_text(o.line_promo, ONLINE_PROMO_CODES),
            "fulfillment_status": ids.lookup(("DELIVERED", "CANCELLED"), status),
            "fulfillment_mode": ids.lookup(FULFILLMENT_MODES, o.mode[lo]),
            "node_type": ids.lookup(NODE_TYPES, np.where(o.mode[lo] == SHIP_FROM_DC, NODE_TYPES.index("DC"), NODE_TYPES.index("STORE"))),
            "node_id": o.node[lo] + 1,
            "picked_ts": stamp(picked),
            "shipped_ts": stamp(np.where(o.mode[lo] == BOPIS, 0, o.shipped[lo])),
            "delivered_ts": stamp(o.delivered[lo]),
        },
    ).filter(pl.Series(keep))


def fact_marketing_attribution(sim: Simulation, credit: dict) -> pl.DataFrame:
    p, t = sim.purchases, sim.touches
    in_month = _in_month(sim, p["ts"]) & ((p["sale_index"] >= 0) | (p["order_index"] >= 0)) & (credit["touch"] >= 0)
    idx = np.flatnonzero(in_month)
    touch = credit["touch"][idx]
    outside = credit["outside"][idx]
    # The purchases carry their money: the month's sales may have been streamed and dropped (simulate's on_day).
    is_sale = p["sale_index"][idx] >= 0
    subtotal = p["subtotal"][idx]
    tax = p["tax"][idx]
    touch_ids = _touch_ids(sim).gather(pl.Series(touch))
    touch_ts = t["ts"][touch]
    lag = (p["ts"][idx] - touch_ts) // 1_000_000
    purchase_ids = p["id"].gather(pl.Series(idx))
    frame = pl.DataFrame(
        {
            "purchase": purchase_ids,
            "is_sale": is_sale,
            "outside": outside,
            "touch_id": touch_ids,
            "touch_ts": ids.utc(touch_ts),
            "lag": lag,
        }
    ).select(
        pl.concat_str(pl.lit("ATT"), "purchase").alias("attribution_id"),
        pl.when("is_sale").then("purchase").alias("receipt_id"),
        pl.when(~pl.col("is_sale")).then("purchase").alias("order_id"),
        pl.when(~pl.col("outside")).then("touch_id").alias("impression_id"),
        pl.when(~pl.col("outside")).then("touch_ts").alias("touch_ts"),
        pl.when(~pl.col("outside")).then("lag").alias("lag_seconds"),
    )
    return shape(
        "fact_marketing_attribution",
        frame.with_columns(
            event_ts=ids.utc(p["ts"][idx]),
            customer_id=pl.Series(p["customer"][idx]),
            campaign_id=pl.Series(t["campaign"], dtype=pl.String).gather(pl.Series(touch)),
            channel=ids.lookup(CHANNELS, t["channel"][touch]),
            attribution_model=pl.lit("LAST_TOUCH_7D"),
            status=ids.lookup(("ATTRIBUTED", "OUTSIDE_WINDOW"), outside.astype(np.int64)),
            attributed_revenue_cents=pl.Series(subtotal),
            discount_cents=pl.Series(p["discount"][idx]),
            tax_cents=pl.Series(tax),
            payment_cents=pl.Series(subtotal + tax),
        ),
    )


BUILDERS: dict[str, Callable[[Simulation, dict], pl.DataFrame | Iterable[pl.DataFrame]]] = {
    "fact_receipts": fact_receipts,
    "fact_receipt_lines": lambda sim, credit: fact_receipt_lines(sim),
    "fact_payments": lambda sim, credit: fact_payments(sim),
    "fact_store_inventory_txn": lambda sim, credit: fact_store_inventory_txn(sim),
    "fact_dc_inventory_txn": lambda sim, credit: fact_dc_inventory_txn(sim),
    "fact_truck_moves": lambda sim, credit: fact_truck_moves(sim),
    "fact_truck_inventory": lambda sim, credit: fact_truck_inventory(sim),
    "fact_foot_traffic": lambda sim, credit: fact_foot_traffic(sim),
    "fact_ble_pings": lambda sim, credit: fact_ble_pings(sim),
    "fact_customer_zone_changes": lambda sim, credit: fact_customer_zone_changes(sim),
    "fact_marketing": lambda sim, credit: fact_marketing(sim),
    "fact_online_order_headers": fact_online_order_headers,
    "fact_online_order_lines": lambda sim, credit: fact_online_order_lines(sim),
    "fact_store_ops": lambda sim, credit: fact_store_ops(sim),
    "fact_stockouts": lambda sim, credit: fact_stockouts(sim),
    "fact_promotions": lambda sim, credit: fact_promotions(sim),
    "fact_promo_lines": lambda sim, credit: fact_promo_lines(sim),
    "fact_reorders": lambda sim, credit: fact_reorders(sim),
    "fact_marketing_attribution": fact_marketing_attribution,
}
if set(BUILDERS) != set(FACT_TABLES):
    raise RuntimeError(f"fact specs without a generator builder: {sorted(set(FACT_TABLES) ^ set(BUILDERS))}")


# Tables whose rows are made day by day when simulate streams the days (its on_day): what one day's
# Simulation adds to each, in the table's row order, and what the month appends after the last day
# (returns, online payments). Day parts followed by the tail are the rows BUILDERS makes for the month.
DAY_PARTS: dict[str, Callable[[Simulation], Iterable[pl.DataFrame]]] = {
    "fact_ble_pings": lambda sim: fact_ble_pings(sim) if sim.ble else (),
    "fact_customer_zone_changes": lambda sim: (fact_customer_zone_changes(sim),) if sim.zone_changes else (),
    "fact_receipt_lines": _sale_lines,
    "fact_receipts": lambda sim: (_sale_receipts(sim, sim.credit),),
    "fact_payments": lambda sim: (_store_payments(sim),),
    "fact_promo_lines": fact_promo_lines,
    "fact_promotions": fact_promotions,
}
MONTH_TAILS: dict[str, Callable[[Simulation], Iterable[pl.DataFrame]]] = {
    "fact_receipt_lines": lambda sim: (_return_lines(sim),),
    "fact_receipts": lambda sim: (shape("fact_receipts", _return_receipts(sim)),),
    "fact_payments": lambda sim: (_online_payments(sim),),
}


def day_parts(sim: Simulation, table: str) -> Iterator[pl.DataFrame]:
    """What one streamed day (a Simulation passed to simulate's on_day) adds to ``table``."""
    yield from DAY_PARTS[table](sim)


def month_tail(sim: Simulation, table: str) -> Iterator[pl.DataFrame]:
    """What the month appends to a table of DAY_PARTS after its streamed days (its stage must be complete)."""
    yield from MONTH_TAILS.get(table, lambda sim: ())(sim)


def table_parts(sim: Simulation, table: str) -> Iterator[pl.DataFrame]:
    """One fact table of the simulated month as consecutive frames, built one at a time (its stage
    in simulate.STAGES must be complete): writers that stream never hold the largest tables whole."""
    built = BUILDERS[table](sim, sim.credit)
    if isinstance(built, pl.DataFrame):
        yield built
    else:
        yield from built


def build_table(sim: Simulation, table: str) -> pl.DataFrame:
    """One fact table of the simulated month (its stage in simulate.STAGES must be complete)."""
    return pl.concat(list(table_parts(sim, table)))


def month_tables(sim: Simulation, tables: tuple[str, ...] = FACT_TABLES):
    """Yield (table, frame) for each fact of the simulated month, in spec order."""
    for table in tables:
        yield table, build_table(sim, table)
