"""The landing sensor with build_sensor_context: run keys, cursor, acknowledgement after success, restarts."""

from __future__ import annotations

import time

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.streaming import RUN_KEY_TAG, landing_events_sensor
from retail_assets.lib.streaming.cursor import MAX_ATTEMPTS, FileCursor, plan_file_tick
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets_tests.streaming.conftest import materialize


def tick(landing, instance, cursor):
    context = dg.build_sensor_context(cursor=cursor, resources={"landing": landing}, instance=instance)
    started = time.perf_counter()
    result = landing_events_sensor(context)
    return result, time.perf_counter() - started


def execute(request: dg.RunRequest, lake, landing, instance) -> dg.ExecuteInProcessResult:
    """The Bronze part of the requested run (test_hot_path.py runs the whole run)."""
    keys = [k.to_user_string() for k in request.asset_selection if k.path[0] == "bronze"]
    return materialize(
        build_bronze_assets(),
        keys,
        {"lake": lake, "landing": landing},
        instance,
        request.partition_key,
        run_config=request.run_config,
        tags={**request.tags, RUN_KEY_TAG: request.run_key},
    )


def produce_into(landing, events: pl.DataFrame, name: str) -> list[str]:
    sink = LandingSink(landing, name=name)
    sink.send(events)
    sink.close()
    return sink.stats.published


def bronze_total(lake) -> int:
    return sum(lake.read(f"bronze/{e}").height for e in _event_types(lake))


def _event_types(lake):
    from retail_assets.lib.specs import REGISTRY

    return [e.event_type for e in REGISTRY.events if lake.exists(f"bronze/{e.event_type}")]


def test_runs_name_exactly_the_new_files_and_are_acknowledged_only_after_success(lake, landing, instance, window_events):
    published = produce_into(landing, window_events, "p1")
    result, seconds = tick(landing, instance, None)
    assert seconds < 5, "a sensor tick must stay far below Dagster's 60 s limit"
    requests = result.run_requests
    assert sorted(r.partition_key for r in requests) == ["2024-01-01", "2024-02-01"]
    named = {f for r in requests for op in r.run_config["ops"].values() for f in op["config"]["files"]}
    assert named == set(published)
    # Nothing is acknowledged yet: evaluating again requests the same batches under the same keys.
    again, _ = tick(landing, instance, None)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in requests]
    # While the runs have not happened, the same cursor re-requests them (lost submissions) and adds nothing new.
    pending, _ = tick(landing, instance, result.cursor)
    assert {r.run_key for r in pending.run_requests} == {r.run_key for r in requests}
    assert FileCursor.from_json(pending.cursor).done == {}


def test_restart_mid_stream_loses_nothing_and_doubles_nothing(lake, landing, instance, window_events):
    half = window_events.height // 2
    first_half, second_half = window_events.head(half), window_events.tail(window_events.height - half)
    produce_into(landing, first_half, "p1")
    result, _ = tick(landing, instance, None)
    for request in result.run_requests:
        assert execute(request, lake, landing, instance).success
    produce_into(landing, second_half, "p2")
    # The sensor restarts from its stored cursor (as the daemon does): the first batches are acknowledged
    # now, only the new files are requested.
    restarted, _ = tick(landing, instance, result.cursor)
    cursor = FileCursor.from_json(restarted.cursor)
    assert not cursor.inflight.keys() & {r.run_key for r in result.run_requests}
    new_files = {f for r in restarted.run_requests for op in r.run_config["ops"].values() for f in op["config"]["files"]}
    assert new_files and all("/p2-" in f for f in new_files)
    for request in restarted.run_requests:
        assert execute(request, lake, landing, instance).success
    settled, _ = tick(landing, instance, restarted.cursor)
    assert settled.run_requests == []
    assert bronze_total(lake) == window_events.height
    assert sum(lake.read(f"bronze/{e}").get_column("trace_id").n_unique() for e in _event_types(lake)) == window_events.height


def test_replaying_every_batch_after_a_cursor_reset_changes_nothing(lake, landing, instance, window_events):
    produce_into(landing, window_events, "p1")
    result, _ = tick(landing, instance, None)
    for request in result.run_requests:
        assert execute(request, lake, landing, instance).success
    versions = {e: lake.version(f"bronze/{e}") for e in _event_types(lake)}
    reset, _ = tick(landing, instance, None)  # cursor lost: the same files, the same run keys
    assert {r.run_key for r in reset.run_requests} == {r.run_key for r in result.run_requests}
    for request in reset.run_requests:  # even if an operator forces them again
        assert execute(request, lake, landing, instance).success
    assert {e: lake.version(f"bronze/{e}") for e in _event_types(lake)} == versions


