"""The code location: every module under ``retail_assets/defs/``, merged explicitly.

Every run process loads the code location again, so its load time is part of every streamed
event's latency. ``dg.load_from_defs_folder`` also scans the installed Dagster plugins (components
of dagster-azure, dagster-deltalake, ...), ~1 s on 2 cores; merging the modules' own definitions
loads the same objects without that scan. ``DEFS_MODULES`` must name every module of the folder
(tested in ``retail_assets_tests/spine/test_definitions.py``).
"""

import importlib
import warnings
from pathlib import Path

import dagster as dg

from retail_assets.lib.executors import run_executor

# Every asset here sets a single-run backfill policy on purpose (a month range is one run), and Silver's
# month-boundary mapping allows a next month that does not exist yet; Dagster 1.13 flags both parameters
# as beta once per use, ~150 lines on every CLI call and run. Only those two warnings are muted.
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `(backfill_policy|allow_nonexistent_upstream_partitions)`",
    category=dg.BetaWarning,
)

DEFS_DIR = Path(__file__).parent / "defs"
# Module -> the attribute holding its definitions (a @dg.definitions function, or an asset job).
DEFS_MODULES = {
    "alerts": "defs",
    "bronze": "defs",
    "edge": "defs",
    "failure_alerts": "defs",
    "generator": "defs",
    "gold": "defs",
    "jobs": "retail_lakehouse",
    "landing": "defs",
    "liveness": "defs",
    "maintenance": "defs",
    "resources": "resources",
    "restore": "defs",
    "serving": "defs",
    "silver": "defs",
    "streaming": "defs",
}


def _module_definitions(module: str, attribute: str) -> dg.Definitions:
    value = getattr(importlib.import_module(f"retail_assets.defs.{module}"), attribute)
    return value() if callable(value) else dg.Definitions(jobs=[value])


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        *(_module_definitions(module, attribute) for module, attribute in DEFS_MODULES.items()),
        # By default one process per run: steps share it instead of paying ~3 s of interpreter start-up each
        # (measured on 2 cores); polars parallelises inside each step. The process registers itself as the
        # run's worker, so a killed run is failed and its pool slots freed (lib/liveness.py). RETAIL_EXECUTOR
        # sends steps to Celery workers or Kubernetes jobs instead (lib/executors.py).
        dg.Definitions(executor=run_executor()),
    )
