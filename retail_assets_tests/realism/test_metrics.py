"""The scorecard's arithmetic on hand-made rows with known answers (lib/realism.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib import alerts as rules
from retail_assets.lib import realism as r
from retail_assets.lib.gold.kpis.alerts import ALERTS
from retail_assets_tests.realism.handmade import JANUARY, rows, ts


def landed(facts: dict[str, pl.DataFrame], stores=((1, "UTC"),), products=(), months=(JANUARY,)) -> r.Landed:
    every = {spec.name: r.empty_fact(spec.name) for spec in r.REGISTRY.facts}
    every.update({name: frame.lazy() for name, frame in facts.items()})
    return r.Landed(
        tuple(months),
        every,
        pl.DataFrame(list(stores), schema={"store_id": pl.Int64, "time_zone": pl.String}, orient="row"),
        pl.DataFrame(
            list(products),
            schema={"product_id": pl.Int64, "product_name": pl.String, "department": pl.String},
            orient="row",
        ),
    )


def receipt(
    rid: str,
    total: int,
    *,
    kind: str = "SALE",
    items: int = 3,
    store: int = 1,
    at=None,
    customer=None,
    tender: str = "CREDIT_CARD",
    month=JANUARY,
) -> dict:
    return dict(
        receipt_id=rid,
        event_ts=at or ts(2),
        store_id=store,
        customer_id=customer,
        receipt_type=kind,
        payment_method=tender,
        item_count=items,
        subtotal_cents=total,
        total_cents=total,
        month_start=month,
    )


def values(metrics) -> dict:
    return {m.id: m.value for m in metrics}


def test_band_edges_are_inclusive_unless_said():
    assert r.Band(0.25, 0.8).contains(0.25) and r.Band(0.25, 0.8).contains(0.8)
    assert not r.Band(0.25, 0.8).contains(0.2499)
    assert not r.Band(high=1.0, high_inclusive=False).contains(1.0) and r.Band(high=1.0, high_inclusive=False).contains(
        0.99
    )
    assert r.Band(allowed=frozenset({"Tue"})).contains("Tue") and not r.Band(allowed=frozenset({"Tue"})).contains("Sat")
    assert r.Band(0, 0).contains(0) and not r.Band(0, 0).contains(1)


def test_every_benchmark_has_a_unique_id_and_a_source():
    ids = [b.id for b in r.BENCHMARKS]
    assert len(ids) == len(set(ids))
    assert all(b.source and b.label for b in r.BENCHMARKS)


def test_baskets_count_sales_only_and_a_share_on_the_band_edge_is_in():
    sales = [receipt(f"R{i}", 1_000) for i in range(19)] + [receipt("BIG", 25_000, items=13)]
    data = landed({"fact_receipts": rows("fact_receipts", [*sales, receipt("RET", -90_000, kind="RETURN", items=-2)])})
    found = {m.id: m for m in r.basket_metrics(r.sales(data))}
    assert found["mean_basket"].value == pytest.approx(22.0)  # (19 x $10 + $250) / 20; the return is not a basket
    assert found["median_basket"].value == pytest.approx(10.0)
    assert found["share_over_200"].value == 0.05 and found["share_over_200"].in_band  # exactly on the 5 % edge
    assert found["share_over_1000"].value == 0.0
    assert found["items_per_basket"].value == pytest.approx((19 * 3 + 13) / 20)
    assert found["small_basket_share"].value == pytest.approx(0.95)
    assert not found["mean_basket"].in_band and not found["median_basket"].in_band


def test_lines_prices_packs_departments_promotions_and_returns():
    products = [
        (1, "Milk", "Grocery"),
        (2, "Chips 2-Pack", "Grocery"),
        (3, "Laptop 3-Pack", "Electronics"),
        (4, "Soap Bulk", "Household"),
    ]
    line = lambda rid, n, p, q, price, disc: dict(
        receipt_id=rid,
        line_number=n,
        event_ts=ts(2),
        product_id=p,
        quantity=q,
        unit_price_cents=price,
        discount_cents=disc,
        ext_price_cents=price * q - disc,
    )
    lines = rows(
        "fact_receipt_lines",
        [
            line("A", 1, 1, 2, 300, 0),
            line("A", 2, 2, 1, 500, 100),
            line("B", 1, 3, 1, 10_000, 0),
            line("B", 2, 4, 4, 250, 200),
            line("RET", 1, 3, -1, 10_000, 0),
            line("RET", 2, 1, -1, 300, 0),
        ],
    )
    found = values(r.line_metrics(lines.lazy(), landed({}, products=products).products))
    assert found["median_unit_price"] == pytest.approx(4.0)  # median of 3, 5, 100, 2.50 dollars; returns left out
    assert found["mean_unit_price"] == pytest.approx(12_100 / 8 / 100)  # unit-weighted
    assert found["multipack_line_share"] == pytest.approx(0.75)
    assert found["multipack_nopack_lines"] == 1  # the Laptop 3-Pack
    assert found["grocery_value_share"] == pytest.approx(1_000 / 11_800)
    assert found["promo_unit_share"] == pytest.approx(5 / 8)
    assert found["promo_depth"] == pytest.approx(300 / 1_500)
    assert found["return_nonfood_share"] == pytest.approx(10_000 / 10_300)


def test_tender_mix_counts_approved_in_store_payments_and_cash_baskets_are_compared_by_value():
    pay = lambda k, method, status="APPROVED", receipt_id="R", order_id=None: dict(
        transaction_id=f"P{k}",
        event_ts=ts(2),
        receipt_id=receipt_id,
        order_id=order_id,
        payment_method=method,
        amount_cents=100,
        processing_time_ms=1,
        status=status,
    )
    payments = rows(
        "fact_payments",
        [
            pay(1, "CREDIT_CARD"),
            pay(2, "CREDIT_CARD"),
            pay(3, "DEBIT_CARD"),
            pay(4, "CASH"),
            pay(5, "CASH", status="DECLINED"),
            pay(6, "CREDIT_CARD", receipt_id=None, order_id="O1"),
        ],
    )
    receipts = rows(
        "fact_receipts",
        [receipt("C", 1_000, tender="CASH"), receipt("D", 3_000), receipt("E", 5_000, tender="DEBIT_CARD")],
    )
    found = {m.id: m for m in r.tender_metrics(payments.lazy(), receipts.lazy())}
    assert (found["tender_credit"].value, found["tender_debit"].value, found["tender_cash"].value) == (0.5, 0.25, 0.25)
    assert found["cash_basket_ratio"].value == 0.25 and found["cash_basket_ratio"].in_band  # on the low edge


def test_return_value_share_is_returned_total_over_sales_total():
    receipts = rows("fact_receipts", [receipt("A", 10_000), receipt("B", 10_000), receipt("X", -500, kind="RETURN")])
    assert r.return_value_share(receipts.lazy()).value == pytest.approx(0.025)


def test_store_days_use_local_days_and_stores_without_sales_count_only_in_weekly_sales():
    stores = ((1, "America/New_York"), (2, "UTC"), (3, "UTC"))
    receipts = [receipt(f"A{k}", 10_000, at=ts(1, 15)) for k in range(2)]
    receipts += [receipt("A-late", 10_000, at=ts(2, 3))]  # 22:00 on January 1 in New York
    receipts += [receipt("A2", 10_000, at=ts(2, 15))]
    receipts += [receipt(f"B{k}", 10_000, store=2, at=ts(1, 15)) for k in range(2)]
    data = landed({"fact_receipts": rows("fact_receipts", receipts)}, stores=stores)
    hours = r.store_hours(data)
    assert hours.filter(pl.col("store_id") == 1).group_by("local_date").agg(pl.col("receipts").sum()).sort(
        "local_date"
    ).rows() == [(dt.date(2024, 1, 1), 3), (dt.date(2024, 1, 2), 1)]
    assert r.receipts_per_store_day(hours).value == pytest.approx(6 / 3)  # store 3 never opened: not a store-day
    online = rows(
        "fact_online_order_headers",
        [dict(order_id="O", subtotal_cents=7_000 * 31, node_type="DC", order_status="DELIVERED")],
    )
    weekly = r.weekly_sales_per_store(r.sales(data), online.lazy(), stores=3, days=31)
    assert weekly.value == pytest.approx((6 * 100 + 70 * 31) / 3 / (31 / 7))


def year_of_hours() -> pl.DataFrame:
    """Network receipts per local day of 2024: 100 a weekday at noon, 120 a weekend day at 10, Tuesdays 90, 170 the day
    before Thanksgiving, 50 on Thanksgiving; daily sales value by month (Jan, Aug 1,000; Nov 1,100; Dec 1,300)."""
    value = {1: 1_000, 8: 1_000, 11: 1_100, 12: 1_300}
    records = []
    for day in pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "1d", eager=True):
        weekend = day.weekday() >= 5
        receipts = 120 if weekend else 90 if day.weekday() == 1 else 100
        receipts = {dt.date(2024, 11, 27): 170, dt.date(2024, 11, 28): 50}.get(day, receipts)
        records.append((1, day, 10 if weekend else 12, receipts, value.get(day.month, 1_000)))
    return pl.DataFrame(
        records,
        schema={
            "store_id": pl.Int64,
            "local_date": pl.Date,
            "local_hour": pl.Int8,
            "receipts": pl.UInt32,
            "sales_cents": pl.Int64,
        },
        orient="row",
    )


def test_calendar_metrics_on_a_year():
    found = {m.id: m for m in r.calendar_metrics(year_of_hours(), dt.date(2024, 1, 1), dt.date(2024, 12, 31))}
    assert found["weekday_peak_hour"].value == 12 and found["weekend_peak_hour"].value == 10
    assert found["weekend_peak_hour"].in_band  # 10:00 is the band's low edge
    assert found["lightest_weekday"].value == "Tue"
    assert found["season_nov"].value == pytest.approx(1.1) and found["season_dec"].value == pytest.approx(1.3)
    assert found["season_aug"].value == pytest.approx(1.0)
    assert found["busiest_day"].value == "2024-11-27 Wed" and found["busiest_day"].in_band
    assert found["pre_thanksgiving_lift"].value == pytest.approx(1.7)
    assert found["thanksgiving_day_ratio"].value == pytest.approx(0.5) and found["thanksgiving_day_ratio"].in_band
    weekdays = year_of_hours().filter(pl.col("local_date").dt.weekday() <= 5)["receipts"].mean()
    weekends = year_of_hours().filter(pl.col("local_date").dt.weekday() >= 6)["receipts"].mean()
    assert found["weekend_weekday_ratio"].value == pytest.approx(weekends / weekdays)


def test_a_busiest_day_that_is_black_friday_is_out_and_one_month_skips_the_seasons():
    hours = year_of_hours().with_columns(
        pl.when(pl.col("local_date") == dt.date(2024, 11, 29))
        .then(500)
        .otherwise(pl.col("receipts"))
        .cast(pl.UInt32)
        .alias("receipts")
    )
    found = {m.id: m for m in r.calendar_metrics(hours, dt.date(2024, 1, 1), dt.date(2024, 12, 31))}
    assert found["busiest_day"].value == "2024-11-29 Fri" and found["busiest_day"].in_band is False
    january = {
        m.id: m
        for m in r.calendar_metrics(
            year_of_hours().filter(pl.col("local_date").dt.month() == 1), dt.date(2024, 1, 1), dt.date(2024, 1, 31)
        )
    }
    assert all(
        january[i].in_band is None for i in ("season_nov", "season_dec", "busiest_day", "thanksgiving_day_ratio")
    )
    assert r.thanksgiving(2024) == dt.date(2024, 11, 28) and r.thanksgiving(2025) == dt.date(2025, 11, 27)


def test_conversion_is_sales_over_entrance_visitors_and_a_store_day_without_visitors_is_not_a_rate():
    data = landed(
        {
            "fact_receipts": rows(
                "fact_receipts",
                [receipt(f"A{k}", 1_000, at=ts(3, 15)) for k in range(30)]
                + [receipt(f"B{k}", 1_000, store=2, at=ts(3, 15)) for k in range(10)],
            )
        },
        stores=((1, "UTC"), (2, "UTC")),
    )
    count = lambda k, zone, n: dict(
        trace_id=f"F{k}", event_ts=ts(3, 15), store_id=1, zone=zone, customer_count=n, dwell_seconds=1
    )
    traffic = rows(
        "fact_foot_traffic", [count(1, "ENTRANCE_MAIN", 60), count(2, "ENTRANCE_SIDE", 40), count(3, "AISLES_A", 500)]
    )
    found = {
        m.id: m
        for m in r.conversion_metrics(
            r.store_hours(data), traffic.lazy(), data.stores, dt.date(2024, 1, 1), dt.date(2024, 1, 31)
        )
    }
    assert found["conversion_rate"].value == pytest.approx(0.3)
    assert found["conversion_rate_valid_share"].value == 0.5 and not found["conversion_rate_valid_share"].in_band


def test_gold_conversion_counts_rows_in_the_rate_range_and_skips_without_gold():
    gold = pl.LazyFrame({"conversion_rate": [0.5, 1.0, 1.3, None]})
    assert r.gold_conversion(gold).value == 0.5
    assert r.gold_conversion(None).in_band is None


def test_customers_visits_acquisition_and_retention():
    month = lambda m: dt.date(2024, m, 1)
    sales = [receipt(f"J{k}", 1_000, customer=1, month=month(1)) for k in range(3)] + [
        receipt("J-B", 1_000, customer=2, month=month(1))
    ]
    sales += [receipt("anonymous", 1_000, month=month(1))]
    sales += [receipt("S-A", 1_000, customer=1, month=month(9)), receipt("S-C", 1_000, customer=3, month=month(9))]
    sales += [receipt(f"D{k}", 1_000, customer=1, month=month(12)) for k in range(2)]
    online = [
        dict(order_id="O-D", customer_id=4, order_status="DELIVERED", month_start=month(12)),
        dict(order_id="O-B", customer_id=2, order_status="CANCELLED", month_start=month(12)),
    ]
    data = landed(
        {
            "fact_receipts": rows("fact_receipts", sales, None, month_start=pl.Date),
            "fact_online_order_headers": rows("fact_online_order_headers", online, None, month_start=pl.Date),
        }
    )
    found = values(r.customer_metrics(r.sales(data), r.orders(data)))
    assert found["visits_per_customer_month"] == pytest.approx((4 / 2 + 2 / 2 + 2 / 1) / 3)
    assert found["new_customer_share"] == pytest.approx((1 / 2 + 1 / 2) / 2)  # Sep: C of A, C; Dec: D of A, D
    assert found["retention_jan_dec"] == pytest.approx(0.5)  # of A and B, A; B's December order was cancelled


def test_online_shares_fulfilment_and_cancelled_headers():
    order = lambda o, mode, status, total, items: dict(
        order_id=o,
        fulfillment_mode=mode,
        node_type="STORE",
        order_status=status,
        subtotal_cents=total - 1_000 if total else 0,
        total_cents=total,
        item_count=items,
    )
    headers = rows(
        "fact_online_order_headers",
        [
            order("O1", "BOPIS", "DELIVERED", 10_000, 1),
            order("O2", "SHIP_FROM_DC", "DELIVERED", 20_000, 1),
            order("O3", "SHIP_FROM_STORE", "CANCELLED", 0, 0),
            order("O4", "BOPIS", "CANCELLED", 0, 3),
        ],
    )
    lines = rows(
        "fact_online_order_lines",
        [dict(order_id="O3", line_number=1, quantity=2), dict(order_id="O4", line_number=1, quantity=3)],
    )
    receipts = rows("fact_receipts", [receipt("A", 27_000), receipt("B", 23_000)])
    found = values(r.online_metrics(headers.lazy(), lines.lazy(), receipts.lazy()))
    assert found["online_value_share"] == pytest.approx(28_000 / 78_000)
    assert found["online_aov"] == pytest.approx(150.0)
    assert found["online_vs_store_basket"] == pytest.approx(150 / 250)
    assert found["pickup_share"] == 0.5 and found["ship_from_dc_share"] == 0.5
    assert found["cancelled_item_count"] == 1  # O3 says 0 items, its line says 2


def test_inventory_out_of_stocks_fast_movers_urgency_turns_and_lost_sales():
    move = lambda k, day, product, quantity, balance, kind="SALE", hour=12: dict(
        trace_id=f"T{k}",
        event_ts=ts(day, hour),
        store_id=1,
        product_id=product,
        quantity=quantity,
        txn_type=kind,
        balance=balance,
    )
    txns = rows(
        "fact_store_inventory_txn",
        [
            move(1, 2, 10, -2, 8),
            move(2, 2, 10, -1, 7, hour=15),
            move(3, 10, 10, 5, 12, kind="INBOUND_SHIPMENT"),
            move(4, 3, 11, -1, 4),
        ],
    )
    out = lambda k, product, store=1, dc=None, lost=0, day=5: dict(
        trace_id=f"S{k}",
        event_ts=ts(day, 9 + k),
        store_id=store,
        dc_id=dc,
        product_id=product,
        last_known_quantity=1,
        lost_sales_units=lost,
    )
    stockouts = rows(
        "fact_stockouts",
        [out(1, 10, lost=1), out(2, 10), out(3, 12), out(4, 10, store=None, dc=1, lost=5)],
        lost_sales_units=pl.Int64,
    )
    reorders = rows(
        "fact_reorders",
        [dict(trace_id=f"R{k}", priority=p) for k, p in enumerate(("URGENT", "NORMAL", "HIGH", "NORMAL"))],
    )
    found = values(
        r.inventory_metrics(txns.lazy(), stockouts.lazy(), reorders.lazy(), dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    )
    assert found["oos_rate"] == pytest.approx(
        1 / 62
    )  # one stockout day of product 10 among 2 active products x 31 days
    assert found["fast_mover_oos_share"] == pytest.approx(
        2 / 3
    )  # product 10 is the top 20 % (of 2); product 12 never sold
    assert found["urgent_reorder_share"] == 0.25
    assert found["lost_sales_share"] == pytest.approx(1 / (4 + 1))  # the DC's lost units are not a store's
    # on-hand days: product 10 = 10 x 1 (opening) + 7 x 8 + 12 x 22; product 11 = 5 x 2 + 4 x 29
    assert found["inventory_turns"] == pytest.approx((4 * 365 / 31) / ((10 + 56 + 264 + 10 + 116) / 31))
    without = values(
        r.inventory_metrics(
            txns.lazy(),
            stockouts.drop("lost_sales_units").lazy(),
            reorders.lazy(),
            dt.date(2024, 1, 1),
            dt.date(2024, 1, 31),
        )
    )
    assert without["lost_sales_share"] == 0.0


def test_truck_dwell_is_first_arrival_to_last_departure():
    move = lambda s, status, at: dict(shipment_id=s, status=status, event_ts=at, truck_id=1, dc_id=1, store_id=1)
    moves = rows(
        "fact_truck_moves",
        [
            move("S1", "ARRIVED", ts(2, 10)),
            move("S1", "COMPLETED", ts(2, 11)),
            move("S2", "ARRIVED", ts(2, 10)),
            move("S2", "COMPLETED", ts(2, 13)),
            move("S3", "ARRIVED", ts(2, 10)),
        ],
    )
    found = values(r.truck_dwell_metrics(moves.lazy()))
    assert found["truck_dwell_median"] == pytest.approx(120) and found["truck_dwell_p90"] == pytest.approx(
        60 + 0.9 * 120
    )


def test_marketing_cpm_conversion_and_roas():
    impressions = rows("fact_marketing", [dict(impression_id=f"I{k}", cost_cents=1) for k in range(4)])
    attribution = rows("fact_marketing_attribution", [dict(attribution_id="A", attributed_revenue_cents=4)])
    found = values(r.marketing_metrics(impressions.lazy(), attribution.lazy()))
    assert (found["cpm"], found["conversion_per_impression"], found["roas"]) == (pytest.approx(10.0), 0.25, 1.0)


def test_alerts_are_counted_by_the_gold_rules_and_a_silent_rule_is_named():
    facts = {t.table: r.empty_fact(t.table) for t in ALERTS.inputs}
    facts["fact_receipts"] = rows("fact_receipts", [receipt("BIG", 150_000), receipt("small", 1_000)]).lazy()
    # Product 1 is the store's only seller, so its fast mover: its stockout alerts, product 2's does not.
    facts["fact_receipt_lines"] = rows(
        "fact_receipt_lines", [dict(receipt_id="small", line_number=1, product_id=1, quantity=1)]
    ).lazy()
    facts["fact_stockouts"] = rows(
        "fact_stockouts",
        [
            dict(trace_id="S", event_ts=ts(3), store_id=1, product_id=1, last_known_quantity=1),
            dict(trace_id="T", event_ts=ts(3), store_id=1, product_id=2, last_known_quantity=1),
        ],
    ).lazy()
    counts = r.alert_counts(facts, [JANUARY], r.AlertThresholds())
    assert counts == {**dict.fromkeys(rules.ALERTS, 0), rules.HIGH_VALUE_RECEIPT: 1, rules.STOCKOUT: 1}
    found = {m.id: m for m in r.alert_metrics(counts, store_days=2)}
    assert found["alerts_per_store_day"].value == 1.0
    assert found["every_rule_fires"].value == 2 and not found["every_rule_fires"].in_band
    assert rules.CAMPAIGN_OVER_BUDGET in found["every_rule_fires"].note
    # Rare rules fire a few times a year: a single month does not judge them.
    month = {m.id: m for m in r.alert_metrics(counts, store_days=2, months=1)}
    assert month["every_rule_fires"].in_band is None and month["alerts_per_store_day"].in_band is True


def test_a_metric_with_nothing_to_measure_is_out_not_in():
    nothing = r.basket_metrics(rows("fact_receipts", []).lazy())
    assert all(m.value is None and m.in_band is False for m in nothing)
