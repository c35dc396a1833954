"""Events → Bronze → Silver → Gold give the figures the committed KQL gives over the same events (issue 7, point 4).

The same envelopes are landed as JSONL files for the lakehouse and loaded as Eventhouse event tables
into DuckDB. The lakehouse side runs the real Bronze, Silver and Gold assets; the Eventhouse side runs
the committed ``kql/`` text (materialized views, querysets, ``fn_truck_sla()``) through ``duckdb-kql``
with ``now()`` pinned (``retail_assets_tests/kql/engine.py``). Every twin must agree row for row: the
views with the whole Gold month, the querysets with the Gold rows their window selects.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.gold import build_gold_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.kpi_twins import KPIS, QUERYSET_VIEWS, Kpi
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.specs import DType, event_columns
from retail_assets.lib.specs.registry import REGISTRY
from retail_assets_tests.kql import engine
from retail_assets_tests.kql.engine import NOW, ago
from retail_assets_tests.silver.landed import event, land_batch, land_events, row

KQL = Path(__file__).resolve().parents[2] / "kql"
MARCH = dt.date(2024, 3, 1)
EVENT_TYPES = (
    "receipt_created",
    "receipt_line_added",
    "customer_entered",
    "ad_impression",
    "truck_arrived",
    "truck_departed",
)
FACTS = ("fact_receipts", "fact_receipt_lines", "fact_foot_traffic", "fact_marketing", "fact_truck_moves")
DIMENSIONS = (
    "dim_geographies",
    "dim_distribution_centers",
    "dim_stores",
    "dim_trucks",
    "dim_customers",
    "dim_products",
)
TWIN_TABLES = sorted({k.gold_table for k in KPIS.values() if k.gold_table})


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _envelopes() -> dict[str, list[dict]]:
    """Valid events around engine.NOW: bins, windows, a 27-product window for the top-25 cut, cents fields, trucks."""
    receipts = [
        event(
            "receipt_created",
            f"rc{i}",
            ago(minutes=m, seconds=i),
            receipt_id=f"R{i}",
            store_id=store,
            subtotal=total,
            tax=0.0,
            total=total,
            **({"total_cents": cents} if cents else {}),
        )
        for i, (m, store, total, cents) in enumerate(
            [
                (0, 1, 19.99, None),
                (0, 1, 0.07, None),
                (0, 2, 1234.5, None),
                (1, 1, 10.0, 999),
                (5, 2, 45.55, None),
                (59, 1, 3.33, None),
                (61, 1, 7.77, None),
                (125, 2, 100.01, None),
                (2, 1, 1.005, None),
            ]
        )
    ]
    window = dt.datetime(2024, 3, 5, 11, 46, tzinfo=dt.UTC)
    lines = [
        event(
            "receipt_line_added",
            f"rl{p}",
            window + dt.timedelta(seconds=p),
            receipt_id=f"L{p}",
            line_number=1,
            product_id=p,
            quantity=p,
            unit_price=1.11,
            extended_price=round(1.11 * p, 2),
        )
        for p in range(1, 28)
    ]
    lines += [
        event(
            "receipt_line_added",
            f"rl-x{i}",
            ago(minutes=m),
            receipt_id="L0",
            line_number=i + 2,
            product_id=p,
            quantity=2,
            unit_price=price,
            extended_price=price,
        )
        for i, (p, m, price) in enumerate([(5, 9, 1.5), (3, 2, 2.5), (3, 2, 0.15), (29, 40, 9.99), (4, 3, 12.34)])
    ]
    sensors = [
        event(
            "customer_entered",
            f"ce{i}",
            ago(minutes=m),
            store_id=store,
            zone=zone,
            customer_count=count,
            dwell_time=dwell,
        )
        for i, (m, store, zone, count, dwell) in enumerate(
            [
                (0, 1, "ENTRANCE_MAIN", 4, 30),
                (0, 1, "ENTRANCE_MAIN", 6, 45),
                (0, 1, "CHECKOUT", 2, 600),
                (3, 2, "AISLES_A", 9, 121),
                (29, 1, "CHECKOUT", 1, 10),
                (31, 1, "CHECKOUT", 5, 10),
            ]
        )
    ]
    impressions = [
        event(
            "ad_impression",
            f"ad{i}",
            ago(hours=h),
            impression_id=f"I{i}",
            campaign_id=campaign,
            cost=cost,
            channel="EMAIL",
            device_type="MOBILE",
        )
        for i, (h, campaign, cost) in enumerate(
            [(0, "C1", 1.2345), (1, "C1", 0.005), (2, "C2", 5.25), (20, "C1", 0.1001), (30, "C2", 2.0), (80, "C1", 3.0)]
        )
    ]
    arrivals, departures = [], []
    for i, (truck, store, shipment, hours, dwell) in enumerate(
        [
            ("1", 1, "S1", 3, 95),
            ("2", 2, "S2", 5, 40),
            ("1", 2, "S3", 26, 130),
            ("3", 1, "S4", 4, 60),
            ("2", 1, "S5", 28, 75),
            ("3", 2, "S6", 2, None),
            ("1", 1, "S8", 80, 50),
        ]
    ):
        arrived = ago(hours=hours)
        common = dict(truck_id=truck, dc_id=1, store_id=store, shipment_id=shipment)
        arrivals.append(
            event(
                "truck_arrived", f"ta{i}", arrived, arrival_time=_iso(arrived), estimated_unload_duration=60, **common
            )
        )
        if dwell is not None:
            departed = arrived + dt.timedelta(minutes=dwell, seconds=7)
            departures.append(
                event(
                    "truck_departed",
                    f"td{i}",
                    departed,
                    departure_time=_iso(departed),
                    actual_unload_duration=30,
                    **common,
                )
            )
    return {
        "receipt_created": receipts,
        "receipt_line_added": lines,
        "customer_entered": sensors,
        "ad_impression": impressions,
        "truck_arrived": arrivals,
        "truck_departed": departures,
    }


def _event_table(event_type: str, envelopes: list[dict]) -> pl.DataFrame:
    """The Eventhouse table the same envelopes fill (payload columns flattened, timestamps parsed)."""
    times = {c.name for c in event_columns(REGISTRY.event(event_type)) if c.dtype is DType.TIMESTAMP}
    rows = []
    for e in envelopes:
        flat = {**e["payload"], "trace_id": e["trace_id"], "ingest_timestamp": e["ingest_timestamp"]}
        rows.append(
            {k: dt.datetime.fromisoformat(v) if k in times else v for k, v in flat.items()}
        )
    return engine.events(event_type, rows)


def _land(landing: LandingZone, envelopes: dict[str, list[dict]]) -> None:
    land_batch(landing, "dim_geographies", MARCH, [row("dim_geographies")])
    land_batch(landing, "dim_distribution_centers", MARCH, [row("dim_distribution_centers")])
    land_batch(landing, "dim_stores", MARCH, [row("dim_stores"), row("dim_stores", store_id=2, store_number="S000002")])
    land_batch(landing, "dim_trucks", MARCH, [row("dim_trucks", truck_id=t) for t in (1, 2, 3)])
    land_batch(landing, "dim_customers", MARCH, [row("dim_customers")])
    land_batch(landing, "dim_products", MARCH, [row("dim_products", product_id=p) for p in range(1, 30)])
    for event_type, events in envelopes.items():
        land_events(landing, event_type, events)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LakeStore, dict[str, pl.DataFrame]]]:
    root = tmp_path_factory.mktemp("twins")
    lake, landing = LakeStore(root_uri=str(root / "lake")), LandingZone(root_uri=str(root / "landing"))
    landing.ensure_root()
    envelopes = _envelopes()
    _land(landing, envelopes)
    assets = [*build_bronze_assets(), *build_silver_assets(), *build_gold_assets()]
    resources = {"lake": lake, "landing": landing}
    dims = [f"{layer}/{d}" for d in DIMENSIONS for layer in ("bronze", "silver")]
    monthly = [
        *(f"bronze/{e}" for e in EVENT_TYPES),
        *(f"silver/{f}" for f in FACTS),
        *(f"gold/{t}" for t in TWIN_TABLES),
    ]
    with dg.DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        for keys, partition in ((dims, None), (monthly, MARCH.isoformat())):
            result = dg.materialize(
                assets,
                selection=[dg.AssetKey(k.split("/")) for k in keys],
                resources=resources,
                instance=instance,
                partition_key=partition,
            )
            assert result.success
    yield lake, {t: _event_table(t, envelopes[t]) for t in EVENT_TYPES}


def _committed(pattern: str, file: str) -> dict[str, tuple[str, ...]]:
    return {m.group(1): m.groups()[1:] for m in re.finditer(pattern, (KQL / file).read_text(), re.DOTALL)}


def _validation() -> dict:
    """The committed functions in the shape engine.run expects (read from 03-functions.kql, not re-rendered)."""
    found = _committed(
        r'\.create-or-alter function with \(folder = "[^"]*", docstring = "[^"]*"\) (\w+)(\([^)]*\)) (\{\n.*?\n\})',
        "03-functions.kql",
    )
    assert "fn_truck_sla" in found
    return {"functions": {name: {"parameters": params, "body": body} for name, (params, body) in found.items()}}


def _views() -> dict[str, str]:
    found = _committed(
        r"\.create-or-alter materialized-view with \(.*?\) (\w+) on table \w+ \{\n(.*?)\n\}",
        "04-materialized-views.kql",
    )
    return {name: body for name, (body,) in found.items()}


@pytest.fixture(scope="module")
def eventhouse(twins):
    _, tables = twins
    con = engine.database(tables)
    validation = _validation()
    for name, body in _views().items():
        engine.load(con, name, engine.run(con, body, validation))
    yield con, validation
    con.close()


def _gold(lake: LakeStore, kpi: Kpi) -> pl.DataFrame:
    return lake.read(gold_path(kpi.gold_table), [MARCH]).select(kpi.output_columns)


def _same(kql_rows: pl.DataFrame, gold_rows: pl.DataFrame, kpi: Kpi) -> None:
    order = [*kpi.keys, kpi.time_bin.name]
    assert kql_rows.columns == gold_rows.columns
    assert_frame_equal(
        kql_rows.cast(dict(gold_rows.schema)).sort(order),
        gold_rows.sort(order),
        check_exact=False,
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


@pytest.mark.parametrize(
    "view", sorted(k.materialized_view for k in KPIS.values() if k.materialized_view and k.gold_table)
)
def test_each_view_equals_its_gold_table(view: str, twins, eventhouse) -> None:
    lake, _ = twins
    con, validation = eventhouse
    kpi = next(k for k in KPIS.values() if k.materialized_view == view)
    gold = _gold(lake, kpi).select(kpi.aggregate_columns)
    assert gold.height >= 3
    _same(engine.run(con, _views()[view], validation), gold, kpi)


@pytest.mark.parametrize("name", sorted(q for q, v in QUERYSET_VIEWS.items() if v.kpi.gold_table))
def test_each_queryset_equals_the_gold_rows_of_its_window(name: str, twins, eventhouse) -> None:
    lake, _ = twins
    con, validation = eventhouse
    view = QUERYSET_VIEWS[name]
    gold = _gold(lake, view.kpi)
    expected = view.polars(gold.lazy(), NOW).collect()
    assert 0 < expected.height < gold.height, "the events must fall both inside and outside the queryset's window"
    committed = engine.query_of((KQL / "querysets" / f"{name}.kql").read_text())
    _same(engine.run(con, committed, validation), expected, view.kpi)


def test_every_event_reached_gold(twins) -> None:
    """No event was quarantined on the way, so both sides saw exactly the same events."""
    lake, tables = twins
    for event_type, fact in zip(EVENT_TYPES[:4], FACTS[:4], strict=True):
        assert lake.read(f"silver/{fact}", [MARCH]).height == tables[event_type].height, fact
    moves = lake.read("silver/fact_truck_moves", [MARCH])
    assert moves.height == tables["truck_arrived"].height + tables["truck_departed"].height
