"""Business alert thresholds: the one place both alert paths read them from.

Two paths raise the same six business alerts (reference spec §12.7 and the deployment guide):
the Gold layer's WARN-level alert checks, and the KQL rule queries in ``kql/rules/`` that an
Eventhouse user pairs with Activator. Both take their thresholds from :class:`AlertThresholds`,
so a threshold is changed once and both paths agree.

Every field can be overridden from the environment with ``RETAIL_ALERT_<FIELD NAME IN CAPITALS>``,
e.g. ``RETAIL_ALERT_HIGH_VALUE_RECEIPT_QUANTILE=0.999``. ``RETAIL_ALERT_CAMPAIGN_DAILY_BUDGETS_CENTS``
takes a JSON object ``{"<campaign_id>": <cents>, ...}``. The KQL rules are rendered with the
configured values: ``RETAIL_ALERT_... retail-assets kql render --out <folder>`` writes a copy of
``kql/`` with other thresholds (the committed ``kql/`` always holds the defaults).

The defaults are sized for a store manager: about five alerts per store and day in total at
supermarket volumes (~1,500 receipts a store-day). Where a fixed number makes no sense the threshold
is the store's own distribution: a high-value receipt is the far tail of that store's totals, a
crowded zone is a reading far above the zone's normal for that hour, a stockout alerts for the
store's fast movers only. Every alert names the action to take (``ACTIONS``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "RETAIL_ALERT_"

STOCKOUT = "stockout"
HIGH_VALUE_RECEIPT = "high_value_receipt"
TRUCK_DWELL_OVER_SLA = "truck_dwell_over_sla"
CAMPAIGN_OVER_BUDGET = "campaign_over_budget"
URGENT_REORDER = "urgent_reorder"
OVERCROWDED_ZONE = "overcrowded_zone"

# The six business alerts, in the order they are documented.
ALERTS: tuple[str, ...] = (
    STOCKOUT,
    HIGH_VALUE_RECEIPT,
    TRUCK_DWELL_OVER_SLA,
    CAMPAIGN_OVER_BUDGET,
    URGENT_REORDER,
    OVERCROWDED_ZONE,
)

# What the manager should do about each alert: the action column of gold/alerts.
ACTIONS: dict[str, str] = {
    STOCKOUT: "Refill the shelf from the backroom, or expedite the product from its DC; check the shelf tag",
    HIGH_VALUE_RECEIPT: "Review the receipt and its tender with loss prevention; confirm the customer if unusual",
    TRUCK_DWELL_OVER_SLA: "Free a dock door and unload the truck now; tell the carrier to avoid detention charges",
    CAMPAIGN_OVER_BUDGET: "Pause or re-pace the campaign in the ad platform and confirm the day's spend",
    URGENT_REORDER: "Confirm the urgent order with the DC and plan the shelf until it arrives",
    OVERCROWDED_ZONE: "Open more checkouts or send staff to the zone",
}

# The reorder priority that raises the URGENT reorder alert (reference: reorder_triggered priority).
URGENT_PRIORITY = "URGENT"


class AlertConfigError(ValueError):
    """An ``RETAIL_ALERT_*`` environment variable does not hold a valid threshold."""


class AlertThresholds(BaseModel):
    """Thresholds of the six business alerts; defaults follow the reference deployment guide."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookback_minutes: int = Field(
        default=5,
        gt=0,
        description=(
            "Window each event rule looks back over; schedule the rules at least this often "
            "(reference rules: 5 minutes)."
        ),
    )
    high_value_receipt_cents: int = Field(
        default=20_000,
        gt=0,
        description=(
            "Floor of the high-value threshold in cents ($200, the reference's rule code): a receipt is high value "
            "only above this and above its store's high_value_receipt_quantile."
        ),
    )
    high_value_receipt_quantile: float = Field(
        default=0.9998,
        gt=0,
        lt=1,
        description=(
            "A receipt is high value above this quantile of its store's receipt totals (the month in Gold, the "
            "last baseline_days in KQL): 1 in 5,000 receipts, about one every three days at ~1,500 receipts a store-day."
        ),
    )
    baseline_days: int = Field(
        default=28,
        gt=0,
        description="Days of history the KQL rules read a store's normal from (Gold reads the month).",
    )
    stockout_fast_mover_share: float = Field(
        default=0.0025,
        gt=0,
        le=1,
        description=(
            "A store stockout alerts only for the store's fast movers: products whose units sold are at or above "
            "the store's (1 - share) quantile of units per product sold (0.25 %: the top 25 of a 10,000-product "
            "range); other shelves refill with the next order."
        ),
    )
    stockout_repeat_hours: int = Field(
        default=25,
        gt=0,
        description=(
            "A store-product's stockout within this many hours of its previous one is the same empty shelf (a gap "
            "lasting days is detected again every morning): it does not alert again."
        ),
    )
    truck_dwell_sla_minutes: int = Field(
        default=120,
        gt=0,
        description="A truck at a store or DC longer than this from arrival to departure breaches the SLA (~2 h free time before detention, Trimble).",
    )
    truck_open_horizon_hours: int = Field(
        default=24,
        gt=0,
        description=(
            "Arrivals without a departure are reported as still at the dock only within this many hours "
            "(older ones are treated as lost events, not live breaches)."
        ),
    )
    campaign_daily_budget_cents: int = Field(
        default=15_000,
        gt=0,
        description=(
            "Daily spend budget of a campaign without its own budget, in cents ($150: a regional campaign plans "
            "$30-70 a day at $3-38 CPM; a launch-day pacing burst or a holiday multiplier goes over)."
        ),
    )
    campaign_daily_budgets_cents: dict[str, int] = Field(
        default_factory=dict,
        description="Per-campaign daily budgets in cents, overriding the default for those campaigns.",
    )
    zone_crowding_factor: float = Field(
        default=2.5,
        gt=1,
        description=(
            "A store zone is overcrowded when an hourly reading counts more than this many times the zone's normal "
            "(median) reading for that hour of the day (the month in Gold, the last baseline_days in KQL)."
        ),
    )
    zone_min_customers: int = Field(
        default=30,
        ge=0,
        description="...and more people than this, so a quiet hour's small swings do not alert.",
    )
    @field_validator("campaign_daily_budgets_cents")
    @classmethod
    def _positive_budgets(cls, budgets: dict[str, int]) -> dict[str, int]:
        bad = {campaign: cents for campaign, cents in budgets.items() if cents <= 0 or not campaign}
        if bad:
            raise ValueError(f"campaign budgets must be positive cents for a non-empty campaign id, got {bad}")
        return budgets

    def campaign_budget_cents(self, campaign_id: str) -> int:
        """The daily budget of one campaign: its own when configured, else the default."""
        return self.campaign_daily_budgets_cents.get(campaign_id, self.campaign_daily_budget_cents)

    @classmethod
    def env_var(cls, field: str) -> str:
        """The environment variable that overrides ``field``."""
        if field not in cls.model_fields:
            raise KeyError(f"no alert threshold named {field!r}; known: {sorted(cls.model_fields)}")
        return f"{ENV_PREFIX}{field.upper()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertThresholds:
        """Defaults overridden by every ``RETAIL_ALERT_*`` variable that is set."""
        env = os.environ if environ is None else environ
        known = {cls.env_var(name): name for name in cls.model_fields}
        unknown = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known)
        if unknown:
            raise AlertConfigError(f"unknown alert settings {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for var, name in known.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            if name == "campaign_daily_budgets_cents":
                try:
                    values[name] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise AlertConfigError(f"{var} must be a JSON object of campaign id to cents: {exc}") from None
            else:
                values[name] = raw.strip()
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{cls.env_var(str(err['loc'][0]))}={values.get(str(err['loc'][0]))!r}: {err['msg']}"
                for err in exc.errors()
            )
            raise AlertConfigError(f"invalid alert thresholds: {problems}") from None
