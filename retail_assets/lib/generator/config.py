"""Generator configuration: named profiles, overridden by a file and by environment variables.

Precedence, lowest first: the profile's values, a JSON or TOML file (``RETAIL_GENERATOR_CONFIG``
or ``config_file=``), environment variables ``RETAIL_GEN_<FIELD>`` (``RETAIL_GEN_STORES=12``), then
keyword overrides. The profile itself comes from the ``profile`` argument, else ``RETAIL_PROFILE``,
else the file's ``profile`` key, else ``demo``. Every value is validated by pydantic; a bad value
raises :class:`GeneratorConfigError` naming the field, the value and where it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from retail_assets.lib import settings

PROFILE_ENV = settings.PROFILE
CONFIG_FILE_ENV = "RETAIL_GENERATOR_CONFIG"
FIELD_ENV_PREFIX = "RETAIL_GEN_"
DEFAULT_PROFILE = "demo"


class GeneratorConfigError(ValueError):
    """The generator configuration is invalid; the message names field, value and source."""


class GeneratorConfig(BaseModel):
    """Everything that decides what the generator produces. Same config + month = same bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str = Field(description="Profile the values started from (tiny, demo, reference).")
    seed: int = Field(42, ge=0, lt=2**31, description="Root seed of every random stream.")
    first_month: dt.date = Field(
        dt.date(2024, 1, 1),
        description="Month the simulated history starts: customers move and stores change from here on.",
    )

    # Master data volumes (reference spec §2.1).
    stores: int = Field(ge=1, le=4000)
    dcs: int = Field(ge=1, le=999)
    geographies: int = Field(ge=1, le=200)
    customers: int = Field(ge=10, le=20_000_000)
    products: int = Field(ge=20, le=200_000)
    dc_refrigerated_trucks: int = Field(8, ge=0)
    dc_dry_trucks: int = Field(12, ge=0)
    supplier_refrigerated_trucks: int = Field(12, ge=0)
    supplier_dry_trucks: int = Field(18, ge=0)
    truck_dc_assignment_rate: float = Field(0.85, ge=0, le=1)
    truck_capacity_units: int = Field(15_000, gt=0)

    # Activity volumes.
    receipts_per_store_day: float = Field(
        gt=0,
        description="Sales per day of a store with traffic multiplier 1.0 and standard hours on an ordinary January "
        "day, before weekday, weather and holiday effects (a supermarket makes ~1,800: FMI 12,700 a week).",
    )
    online_orders_per_day: float = Field(ge=0, description="Network-wide online orders per day before seasonality.")
    marketing_impressions_per_day: float = Field(ge=0, description="Network-wide daily cap on campaign impressions.")

    # Behaviour.
    known_customer_share: float = Field(0.85, ge=0, le=1, description="Share of sales where the loyalty card is scanned.")
    app_user_share: float = Field(0.35, ge=0, le=1, description="Share of known shoppers whose phone answers BLE beacons.")
    return_rate: float = Field(
        0.10,
        ge=0,
        le=0.5,
        description="Share of sales looked at for a later return; which of their lines come back depends on the product.",
    )
    return_window_days: int = Field(14, ge=1, le=60, description="Returns happen 1..N days after the sale.")
    attribution_rate: float = Field(
        0.002,
        ge=0,
        le=1,
        description=(
            "Share of identified purchases with an ad journey: ~0.2 % gives ~0.05 % conversions per impression "
            "(display CTR ~0.46 % x 0.89 % conversion, ad-calc.com) at ~1,400 impressions a store-day."
        ),
    )
    payment_decline_rate: float = Field(0.025, ge=0, le=0.5, description="Base decline probability of a card payment.")
    customer_churn_rate: float = Field(
        0.05, ge=0, le=0.5, description="Monthly share of active customers who lapse (new ones replace them)."
    )
    customer_acquisition_months: int = Field(
        36,
        ge=1,
        le=600,
        description="Months after first_month during which new customers join; after them the base only lapses. "
        "Size customers to ~(active customers) x (1 + customer_churn_rate x this).",
    )
    customer_move_rate: float = Field(0.008, ge=0, le=0.2, description="Monthly share of customers who move.")
    store_change_rate: float = Field(0.03, ge=0, le=0.5, description="Monthly share of stores changing hours or format.")
    cycle_count_products: int = Field(20, ge=0, description="Products each store cycle-counts every night.")
    urgent_cover_days: float = Field(
        0.25,
        gt=0,
        le=2,
        description=(
            "A reorder line is URGENT when the shelf still holds something but less than this many days of "
            "forecast at the nightly check (it will run out before the morning delivery)."
        ),
    )
    dc_cover_days: float = Field(10.0, gt=0, description="Days of expected outflow a DC stocks up to.")

    @model_validator(mode="after")
    def _check(self) -> GeneratorConfig:
        if self.first_month.day != 1:
            raise ValueError(f"first_month must be the first day of a month, got {self.first_month.isoformat()}")
        if self.dcs > self.geographies * 4:
            raise ValueError(f"dcs={self.dcs} is more than 4 per geography (geographies={self.geographies})")
        return self

    @property
    def dc_fleet(self) -> int:
        return self.dc_refrigerated_trucks + self.dc_dry_trucks

    @property
    def trucks(self) -> int:
        return self.dc_fleet + self.supplier_refrigerated_trucks + self.supplier_dry_trucks

    @property
    def network_scale(self) -> float:
        """Size of the store network relative to the reference's 86 stores (scales marketing)."""
        return self.stores / 86.0


