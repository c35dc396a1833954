"""Reconciliation of a Gold month against Silver: named identities, each Gold side against its Silver side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retail_assets.lib.checks import CheckOutcome


@dataclass(frozen=True)
class Balance:
    """One identity: ``gold`` (read back from the written Gold month) must equal ``silver``."""

    name: str
    gold: int
    silver: int

    @property
    def holds(self) -> bool:
        return self.gold == self.silver


def reconciliation_outcome(table: str, month_label: str, balances: Sequence[Balance]) -> CheckOutcome:
    broken = [b for b in balances if not b.holds]
    shown = "; ".join(f"{b.name}: Gold {b.gold} {'=' if b.holds else '!='} Silver {b.silver}" for b in balances)
    return CheckOutcome(
        passed=not broken,
        description=f"gold/{table} {month_label}: {shown}",
        metadata={b.name: {"gold": b.gold, "silver": b.silver, "holds": b.holds} for b in balances},
    )
