"""Run Microsoft's Kusto parser (``validate_kql.js``) over KQL texts, once, and read its findings."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from retail_assets.lib.kql import tables
from retail_assets.lib.specs.registry import REGISTRY

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
VALIDATOR = HERE / "validate_kql.js"
DATABASE = "kql_retail_db"
TIMEOUT_SECONDS = 300


class KustoParserUnavailable(RuntimeError):
    """node or the npm package @kusto/language-service-next is missing."""


def manifest(files: list[dict]) -> dict:
    """The validator's input: the event tables from the specs, and the files to check."""
    return {
        "database": DATABASE,
        "tables": [{"name": e.table_name, "columns": tables.schema(e)} for e in REGISTRY.events],
        "files": files,
    }


def validate(files: list[dict], validator: Path = VALIDATOR) -> dict:
    """Diagnostics and shapes of ``files`` (``{"name", "text", "declare"?}``) from one node process."""
    node = shutil.which("node")
    if node is None:
        raise KustoParserUnavailable("node is not on PATH; the KQL tests need node 20 and `npm ci` at the repository root")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "manifest.json"
        path.write_text(json.dumps(manifest(files)), encoding="utf-8")
        run = subprocess.run(
            [node, str(validator), str(path)],
            capture_output=True,
            text=True,
            cwd=validator.parent,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    try:
        result = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise KustoParserUnavailable(
            f"validate_kql.js exited {run.returncode} without a result:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
        ) from None
    if "fatal" in result:
        raise KustoParserUnavailable(result["fatal"])
    return result
