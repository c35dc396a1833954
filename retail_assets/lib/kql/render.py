"""Render every file of ``kql/`` and compare them with what is on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.kql import functions, mappings, querysets, readme, rules, tables, views


def render(config: AlertThresholds | None = None) -> dict[str, str]:
    """Every file of ``kql/``, by path relative to it, rendered from the specs and ``config``."""
    config = config or AlertThresholds()
    files = {
        tables.FILE: tables.render(),
        mappings.FILE: mappings.render(),
        functions.FILE: functions.render(),
        views.FILE: views.render(),
        **querysets.render(),
        **rules.render(config),
    }
    files[readme.FILE] = readme.render(config, sorted(files))
    return files


@dataclass(frozen=True)
class Drift:
    """Rendered files that differ from a ``kql/`` folder."""

    missing: tuple[str, ...]
    changed: tuple[str, ...]
    extra: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.missing or self.changed or self.extra)

    def describe(self) -> str:
        lines = []
        for label, paths in (("missing", self.missing), ("out of date", self.changed), ("not rendered", self.extra)):
            lines += [f"  {label}: {p}" for p in paths]
        return "\n".join(lines)


def _on_disk(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix in (".kql", ".md")}


def drift(root: Path, files: dict[str, str]) -> Drift:
    """How ``root`` differs from ``files`` (stale ``.kql``/``.md`` files there count as extra)."""
    present = _on_disk(root)
    missing = sorted(p for p in files if p not in present)
    changed = sorted(p for p in files if p in present and (root / p).read_text(encoding="utf-8") != files[p])
    extra = sorted(present - set(files))
    return Drift(tuple(missing), tuple(changed), tuple(extra))


def write(root: Path, files: dict[str, str]) -> Drift:
    """Write ``files`` under ``root`` and return how it differed before.

    Files under ``root`` that are not rendered (``Drift.extra``) are left alone: ``root`` may be a
    user's folder. The caller reports them.
    """
    before = drift(root, files)
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != content:
            target.write_text(content, encoding="utf-8")
    return before
