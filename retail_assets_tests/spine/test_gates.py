"""A failed blocking check keeps holding across runs: automation skips the month, a manual run fails fast.

The user's scenario: a landed fact_receipts file loses a column; Bronze is materialized for that month and
its blocking schema_parity check fails (the typed rows are in Bronze). Nothing downstream of that month may
build — not automation reacting to the Bronze materialization, not a later manual Silver or Gold run — until
the file is fixed and Bronze passes again. Other months are unaffected.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import dagster as dg
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.gold import build_gold_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.silver.landed import FEB, JAN, event, frame, land_batch, land_events, row, ts

DIMENSIONS = ["dim_geographies", "dim_stores", "dim_customers"]
RECEIPTS = dg.AssetKey(["silver", "fact_receipts"])
SALES_MINUTE = dg.AssetKey(["gold", "sales_minute_store"])


def _receipt(month: int, receipt_id: str) -> dict:
    return row("fact_receipts", receipt_id=receipt_id, event_ts=ts(10, month=month))


def _land_receipts(landing: LandingZone, month, rows: list[dict], *, drop: str | None = None) -> None:
    data = frame("fact_receipts", rows)
    if drop:
        data = data.drop(drop)
    buffer = io.BytesIO()
    data.write_parquet(buffer)
    landing.write_bytes(f"batch/fact_receipts/{month:%Y-%m}/part-0.parquet", buffer.getvalue())


class Lakehouse:
    def __init__(self, lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance):
        self.lake, self.landing, self.instance = lake, landing, instance
        self.assets = [*build_bronze_assets(), *build_silver_assets(), *build_gold_assets()]
        self.defs = dg.Definitions(assets=self.assets, resources={"lake": lake, "landing": landing})
        self.cursor = None

    def materialize(
        self, keys: Sequence[dg.AssetKey], partition: str | None = None, tags: dict[str, str] | None = None
    ) -> dg.ExecuteInProcessResult:
        """A run of the code location's asset job, as the UI or the CLI launches it."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            return job.execute_in_process(
                asset_selection=list(keys), instance=self.instance, partition_key=partition, tags=tags, raise_on_error=False
            )

    def automation_requests(self, key: dg.AssetKey) -> set[str]:
        """Months automation would request now for ``key`` (the evaluation cursor carries over, as in the daemon)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            result = dg.evaluate_automation_conditions(
                defs=self.defs, instance=self.instance, asset_selection=dg.AssetSelection.assets(key), cursor=self.cursor
            )
        self.cursor = result.cursor
        return {pk for r in result.results if r.key == key for pk in r.true_subset.expensively_compute_partition_keys()}


@pytest.fixture
def lakehouse(lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance) -> Lakehouse:
    for dim in DIMENSIONS:
        land_batch(landing, dim, JAN, [row(dim)])
    _land_receipts(landing, JAN, [_receipt(1, "R1")])
    _land_receipts(landing, FEB, [_receipt(2, "R2")])
    land_events(landing, "receipt_created", [event("receipt_created", "rc-1", ts(10))])
    house = Lakehouse(lake, landing, instance)
    assert house.materialize([dg.AssetKey([layer, d]) for d in DIMENSIONS for layer in ("bronze", "silver")]).success
    for month in ("2024-01-01", "2024-02-01"):
        assert house.materialize(
            [dg.AssetKey(["bronze", "fact_receipts"]), dg.AssetKey(["bronze", "receipt_created"]), RECEIPTS, SALES_MINUTE], month
        ).success
    house.automation_requests(RECEIPTS)  # the baseline: what the daemon has already seen
    return house


def _drift_january(house: Lakehouse) -> None:
    """A new January file without campaign_id; Bronze January is re-materialized and its gate fails."""
    _land_receipts(house.landing, JAN, [_receipt(1, "R1"), _receipt(1, "R3")], drop="campaign_id")
    bronze = house.materialize([dg.AssetKey(["bronze", "fact_receipts"])], "2024-01-01")
    assert not bronze.success
    [parity] = [e for e in bronze.get_asset_check_evaluations() if e.check_name == "schema_parity"]
    assert not parity.passed and parity.partition == "2024-01-01"


def test_automation_skips_the_month_whose_upstream_failed_a_blocking_check(lakehouse: Lakehouse) -> None:
    _drift_january(lakehouse)
    assert lakehouse.materialize([dg.AssetKey(["bronze", "fact_receipts"])], "2024-02-01").success
    assert lakehouse.automation_requests(RECEIPTS) == {"2024-02-01"}
    assert lakehouse.automation_requests(RECEIPTS) == set(), "a held month is not requested on later ticks either"

    _land_receipts(lakehouse.landing, JAN, [_receipt(1, "R1"), _receipt(1, "R3")])
    assert lakehouse.materialize([dg.AssetKey(["bronze", "fact_receipts"])], "2024-01-01").success
    assert lakehouse.automation_requests(RECEIPTS) == {"2024-01-01"}, "released as soon as Bronze passes again"


def test_a_manual_run_downstream_of_a_failed_check_fails_fast_naming_it(lakehouse: Lakehouse) -> None:
    silver_before = lakehouse.lake.read("silver/fact_receipts")
    gold_version = lakehouse.lake.version("gold/sales_minute_store")
    _drift_january(lakehouse)

    silver = lakehouse.materialize([RECEIPTS], "2024-01-01")
    assert not silver.success
    failure = next(e for e in silver.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.user_failure_data.description
    assert "silver/fact_receipts: not built" in message
    assert "bronze/fact_receipts 2024-01 failed its blocking check schema_parity" in message
    assert "materialize bronze/fact_receipts for 2024-01 again" in message
    assert lakehouse.lake.read("silver/fact_receipts").equals(silver_before), "nothing was read or written"
    # February is not held, and Gold is held only where its own input is.
    assert lakehouse.materialize([RECEIPTS], "2024-02-01").success
    assert lakehouse.materialize([SALES_MINUTE], "2024-01-01").success, "Silver January still passes its checks"
    assert lakehouse.lake.version("gold/sales_minute_store") > gold_version

    _land_receipts(lakehouse.landing, JAN, [_receipt(1, "R1"), _receipt(1, "R3")])
    assert lakehouse.materialize([dg.AssetKey(["bronze", "fact_receipts"])], "2024-01-01").success
    assert lakehouse.materialize([RECEIPTS], "2024-01-01").success
    receipts = lakehouse.lake.read("silver/fact_receipts", [JAN]).get_column("receipt_id").sort().to_list()
    assert "R3" in receipts and receipts.count("R1") == 1


def test_a_single_run_backfill_with_one_held_month_builds_nothing(lakehouse: Lakehouse) -> None:
    _drift_january(lakehouse)
    version = lakehouse.lake.version("silver/fact_receipts")
    result = lakehouse.materialize(
        [RECEIPTS], tags={"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-02-01"}
    )
    assert not result.success
    assert lakehouse.lake.version("silver/fact_receipts") == version


def test_a_step_skips_the_lookup_only_for_upstream_partitions_its_own_run_wrote_last(lakehouse: Lakehouse) -> None:
    """What a run wrote upstream passed its blocking checks (its steps ran), so a step does not look them up — until
    another run materializes that partition again: then it is looked up, and a failure there holds the step."""
    from retail_assets.lib.gates import _blocking_checks, built_by_this_run, failed_gates

    bronze = dg.AssetKey(["bronze", "fact_receipts"])
    built = lakehouse.materialize([bronze, RECEIPTS], "2024-01-01")
    assert built.success
    run = lakehouse.instance.get_run_by_id(built.run_id)
    silver_def = next(a for a in lakehouse.assets if RECEIPTS in a.keys)

    class Context:  # what _blocking_checks reads of a step's context
        assets_def = silver_def

    checks = _blocking_checks(Context(), RECEIPTS)
    assert {k.asset_key for k, _ in checks} >= {bronze, dg.AssetKey(["silver", "dim_stores"])}
    # Bronze January is this run's; the Silver dimensions were built by the fixture's run, and are looked up.
    assert built_by_this_run(lakehouse.instance, run, checks, [JAN]) == {bronze}

    _drift_january(lakehouse)  # another run materializes Bronze January and fails its schema_parity
    assert built_by_this_run(lakehouse.instance, run, checks, [JAN]) == set()
    [gate] = failed_gates(lakehouse.instance, checks, [JAN])
    assert gate.check == dg.AssetCheckKey(bronze, "schema_parity") and gate.partition == "2024-01-01"
