"""Pages of the dashboard still to come (issue 18)."""

from __future__ import annotations

PAGES: list[tuple[str, str]] = []


def layout(path, search, database):
    return None


def register_callbacks(app, database) -> None:
    return None
