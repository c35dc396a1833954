"""KQL objects with a Gold twin compute the Gold figures by the same formula (issue point 4).

Two checks, both on the committed ``kql/`` files:

1. Structure: Microsoft's parser reads each twin's pipeline; its source, its ``extend`` mappings,
   its ``summarize`` (output name, aggregation, source column, group keys, time bin), its ratio and
   its result columns and types are exactly the KPI's in ``retail_assets/lib/kpi_twins.py``.
2. Numbers: the committed KQL runs on DuckDB through ``duckdb-kql`` over a fixture of events
   (views first, then the querysets reading them, with ``now()`` pinned), and its rows equal
   ``Kpi.polars`` — the computation Gold uses — over the same events mapped to Silver column names
   (see ``engine.py`` for how duckdb-kql is driven).
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from retail_assets.lib.kpi_twins import (
    KPIS,
    QUERYSET_VIEWS,
    Agg,
    Kpi,
    QuerysetView,
    kql_timespan,
    shipment_dwell,
    twins,
)
from retail_assets.lib.kql import querysets
from retail_assets.lib.specs.registry import REGISTRY, empty_frame, event_columns, silver_columns
from retail_assets_tests.kql.engine import NOW, database, load, query_of, run
from retail_assets_tests.kql.engine import ago as _at
from retail_assets_tests.kql.engine import events as _events

UTC = dt.UTC
KQL_TO_POLARS = {"long": pl.Int64, "real": pl.Float64, "datetime": pl.Datetime("us", "UTC"), "string": pl.String}
AGG_RESULT = {Agg.COUNT: "long", Agg.SUM: "long", Agg.AVG: "real", Agg.COUNT_DISTINCT: "long"}


def _queryset_path(name: str) -> str:
    return next(q.path for q in querysets.querysets() if q.name == name)


def _twin_shape(validation: dict, name: str) -> dict:
    return validation["shapes"][f"view:{name}" if name.startswith("mv_") else _queryset_path(name)]


def _flat(expression: str) -> str:
    return re.sub(r"\s+", "", expression)


def _call(expression: str) -> tuple[str, str]:
    match = re.fullmatch(r"(\w+)\((.*)\)", _flat(expression))
    assert match, f"{expression!r} is not an aggregation call"
    return match.group(1), match.group(2)


def _operators(shape: dict, kind: str) -> list[dict]:
    return [op for op in shape["operators"] if op["kind"] == kind]


def _key_type(kpi: Kpi, key: str) -> str | None:
    if kpi.source.kql in REGISTRY.events_by_type:
        column = kpi.source.column(key)
        kql_name = column.kql_column or column.name
        return next(c.dtype.kql for c in event_columns(REGISTRY.event(kpi.source.kql)) if c.name == kql_name)
    return None


def test_twins_cover_every_gold_kpi_with_a_kql_object() -> None:
    assert set(twins()) == {
        "mv_store_sales_minute",
        "mv_top_products_15m",
        "mv_zone_dwell_minute",
        "q_receipts_minute_by_store",
        "q_top_products_by_sales",
        "q_zone_dwell_heatmap",
        "q_marketing_cost_24h",
        "q_truck_dwell_by_site",
    }
    gold = {k.gold_table for k in twins().values()}
    assert gold == {"sales_minute_store", "top_products_15m", "zone_dwell_minute", "marketing_cost_daily",
                    "truck_dwell_daily"}


@pytest.mark.parametrize("name", sorted(twins()))
def test_twin_uses_exactly_the_kpi_formula(name: str, validation: dict) -> None:
    kpi = twins()[name]
    shape = _twin_shape(validation, name)
    reads_view = not name.startswith("mv_") and kpi.materialized_view is not None
    if reads_view:
        # The queryset shows rows of the view, which is itself checked as a twin.
        assert shape["source"] == kpi.materialized_view
        assert _operators(shape, "SummarizeOperator") == []
    else:
        assert shape["source"] == kpi.source.kql
        (summarize,) = _operators(shape, "SummarizeOperator")
        measures = [(item["name"], *_call(item["expression"])) for item in summarize["items"]]
        assert measures == [(m.name, m.agg.value, m.column or "") for m in kpi.measures]
        time_column = kpi.source.column(kpi.time_bin.column)
        width = kql_timespan(kpi.time_bin.width)
        expected_by = [(None, k) for k in kpi.keys] + [
            (kpi.time_bin.name, f"bin({time_column.kql_column or time_column.name},{width})")
        ]
        assert [(b["name"], _flat(b["expression"])) for b in summarize["by"]] == expected_by
        mapped = [(item["name"], _flat(item["expression"])) for op in _operators(shape, "ExtendOperator")
                  for item in op["items"] if item["name"] not in {r.name for r in kpi.ratios}]
        assert mapped == [(c.name, _flat(c.kql())) for c in kpi.kql_mapped_columns()]
        filters = " ".join(_flat(op["text"]) for op in _operators(shape, "FilterOperator"))
        for key in kpi.keys:
            assert f"isnotempty({key})" in filters
        for condition in kpi.filters:
            assert _flat(condition.kql()) in filters
    ratios = [(item["name"], _flat(item["expression"])) for op in _operators(shape, "ExtendOperator")
              for item in op["items"] if item["name"] in {r.name for r in kpi.ratios}]
    expected_ratios = [] if name.startswith("mv_") else [(r.name, _flat(r.kql().split(" = ", 1)[1])) for r in kpi.ratios]
    assert ratios == expected_ratios
    columns = kpi.aggregate_columns if name.startswith("mv_") else kpi.output_columns
    assert [c for c, _ in shape["columns"]] == list(columns)
    types = dict(shape["columns"])
    assert types[kpi.time_bin.name] == "datetime"
    for measure in kpi.measures:
        assert types[measure.name] == AGG_RESULT[measure.agg], measure.name
    if not name.startswith("mv_"):
        for ratio in kpi.ratios:
            assert types[ratio.name] == "long"
    for key in kpi.keys:
        assert _key_type(kpi, key) in (None, types[key])


# ---- numbers ---------------------------------------------------------------------------------------

def _fixture() -> dict[str, pl.DataFrame]:
    """Events around NOW that exercise bins, windows, null and empty keys, cents fields and top-N."""
    receipts = []
    for minute, store, total, total_cents in (
        (0, 1, 19.99, None), (0, 1, 0.07, None), (0, 2, 1234.5, None), (1, 1, 10.0, 999), (5, 2, 45.55, None),
        (59, 1, 3.33, None), (61, 1, 7.77, None), (125, 2, 100.01, None), (2, None, 50.0, None),
    ):
        receipts.append({"store_id": store, "customer_id": 7, "receipt_id": f"R{len(receipts)}", "subtotal": total,
                         "tax": 0.0, "total": total, "total_cents": total_cents, "tender_type": "CASH",
                         "item_count": 1, "ingest_timestamp": _at(minutes=minute, seconds=len(receipts))})
    lines = []
    for product in range(1, 28):  # 27 products in the last complete 15-minute window: top 25 must cut two
        lines.append({"receipt_id": f"L{product}", "line_number": 1, "product_id": product, "quantity": product,
                      "unit_price": 1.11, "extended_price": round(1.11 * product, 2),
                      "ingest_timestamp": dt.datetime(2024, 3, 5, 11, 46, tzinfo=UTC) + dt.timedelta(seconds=product)})
    # Product 5 sells twice in that window; the others fall in the current or an older window.
    for product, minutes_ago, price in ((5, 9, 1.5), (3, 2, 2.5), (3, 2, 0.15), (99, 40, 9.99), (4, 3, 12.34)):
        lines.append({"receipt_id": "L0", "line_number": 2, "product_id": product, "quantity": 2, "unit_price": price,
                      "extended_price": price, "ingest_timestamp": _at(minutes=minutes_ago)})
    sensors = []
    for minute, store, zone, count, dwell in (
        (0, 1, "ENTRANCE_MAIN", 4, 30), (0, 1, "ENTRANCE_MAIN", 6, 45), (0, 1, "CHECKOUT", 2, 600),
        (3, 2, "AISLES_A", 9, 121), (29, 1, "CHECKOUT", 1, 10), (31, 1, "CHECKOUT", 5, 10), (3, 2, "", 3, 5),
        (4, None, "AISLES_B", 3, 5),
    ):
        sensors.append({"store_id": store, "sensor_id": "S", "zone": zone, "customer_count": count, "dwell_time": dwell,
                        "ingest_timestamp": _at(minutes=minute)})
    impressions = []
    for hours, campaign, cost in ((0, "C1", 1.2345), (1, "C1", 0.005), (2, "C2", 5.25), (20, "C1", 0.1001),
                                  (30, "C2", 2.0), (80, "C1", 3.0), (1, "", 1.0)):
        impressions.append({"channel": "EMAIL", "campaign_id": campaign, "creative_id": "X", "customer_ad_id": "A",
                            "impression_id": f"I{len(impressions)}", "cost": cost, "device_type": "MOBILE",
                            "ingest_timestamp": _at(hours=hours)})
    payments = []
    for minutes_ago, method, amount, status in ((10, "CASH", 12.5, "APPROVED"), (12, "CASH", 7.25, "APPROVED"),
                                                (11, "CREDIT_CARD", 99.99, "APPROVED"), (13, "CASH", 5.0, "DECLINED"),
                                                (1, "CASH", 3.0, "APPROVED")):
        payments.append({"payment_method": method, "amount": amount, "amount_cents": round(amount * 100),
                         "transaction_id": f"P{len(payments)}", "processing_time": _at(minutes=minutes_ago),
                         "processing_time_ms": 10, "status": status, "customer_id": 7,
                         "ingest_timestamp": _at(minutes=minutes_ago)})
    arrivals, departures = [], []
    for truck, dc, store, shipment, arrive_h, dwell_min in (
        ("T1", 1, 10, "S1", 3, 95), ("T2", 1, 11, "S2", 5, 40), ("T1", 2, None, "S3", 26, 130),
        ("T3", None, 12, "S4", 4, 60), ("T4", 1, 10, "S5", 28, 75), ("T5", 1, 10, "S6", 2, None),
        ("T6", 1, 10, "S7", 6, -10), ("T2", 1, 10, "S8", 80, 50),
    ):
        arrived = _at(hours=arrive_h)
        arrivals.append({"truck_id": truck, "dc_id": dc, "store_id": store, "shipment_id": shipment, "arrival_time": arrived,
                         "estimated_unload_duration": 60, "ingest_timestamp": arrived})
        if dwell_min is not None:
            departed = arrived + dt.timedelta(minutes=dwell_min, seconds=7)
            departures.append({"truck_id": truck, "dc_id": dc, "store_id": store, "shipment_id": shipment,
                               "departure_time": departed, "actual_unload_duration": 30, "ingest_timestamp": departed})
    # A second arrival of S1, later: the first arrival counts.
    arrivals.append({**arrivals[0], "arrival_time": arrivals[0]["arrival_time"] + dt.timedelta(minutes=20)})
    return {
        "receipt_created": _events("receipt_created", receipts),
        "receipt_line_added": _events("receipt_line_added", lines),
        "customer_entered": _events("customer_entered", sensors),
        "ad_impression": _events("ad_impression", impressions),
        "payment_processed": _events("payment_processed", payments),
        "truck_arrived": _events("truck_arrived", arrivals),
        "truck_departed": _events("truck_departed", departures),
    }


@pytest.fixture(scope="module")
def events() -> dict[str, pl.DataFrame]:
    return _fixture()


@pytest.fixture(scope="module")
def duckdb(events: dict[str, pl.DataFrame], validation: dict):
    """A DuckDB holding the fixture events and every materialized view, computed by its committed KQL."""
    con = database(events)
    for name, view in validation["views"].items():
        load(con, name, run(con, view["query"], validation))
    yield con
    con.close()


def _kpi_of_view(view: str) -> str:
    return next(k.name for k in KPIS.values() if k.materialized_view == view)


def _gold_source(kpi: Kpi, events: dict[str, pl.DataFrame]) -> pl.LazyFrame:
    """The KPI's source columns under Silver names, from the events (what Gold reads after Silver)."""
    if kpi.source.kql == "fn_truck_sla()":
        return shipment_dwell(events["truck_arrived"].lazy(), events["truck_departed"].lazy())
    return kpi.source.to_gold_columns(events[kpi.source.kql].lazy())