# Sales of an average store on an ordinary January day (see receipts_per_store_day): with the
# network's mix of formats, weekdays and seasons a store-day averages ~1,300 in January and ~1,400
# over a year, inside FMI's supermarket figure (12,700 a week = 1,814 a day) blended with express stores.
RECEIPTS_PER_STORE_DAY = 1_250

PROFILES: dict[str, dict[str, Any]] = {
    # Unit tests: seconds for a month. Its seed gives three stores that cover 24/7 and day-time hours,
    # three time zones and both DCs, so the tests see every kind of store.
    "tiny": {
        "seed": 290,
        "stores": 3,
        "dcs": 2,
        "geographies": 3,
        "customers": 600,
        "products": 240,
        "dc_refrigerated_trucks": 1,
        "dc_dry_trucks": 2,
        "supplier_refrigerated_trucks": 1,
        "supplier_dry_trucks": 1,
        "receipts_per_store_day": 24,
        "online_orders_per_day": 12,
        "marketing_impressions_per_day": 1_000,
        "cycle_count_products": 3,
        # Enough ad journeys at tiny volume for the attribution tests to see them (not held to the realism bands).
        "attribution_rate": 0.05,
    },
    # The local default: three stores at real supermarket volume (a superstore, a standard store and a
    # neighbourhood store in two time zones served by both DCs, the network's mean traffic: seed 254),
    # about a minute for `retail-assets run --month 2024-01`.
    "demo": {
        "seed": 254,
        "stores": 3,
        "dcs": 2,
        "geographies": 5,
        "customers": 60_000,
        "products": 2_000,
        "dc_refrigerated_trucks": 2,
        "dc_dry_trucks": 3,
        "supplier_refrigerated_trucks": 2,
        "supplier_dry_trucks": 3,
        "receipts_per_store_day": RECEIPTS_PER_STORE_DAY,
        "online_orders_per_day": 250,
        # 2,000 products for a supermarket's traffic: each sells ~5x faster than in the reference's 10,000-product
        # range, so an hour of cover (not six) keeps URGENT the exception it is in a real range.
        "urgent_cover_days": 0.04,
        # A network-wide cap well above what the campaigns plan (~1,400 a store-day), so over-delivering
        # launches can overspend their budget.
        "marketing_impressions_per_day": 10_500,
    },
    # The reference generator's network (reference spec §2.1: 86 stores, 20 DCs, 10,000 products) at
    # real per-store volume, so 5-6x its receipts; customers sized for ~5 visits a month each.
    "reference": {
        "stores": 86,
        "dcs": 20,
        "geographies": 20,
        "customers": 1_500_000,
        "products": 10_000,
        "receipts_per_store_day": RECEIPTS_PER_STORE_DAY,
        "online_orders_per_day": 6_500,
        "marketing_impressions_per_day": 301_000,
    },
}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GeneratorConfigError(f"generator config file {path}: cannot be read ({exc})") from exc
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GeneratorConfigError(f"generator config file {path}: not valid {path.suffix.lstrip('.') or 'JSON'} ({exc})") from exc
    if not isinstance(data, dict):
        raise GeneratorConfigError(f"generator config file {path}: must hold an object of field -> value")
    return data


def _env_overrides(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """field -> (raw value, variable name) for every RETAIL_GEN_<FIELD> variable."""
    found = {}
    for name, value in environ.items():
        if name.startswith(FIELD_ENV_PREFIX):
            found[name[len(FIELD_ENV_PREFIX) :].lower()] = (value, name)
    return found


def load_config(
    profile: str | None = None,
    *,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> GeneratorConfig:
    """The validated configuration for ``profile`` with file, environment and keyword overrides."""
    env = os.environ if environ is None else environ
    file_path = config_file or env.get(CONFIG_FILE_ENV) or None
    file_values = _read_file(Path(file_path)) if file_path else {}
    chosen = profile or env.get(PROFILE_ENV) or file_values.get("profile") or DEFAULT_PROFILE
    chosen = str(chosen).strip().lower()
    if chosen not in PROFILES:
        raise GeneratorConfigError(f"unknown generator profile {chosen!r}; choose one of {sorted(PROFILES)}")

    values: dict[str, Any] = {"profile": chosen, **PROFILES[chosen]}
    sources: dict[str, str] = {k: f"profile {chosen!r}" for k in values}
    for key, value in file_values.items():
        if key == "profile":
            continue
        values[key] = value
        sources[key] = f"file {file_path}"
    for key, (value, variable) in _env_overrides(env).items():
        values[key] = value
        sources[key] = f"environment variable {variable}"
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            sources[key] = "argument"

    unknown = sorted(k for k in values if k not in GeneratorConfig.model_fields)
    if unknown:
        known = ", ".join(sorted(GeneratorConfig.model_fields))
        where = "; ".join(f"{k} from {sources.get(k, '?')}" for k in unknown)
        raise GeneratorConfigError(f"unknown generator setting(s): {where}. Known settings: {known}")
    try:
        return GeneratorConfig(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "config"
            value = values.get(field, err.get("input"))
            source = sources.get(field, "profile/defaults")
            problems.append(f"{field}={value!r} ({source}): {err['msg']}")
        raise GeneratorConfigError(f"invalid generator configuration (profile {chosen!r}): " + "; ".join(problems)) from None
