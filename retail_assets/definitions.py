"""The code location: every definition under ``retail_assets/defs/``, loaded by Dagster's defs-folder loader."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        # One process per run: steps share it instead of paying ~3 s of interpreter start-up each
        # (measured on 2 cores); polars parallelises inside each step.
        dg.Definitions(executor=dg.in_process_executor),
    )
