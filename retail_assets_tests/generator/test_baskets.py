"""Shopper economics of the generated sales (issue 13): baskets by mission, a catalogue with pack
variants only where they exist, promotions per product-week, tender by basket size, returns mostly
non-food. Checked on the tiny months the other generator tests share; the bands are the realism
contract's (docs/realism.md), the tiny profile is small but its baskets are built the same way.
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.generator import dictionaries as dic
from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.world import World

from .conftest import MONTHS
from .test_invariants import CHECKED, _local

NO_PACK_DEPARTMENTS = ("Electronics", "Clothing", "Home & Garden", "Sports & Recreation", "Automotive", "Office Supplies")
PACK = pl.col("product_name").str.contains("-Pack") | pl.col("product_name").str.contains("Bulk")


def _sales(generated) -> tuple[pl.DataFrame, pl.DataFrame]:
    receipts = generated.fact("fact_receipts", CHECKED).filter(pl.col("receipt_type") == "SALE")
    lines = generated.fact("fact_receipt_lines", CHECKED).join(receipts.select("receipt_id"), on="receipt_id")
    products = generated.dim("dim_products").select("product_id", "product_name", "department")
    return receipts, lines.join(products, on="product_id")


def test_pack_variants_only_where_products_are_sold_in_packs():
    world = World(load_config("demo", environ={}))
    names = pl.DataFrame({"product_name": world.prod_name.astype(str), "department": [dic.DEPARTMENTS[d] for d in world.prod_dept]})
    packs = names.filter(PACK)
    assert packs.filter(pl.col("department").is_in(NO_PACK_DEPARTMENTS)).height == 0, packs.filter(
        pl.col("department").is_in(NO_PACK_DEPARTMENTS)
    ).head(3)
    assert 0 < packs.height <= 0.25 * names.height


def test_baskets_are_mostly_small_grocery_trips(generated):
    receipts, lines = _sales(generated)
    items = receipts["item_count"]
    assert 6 <= items.mean() <= 14, f"{items.mean():.1f} units per basket"
    assert 0.45 <= (items <= 6).mean() <= 0.75, f"{(items <= 6).mean():.0%} of baskets with <= 6 units"
    total = receipts["total_cents"]
    assert 2_500 <= total.mean() <= 6_500 and 1_200 <= total.median() <= 4_000, (total.mean(), total.median())
    assert (total > 20_000).mean() <= 0.05
    assert 200 <= lines["unit_price_cents"].median() <= 500
    assert lines.select(PACK.mean()).item() <= 0.15
    grocery = lines.filter(pl.col("department") == "Grocery")["ext_price_cents"].sum() / lines["ext_price_cents"].sum()
    assert 0.45 <= grocery <= 0.65, f"grocery {grocery:.0%} of sales value"


def test_shelf_promotions_hold_for_a_product_all_week(generated):
    stores = generated.dim("dim_stores")
    receipts = generated.fact("fact_receipts", MONTHS).filter(pl.col("receipt_type") == "SALE").select("receipt_id", "store_id")
    lines = generated.fact("fact_receipt_lines", MONTHS).join(receipts, on="receipt_id")
    lines = _local(lines, stores).with_columns(
        pl.col("local").dt.truncate("1w").alias("week"),
        (pl.col("promo_code").str.starts_with("TPR") | (pl.col("promo_code") == "BOGO50")).fill_null(False).alias("shelf"),
    )
    per_week = lines.group_by("product_id", "week").agg(
        pl.col("shelf").all().alias("all"),
        pl.col("shelf").any().alias("any"),
        pl.col("promo_code").filter("shelf").n_unique().alias("codes"),
    )
    assert (per_week["all"] == per_week["any"]).all(), "a product-week is on a shelf promotion for every line or for none"
    assert (per_week.filter("any")["codes"] == 1).all()
    assert per_week["any"].mean() > 0.05
    assert (lines.filter(pl.col("promo_code") == "BOGO50")["quantity"] >= 2).all()
    promoted = lines.filter(pl.col("discount_cents") > 0)
    share = promoted["quantity"].sum() / lines["quantity"].sum()
    assert 0.25 <= share <= 0.45, f"{share:.0%} of units on promotion"
    depth = promoted["discount_cents"].sum() / (promoted["unit_price_cents"] * promoted["quantity"]).sum()
    assert 0.10 <= depth <= 0.35


def test_cash_pays_for_small_baskets(generated):
    receipts, _ = _sales(generated)
    cash = receipts.filter(pl.col("payment_method") == "CASH")["total_cents"]
    other = receipts.filter(pl.col("payment_method") != "CASH")["total_cents"]
    assert 0.10 <= cash.len() / receipts.height <= 0.22
    assert 0.25 <= cash.mean() / other.mean() <= 0.8, f"cash basket {cash.mean() / other.mean():.2f} of the card basket"


def test_returns_are_mostly_non_food(generated):
    receipts, _ = _sales(generated)
    returns = generated.fact("fact_receipts", CHECKED).filter(pl.col("receipt_type") == "RETURN")
    lines = generated.fact("fact_receipt_lines", CHECKED).join(returns.select("receipt_id"), on="receipt_id")
    lines = lines.join(generated.dim("dim_products").select("product_id", "department"), on="product_id")
    share = -returns["total_cents"].sum() / receipts["total_cents"].sum()
    assert 0.01 <= share <= 0.06, f"returns {share:.1%} of sales value"
    non_food = lines.filter(pl.col("department") != "Grocery")["ext_price_cents"].sum() / lines["ext_price_cents"].sum()
    assert non_food >= 0.6, f"non-food {non_food:.0%} of returned value"
