"""Silver throughput for one reference-sized month: rows/s and peak RSS per table.

By default it builds a synthetic Bronze month at the reference profile's monthly sizes
(reference spec §14: ~250 receipts per store-day × 86 stores, ~12 lines per receipt, a SALE
inventory movement per line, ~13 BLE pings per receipt; a promotion on ~14 % of receipts listing
~8 discounted product ids, as the generator's reference month) with a share of each fact arriving as
events, writes it to a throw-away lake, builds the Silver dimensions, then materializes each
fact month in its own process (so each table's peak RSS is its own) through the same code path
the Silver assets use (read Bronze, map, check, dedupe, validate, write Silver and quarantine).

    uv run python benchmarks/silver.py                      # synthetic reference month
    uv run python benchmarks/silver.py --scale 0.1          # a tenth of it
    uv run python benchmarks/silver.py --lake DIR --month 2024-01 --reuse
                                                            # an existing lake with Bronze (e.g. generated)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from retail_assets.lib.lake import LakeStore
from retail_assets.lib.silver.pipeline import materialize_dimension, materialize_fact_month
from retail_assets.lib.specs import REGISTRY, bronze_columns, polars_schema

STORES = 86
CUSTOMERS = 403_000
PRODUCTS = 10_000
DAYS = 31
RECEIPTS_PER_STORE_DAY = 250
LINES_PER_RECEIPT = 12
PINGS_PER_RECEIPT = 13
# The generator's reference month: a promotion code on ~14 % of receipts, ~70 % of their lines discounted.
PROMOTED_RECEIPTS_PER_MILLE = 142
PROMOTED_LINES_PER_TEN = 7
FACTS = ("fact_receipts", "fact_receipt_lines", "fact_store_inventory_txn", "fact_ble_pings", "fact_promotions")
DIMENSIONS = ("dim_geographies", "dim_distribution_centers", "dim_stores", "dim_customers", "dim_products", "dim_trucks")
UTC = pl.Datetime("us", "UTC")


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries it over from the forking parent across exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- synthetic Bronze ----------------------------------------------------------------------------


def _lineage(df: pl.DataFrame, table: str, month: dt.date, days: pl.Expr) -> pl.DataFrame:
    """Bronze lineage: one landed file per day, as a producer landing daily files would."""
    name = pl.format("part-{}", days.cast(pl.String).str.zfill(2))
    return df.with_columns(
        pl.format(f"batch/{table}/{month:%Y-%m}/{{}}.parquet", name).cast(pl.Categorical).alias("_source_file"),
        name.cast(pl.Categorical).alias("_batch_id"),
        pl.lit(dt.datetime.now(dt.UTC), dtype=UTC).alias("_ingested_at"),
    )


def _bronze(df: pl.DataFrame, name: str) -> pl.DataFrame:
    schema = polars_schema(bronze_columns(name))
    return df.select(
        [pl.col(c).cast(t) if not isinstance(df.schema[c], pl.Categorical) else pl.col(c) for c, t in schema.items()]
    )


def _dimensions(month: dt.date) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(7)
    snap = {
        "snapshot_month": month,
        "_source_file": "batch/x/x.parquet",
        "_batch_id": "x",
        "_ingested_at": dt.datetime.now(dt.UTC),
    }
    geos = pl.DataFrame({"geography_id": np.arange(1, 21)}).with_columns(
        city=pl.lit("City"),
        state=pl.lit("TX"),
        zip_code=pl.lit("75001"),
        district=pl.lit("D"),
        region=pl.lit("South"),
        latitude=pl.lit(32.0),
        longitude=pl.lit(-97.0),
    )
    dcs = pl.DataFrame({"dc_id": np.arange(1, 21)}).with_columns(
        dc_number=pl.format("DC{}", pl.col("dc_id")), address=pl.lit("1 Depot"), geography_id=pl.col("dc_id")
    )
    stores = pl.DataFrame({"store_id": np.arange(1, STORES + 1)}).with_columns(
        store_number=pl.format("S{}", pl.col("store_id")),
        address=pl.lit("1 Main"),
        geography_id=(pl.col("store_id") % 20) + 1,
        time_zone=pl.lit("America/Chicago"),
        tax_rate_bps=pl.lit(825),
        volume_class=pl.lit("medium_volume"),
        store_format=pl.lit("standard"),
        operating_hours=pl.lit("8am-10pm"),
        open_hour=pl.lit(8),
        close_hour=pl.lit(22),
        daily_traffic_multiplier=pl.lit(1.0),
    )
    customers = pl.DataFrame({"customer_id": np.arange(1, CUSTOMERS + 1)}).with_columns(
        first_name=pl.lit("Ada"),
        last_name=pl.lit("L"),
        address=pl.lit("1 Elm"),
        geography_id=(pl.col("customer_id") % 20) + 1,
        loyalty_card=pl.format("LC{}", pl.col("customer_id")),
        phone=pl.lit("(555) 555-0101"),
        ble_id=pl.format("BLE{}", pl.col("customer_id")),
        ad_id=pl.format("AD{}", pl.col("customer_id")),
    )
    products = pl.DataFrame({"product_id": np.arange(1, PRODUCTS + 1)}).with_columns(
        product_name=pl.lit("P"),
        brand=pl.lit("B"),
        company=pl.lit("C"),
        department=pl.lit("D"),
        category=pl.lit("C"),
        subcategory=pl.lit("S"),
        cost_cents=pl.lit(100),
        msrp_cents=pl.lit(300),
        sale_price_cents=pl.Series(rng.integers(150, 300, PRODUCTS)),
        requires_refrigeration=pl.lit(False),
        launch_date=pl.lit(dt.date(2023, 1, 1)),
        taxability=pl.lit("TAXABLE"),
        tags=pl.lit(None, dtype=pl.String),
    )
    trucks = pl.DataFrame({"truck_id": np.arange(1, 51)}).with_columns(
        license_plate=pl.lit("ABC1234"), is_refrigerated=pl.lit(False), fleet=pl.lit("POOL"), dc_id=pl.lit(None, dtype=pl.Int64)
    )
    frames = dict(zip(DIMENSIONS, (geos, dcs, stores, customers, products, trucks), strict=True))
    return {name: _bronze(df.with_columns(**{k: pl.lit(v) for k, v in snap.items()}), name) for name, df in frames.items()}


def _times(rng: np.random.Generator, n: int, month: dt.date) -> np.ndarray:
    start = np.datetime64(dt.datetime(month.year, month.month, 1), "us")
    return start + rng.integers(0, DAYS * 86_400_000_000, n).astype("timedelta64[us]")


def _facts(month: dt.date, scale: float, stream_share: float) -> dict[str, pl.DataFrame]:
    """Batch rows of the four big facts and their events (a ``stream_share`` of each arrives as events)."""
    rng = np.random.default_rng(42)
    receipts_n = int(STORES * DAYS * RECEIPTS_PER_STORE_DAY * scale)
    at = _times(rng, receipts_n, month)
    receipts = pl.DataFrame(
        {
            "receipt_idx": np.arange(receipts_n),
            "event_ts": at,
            "store_id": rng.integers(1, STORES + 1, receipts_n),
            "customer_id": rng.integers(1, CUSTOMERS + 1, receipts_n),
            "lines": rng.poisson(LINES_PER_RECEIPT - 1, receipts_n) + 1,
        }
    ).with_columns(
        pl.col("event_ts").dt.replace_time_zone("UTC"),
        pl.format("RCP{}", pl.col("receipt_idx")).alias("receipt_id"),
        (pl.col("event_ts").dt.day()).alias("__day"),
        (pl.col("receipt_idx").hash(1) % 1000 < stream_share * 1000).alias("__stream"),
    )
    lines = (
        receipts.select("receipt_id", "event_ts", "store_id", "lines", "__day", "__stream")
        .with_columns(pl.int_ranges(1, pl.col("lines") + 1).alias("line_number"))
        .explode("line_number")
        .with_columns(
            pl.Series("product_id", rng.integers(1, PRODUCTS + 1, int(receipts["lines"].sum()))),
            pl.Series("quantity", rng.integers(1, 4, int(receipts["lines"].sum()))),
            pl.Series("unit_price_cents", rng.integers(99, 2999, int(receipts["lines"].sum()))),
        )
        .with_columns(
            pl.lit(0).alias("discount_cents"),
            (pl.col("unit_price_cents") * pl.col("quantity")).alias("ext_price_cents"),
            pl.lit(None, dtype=pl.String).alias("promo_code"),
            pl.lit(None, dtype=pl.String).alias("trace_id"),
        )
    )
    money = (
        receipts.join(
            lines.group_by("receipt_id").agg(
                pl.col("ext_price_cents").sum().alias("subtotal_cents"), pl.col("quantity").sum().alias("item_count")
            ),
            on="receipt_id",
        )
        .with_columns(
            pl.lit("SALE").alias("receipt_type"),
            pl.lit(None, dtype=pl.String).alias("return_for_receipt_id"),
            pl.lit("CASH").alias("payment_method"),
            pl.col("subtotal_cents").alias("gross_subtotal_cents"),
            pl.lit(0).alias("discount_cents"),
            (pl.col("subtotal_cents") * 825 // 10_000).alias("tax_cents"),
            pl.lit(None, dtype=pl.String).alias("campaign_id"),
            pl.lit(None, dtype=pl.String).alias("trace_id"),
        )
        .with_columns((pl.col("subtotal_cents") + pl.col("tax_cents")).alias("total_cents"))
    )
    inventory = lines.select(
        pl.format("SIT-{}-{}", "receipt_id", "line_number").alias("trace_id"),
        "event_ts",
        "store_id",
        "product_id",
        (-pl.col("quantity")).alias("quantity"),
        pl.lit("SALE").alias("txn_type"),
        pl.col("receipt_id").alias("source"),
        pl.lit(None, dtype=pl.Int64).alias("balance"),
        "__day",
        "__stream",
    )
    promotions = (
        lines.filter(
            (pl.col("receipt_id").hash(3) % 1000 < PROMOTED_RECEIPTS_PER_MILLE)
            & (pl.struct("receipt_id", "line_number").hash(4) % 10 < PROMOTED_LINES_PER_TEN)
        )
        .group_by("receipt_id", maintain_order=True)
        .agg(
            pl.col("event_ts").first(),
            pl.col("store_id").first(),
            pl.col("__day").first(),
            pl.col("__stream").first(),
            (pl.col("ext_price_cents") // 10 + 1).sum().alias("discount_cents"),
            pl.len().alias("product_count"),
            pl.col("product_id").alias("product_ids"),
        )
        .join(receipts.select("receipt_id", "customer_id"), on="receipt_id", maintain_order="left")
        .with_columns(
            pl.lit("PROMO10").alias("promo_code"),
            pl.lit("PERCENTAGE").alias("discount_type"),
            pl.lit(None, dtype=pl.String).alias("trace_id"),
        )
    )
    pings_n = int(receipts_n * PINGS_PER_RECEIPT)
    known = rng.random(pings_n) < 0.3
    customer = rng.integers(1, CUSTOMERS + 1, pings_n)
    pings = pl.DataFrame(
        {
            "ping_idx": np.arange(pings_n),
            "event_ts": _times(rng, pings_n, month),
            "store_id": rng.integers(1, STORES + 1, pings_n),
            "known": known,
            "customer": customer,
            "rssi": rng.integers(-80, -30, pings_n),
        }
    ).with_columns(
        pl.col("event_ts").dt.replace_time_zone("UTC"),
        pl.format("BP{}", pl.col("ping_idx")).alias("trace_id"),
        pl.lit("BEACON_001_GROCERY").alias("beacon_id"),
        pl.when(pl.col("known"))
        .then(pl.format("BLE{}", pl.col("customer")))
        .otherwise(pl.format("ANON-{}", pl.col("ping_idx")))
        .alias("customer_ble_id"),
        pl.when(pl.col("known")).then(pl.col("customer")).alias("customer_id"),
        pl.lit("GROCERY").alias("zone"),
        pl.col("event_ts").dt.day().alias("__day"),
        (pl.col("ping_idx").hash(2) % 1000 < stream_share * 1000).alias("__stream"),
    )
    out: dict[str, pl.DataFrame] = {}
    for table, df in (
        ("fact_receipts", money),
        ("fact_receipt_lines", lines),
        ("fact_store_inventory_txn", inventory),
        ("fact_ble_pings", pings),
        ("fact_promotions", promotions),
    ):
        batch = df.filter(~pl.col("__stream")).with_columns(pl.lit(month).alias("month_start"))
        out[table] = _bronze(_lineage(batch, table, month, pl.col("__day")), table)
    stream = {
        "receipt_created": money.filter(pl.col("__stream")).select(
            "receipt_id",
            "store_id",
            "customer_id",
            (pl.col("subtotal_cents") / 100).alias("subtotal"),
            (pl.col("tax_cents") / 100).alias("tax"),
            (pl.col("total_cents") / 100).alias("total"),
            pl.lit("CASH").alias("tender_type"),
            "item_count",
            "subtotal_cents",
            "tax_cents",
            "total_cents",
            "event_ts",
            "__day",
        ),
        "receipt_line_added": lines.filter(pl.col("__stream")).select(
            "receipt_id",
            "line_number",
            "product_id",
            "quantity",
            (pl.col("unit_price_cents") / 100).alias("unit_price"),
            (pl.col("ext_price_cents") / 100).alias("extended_price"),
            "event_ts",
            "__day",
        ),
        "inventory_updated": inventory.filter(pl.col("__stream")).select(
            "store_id",
            "product_id",
            pl.col("quantity").alias("quantity_delta"),
            pl.col("txn_type").alias("reason"),
            pl.col("source").alias("payload_source"),
            "event_ts",
            "__day",
        ),
        "promotion_applied": promotions.filter(pl.col("__stream")).select(
            "receipt_id",
            "promo_code",
            (pl.col("discount_cents") / 100).alias("discount_amount"),
            "discount_cents",
            "discount_type",
            "product_count",
            "product_ids",
            "store_id",
            "customer_id",
            "event_ts",
            "__day",
        ),
        "ble_ping_detected": pings.filter(pl.col("__stream")).select(
            "store_id",
            "beacon_id",
            "customer_ble_id",
            "rssi",
            "zone",
            "event_ts",
            "__day",
        ),
    }
    for event_type, df in stream.items():
        events = df.with_columns(
            pl.lit(event_type).alias("event_type"),
            pl.format(f"{event_type}-{{}}", pl.int_range(pl.len())).alias("trace_id"),
            pl.col("event_ts").alias("ingest_timestamp"),
            pl.lit("1.0").alias("schema_version"),
            pl.lit("benchmark").alias("source"),
            pl.lit(month).alias("month_start"),
        )
        events = _lineage(events, event_type, month, pl.col("__day")).with_columns(
            pl.format(f"events/{event_type}/{{}}.jsonl", pl.col("_batch_id").cast(pl.String))
            .cast(pl.Categorical)
            .alias("_source_file")
        )
        schema = polars_schema(bronze_columns(event_type))
        missing = {c: pl.lit(None, dtype=t) for c, t in schema.items() if c not in events.columns}
        out[event_type] = _bronze(events.with_columns(**missing), event_type)
    return out


def build_lake(lake: LakeStore, month: dt.date, scale: float, stream_share: float) -> dict[str, int]:
    sizes = {}
    for name, df in _dimensions(month).items():
        lake.replace(f"bronze/{name}", df, partition_by=["snapshot_month"])
    for name, df in _facts(month, scale, stream_share).items():
        lake.overwrite_months(f"bronze/{name}", df, [month])
        sizes[name] = df.height
    return sizes


# ---- measuring -----------------------------------------------------------------------------------


def run_one(lake_root: str, table: str, month: dt.date) -> dict:
    lake = LakeStore(root_uri=lake_root)
    started = time.perf_counter()
    written = materialize_fact_month(lake, table, month)
    seconds = time.perf_counter() - started
    build = written.build
    merged = build.updates_applied + build.updates_handed_back
    out = written.silver_rows + written.quarantined_rows + build.duplicates_dropped + merged
    return {
        "table": table,
        "bronze_rows": written.bronze_rows,
        "silver_rows": written.silver_rows,
        "quarantined": written.quarantined_rows,
        "duplicates": build.duplicates_dropped,
        "rows_in": build.rows_in,
        "seconds": round(seconds, 2),
        "rows_per_s": round(written.bronze_rows / seconds),
        "peak_rss_mb": round(peak_rss_mb()),
        "reconciles": written.bronze_rows == out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", help="Lake root (default: a temporary directory).")
    parser.add_argument("--month", default="2024-01", help="Month to build, YYYY-MM.")
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the reference month to synthesize.")
    parser.add_argument("--stream-share", type=float, default=0.1, help="Share of each fact that arrives as events.")
    parser.add_argument("--reuse", action="store_true", help="Use the Bronze tables already in --lake (real generated data).")
    parser.add_argument("--tables", nargs="*", default=list(FACTS), help="Silver facts to measure.")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one table in this process
    args = parser.parse_args()
    month = dt.date.fromisoformat(f"{args.month}-01")
    if args.one:
        print(json.dumps(run_one(args.lake, args.one, month)))
        return 0
    root = args.lake or tempfile.mkdtemp(prefix="silver-bench-")
    lake = LakeStore(root_uri=root)
    if not args.reuse:
        started = time.perf_counter()
        sizes = build_lake(lake, month, args.scale, args.stream_share)
        print(f"built synthetic Bronze for {args.month} in {time.perf_counter() - started:.1f} s: {sizes}")
    started = time.perf_counter()
    for dim in DIMENSIONS:
        if lake.exists(f"bronze/{dim}"):
            materialize_dimension(lake, dim)
    print(f"Silver dimensions in {time.perf_counter() - started:.1f} s (peak RSS so far {peak_rss_mb():.0f} MB)")
    total_rows, total_seconds = 0, 0.0
    print(
        f"{'table':28} {'bronze rows':>12} {'silver':>12} {'quar.':>7} {'dups':>6} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}"
    )
    for table in args.tables:
        if table not in REGISTRY.tables:
            raise SystemExit(f"unknown table {table}")
        out = subprocess.run(
            [sys.executable, __file__, "--lake", root, "--month", args.month, "--one", table],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        total_rows += r["bronze_rows"]
        total_seconds += r["seconds"]
        print(
            f"{table:28} {r['bronze_rows']:>12,} {r['silver_rows']:>12,} {r['quarantined']:>7,} {r['duplicates']:>6,} "
            f"{r['seconds']:>8.1f} {r['rows_per_s']:>10,} {r['peak_rss_mb']:>12,}{'' if r['reconciles'] else '  DOES NOT RECONCILE'}"
        )
    print(
        f"{'total':28} {total_rows:>12,} {'':>12} {'':>7} {'':>6} {total_seconds:>8.1f} {round(total_rows / total_seconds):>10,}"
    )
    print(f"lake: {Path(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
