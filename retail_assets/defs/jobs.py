"""Jobs people launch: the whole lakehouse for a month (or a range, as one run per asset).

The job is monthly because its assets are (Dagster infers the partitions from the selection; passing
``partitions_def`` is deprecated and goes in 2.0)."""

import dagster as dg

MAIN_JOB = "retail_lakehouse"

retail_lakehouse = dg.define_asset_job(
    MAIN_JOB,
    # The store edge domain (edge/..., docs/edge.md) has its own job, edge_lakehouse.
    selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes(["edge"]),
    description=(
        "Every materializable retail asset for the chosen month(s): landing data (when the generator is on), "
        "Bronze, Silver, Gold and serving. Dimensions are refreshed along with the month. The store edge domain "
        "is built by edge_lakehouse."
    ),
)
