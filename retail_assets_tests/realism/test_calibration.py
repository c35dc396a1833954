"""The calibration test: the demo profile's whole 2024 lands inside every band of the scorecard (issue 13).

This tests the generator, not the scorecard's code: it fails, naming each metric with its value and band, whenever the
simulated world drifts away from the published figures.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.output import default_workers, write_dimensions, write_months
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import month_range
from retail_assets.lib.realism import AlertThresholds, scan_landing, scorecard

YEAR = month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory: pytest.TempPathFactory) -> LandingZone:
    """The demo profile for January-December 2024 in a temporary landing zone, months in parallel processes."""
    landing = LandingZone(root_uri=str(tmp_path_factory.mktemp("demo-year") / "landing"))
    landing.ensure_root()
    config = load_config("demo", environ={})  # the profile itself: RETAIL_GEN_* of the shell do not change it
    started = time.perf_counter()
    write_dimensions(config, YEAR, landing)
    reports = write_months(config, YEAR, landing, workers=default_workers(config, len(YEAR)))
    print(
        f"\ndemo 2024: {sum(r.total_rows for r in reports):,} fact rows generated in {time.perf_counter() - started:.1f} s"
    )
    return landing


@pytest.mark.slow
def test_the_demo_year_is_in_every_band(demo_year: LandingZone):
    started = time.perf_counter()
    card = scorecard(scan_landing(demo_year, YEAR), thresholds=AlertThresholds())
    print(f"scored in {time.perf_counter() - started:.1f} s")
    measured = [m for m in card.metrics if m.id != "gold_conversion_rate"]
    assert all(m.in_band is not None for m in measured), [m.id for m in measured if m.in_band is None]
    out = [
        f"{m.id}: {m.shown_value} not in {m.band.describe(m.unit)}" + (f" ({m.note})" if m.note else "")
        for m in card.out_of_band
    ]
    assert not out, f"{len(out)} of {len(measured)} metrics out of band:\n" + "\n".join(out)
