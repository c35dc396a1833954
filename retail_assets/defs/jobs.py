"""Jobs people launch: the whole lakehouse for a month (or a range, as one run per asset)."""

import dagster as dg

from retail_assets.lib.partitions import MONTHLY

MAIN_JOB = "retail_lakehouse"

retail_lakehouse = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=MONTHLY,
    description=(
        "Every materializable asset for the chosen month(s): landing data (when the generator is on), "
        "Bronze, Silver, Gold and serving. Dimensions are refreshed along with the month."
    ),
)
