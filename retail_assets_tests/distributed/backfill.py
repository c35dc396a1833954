"""The months backfill the distributed tests run: ``retail-assets run``'s own code path (``_execute``) for
2024-01..2024-03 as one run, on a slice of the main job, with the executor ``RETAIL_EXECUTOR`` names.

Run as ``python -m retail_assets_tests.distributed.backfill <slice>`` so the run's orchestrating process is a
process of its own, as ``retail-assets run`` is (and a test can stop it when a run hangs). Prints the run's summary,
whose first line names the run id.

The slices follow the receipts chain from the generator to DuckDB, so every layer, both pools (``stream``: Silver
and minute Gold; ``duckdb``: serving) and steps that can run side by side (the dimensions) are in them, at a
fraction of the whole job's ~120 steps (a whole 3-month tiny run takes minutes on a busy 2-core machine).
"""

from __future__ import annotations

import datetime as dt
import re
import sys

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 3, 1)
SLICES = {
    # Every layer; five DuckDB writers, ready within seconds of each other once the Silver dimensions are built.
    "serving": [
        "landing/fact_receipts", "landing/dim_stores",
        "bronze/fact_receipts", "bronze/dim_stores", "bronze/dim_customers", "bronze/dim_geographies",
        "silver/fact_receipts", "silver/dim_stores", "silver/dim_customers", "silver/dim_geographies",
        "gold/sales_minute_store",
        "serving/sales_minute_store", "serving/dim_stores", "serving/dim_stores_history", "serving/dim_customers",
        "serving/dim_geographies",
    ],
    # Generator to Silver only: the worker-loss test's run.
    "silver": [
        "landing/fact_receipts", "landing/dim_stores",
        "bronze/fact_receipts", "bronze/dim_stores", "bronze/dim_customers", "bronze/dim_geographies",
        "silver/fact_receipts", "silver/dim_stores", "silver/dim_customers", "silver/dim_geographies",
    ],
}
RUN_ID = re.compile(r"\(run ([0-9a-f-]{36})\)")


def slice_keys(definitions, name: str) -> list:
    """The slice's assets plus the rest of the multi-assets producing them (the generator writes every table at once)."""
    import dagster as dg

    selection = dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in SLICES[name]))
    return sorted(selection.required_multi_asset_neighbors().resolve(definitions.resolve_asset_graph()))


def main(argv: list[str]) -> int:
    from retail_assets.commands.run import _execute
    from retail_assets.defs.jobs import MAIN_JOB
    from retail_assets.definitions import defs
    from retail_assets.lib.instance import open_instance
    from retail_assets.lib.settings import executor_settings

    definitions = defs()
    with open_instance() as instance:
        return _execute(
            definitions.resolve_job_def(MAIN_JOB), instance, FIRST, LAST,
            executor=executor_settings().executor, asset_selection=slice_keys(definitions, argv[0]),
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
