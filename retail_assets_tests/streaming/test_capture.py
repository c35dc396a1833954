"""Event Hubs Capture files (Avro, Capture's schema) → capture sensor → ingest job → Bronze."""

from __future__ import annotations

import io

import dagster as dg
import fastavro

from retail_assets.defs.streaming import RUN_KEY_TAG, capture_sensor, ingest_capture
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.capture import CAPTURE_SCHEMA, CaptureFiles, read_capture
from retail_assets.lib.streaming.route import UNROUTABLE_TABLE


def capture_file(bodies: list[bytes], first_sequence: int = 0) -> bytes:
    records = [
        {
            "SequenceNumber": first_sequence + i,
            "Offset": str((first_sequence + i) * 512),
            "EnqueuedTimeUtc": "1/30/2024 1:10:50 PM",
            "SystemProperties": {},
            "Properties": {},
            "Body": body,
        }
        for i, body in enumerate(bodies)
    ]
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(CAPTURE_SCHEMA), records, codec="deflate")
    return out.getvalue()


def test_capture_files_are_ingested_once_with_unroutable_messages_kept(tmp_path, lake, landing, instance, window_events):
    root = tmp_path / "capture"
    bodies = [b.encode() for b in window_events.get_column("body").to_list()]
    half = len(bodies) // 2
    for i, (part, first) in enumerate(((bodies[:half] + [b"{oops"], 0), (bodies[half:], half))):
        path = root / "ns.servicebus.windows.net" / "retail" / "0" / "2024" / "01" / "30" / "13" / "10" / f"{i:02d}.avro"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(capture_file(part, first))
    capture = CaptureFiles(root_uri=str(root))
    assert len(read_capture(capture.read_bytes(capture.list_files()[0][0]))) == half + 1
    resources = {"capture": capture, "lake": lake, "landing": landing}
    result = capture_sensor(dg.build_sensor_context(cursor=None, resources={"capture": capture}, instance=instance))
    [request] = result.run_requests
    for _ in range(2):  # the same run twice (a replay) changes nothing
        run = ingest_capture.execute_in_process(
            run_config=request.run_config, resources=resources, instance=instance, tags={RUN_KEY_TAG: request.run_key}
        )
        assert run.success
    total = sum(lake.read(f"bronze/{e.event_type}").height for e in REGISTRY.events)
    assert total == window_events.height
    unroutable = lake.read(UNROUTABLE_TABLE)
    assert unroutable.get_column("reason_code").to_list() == ["malformed_json"]
    materialized = {e.event_specific_data.materialization.asset_key.to_user_string() for e in run.get_asset_materialization_events()}
    assert "bronze/receipt_created" in materialized
    settled = capture_sensor(dg.build_sensor_context(cursor=result.cursor, resources={"capture": capture}, instance=instance))
    assert settled.run_requests == []