@pytest.mark.parametrize("outcome", ["FAILURE", "CANCELED"])
def test_failed_runs_are_requested_again_then_parked_never_acknowledged(outcome):
    listed = [("events/receipt_created/2024-01-05/a.jsonl", 100.0, 10)]
    cursor, first = plan_file_tick(FileCursor(), listed, lambda key: None, group_of=lambda p: "2024-01-01", prefix="t")
    keys = [first.requests[0].run_key]
    for _ in range(MAX_ATTEMPTS - 1):
        cursor, retry = plan_file_tick(cursor, listed, lambda key: outcome, group_of=lambda p: "2024-01-01", prefix="t")
        keys.append(retry.requests[0].run_key)
    assert len(set(keys)) == MAX_ATTEMPTS
    cursor, parked = plan_file_tick(cursor, listed, lambda key: outcome, group_of=lambda p: "2024-01-01", prefix="t")
    assert parked.requests == [] and cursor.failed and not cursor.done and "parked" in parked.notes[0]


def test_a_month_with_a_run_in_flight_waits_and_its_files_are_requested_after():
    group = lambda p: p.split("/")[2][:7]  # noqa: E731
    cursor, _ = plan_file_tick(FileCursor(), [("events/x/2024-01-05/a.jsonl", 100.0, 1)], lambda k: None, group_of=group, prefix="t")
    listed = [("events/x/2024-01-05/a.jsonl", 100.0, 1), ("events/x/2024-01-06/b.jsonl", 200.0, 1)]
    cursor, held = plan_file_tick(cursor, listed, lambda k: "STARTED", group_of=group, prefix="t")
    assert held.requests == []
    listed.append(("events/x/2024-02-01/c.jsonl", 300.0, 1))
    cursor, done = plan_file_tick(cursor, listed, lambda k: "SUCCESS", group_of=group, prefix="t")
    assert sorted(p for b in done.requests for p in b.files) == ["events/x/2024-01-06/b.jsonl", "events/x/2024-02-01/c.jsonl"]
    assert [p for p, _, _ in cursor.unacknowledged(listed)] == [p for b in done.requests for p in b.files]


def _settle(cursor, listed, known=None):
    """Plan, then acknowledge whatever was requested; the paths requested."""
    cursor, tick = plan_file_tick(cursor, listed, lambda k: None, group_of=lambda p: p.split("/")[2][:7], prefix="t", known=known)
    cursor, _ = plan_file_tick(cursor, listed, lambda k: "SUCCESS", group_of=lambda p: p.split("/")[2][:7], prefix="t", known=known)
    return cursor, sorted(p for b in tick.requests for p in b.files)


def test_a_file_moved_in_with_an_old_modification_time_is_ingested_once():
    """A producer that writes elsewhere and mv's the file in keeps its old mtime: it is found by name, once."""
    listed = [(f"events/x/2024-01-05/{n}.jsonl", 1000.0 + n, 1) for n in range(3)]
    cursor, requested = _settle(FileCursor(), listed)
    assert len(requested) == 3
    listed.append(("events/x/2024-01-05/moved.jsonl", 5.0, 1))  # far older than anything acknowledged
    cursor, requested = _settle(cursor, listed)
    assert requested == ["events/x/2024-01-05/moved.jsonl"]
    cursor, requested = _settle(cursor, listed)
    assert requested == []


def test_settled_folders_fold_into_fingerprints_and_a_late_file_reopens_its_folder():
    days = [f"2024-01-{d:02d}" for d in range(1, 11)]
    listed = [(f"events/x/{day}/{n}.jsonl", float(i * 10 + n), 1) for i, day in enumerate(days) for n in range(5)]
    cursor, requested = _settle(FileCursor(), listed)
    assert len(requested) == 50
    # Only the two newest day folders keep their file names; the cursor does not grow with the stream.
    assert {p.split("/")[2] for p in cursor.done} == {"2024-01-09", "2024-01-10"}
    assert len(cursor.closed) == 8
    assert FileCursor.from_json(cursor.to_json()) == cursor
    listed.append(("events/x/2024-01-02/late.jsonl", 1.0, 1))
    cursor, requested = _settle(cursor, listed, known=lambda folder: {p for p, _, _ in listed if p.startswith(folder + "/")} - {
        "events/x/2024-01-02/late.jsonl"})
    assert requested == ["events/x/2024-01-02/late.jsonl"], "what Bronze holds from the reopened folder is not asked again"
    assert "events/x/2024-01-02" in cursor.closed, "acknowledged again, the folder closes again"
    # Without knowing what Bronze holds, the reopened folder is requested whole (ingesting a file twice changes nothing).
    listed.append(("events/x/2024-01-03/late.jsonl", 1.0, 1))
    cursor, requested = _settle(cursor, listed)
    assert requested == sorted(p for p, _, _ in listed if p.startswith("events/x/2024-01-03/"))


def test_a_cursor_of_the_former_format_keeps_what_it_had_acknowledged():
    old = FileCursor.from_json('{"watermark": 500.0, "done": {"events/x/2024-01-05/b.jsonl": 480.0}, "inflight": {}, "failed": {}}')
    listed = [("events/x/2024-01-05/a.jsonl", 100.0, 1), ("events/x/2024-01-05/b.jsonl", 480.0, 1),
              ("events/x/2024-01-05/c.jsonl", 490.0, 1)]
    _, requested = _settle(old, listed)
    assert requested == ["events/x/2024-01-05/c.jsonl"]
