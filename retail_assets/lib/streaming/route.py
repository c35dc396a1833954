"""Events read from Event Hubs or Capture files → landing files, then Bronze.

A message stream mixes event types and days, so each message is routed by its own
``event_type`` and the UTC date of its ``ingest_timestamp`` into a landing file named after what
was read (``eh-<hub>-<partition>-<first>-<last>.jsonl``, ``capture-<...>.jsonl``). The same range
always produces the same files with the same content, so a replayed range re-ingests the same
paths and Bronze changes nothing. Messages that cannot be routed (not JSON, no known event type)
are kept in ``quarantine/bronze/unroutable_events`` with their reason; a message of a known type
with a missing or invalid ``ingest_timestamp`` is filed under the day it was enqueued, where Bronze
quarantines it with the precise reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.conform import quarantine_frame
from retail_assets.lib.landing import LandingZone, event_prefix, parse_landing_path
from retail_assets.lib.specs import PARTITION_COLUMN, QUARANTINE_COLUMNS, REGISTRY, empty_frame

UNROUTABLE = "unroutable_events"
UNROUTABLE_TABLE = f"quarantine/bronze/{UNROUTABLE}"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Message:
    body: bytes
    enqueued: dt.datetime  # when the hub accepted it (UTC)
    position: str  # sequence number or record index, for messages


@dataclass
class Routed:
    files: dict[str, list[bytes]] = field(default_factory=dict)  # landing path -> lines
    unroutable: pl.DataFrame = field(default_factory=lambda: empty_frame(QUARANTINE_COLUMNS))

    @property
    def events(self) -> int:
        return sum(len(lines) for lines in self.files.values())


def safe_name(text: str) -> str:
    return _SAFE.sub("_", text).strip("_")


def _day(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()


def route(messages: Iterable[Message], batch: str, *, at: dt.datetime) -> Routed:
    """Group messages into landing files ``events/<type>/<day>/<batch>.jsonl``; keep the unroutable ones."""
    routed = Routed()
    rejected: list[dict] = []
    for message in messages:
        reason = None
        try:
            doc = json.loads(message.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            doc, reason = None, ("malformed_json", f"not valid JSON ({exc})")
        if reason is None and not isinstance(doc, dict):
            reason = ("malformed_json", "an event must be a JSON object")
        if reason is None and doc.get("event_type") not in REGISTRY.events_by_type:
            kind = doc.get("event_type")
            reason = ("unknown_event_type", "event_type is missing" if kind is None else f"unknown event_type {kind!r}")
        if reason is not None:
            rejected.append(
                {
                    "row_number": None,
                    "column_name": "event_type" if reason[0] == "unknown_event_type" else None,
                    "value": str(doc.get("event_type")) if reason[0] == "unknown_event_type" else None,
                    "reason_code": reason[0],
                    "reason": f"{batch}, message {message.position}: {reason[1]}",
                    "record": message.body.decode("utf-8", errors="replace")[:65536],
                    "trace_id": doc.get("trace_id") if isinstance(doc, dict) and isinstance(doc.get("trace_id"), str) else None,
                    "month_start": message.enqueued.date().replace(day=1),
                }
            )
            continue
        day = _day(doc.get("ingest_timestamp")) or message.enqueued.astimezone(dt.UTC).date()
        line = message.body if b"\n" not in message.body else json.dumps(doc, separators=(",", ":")).encode()
        routed.files.setdefault(f"{event_prefix(doc['event_type'], day)}{batch}.jsonl", []).append(line)
    if rejected:
        frame = pl.DataFrame(rejected, schema_overrides={"row_number": pl.Int64, "month_start": pl.Date, "trace_id": pl.String})
        routed.unroutable = pl.concat(
            [
                quarantine_frame(part.drop(PARTITION_COLUMN), table=UNROUTABLE, month=month, batch_id=batch, quarantined_at=at)
                for (month,), part in frame.partition_by(PARTITION_COLUMN, as_dict=True).items()
            ]
        ).with_columns(pl.lit(batch).alias("source_file"))
    return routed


def publish(landing: LandingZone, routed: Routed) -> list[str]:
    """Write the routed files (atomically, overwriting a previous attempt of the same batch)."""
    for path, lines in routed.files.items():
        landing.write_bytes(path, b"\n".join(lines) + b"\n")
    return sorted(routed.files)


def write_unroutable(lake, routed: Routed, batch: str, months: Sequence[dt.date], commit_metadata=None) -> int:
    """Replace this batch's unroutable messages in the quarantine (idempotent; nothing committed if unchanged)."""
    frame = routed.unroutable
    months = sorted(set(months) | set(frame.get_column(PARTITION_COLUMN).unique().to_list()))
    if not months or (not frame.height and not lake.exists(UNROUTABLE_TABLE)):
        return 0
    predicate = " OR ".join(f"{PARTITION_COLUMN} = '{m.isoformat()}'" for m in months)
    predicate = f"({predicate}) AND batch_id = '{batch}'"
    if lake.exists(UNROUTABLE_TABLE):
        stored = lake.scan(UNROUTABLE_TABLE).filter(pl.col("batch_id") == batch).collect()
        if stored.drop("quarantined_at").sort("reason").equals(frame.drop("quarantined_at").sort("reason")):
            return frame.height
    if frame.height:
        lake.replace(UNROUTABLE_TABLE, frame, predicate=predicate, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata)
    else:
        lake.delete(UNROUTABLE_TABLE, predicate, commit_metadata=commit_metadata)
    return frame.height


def files_by_type_and_month(paths: Iterable[str]) -> dict[tuple[str, dt.date], list[str]]:
    grouped: dict[tuple[str, dt.date], list[str]] = {}
    for path in paths:
        parsed = parse_landing_path(path)
        grouped.setdefault((parsed.table, parsed.month), []).append(path)
    return grouped
