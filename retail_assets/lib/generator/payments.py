"""Payment authorisations: one approved payment per sale and per online order, after any declines.

A card can be declined (2.5 % x a per-method factor, never cash); the shopper then pays with
another card, which is approved. So every receipt and non-cancelled order has exactly one
APPROVED payment equal to its total, plus the declined attempts before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail_assets.lib.generator.receipts import CASH, CHECK, CREDIT, DEBIT, MOBILE, OTHER, PAYPAL
from retail_assets.lib.generator.rng import stream_salt, uniform
# The spec's list, not a copy: a reason the spec does not allow would be quarantined by Silver (not_allowed).
from retail_assets.lib.specs.facts import DECLINE_REASONS

PROCESSING_MS = {
    CASH: (500, 2000),
    CREDIT: (1500, 4000),
    DEBIT: (1200, 3500),
    MOBILE: (800, 2500),
    PAYPAL: (2000, 5000),
    OTHER: (1000, 3000),
    CHECK: (3000, 8000),
}
DECLINE_FACTOR = {CREDIT: 1.0, DEBIT: 0.8, CASH: 0.0, MOBILE: 1.2, PAYPAL: 1.1, OTHER: 0.5, CHECK: 1.5}
RETRY_WITH = {CREDIT: DEBIT, DEBIT: CREDIT, MOBILE: CREDIT, PAYPAL: CREDIT, OTHER: CREDIT, CHECK: CREDIT, CASH: CASH}

_LO = np.array([PROCESSING_MS[m][0] for m in range(7)])
_HI = np.array([PROCESSING_MS[m][1] for m in range(7)])
_FACTOR = np.array([DECLINE_FACTOR[m] for m in range(7)])
_RETRY = np.array([RETRY_WITH[m] for m in range(7)])


@dataclass
class Attempts:
    """Payment attempts, one entry per attempt."""

    owner: np.ndarray  # index of the receipt or order paid
    attempt: np.ndarray  # 1 for the first try, 2 for the retry
    method: np.ndarray
    approved: np.ndarray
    reason: np.ndarray  # index into DECLINE_REASONS, -1 when approved
    ts: np.ndarray
    processing_ms: np.ndarray


def attempts(
    seed: int, key: np.ndarray, first_method: np.ndarray, start_ts: np.ndarray, decline_rate: float
) -> tuple[Attempts, np.ndarray]:
    """Attempts for purchases starting at ``start_ts``; returns them and the approved method per purchase."""
    key = np.asarray(key, dtype=np.uint64)
    u = lambda name: uniform(key, stream_salt(seed, name))
    declined = u("declined") < decline_rate * _FACTOR[first_method]
    approved_method = np.where(declined, _RETRY[first_method], first_method)
    ms1 = (_LO[first_method] + u("ms1") * (_HI[first_method] - _LO[first_method])).astype(np.int64)
    ms2 = (_LO[approved_method] + u("ms2") * (_HI[approved_method] - _LO[approved_method])).astype(np.int64)
    retry_gap = ((15 + 45 * u("retry_gap")) * 1_000_000).astype(np.int64)
    n = len(key)
    first = np.flatnonzero(declined)
    owner = np.concatenate([first, np.arange(n)])
    attempt = np.concatenate([np.ones(len(first), dtype=np.int64), np.where(declined, 2, 1)])
    method = np.concatenate([first_method[first], approved_method])
    ok = np.concatenate([np.zeros(len(first), dtype=bool), np.ones(n, dtype=bool)])
    reason = np.concatenate([(u("reason")[first] * len(DECLINE_REASONS)).astype(np.int64), np.full(n, -1)])
    ts_first = start_ts[first] + ms1[first] * 1000
    ts_final = start_ts + np.where(declined, ms1 * 1000 + retry_gap, 0) + ms2 * 1000
    ms = np.concatenate([ms1[first], ms2])
    order = np.lexsort((attempt, owner))
    out = Attempts(
        owner[order], attempt[order], method[order], ok[order], reason[order], np.concatenate([ts_first, ts_final])[order], ms[order]
    )
    return out, approved_method
