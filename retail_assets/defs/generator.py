"""The synthetic data generator as assets: it writes the landing zone that Bronze reads.

``landing/<fact>`` for every fact (monthly partitions; a month is generated on its own, so a
backfill of many months runs them in parallel processes) and ``landing/<dim>`` for every dimension
(unpartitioned; a full snapshot is landed for each month of the run). Switched off with
``RETAIL_GENERATOR=off`` for users who land their own data; ``RETAIL_PROFILE`` sets the size.
"""

import datetime as dt

import dagster as dg

from retail_assets.defs.landing import landing_key
from retail_assets.lib.checks import column_schema
from retail_assets.lib.code_refs import code_references, table_spec
from retail_assets.lib.generator import DIMENSION_TABLES, FACT_TABLES
from retail_assets.lib.generator.config import GeneratorConfigError, load_config
from retail_assets.lib.generator.output import FILE_NAME, MonthReport, default_workers, write_dimensions, write_months
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import month_range
from retail_assets.lib.partitions import MONTHLY, month_of, months_of, partition_key
from retail_assets.lib.settings import Settings
from retail_assets.lib.specs import REGISTRY

GROUP = "generator"
KINDS = {"polars", "parquet"}


class GeneratorRunConfig(dg.Config):
    """Overrides for one run; unset fields come from RETAIL_PROFILE / RETAIL_GEN_* / the profile."""

    profile: str | None = None
    seed: int | None = None
    workers: int | None = None


def _generator_config(run: GeneratorRunConfig):
    try:
        return load_config(run.profile or Settings.from_env().generator_profile, seed=run.seed)
    except GeneratorConfigError as exc:
        raise dg.Failure(description=str(exc)) from exc


def _spec(table: str, partitioned: bool) -> dg.AssetSpec:
    spec = REGISTRY.table(table)
    where = f"batch/{table}/<YYYY-MM>/{FILE_NAME}"
    return dg.AssetSpec(
        landing_key(table),
        group_name=GROUP,
        kinds=KINDS,
        description=(
            f"{spec.description}\n\nGenerated: landed as {where}"
            + ("" if partitioned else " (a full snapshot per month)")
            + f". Grain: {spec.grain}."
        ),
        metadata={
            "dagster/column_schema": column_schema(spec.columns),
            "landing_path": where,
            **code_references(table_spec(table)),
        },
        partitions_def=MONTHLY if partitioned else None,
    )


def _report_metadata(report: MonthReport, table: str) -> dict:
    return {
        "dagster/row_count": report.rows[table],
        "landing_file": dg.MetadataValue.path(report.files[table]),
        "month": report.month.strftime("%Y-%m"),
    }


@dg.multi_asset(
    name="generated_facts",
    specs=[_spec(t, partitioned=True) for t in FACT_TABLES],
    partitions_def=MONTHLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def generated_facts(context: dg.AssetExecutionContext, config: GeneratorRunConfig, landing: LandingZone):
    """Simulates each month of the run and lands every fact table of it as one Parquet file.

    A month depends on no other month's files: the straddling days, the sales that returns refer
    to and the month-start stock levels are re-derived, so months run in parallel processes.
    """
    generator = _generator_config(config)
    months = months_of(context)
    workers = config.workers or default_workers(generator, len(months))
    landing.ensure_root()
    context.log.info(f"generating {len(months)} month(s) at profile {generator.profile!r} with {workers} worker(s)")

    def on_month(report: MonthReport) -> None:
        for table in FACT_TABLES:
            context.add_asset_metadata(
                _report_metadata(report, table), asset_key=landing_key(table), partition_key=partition_key(report.month)
            )
        context.log.info(
            f"{report.month:%Y-%m}: {report.total_rows:,} fact rows in {report.seconds:.1f} s "
            f"({report.total_rows / max(report.seconds, 1e-9):,.0f} rows/s)"
        )

    write_months(generator, months, landing, workers=workers, on_month=on_month)
    for table in FACT_TABLES:
        yield dg.MaterializeResult(asset_key=landing_key(table))


def _dimension_months(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The months of the partitioned run this step is part of; every month so far when run alone."""
    tags = context.run.tags
    if "dagster/partition" in tags:
        return [month_of(tags["dagster/partition"])]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return month_range(month_of(start), month_of(end))
    return [month_of(k) for k in MONTHLY.get_partition_keys()]


@dg.multi_asset(
    name="generated_dimensions",
    specs=[_spec(t, partitioned=False) for t in DIMENSION_TABLES],
    can_subset=False,
)
def generated_dimensions(context: dg.AssetExecutionContext, config: GeneratorRunConfig, landing: LandingZone):
    """Lands a full snapshot of every dimension for each month of the run.

    Stores change hours or format and customers move from month to month (a small, deterministic
    share), so Silver's SCD2 history sees real changes between snapshots.
    """
    generator = _generator_config(config)
    months = _dimension_months(context)
    landing.ensure_root()
    reports = write_dimensions(generator, months, landing)
    latest = reports[-1]
    for table in DIMENSION_TABLES:
        yield dg.MaterializeResult(
            asset_key=landing_key(table),
            metadata={
                **_report_metadata(latest, table),
                "snapshots": [r.month.strftime("%Y-%m") for r in reports],
            },
        )


@dg.definitions
def defs() -> dg.Definitions:
    if not Settings.from_env().generator_enabled:
        return dg.Definitions()
    return dg.Definitions(assets=[generated_dimensions, generated_facts])
