"""Code references for the asset catalog: each asset links to the lines that declare it.

Assets are made by factories (``defs/*.py``), so the decorated function Dagster would point at
(``with_source_code_references``) is the same factory line for every table of a layer. What a reader wants is the
table's own declaration — its spec in the registry (``lib/specs``; an event type's own module
``lib/specs/events/<event_type>.py``, a Gold table's ``lib/gold/kpis/<table>.py``) — and, for Gold, the functions
computing and reconciling it. Those are found here and attached as Dagster's
``dagster/code_references`` metadata, which the UI shows on the asset's page with a link to open each file at
its line.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import dagster as dg

CODE_REFERENCES = "dagster/code_references"


def _reference(path: Path, line: int, label: str) -> dg.LocalFileCodeReference:
    with warnings.catch_warnings():
        # Public (dagster.LocalFileCodeReference) but marked beta in Dagster 1.13: one warning per asset otherwise.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.LocalFileCodeReference(file_path=str(path), line_number=line, label=label)


@functools.cache
def _lines(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text().splitlines())


def declaration(module: ModuleType, declared: object, label: str) -> dg.LocalFileCodeReference:
    """The line of ``module`` assigning ``declared`` to a module-level name (``FACT_RECEIPTS = TableSpec(``)."""
    names = [name for name, value in vars(module).items() if value is declared]
    path = Path(inspect.getsourcefile(module)).resolve()
    for number, line in enumerate(_lines(path), start=1):
        if any(line.startswith((f"{name} =", f"{name}: ")) for name in names):
            return _reference(path, number, label)
    raise LookupError(f"{path}: no module-level assignment of {label}")


def function(fn: Callable, label: str) -> dg.LocalFileCodeReference:
    """Where ``fn`` (or the function a ``functools.partial`` wraps) is defined."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = inspect.unwrap(fn)
    return _reference(Path(inspect.getsourcefile(fn)).resolve(), inspect.getsourcelines(fn)[1], label)


def code_references(*references: dg.LocalFileCodeReference) -> dict[str, dg.CodeReferencesMetadataValue]:
    """Asset metadata linking the asset to ``references`` in the UI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # public, marked beta in Dagster 1.13 (as above)
        return {CODE_REFERENCES: dg.CodeReferencesMetadataValue(code_references=list(references))}


def table_spec(table: str) -> dg.LocalFileCodeReference:
    """The registry declaration of a dimension or fact (``lib/specs/dimensions.py`` or ``facts.py``)."""
    from retail_assets.lib.specs import REGISTRY, dimensions, facts

    spec = REGISTRY.table(table)
    return declaration(dimensions if spec.kind == "dimension" else facts, spec, f"spec of {table}")


def event_spec(event_type: str) -> dg.LocalFileCodeReference:
    """The spec of an event type, in its own module ``lib/specs/events/<event_type>.py``."""
    from retail_assets.lib.specs.events import MODULES, spec

    module = next(m for m in MODULES if spec(m).event_type == event_type)
    return declaration(module, spec(module), f"spec of event {event_type}")


def gold_spec(name: str) -> list[dg.LocalFileCodeReference]:
    """A Gold table's spec, the function building it and the one reconciling it (all in ``lib/gold/kpis/<name>.py``)."""
    from retail_assets.lib.gold.builders import BUILDERS
    from retail_assets.lib.gold.kpis import MODULES, spec

    module = next(m for m in MODULES if spec(m).name == name)
    builder = BUILDERS[name]
    return [
        declaration(module, spec(module), f"spec of gold/{name}"),
        function(builder.build, f"build of gold/{name}"),
        function(builder.reconcile, f"reconciliation of gold/{name}"),
    ]
