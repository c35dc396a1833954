"""Where edge files land, and how simulated months are written there.

The edge domain lands under ``edge/`` of the platform's landing root, in the same layout as retail
(``lib/landing.py``): ``edge/events/<event_type>/<YYYY-MM-DD>/<batch>.jsonl`` (one envelope per line, filed under
the UTC day of ``ingest_timestamp``) and ``edge/batch/<dim>/<YYYY-MM>/<name>.parquet`` (a snapshot of a dimension).
Retail's sensors and stream worker list ``events/`` of the root and never see these files.
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl

from retail_assets.lib.edge.simulate import EdgeMonth
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.landing import LandingZone, batch_prefix, event_prefix
from retail_assets.lib.specs.envelope import ENVELOPE
from retail_assets.lib.specs.registry import EDGE_REGISTRY

EDGE_FOLDER = "edge"
_STAMP = "%Y-%m-%dT%H:%M:%S%.6fZ"


def edge_landing(landing: LandingZone) -> LandingZone:
    """The edge domain's landing zone: ``edge/`` under ``landing``'s root, same storage and credentials."""
    fields = landing.model_dump()
    fields.update(root_uri=f"{landing.root_uri.rstrip('/')}/{EDGE_FOLDER}", domain="edge")
    return LandingZone(**fields)


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.strftime(_STAMP)
    return pl.col(column)


def encode_events(frame: pl.DataFrame) -> bytes:
    """Events (envelope + payload columns) as JSONL: the envelope's fields and a ``payload`` object."""
    if not frame.height:
        return b""
    envelope = [c.name for c in ENVELOPE]
    payload = [c for c in frame.columns if c not in envelope]
    doc = pl.struct(
        *(_text(c, frame.schema[c]).alias(c) for c in envelope),
        pl.struct(*(_text(c, frame.schema[c]).alias(c) for c in payload)).alias("payload"),
    )
    lines = frame.select(doc.struct.json_encode().alias("line")).get_column("line")
    return ("\n".join(lines.to_list()) + "\n").encode()


def land_events(landing: LandingZone, event_type: str, frame: pl.DataFrame, batch: str) -> list[str]:
    """One file per UTC day of ``frame``'s events, named ``<batch>.jsonl``; returns the paths written."""
    EDGE_REGISTRY.event(event_type)
    written = []
    days = frame.with_columns(pl.col("ingest_timestamp").dt.date().alias("__day")).partition_by(
        "__day", as_dict=True, maintain_order=True
    )
    for (day,), rows in sorted(days.items()):
        path = f"{event_prefix(event_type, day)}{batch}.jsonl"
        landing.write_bytes(path, encode_events(rows.drop("__day")))
        written.append(path)
    return written


def land_dimensions(landing: LandingZone, world: EdgeWorld, month: dt.date, batch: str) -> list[str]:
    """A snapshot of every edge dimension for ``month``, as Parquet."""
    written = []
    for table, frame in world.dimension_frames().items():
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        path = f"{batch_prefix(table, month)}{batch}.parquet"
        landing.write_bytes(path, buffer.getvalue())
        written.append(path)
    return written


def land_month(landing: LandingZone, world: EdgeWorld, simulated: EdgeMonth) -> list[str]:
    """Write a simulated month to the edge landing zone (dimension snapshots, then each event type by day).

    File names are fixed per month (``edge-sim-<YYYY-MM>``), so landing the same month again replaces the same
    files with the same bytes."""
    batch = f"edge-sim-{simulated.month:%Y-%m}"
    paths = land_dimensions(landing, world, simulated.month, batch)
    for event_type, frame in simulated.events.items():
        paths += land_events(landing, event_type, frame, batch)
    return paths
