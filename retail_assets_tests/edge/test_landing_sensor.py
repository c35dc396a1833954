"""edge_landing_sensor: one Bronze run per month whose landed edge files changed, once per change."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from retail_assets.defs.edge import edge_landing_sensor
from retail_assets.lib.edge.landing import edge_landing, land_events
from retail_assets.lib.edge.profiles import PROFILES
from retail_assets.lib.edge.simulate import simulate_month
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.landing import LandingZone


def _tick(landing: LandingZone, cursor: str | None):
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing})
        return edge_landing_sensor(context)


def test_changed_months_are_requested_once_per_change(tmp_path):
    landing = LandingZone(root_uri=str(tmp_path / "landing"))
    zone = edge_landing(landing)
    beats = simulate_month(EdgeWorld(PROFILES["tiny"]), dt.date(2024, 3, 1)).events["device_heartbeat"]
    assert isinstance(_tick(landing, None), dg.SkipReason)

    land_events(zone, "device_heartbeat", beats.head(200), "gw-1")
    first = _tick(landing, None)
    assert [(r.partition_key, r.run_key.startswith("edge-bronze-2024-03-01-")) for r in first.run_requests] == [
        ("2024-03-01", True)
    ]
    assert isinstance(_tick(landing, first.cursor), dg.SkipReason)  # nothing new: nothing requested

    april = beats.head(3).with_columns(pl.col("ingest_timestamp").dt.offset_by("1mo"))
    land_events(zone, "device_heartbeat", april, "gw-2")
    second = _tick(landing, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2024-04-01"]  # March unchanged: not again
    # Retail's landing zone under the same root is not the edge domain's: its files are never listed.
    landing.write_bytes("events/receipt_created/2024-03-05/b.jsonl", b"{}\n")
    assert isinstance(_tick(landing, second.cursor), dg.SkipReason)
