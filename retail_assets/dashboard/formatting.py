"""How numbers and times are written on the dashboard (the browser tests parse exactly these forms)."""

from __future__ import annotations

import datetime as dt


def money(cents: int | float | None) -> str:
    if cents is None:
        return "-"
    return f"-${abs(cents) / 100:,.2f}" if cents < 0 else f"${cents / 100:,.2f}"


def count(value: int | float | None) -> str:
    return "-" if value is None else f"{round(value):,}"


def decimal(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{unit}"


def percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{100 * ratio:.1f}%"


def minute(value: dt.datetime | None) -> str:
    return "-" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: dt.datetime | dt.date | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d")
