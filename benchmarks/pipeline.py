"""Gold + serving for a reference month, and a full-graph single-run backfill of 3 months: Dagster vs direct calls.

The synthetic generator (issue 3) is not merged yet, so by default this builds reference-sized input
synthetically, every fact at the reference profile's monthly volume (86 stores, 403k customers, 10k
products, 20 DCs, 50 trucks; ~250 receipts per store-day, ~12 lines per receipt, ~13 BLE pings per
receipt, 8,950 impressions a day, 653 online orders a day, ...), with keys that resolve to the
dimensions and values the specs allow.

    uv run python benchmarks/pipeline.py month                # Gold + serving for 2024-01 (Silver built synthetically)
    uv run python benchmarks/pipeline.py backfill             # Silver + Gold + serving for 2024-01..03 in ONE run
    uv run python benchmarks/pipeline.py month --scale 0.1    # a tenth of the volumes
    uv run python benchmarks/pipeline.py month --lake DIR --reuse --month 2024-01
                                                              # an existing lake (e.g. real generated data)

``month`` times each Gold table (transform, validation, Delta write, reconciliation) and each
serving table (Delta → Arrow → DuckDB) called directly, then the same month through Dagster
(``dg.materialize`` of every Gold and serving asset). ``backfill`` writes the months as Bronze (batch
rows with lineage; ``--reuse`` takes the Bronze already in ``--lake``), then runs every Silver, Gold and
serving asset for the whole range as one single-run backfill, and the same transforms without Dagster
on a fresh copy. Each measurement runs in its own process so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from retail_assets.lib.gold.pipeline import add_months
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.partitions import month_range
from retail_assets.lib.specs import REGISTRY, bronze_columns, polars_schema, silver_columns
from retail_assets.lib.specs import facts as F

STORES, CUSTOMERS, PRODUCTS, DCS, TRUCKS, GEOGRAPHIES = 86, 403_000, 10_000, 20, 50, 20
RECEIPTS_PER_STORE_DAY, LINES_PER_RECEIPT, PINGS_PER_RECEIPT = 250, 12, 13
IMPRESSIONS_PER_DAY, ONLINE_ORDERS_PER_DAY, LINES_PER_ORDER = 8_950, 653, 2.9
UTC = pl.Datetime("us", "UTC")


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---- synthetic input ------------------------------------------------------------------------------


def _shape(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """The Silver columns of ``table`` in spec order and types; columns not generated are NULL."""
    schema = polars_schema(silver_columns(table))
    return df.select([(pl.col(c) if c in df.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()])


class Month:
    """Random but consistent facts of one month."""

    def __init__(self, month: dt.date, scale: float) -> None:
        self.month, self.scale = month, scale
        self.rng = np.random.default_rng(month.toordinal())
        self.days = calendar.monthrange(month.year, month.month)[1]
        self.start = np.datetime64(dt.datetime(month.year, month.month, 1), "us")
        self.tag = f"{month:%Y%m}"

    def n(self, per_month: float) -> int:
        return max(1, int(per_month * self.scale))

    def times(self, n: int) -> pl.Series:
        offsets = self.rng.integers(0, self.days * 86_400_000_000, n).astype("timedelta64[us]")
        return pl.Series(self.start + offsets).dt.replace_time_zone("UTC")

    def ints(self, low: int, high: int, n: int) -> np.ndarray:
        return self.rng.integers(low, high + 1, n)

    def pick(self, values: tuple[str, ...], n: int) -> pl.Series:
        return pl.Series(np.array(values)[self.rng.integers(0, len(values), n)])

    def ids(self, prefix: str, n: int) -> pl.Series:
        return f"{prefix}{self.tag}-" + pl.int_range(0, n, eager=True).cast(pl.String)

    def some(self, share: float, low: int, high: int, n: int) -> pl.Series:
        """Integers in [low, high] for a ``share`` of the rows, NULL for the others."""
        values = pl.Series(self.ints(low, high, n))
        return pl.select(pl.when(pl.Series(self.rng.random(n) < share)).then(values)).to_series()

    def facts(self) -> dict[str, pl.DataFrame]:
        out: dict[str, pl.DataFrame] = {}
        receipts_n = self.n(STORES * self.days * RECEIPTS_PER_STORE_DAY)
        returning = self.rng.random(receipts_n) < 0.01
        receipts = pl.DataFrame(
            {
                "receipt_id": self.ids("R", receipts_n),
                "event_ts": self.times(receipts_n),
                "store_id": self.ints(1, STORES, receipts_n),
                "customer_id": self.ints(1, CUSTOMERS, receipts_n),
                "returning": returning,
                "lines": self.rng.poisson(LINES_PER_RECEIPT - 1, receipts_n) + 1,
                "payment_method": self.pick(("CREDIT_CARD", "DEBIT_CARD", "CASH", "MOBILE_PAY"), receipts_n),
            }
        )
        n_lines = int(receipts["lines"].sum())
        sign = pl.when(pl.col("returning")).then(-1).otherwise(1)
        lines = (
            receipts.select("receipt_id", "event_ts", "store_id", "lines", "returning")
            .with_columns(pl.int_ranges(1, pl.col("lines") + 1).alias("line_number"))
            .explode("line_number")
            .with_columns(
                product_id=pl.Series(self.ints(1, PRODUCTS, n_lines)),
                quantity=pl.Series(self.ints(1, 3, n_lines)) * sign,
                unit_price_cents=pl.Series(self.ints(99, 2_999, n_lines)),
                discount_cents=pl.lit(0),
                promo_code=pl.lit(None, dtype=pl.String),
            )
            .with_columns(ext_price_cents=pl.col("unit_price_cents") * pl.col("quantity"))
        )
        money = lines.group_by("receipt_id").agg(
            pl.col("ext_price_cents").sum().alias("subtotal_cents"), pl.col("quantity").sum().alias("item_count")
        )
        receipts = (
            receipts.join(money, on="receipt_id")
            .with_columns(
                receipt_type=pl.when(pl.col("returning")).then(pl.lit("RETURN")).otherwise(pl.lit("SALE")),
                return_for_receipt_id=pl.when(pl.col("returning")).then(pl.col("receipt_id").shift(1)),
                gross_subtotal_cents=pl.col("subtotal_cents"),
                discount_cents=pl.lit(0),
                tax_cents=pl.col("subtotal_cents") * 825 // 10_000,
            )
            .with_columns(
                total_cents=pl.col("subtotal_cents") + pl.col("tax_cents"),
                customer_id=pl.when(pl.col("returning")).then(None).otherwise(pl.col("customer_id")),
            )
        )
        out["fact_receipts"] = receipts
        out["fact_receipt_lines"] = lines
        sales = receipts.filter(~pl.col("returning"))
        approved = self.rng.random(sales.height) > 0.025
        online_n = self.n(ONLINE_ORDERS_PER_DAY * self.days)
        orders = (
            pl.DataFrame(
                {
                    "order_id": self.ids("O", online_n),
                    "event_ts": self.times(online_n),
                    "customer_id": self.ints(1, CUSTOMERS, online_n),
                    "fulfillment_mode": self.pick(F.FULFILLMENT_MODES, online_n),
                    "item_count": self.ints(1, 6, online_n),
                    "subtotal_cents": self.ints(500, 20_000, online_n),
                    "payment_method": self.pick(("CREDIT_CARD", "DEBIT_CARD", "PAYPAL", "OTHER"), online_n),
                }
            )
            .with_columns(
                node_type=pl.when(pl.col("fulfillment_mode") == "SHIP_FROM_DC")
                .then(pl.lit("DC"))
                .otherwise(pl.lit("STORE")),
                node_id=pl.Series(self.ints(1, DCS, online_n)),
                gross_subtotal_cents=pl.col("subtotal_cents"),
                discount_cents=pl.lit(0),
                tax_cents=pl.col("subtotal_cents") * 7 // 100,
                order_status=pl.lit("DELIVERED"),
            )
            .with_columns(total_cents=pl.col("subtotal_cents") + pl.col("tax_cents"))
        )
        out["fact_online_order_headers"] = orders
        order_lines_n = int(online_n * LINES_PER_ORDER)
        out["fact_online_order_lines"] = (
            orders.select("order_id", "event_ts", "fulfillment_mode", "node_type", "node_id")
            .sample(order_lines_n, with_replacement=True, seed=1)
            .with_columns(
                line_number=pl.int_range(pl.len()).over("order_id").cast(pl.Int32) + 1,
                product_id=pl.Series(self.ints(1, PRODUCTS, order_lines_n)),
                quantity=pl.Series(self.ints(1, 3, order_lines_n)),
                unit_price_cents=pl.Series(self.ints(99, 2_999, order_lines_n)),
                discount_cents=pl.lit(0),
                fulfillment_status=pl.lit("DELIVERED"),
            )
            .with_columns(
                ext_price_cents=pl.col("unit_price_cents") * pl.col("quantity"),
                picked_ts=pl.col("event_ts") + pl.duration(hours=4),
                shipped_ts=pl.col("event_ts") + pl.duration(hours=18),
                delivered_ts=pl.col("event_ts") + pl.duration(hours=60),
            )
        )
        out["fact_payments"] = (
            pl.concat(
                [
                    sales.select(
                        "event_ts",
                        "receipt_id",
                        "payment_method",
                        pl.col("total_cents").alias("amount_cents"),
                        "store_id",
                        "customer_id",
                    ),
                    orders.select(
                        "event_ts",
                        pl.col("order_id"),
                        "payment_method",
                        pl.col("total_cents").alias("amount_cents"),
                        "customer_id",
                    ),
                ],
                how="diagonal_relaxed",
            )
            .with_columns(
                transaction_id=self.ids("T", sales.height + online_n),
                processing_time_ms=pl.Series(self.ints(500, 4_000, sales.height + online_n)),
                status=pl.Series(np.where(np.concatenate([approved, np.ones(online_n, bool)]), "APPROVED", "DECLINED")),
            )
            .with_columns(
                decline_reason=pl.when(pl.col("status") == "DECLINED").then(pl.lit("CARD_EXPIRED")),
                amount_cents=pl.max_horizontal("amount_cents", 1),
            )
        )
        shipments_n = self.n(STORES * self.days)
        shipments = pl.DataFrame(
            {
                "shipment_id": self.ids("SHIP", shipments_n),
                "truck_id": self.ints(1, TRUCKS, shipments_n),
                "dc_id": self.ints(1, DCS, shipments_n),
                "store_id": self.ints(1, STORES, shipments_n),
                "departure": self.times(shipments_n),
                "travel_h": self.ints(2, 12, shipments_n),
                "unload_min": self.ints(30, 150, shipments_n),
            }
        ).with_columns(eta=pl.col("departure") + pl.duration(hours=pl.col("travel_h")))
        shipments = shipments.with_columns(etd=pl.col("eta") + pl.duration(minutes=pl.col("unload_min")))
        offsets = {
            "SCHEDULED": pl.duration(hours=-12),
            "LOADING": pl.duration(hours=-2),
            "IN_TRANSIT": pl.duration(hours=0),
        }
        moves = [shipments.with_columns(status=pl.lit(s), event_ts=pl.col("departure") + o) for s, o in offsets.items()]
        moves += [
            shipments.with_columns(
                status=pl.lit("ARRIVED"), event_ts=pl.col("eta"), unload_duration_minutes=pl.lit(60, dtype=pl.Int64)
            ),
            shipments.with_columns(status=pl.lit("UNLOADING"), event_ts=pl.col("eta") + pl.duration(minutes=15)),
            shipments.with_columns(
                status=pl.lit("COMPLETED"), event_ts=pl.col("etd"), unload_duration_minutes=pl.col("unload_min")
            ),
        ]
        out["fact_truck_moves"] = pl.concat(moves, how="diagonal_relaxed").filter(
            pl.col("event_ts").dt.truncate("1mo").dt.date() == self.month
        )
        loads = (
            shipments.select("shipment_id", "truck_id", "dc_id", "store_id", "departure", "eta")
            .join(pl.DataFrame({"k": range(5)}), how="cross")
            .with_columns(product_id=pl.Series(self.ints(1, PRODUCTS, shipments_n * 5)), quantity=pl.lit(40))
        )
        loads = loads.unique(["shipment_id", "product_id"])
        out["fact_truck_inventory"] = pl.concat(
            [
                loads.with_columns(
                    action=pl.lit("LOAD"),
                    event_ts=pl.col("departure"),
                    location_type=pl.lit("DC"),
                    location_id=pl.col("dc_id"),
                ),
                loads.with_columns(
                    action=pl.lit("UNLOAD"),
                    event_ts=pl.col("eta"),
                    location_type=pl.lit("STORE"),
                    location_id=pl.col("store_id"),
                ),
            ],
            how="diagonal_relaxed",
        ).filter(pl.col("event_ts").dt.truncate("1mo").dt.date() == self.month)
        balance = pl.Series(self.ints(0, 100, n_lines))
        stream = self.rng.random(n_lines) < 0.1
        inbound = loads.filter(pl.col("eta").dt.truncate("1mo").dt.date() == self.month)
        out["fact_store_inventory_txn"] = pl.concat(
            [
                lines.select(
                    pl.format("SIT-{}-{}", "receipt_id", "line_number").alias("trace_id"),
                    "event_ts",
                    "store_id",
                    "product_id",
                    (-pl.col("quantity")).alias("quantity"),
                    pl.when(pl.col("quantity") > 0).then(pl.lit("SALE")).otherwise(pl.lit("RETURN")).alias("txn_type"),
                    pl.col("receipt_id").alias("source"),
                ).with_columns(balance=pl.when(pl.Series(stream)).then(None).otherwise(balance)),
                inbound.select(
                    pl.format("IN-{}-{}", "shipment_id", "product_id").alias("trace_id"),
                    pl.col("eta").alias("event_ts"),
                    "store_id",
                    "product_id",
                    "quantity",
                    pl.lit("INBOUND_SHIPMENT").alias("txn_type"),
                    pl.col("shipment_id").alias("source"),
                    pl.lit(60).alias("balance"),
                ),
            ],
            how="diagonal_relaxed",
        )
        supplier_n = self.n(DCS * self.days * 2 * 30)
        out["fact_dc_inventory_txn"] = pl.concat(
            [
                pl.DataFrame(
                    {
                        "dc_id": self.ints(1, DCS, supplier_n),
                        "product_id": self.ints(1, PRODUCTS, supplier_n),
                        "quantity": self.ints(50, 500, supplier_n),
                        "event_ts": self.times(supplier_n),
                    }
                ).with_columns(trace_id=self.ids("DIN", supplier_n), txn_type=pl.lit("INBOUND_SHIPMENT")),
                loads.filter(pl.col("departure").dt.truncate("1mo").dt.date() == self.month).select(
                    pl.format("DOUT-{}-{}", "shipment_id", "product_id").alias("trace_id"),
                    "dc_id",
                    "product_id",
                    (-pl.col("quantity")).alias("quantity"),
                    pl.col("departure").alias("event_ts"),
                    pl.lit("OUTBOUND_SHIPMENT").alias("txn_type"),
                    pl.col("shipment_id").alias("source"),
                ),
            ],
            how="diagonal_relaxed",
        )
        hours = (
            pl.DataFrame({"store_id": range(1, STORES + 1)})
            .join(pl.DataFrame({"day": range(self.days)}), how="cross")
            .join(pl.DataFrame({"hour": range(8, 22)}), how="cross")
            .join(pl.DataFrame({"zone": F.FOOT_TRAFFIC_ZONES}), how="cross")
        )
        hours = hours.sample(fraction=min(1.0, self.scale), seed=3) if self.scale < 1 else hours
        out["fact_foot_traffic"] = hours.with_columns(
            trace_id=self.ids("FT", hours.height),
            event_ts=pl.lit(self.start).dt.replace_time_zone("UTC")
            + pl.duration(days=pl.col("day"), hours=pl.col("hour")),
            sensor_id=pl.format("SENSOR_{}_{}", "store_id", "zone"),
            customer_count=pl.Series(self.ints(2, 60, hours.height)),
            dwell_seconds=pl.Series(self.ints(30, 420, hours.height)),
        )
        pings_n = self.n(STORES * self.days * RECEIPTS_PER_STORE_DAY * PINGS_PER_RECEIPT)
        known = self.rng.random(pings_n) < 0.3
        customer = self.ints(1, CUSTOMERS, pings_n)
        out["fact_ble_pings"] = pl.DataFrame(
            {
                "trace_id": self.ids("BP", pings_n),
                "event_ts": self.times(pings_n),
                "store_id": self.ints(1, STORES, pings_n),
                "known": known,
                "customer": customer,
                "rssi": self.ints(-80, -30, pings_n),
                "zone": self.pick(F.BLE_ZONES, pings_n),
            }
        ).with_columns(
            beacon_id=pl.format("BEACON_{}_{}", "store_id", "zone"),
            customer_ble_id=pl.when(pl.col("known")).then(pl.format("BLE{}", "customer")).otherwise(pl.col("trace_id")),
            customer_id=pl.when(pl.col("known")).then(pl.col("customer")),
        )
        changes_n = max(1, int(receipts_n * 0.3))
        out["fact_customer_zone_changes"] = pl.DataFrame(
            {
                "trace_id": self.ids("ZC", changes_n),
                "event_ts": self.times(changes_n),
                "store_id": self.ints(1, STORES, changes_n),
                "customer_ble_id": self.ids("BLE", changes_n),
                "from_zone": self.pick(F.BLE_ZONES, changes_n),
                "to_zone": self.pick(F.BLE_ZONES, changes_n),
            }
        )
        impressions_n = self.n(IMPRESSIONS_PER_DAY * self.days)
        campaign = self.ints(1, 40, impressions_n)
        out["fact_marketing"] = pl.DataFrame(
            {
                "impression_id": self.ids("IMP", impressions_n),
                "event_ts": self.times(impressions_n),
                "channel": self.pick(F.MARKETING_CHANNELS, impressions_n),
                "campaign": campaign,
                "customer_id": self.some(0.05, 1, CUSTOMERS, impressions_n),
                "cost_cents": self.ints(10, 525, impressions_n),
                "device": self.pick(F.DEVICES, impressions_n),
            }
        ).with_columns(
            campaign_id=pl.format("CAMP{}", "campaign"),
            creative_id=pl.format("CR{}", "campaign"),
            customer_ad_id=pl.format("AD{}", "impression_id"),
        )
        days = pl.DataFrame({"store_id": range(1, STORES + 1)}).join(
            pl.DataFrame({"day": range(self.days)}), how="cross"
        )
        base = pl.lit(self.start).dt.replace_time_zone("UTC") + pl.duration(days=pl.col("day"))
        out["fact_store_ops"] = (
            pl.concat(
                [
                    days.with_columns(operation_type=pl.lit("opened"), event_ts=base + pl.duration(hours=13)),
                    days.with_columns(operation_type=pl.lit("closed"), event_ts=base + pl.duration(hours=27)),
                ],
                how="diagonal_relaxed",
            )
            .filter(pl.col("event_ts").dt.truncate("1mo").dt.date() == self.month)
            .with_columns(trace_id=pl.format("OPS-{}-{}-{}", "store_id", "day", "operation_type"))
        )
        stockouts_n = self.n(STORES * self.days * 5)
        out["fact_stockouts"] = pl.DataFrame(
            {
                "trace_id": self.ids("SO", stockouts_n),
                "event_ts": self.times(stockouts_n),
                "store_id": self.some(0.9, 1, STORES, stockouts_n),
                "dc": self.ints(1, DCS, stockouts_n),
                "product_id": self.ints(1, PRODUCTS, stockouts_n),
                "last_known_quantity": self.ints(1, 5, stockouts_n),
            }
        ).with_columns(dc_id=pl.when(pl.col("store_id").is_null()).then(pl.col("dc")))
        promoted = (
            lines.filter(pl.col("quantity") > 0).sample(fraction=0.05, seed=5).unique(["receipt_id", "line_number"])
        )
        out["fact_promo_lines"] = promoted.select(
            "receipt_id",
            "line_number",
            "event_ts",
            "product_id",
            "quantity",
            pl.lit("PROMO10").alias("promo_code"),
            (pl.col("ext_price_cents") // 10 + 1).alias("discount_cents"),
        )
        out["fact_promotions"] = (
            out["fact_promo_lines"]
            .group_by("receipt_id", "promo_code")
            .agg(
                pl.col("event_ts").first(),
                pl.col("discount_cents").sum(),
                pl.len().alias("product_count"),
                pl.col("product_id").alias("product_ids"),
            )
            .join(receipts.select("receipt_id", "store_id", "customer_id"), on="receipt_id")
            .with_columns(discount_type=pl.lit("PERCENTAGE"))
        )
        reorders_n = self.n(STORES * self.days * 5)
        point = self.ints(5, 20, reorders_n)
        current = self.ints(0, 20, reorders_n)
        deficit = (point - current) / point
        out["fact_reorders"] = pl.DataFrame(
            {
                "trace_id": self.ids("RO", reorders_n),
                "event_ts": self.times(reorders_n),
                "store_id": self.ints(1, STORES, reorders_n),
                "dc_id": self.ints(1, DCS, reorders_n),
                "product_id": self.ints(1, PRODUCTS, reorders_n),
                "current_quantity": current,
                "reorder_quantity": self.ints(50, 200, reorders_n),
                "reorder_point": point,
                "priority": np.where(deficit >= 0.5, "URGENT", np.where(deficit >= 0.25, "HIGH", "NORMAL")),
            }
        )
        attributed = sales.sample(fraction=0.05, seed=7).filter(pl.col("customer_id").is_not_null())
        out["fact_marketing_attribution"] = attributed.select(
            pl.format("ATT-{}", "receipt_id").alias("attribution_id"),
            "event_ts",
            "receipt_id",
            "customer_id",
            (pl.col("event_ts") - pl.duration(hours=30)).alias("touch_ts"),
            pl.col("subtotal_cents").clip(0).alias("attributed_revenue_cents"),
            pl.col("tax_cents").clip(0),
            pl.col("total_cents").clip(0).alias("payment_cents"),
        ).with_columns(
            campaign_id=pl.format("CAMP{}", pl.Series(self.ints(1, 40, attributed.height))),
            channel=self.pick(F.MARKETING_CHANNELS, attributed.height),
            impression_id=pl.lit(None, dtype=pl.String),
            lag_seconds=pl.lit(108_000),
            attribution_model=pl.lit("LAST_TOUCH_7D"),
            status=pl.lit("ATTRIBUTED"),
            discount_cents=pl.lit(0),
        )
        return {name: _shape(frame.with_columns(month_start=pl.lit(self.month)), name) for name, frame in out.items()}


def dimensions(first: dt.date) -> dict[str, pl.DataFrame]:
    """Dimension rows (spec columns) for the whole run; SCD2 versions start at the first month."""
    rng = np.random.default_rng(7)
    frames = {
        "dim_geographies": pl.DataFrame({"geography_id": range(1, GEOGRAPHIES + 1)}).with_columns(
            city=pl.lit("City"),
            state=pl.lit("TX"),
            zip_code=pl.lit("75001"),
            district=pl.lit("D"),
            region=pl.lit("South"),
            latitude=pl.lit(32.0),
            longitude=pl.lit(-97.0),
        ),
        "dim_distribution_centers": pl.DataFrame({"dc_id": range(1, DCS + 1)}).with_columns(
            dc_number=pl.format("DC{}", "dc_id"), address=pl.lit("1 Depot"), geography_id=pl.col("dc_id")
        ),
        "dim_stores": pl.DataFrame({"store_id": range(1, STORES + 1)}).with_columns(
            store_number=pl.format("S{}", "store_id"),
            address=pl.lit("1 Main"),
            geography_id=pl.col("store_id") % 20 + 1,
            time_zone=pl.lit("America/Chicago"),
            tax_rate_bps=pl.lit(825),
            volume_class=pl.lit("medium_volume"),
            store_format=pl.lit("standard"),
            operating_hours=pl.lit("8am-10pm"),
            open_hour=pl.lit(8),
            close_hour=pl.lit(22),
            daily_traffic_multiplier=pl.lit(1.0),
        ),
        "dim_trucks": pl.DataFrame({"truck_id": range(1, TRUCKS + 1)}).with_columns(
            license_plate=pl.lit("ABC1234"),
            is_refrigerated=pl.lit(False),
            fleet=pl.lit("POOL"),
            dc_id=pl.lit(None, dtype=pl.Int64),
        ),
        "dim_customers": pl.DataFrame({"customer_id": range(1, CUSTOMERS + 1)}).with_columns(
            first_name=pl.lit("Ada"),
            last_name=pl.lit("L"),
            address=pl.lit("1 Elm"),
            geography_id=pl.col("customer_id") % 20 + 1,
            loyalty_card=pl.format("LC{}", "customer_id"),
            phone=pl.lit("(555) 555-0101"),
            ble_id=pl.format("BLE{}", "customer_id"),
            ad_id=pl.format("AD{}", "customer_id"),
        ),
        "dim_products": pl.DataFrame({"product_id": range(1, PRODUCTS + 1)}).with_columns(
            product_name=pl.lit("P"),
            brand=pl.lit("B"),
            company=pl.lit("C"),
            department=pl.lit("D"),
            category=pl.lit("C"),
            subcategory=pl.lit("S"),
            cost_cents=pl.lit(100),
            msrp_cents=pl.lit(3_000),
            sale_price_cents=pl.Series(rng.integers(150, 3_000, PRODUCTS)),
            requires_refrigeration=pl.lit(False),
            launch_date=pl.lit(dt.date(2023, 1, 1)),
            taxability=pl.lit("TAXABLE"),
            tags=pl.lit(None, dtype=pl.String),
        ),
    }
    days = pl.date_range(first, dt.date(first.year + 1, 12, 31), eager=True)
    frames["dim_date"] = pl.DataFrame({"date": days}).with_columns(
        date_key=(
            pl.col("date").dt.year().cast(pl.Int32) * 10_000
            + pl.col("date").dt.month().cast(pl.Int32) * 100
            + pl.col("date").dt.day().cast(pl.Int32)
        ),
        year=pl.col("date").dt.year(),
        quarter=pl.col("date").dt.quarter(),
        month=pl.col("date").dt.month(),
        month_name=pl.col("date").dt.strftime("%B"),
        day=pl.col("date").dt.day(),
        day_of_week=pl.col("date").dt.weekday(),
        day_name=pl.col("date").dt.strftime("%A"),
        week_of_year=pl.col("date").dt.week(),
        is_weekend=pl.col("date").dt.weekday() >= 6,
        fiscal_year=pl.col("date").dt.year(),
        fiscal_quarter=pl.lit(1),
        holiday_name=pl.lit(None, dtype=pl.String),
    )
    return {
        name: df.select([pl.col(c.name).cast(c.polars_dtype) for c in REGISTRY.table(name).columns])
        for name, df in frames.items()
    }


def write_silver(lake: LakeStore, months: list[dt.date], scale: float) -> dict[str, int]:
    """Silver written directly (for `month`): facts per month, dimensions with SCD2 validity from the first month."""
    rows: dict[str, int] = {}
    for month in months:
        for name, frame in Month(month, scale).facts().items():
            lake.overwrite_months(f"silver/{name}", frame, [month])
            rows[name] = rows.get(name, 0) + frame.height
    start = dt.datetime(months[0].year, months[0].month, 1, tzinfo=dt.UTC)
    for name, frame in dimensions(months[0]).items():
        if REGISTRY.table(name).history == "scd2":
            frame = frame.with_columns(
                valid_from=pl.lit(start, dtype=UTC), valid_to=pl.lit(None, dtype=UTC), is_current=pl.lit(True)
            )
        lake.replace(f"silver/{name}", frame)
    return rows


def write_bronze(lake: LakeStore, months: list[dt.date], scale: float) -> dict[str, int]:
    """The same facts as Bronze batch rows (with lineage), for a run that starts at Silver."""
    at = dt.datetime.now(dt.UTC)
    rows: dict[str, int] = {}

    def lineage(frame: pl.DataFrame, table: str, month: dt.date) -> pl.DataFrame:
        return frame.with_columns(
            _source_file=pl.lit(f"batch/{table}/{month:%Y-%m}/part-0.parquet"),
            _batch_id=pl.lit("part-0"),
            _ingested_at=pl.lit(at, dtype=UTC),
        ).select([pl.col(c.name).cast(c.polars_dtype) for c in bronze_columns(table)])

    for month in months:
        for name, frame in Month(month, scale).facts().items():
            lake.overwrite_months(f"bronze/{name}", lineage(frame, name, month), [month])
            rows[name] = rows.get(name, 0) + frame.height
    for name, frame in dimensions(months[0]).items():
        lake.replace(
            f"bronze/{name}",
            lineage(frame.with_columns(snapshot_month=pl.lit(months[0])), name, months[0]),
            partition_by=["snapshot_month"],
        )
    return rows


# ---- measuring --------------------------------------------------------------------------------------


def _duckdb(root: Path):
    from dagster_duckdb import DuckDBResource

    return DuckDBResource(database=str(root / "retail.duckdb"))


def run_direct(root: Path, months: list[dt.date], silver: bool) -> dict:
    """The transforms the assets run, called in order without Dagster."""
    from retail_assets.lib.gold.pipeline import materialize_gold_month
    from retail_assets.lib.gold.specs import GOLD_TABLES
    from retail_assets.lib.serving import SERVED_DIMENSIONS, prepare_file, publish_dimension, publish_gold
    from retail_assets.lib.silver.pipeline import materialize_dimension, materialize_fact_month

    lake = LakeStore(root_uri=str(root / "lake"))
    seconds: dict[str, float] = {}

    def timed(name: str, fn) -> None:
        started = time.perf_counter()
        fn()
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    started = time.perf_counter()
    if silver:
        for dim in (d.name for d in REGISTRY.dimensions):
            timed(f"silver/{dim}", lambda dim=dim: materialize_dimension(lake, dim))
        for fact in (f.name for f in REGISTRY.facts):
            for month in months:
                timed(f"silver/{fact}", lambda fact=fact, month=month: materialize_fact_month(lake, fact, month))
    for table in GOLD_TABLES:
        previous = None
        for month in months:

            def gold(table=table, month=month):
                nonlocal previous
                written = materialize_gold_month(lake, table.name, month, previous=previous)
                previous = written.rows.drop("month_start") if table.kind == "snapshot" else None

            timed(f"gold/{table.name}", gold)
    resource = _duckdb(root)
    prepare_file(resource.database)
    with resource.get_connection() as con:
        for table in GOLD_TABLES:
            timed(f"serving/{table.name}", lambda table=table: publish_gold(con, lake, table, months))
        for served in SERVED_DIMENSIONS:
            timed(f"serving/{served.name}", lambda served=served: publish_dimension(con, lake, served))
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "steps": {k: round(v, 2) for k, v in seconds.items()},
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_dagster(root: Path, months: list[dt.date], silver: bool) -> dict:
    """Every selected asset for the months as ONE run (a single-run backfill of the range)."""
    import dagster as dg

    from retail_assets.defs.gold import build_gold_assets
    from retail_assets.defs.serving import build_serving_assets
    from retail_assets.defs.silver import build_silver_assets

    assets = [*build_silver_assets(), *build_gold_assets(), *build_serving_assets()]
    layers = ("silver", "gold", "serving") if silver else ("gold", "serving")
    selection = [k for a in assets for k in a.keys if k.path[0] in layers]
    tags = {
        "dagster/asset_partition_range_start": months[0].isoformat(),
        "dagster/asset_partition_range_end": months[-1].isoformat(),
    }
    lake = LakeStore(root_uri=str(root / "lake"))
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = dg.materialize(
            assets, selection=selection, instance=instance, tags=tags, resources={"lake": lake, "duckdb": _duckdb(root)}
        )
    wall = time.perf_counter() - started
    failed = [
        e for e in result.get_asset_check_evaluations() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    return {
        "wall_s": round(wall, 1),
        "success": result.success,
        "steps": len(selection),
        "failed_error_checks": sorted({f"{e.asset_key.to_user_string()}:{e.check_name}" for e in failed}),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def _in_process(mode: str, root: Path, months: list[dt.date], silver: bool) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "_measure",
            "--root",
            str(root),
            "--how",
            mode,
            "--months",
            ",".join(m.isoformat() for m in months),
            *(["--silver"] if silver else []),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["month", "backfill", "_measure"])
    parser.add_argument("--month", default="2024-01", help="First month, YYYY-MM.")
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the reference volumes.")
    parser.add_argument("--lake", help="Work in this directory (its lake/ is reused with --reuse).")
    parser.add_argument(
        "--reuse", action="store_true", help="Use the Silver (month) or Bronze (backfill) already in --lake."
    )
    parser.add_argument("--repeat", type=int, default=1, help="Measure each way this many times; report the best.")
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--how", help=argparse.SUPPRESS)
    parser.add_argument("--months", help=argparse.SUPPRESS)
    parser.add_argument("--silver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.what == "_measure":
        months = [dt.date.fromisoformat(m) for m in args.months.split(",")]
        run = run_direct if args.how == "direct" else run_dagster
        print(json.dumps(run(Path(args.root), months, args.silver)))
        return 0
    first = dt.date.fromisoformat(f"{args.month}-01")
    months = [first] if args.what == "month" else month_range(first, add_months(first, 2))
    base = Path(args.lake or tempfile.mkdtemp(prefix="pipeline-bench-"))
    silver = args.what == "backfill"
    if not args.reuse:
        started = time.perf_counter()
        lake = LakeStore(root_uri=str(base / "lake"))
        rows = (write_bronze if silver else write_silver)(lake, months, args.scale)
        layer = "Bronze" if silver else "Silver"
        print(
            f"built synthetic {layer} for {', '.join(f'{m:%Y-%m}' for m in months)} in {time.perf_counter() - started:.0f} s:"
        )
        print("  " + ", ".join(f"{k} {v:,}" for k, v in sorted(rows.items(), key=lambda kv: -kv[1])))
    runs: dict[str, list[dict]] = {"direct": [], "dagster": []}
    for _ in range(args.repeat):
        for how in ("direct", "dagster"):
            root = base / how
            if root.exists():
                shutil.rmtree(root)
            shutil.copytree(base / "lake", root / "lake")
            runs[how].append(_in_process(how, root, months, silver))
    # The best of the repetitions: other load on the machine only ever slows a run down.
    direct, dagster = (min(runs[how], key=lambda r: r["wall_s"]) for how in ("direct", "dagster"))
    if args.repeat > 1:
        for how, measured in runs.items():
            seconds = ", ".join(f"{r['wall_s']:.1f} s" for r in measured)
            print(f"{how} runs: {seconds}")
    print(f"\n{'step':44} {'seconds':>8}")
    for step, seconds in sorted(direct["steps"].items(), key=lambda kv: -kv[1]):
        print(f"{step:44} {seconds:>8.2f}")
    what = "Silver + Gold + serving" if silver else "Gold + serving"
    print(f"\n{what} for {len(months)} month(s), scale {args.scale}:")
    print(f"  direct calls : {direct['wall_s']:>7.1f} s  peak RSS {direct['peak_rss_mb']:,} MB")
    print(
        f"  Dagster run  : {dagster['wall_s']:>7.1f} s  peak RSS {dagster['peak_rss_mb']:,} MB  ({dagster['steps']} assets, "
        f"success={dagster['success']}, failed blocking/error checks: {dagster['failed_error_checks'] or 'none'})"
    )
    print(
        f"  overhead     : {dagster['wall_s'] - direct['wall_s']:>7.1f} s ({dagster['wall_s'] / direct['wall_s'] - 1:+.0%})"
    )
    print(f"work dir: {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