def _assert_same_rows(kql_rows: pl.DataFrame, expected: pl.DataFrame, order: list[str]) -> None:
    assert kql_rows.columns == expected.columns
    actual = kql_rows.cast(dict(expected.schema)).sort(order)
    assert_frame_equal(actual, expected.sort(order), check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("view", sorted(k.materialized_view for k in KPIS.values() if k.materialized_view))
def test_view_numbers_equal_the_gold_formula(view: str, validation: dict, events, duckdb) -> None:
    kpi = KPIS[_kpi_of_view(view)]
    kql_rows = run(duckdb, validation["views"][view]["query"], validation)
    expected = kpi.polars(_gold_source(kpi, events)).select(kpi.aggregate_columns).collect()
    assert expected.height >= 3, "the fixture must give the view several rows"
    _assert_same_rows(kql_rows, expected, [*kpi.keys, kpi.time_bin.name])


@pytest.mark.parametrize("name", sorted(QUERYSET_VIEWS))
def test_queryset_numbers_equal_the_gold_formula(name: str, committed: dict[str, str], validation: dict, events,
                                                 duckdb) -> None:
    view: QuerysetView = QUERYSET_VIEWS[name]
    kpi = view.kpi
    kql_rows = run(duckdb, query_of(committed[_queryset_path(name)]), validation)
    gold_rows = kpi.polars(_gold_source(kpi, events))
    expected = view.polars(gold_rows, NOW).collect()
    everything = gold_rows.collect()
    assert 0 < expected.height < everything.height, "the fixture must have rows inside and outside the window"
    _assert_same_rows(kql_rows, expected, [*kpi.keys, kpi.time_bin.name])


def test_top_products_cuts_at_25(committed: dict[str, str], validation: dict, duckdb) -> None:
    rows = run(duckdb, query_of(committed[_queryset_path("q_top_products_by_sales")]), validation)
    assert rows.height == 25
    assert set(rows["product_id"]) == set(range(3, 28))


def test_truck_dwell_counts_each_shipment_once(events) -> None:
    dwell = shipment_dwell(events["truck_arrived"].lazy(), events["truck_departed"].lazy()).collect()
    s1 = dwell.filter(pl.col("shipment_id") == "S1")
    assert s1.height == 1
    assert s1["dwell_minutes"][0] == pytest.approx(95 + 7 / 60)  # from the first of its two arrivals
    assert "S6" not in dwell["shipment_id"] and "S7" not in dwell["shipment_id"]  # no departure; left before arriving
    assert dwell.filter(pl.col("shipment_id") == "S3")["site"][0] == "DC_2"


@pytest.mark.parametrize("name", sorted(twins()))
def test_gold_side_runs_on_silver_and_yields_the_kql_types(name: str, validation: dict) -> None:
    """Gold calls Kpi.polars on the Silver fact; its columns and types are the KQL twin's."""
    kpi = twins()[name]
    if kpi.source.fact is None:
        source = shipment_dwell(
            pl.LazyFrame(schema={"truck_id": pl.Int64, "dc_id": pl.Int64, "store_id": pl.Int64, "shipment_id": pl.String,
                                 "arrival_time": pl.Datetime("us", "UTC")}),
            pl.LazyFrame(schema={"truck_id": pl.Int64, "dc_id": pl.Int64, "store_id": pl.Int64, "shipment_id": pl.String,
                                 "departure_time": pl.Datetime("us", "UTC")}),
        )
    else:
        source = empty_frame(silver_columns(kpi.source.fact)).lazy()
    gold = kpi.polars(source).collect_schema()
    kql = dict(_twin_shape(validation, name)["columns"])
    for column, dtype in gold.items():
        if column in kql:
            assert dtype == KQL_TO_POLARS[kql[column]], f"{column}: Gold {dtype}, KQL {kql[column]}"


def test_a_twin_reading_a_column_its_source_lacks_fails_at_import_time() -> None:
    from retail_assets.lib.kpi_twins import Cents, Field, Source

    with pytest.raises(ValueError, match="event table has no columns \\['totl'\\]"):
        Source(kql="receipt_created", fact="fact_receipts", gold="x",
               columns=(Cents(name="total_cents", dollars="totl"),))
    with pytest.raises(ValueError, match="Silver fact_receipts has no columns \\['basket_cents'\\]"):
        Source(kql="receipt_created", fact="fact_receipts", gold="x",
               columns=(Field(name="basket_cents", kql_column="total"),))
