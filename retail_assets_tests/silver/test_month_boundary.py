"""Online orders across a month boundary: lines live in the order's month, steps in the event's month."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.silver.landed import FEB, JAN, event, land_batch, land_events, row, ts
from retail_assets_tests.silver.scenario import land_dimensions

LINES = "fact_online_order_lines"
DIMENSIONS = ("dim_geographies", "dim_distribution_centers", "dim_stores", "dim_products")  # what the lines reference
MONTH_KEYS = ["bronze/fact_online_order_lines", "bronze/online_order_picked", "bronze/online_order_shipped", f"silver/{LINES}"]


@dataclass
class Runs:
    lake: LakeStore
    january: dg.ExecuteInProcessResult  # before February's events existed
    february: dg.ExecuteInProcessResult
    january_again: dg.ExecuteInProcessResult  # after them, as automation re-runs it


def _land(landing: LandingZone) -> None:
    land_dimensions(landing)
    month_end = ts(31, 23)
    land_batch(landing, LINES, JAN, [row(LINES, order_id="OEOM", event_ts=month_end)])
    land_batch(landing, LINES, FEB, [row(LINES, order_id="OFEB", event_ts=ts(10, month=2))])
    picked = event("online_order_picked", "pk-eom", ts(31, 23, 40), order_id="OEOM", picked_time="2024-01-31T23:40:00Z")
    land_events(landing, "online_order_picked", [picked])
    land_events(
        landing,
        "online_order_shipped",
        [
            event("online_order_shipped", "sh-eom", ts(1, 9, month=2), order_id="OEOM", shipped_time="2024-02-01T09:00:00Z"),
            event("online_order_shipped", "sh-feb", ts(11, 9, month=2), order_id="OFEB", shipped_time="2024-02-11T09:00:00Z"),
            event("online_order_shipped", "sh-ghost", ts(2, 9, month=2), order_id="OGHOST", shipped_time="2024-02-02T09:00:00Z"),
        ],
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("boundary")
    lake = LakeStore(root_uri=str(root / "lake"))
    landing = LandingZone(root_uri=str(root / "landing"))
    landing.ensure_root()
    _land(landing)
    assets = [*build_bronze_assets(), *build_silver_assets()]
    dims = [dg.AssetKey([layer, d]) for d in DIMENSIONS for layer in ("bronze", "silver")]
    with dg.DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)

        def run(keys: list[dg.AssetKey], partition: str | None = None) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                assets, selection=keys, resources={"lake": lake, "landing": landing}, instance=instance, partition_key=partition
            )

        month = [dg.AssetKey(k.split("/")) for k in MONTH_KEYS]
        run(dims)
        january = run(month, "2024-01-01")
        february = run(month, "2024-02-01")
        january_again = run([dg.AssetKey(["silver", LINES])], "2024-01-01")
        yield Runs(lake, january, february, january_again)


def _line(lake: LakeStore, month) -> dict:
    return lake.read(f"silver/{LINES}", [month]).row(0, named=True)


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey(["silver", LINES])}


def _quarantined(lake: LakeStore, month) -> pl.DataFrame:
    return lake.read(f"quarantine/silver/{LINES}", [month]) if lake.exists(f"quarantine/silver/{LINES}") else pl.DataFrame()


def test_an_order_placed_at_month_end_is_shipped_in_the_next_month(runs: Runs) -> None:
    # January before February's events: picked (a January event), not shipped yet.
    first = runs.january.get_asset_materialization_events()[-1].materialization
    assert first.metadata["step_events_applied"].value == 1
    # February hands the month-end order's shipment to January instead of rejecting it.
    feb = {k: v.value for k, v in runs.february.get_asset_materialization_events()[-1].materialization.metadata.items()}
    assert (feb["step_events_applied"], feb["step_events_for_previous_month"]) == (1, 1)
    assert _line(runs.lake, FEB)["order_id"] == "OFEB" and _line(runs.lake, FEB)["fulfillment_status"] == "SHIPPED"
    # January re-run (automation does it when February's events land) takes the shipment.
    line = _line(runs.lake, JAN)
    assert (line["order_id"], line["picked_ts"], line["shipped_ts"]) == ("OEOM", ts(31, 23, 40), ts(1, 9, month=2))
    assert line["fulfillment_status"] == "SHIPPED"
    assert _quarantined(runs.lake, JAN).height == 0


def test_a_step_of_an_order_that_exists_nowhere_is_quarantined(runs: Runs) -> None:
    rejected = _quarantined(runs.lake, FEB)
    assert rejected["value"].to_list() == ["OGHOST"] and rejected["reason_code"].to_list() == ["unmatched_update"]
    assert "no line fulfilled by STORE 1 in fact_online_order_lines of 2024-02 or 2024-01" in rejected["reason"].item()


@pytest.mark.parametrize("result", ["january", "february", "january_again"])
def test_each_month_reconciles_with_bronze(runs: Runs, result: str) -> None:
    checks = _checks(getattr(runs, result))
    assert checks["reconciles_with_bronze"].passed, checks["reconciles_with_bronze"].description
    counts = {k: v.value for k, v in checks["reconciles_with_bronze"].metadata.items()}
    expected = {"january": 2, "february": 4, "january_again": 3}[result]  # batch line + events taken
    assert counts["bronze_rows"] == expected


def test_lines_depend_on_the_next_months_events_and_the_neighbours_order_ids() -> None:
    lines = next(a for a in build_silver_assets() if dg.AssetKey(["silver", LINES]) in a.keys)
    deps = {d.asset_key.to_user_string(): d.partition_mapping for d in lines.specs_by_key[dg.AssetKey(["silver", LINES])].deps}
    assert (deps["bronze/online_order_shipped"].start_offset, deps["bronze/online_order_shipped"].end_offset) == (0, 1)
    assert (deps["bronze/fact_online_order_lines"].start_offset, deps["bronze/fact_online_order_lines"].end_offset) == (-1, 1)


def test_new_events_of_a_month_bring_the_previous_month_of_lines_up_to_date(tmp_path) -> None:
    lines = dg.AssetKey(["silver", LINES])
    resources = {"lake": LakeStore(root_uri=str(tmp_path / "lake")), "landing": LandingZone(root_uri=str(tmp_path / "landing"))}
    defs = dg.Definitions(assets=[*build_bronze_assets(), *build_silver_assets()], resources=resources)
    with dg.DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=dg.AssetSelection.assets(lines))
        shipped = dg.AssetMaterialization(dg.AssetKey(["bronze", "online_order_shipped"]), partition="2024-02-01")
        instance.report_runless_asset_event(shipped)
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=dg.AssetSelection.assets(lines), cursor=first.cursor
        )
    requested = next(r for r in after.results if r.key == lines).true_subset
    assert set(requested.expensively_compute_partition_keys()) == {"2024-01-01", "2024-02-01"}
