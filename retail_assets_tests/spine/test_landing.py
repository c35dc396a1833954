"""LandingZone: layout, atomic publishing and path validation, locally and on Azure storage (Azurite)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from retail_assets.lib.landing import LandingPathError, LandingZone, claimed_partition, parse_landing_path, served_months
from retail_assets_tests.conftest import azure_landing

JAN = dt.date(2024, 1, 1)


@pytest.fixture(params=["local", pytest.param("azurite", marks=pytest.mark.azurite)])
def zone(request: pytest.FixtureRequest, tmp_path: Path) -> LandingZone:
    if request.param == "local":
        z = LandingZone(root_uri=str(tmp_path / "landing"))
        z.ensure_root()
        return z
    return azure_landing(request.getfixturevalue("azurite"), f"land{uuid.uuid4().hex[:12]}")


def test_batch_files_of_a_month_are_listed_in_path_order(zone: LandingZone) -> None:
    zone.write_bytes("batch/fact_receipts/2024-01/part-1.parquet", b"b")
    zone.write_bytes("batch/fact_receipts/2024-01/part-0.csv", b"a")
    zone.write_bytes("batch/fact_receipts/2024-02/part-0.parquet", b"c")
    zone.write_bytes("batch/fact_payments/2024-01/part-0.parquet", b"d")
    files = zone.batch_files("fact_receipts", JAN)
    assert [f.path.path for f in files] == [
        "batch/fact_receipts/2024-01/part-0.csv",
        "batch/fact_receipts/2024-01/part-1.parquet",
    ]
    assert [f.size for f in files] == [1, 1]
    assert zone.read_bytes("batch/fact_receipts/2024-01/part-1.parquet") == b"b"


def test_event_files_are_found_by_month_across_days(zone: LandingZone) -> None:
    for day in ("2024-01-01", "2024-01-31", "2024-02-01"):
        zone.write_bytes(f"events/receipt_created/{day}/batch-{day}.jsonl", b"{}")
    found = [f.path.path for f in zone.event_files("receipt_created", JAN)]
    assert found == [
        "events/receipt_created/2024-01-01/batch-2024-01-01.jsonl",
        "events/receipt_created/2024-01-31/batch-2024-01-31.jsonl",
    ]
    assert zone.event_files("receipt_created", dt.date(2024, 3, 1)) == []


def test_dimension_snapshots_are_grouped_by_month(zone: LandingZone) -> None:
    zone.write_bytes("batch/dim_stores/2024-02/stores.parquet", b"2")
    zone.write_bytes("batch/dim_stores/2024-01/stores.parquet", b"1")
    snapshots = zone.dimension_snapshots("dim_stores")
    assert list(snapshots) == [JAN, dt.date(2024, 2, 1)]


def test_publishing_again_replaces_the_file_whole(zone: LandingZone) -> None:
    zone.write_bytes("batch/fact_receipts/2024-01/part-0.csv", b"first version")
    zone.write_bytes("batch/fact_receipts/2024-01/part-0.csv", b"second")
    assert zone.read_bytes("batch/fact_receipts/2024-01/part-0.csv") == b"second"
    assert len(zone.batch_files("fact_receipts", JAN)) == 1


def test_a_staged_file_is_published_whole_only_when_it_was_written_without_error(zone: LandingZone) -> None:
    path = "batch/fact_receipts/2024-01/generated.parquet"
    zone.write_bytes(path, b"previous month file")
    with pytest.raises(RuntimeError), zone.staged_file(path) as staged:
        staged.write_bytes(b"half of a new")
        raise RuntimeError("the writer failed")
    assert zone.read_bytes(path) == b"previous month file"
    with zone.staged_file(path) as staged:
        staged.write_bytes(b"new month file")
        assert zone.read_bytes(path) == b"previous month file"
    assert zone.read_bytes(path) == b"new month file"
    assert [f.path.path for f in zone.batch_files("fact_receipts", JAN)] == [path]
    assert not staged.exists()


def test_a_local_staged_file_leaves_nothing_behind_and_refuses_paths_outside_the_layout(tmp_path: Path) -> None:
    zone = LandingZone(root_uri=str(tmp_path))
    with zone.staged_file("batch/fact_payments/2024-01/generated.parquet") as staged:
        staged.write_bytes(b"rows")
    assert [p.name for p in (tmp_path / "batch" / "fact_payments" / "2024-01").iterdir()] == ["generated.parquet"]
    with pytest.raises(LandingPathError, match="outside the landing zone"), zone.staged_file("../x/batch/fact_payments/2024-01/a.parquet"):
        pass


def test_in_progress_and_marker_files_are_ignored(tmp_path: Path) -> None:
    zone = LandingZone(root_uri=str(tmp_path))
    folder = tmp_path / "batch" / "fact_receipts" / "2024-01"
    folder.mkdir(parents=True)
    (folder / ".part-0.parquet.tmp").write_bytes(b"half")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "part-0.parquet").write_bytes(b"whole")
    assert [f.path.path for f in zone.batch_files("fact_receipts", JAN)] == ["batch/fact_receipts/2024-01/part-0.parquet"]


def test_a_local_publish_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    zone = LandingZone(root_uri=str(tmp_path))
    zone.write_bytes("events/ble_ping_detected/2024-01-05/b1.jsonl", b"{}\n")
    assert [p.name for p in (tmp_path / "events" / "ble_ping_detected" / "2024-01-05").iterdir()] == ["b1.jsonl"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../secrets/batch/fact_receipts/2024-01/x.csv", "outside the landing zone"),
        ("/etc/passwd", "outside the landing zone"),
        ("batch/fact_receipts/2024-01/../../../x.csv", "outside the landing zone"),
        ("batch/fact_unknown/2024-01/x.csv", "unknown table 'fact_unknown'"),
        ("events/receipt_deleted/2024-01-01/b.jsonl", "unknown event type 'receipt_deleted'"),
        ("batch/fact_receipts/2024-13/x.csv", "'2024-13' is not a valid month"),
        ("batch/fact_receipts/January/x.csv", "'January' is not a month"),
        ("batch/fact_receipts/2024-01/x.xlsx", "batch files must be .parquet or .csv"),
        ("events/receipt_created/2024-02-30/b.jsonl", "'2024-02-30' is not a valid date"),
        ("events/receipt_created/2024-01-01/b.json", "event files must be .jsonl"),
        ("batch/fact_receipts/x.csv", "does not follow the layout"),
        ("az://other/batch/fact_receipts/2024-01/x.csv", "outside the landing zone"),
    ],
)
def test_paths_outside_the_layout_are_refused_with_what_was_expected(path: str, message: str) -> None:
    with pytest.raises(LandingPathError, match=message):
        parse_landing_path(path)


def test_reads_and_writes_refuse_paths_outside_the_zone(tmp_path: Path) -> None:
    zone = LandingZone(root_uri=str(tmp_path / "landing"))
    (tmp_path / "secret.txt").write_text("no")
    with pytest.raises(LandingPathError, match="outside the landing zone"):
        zone.read_bytes("../secret.txt")
    with pytest.raises(LandingPathError):
        zone.write_bytes("../batch/fact_receipts/2024-01/x.csv", b"x")
    assert not (tmp_path / "batch").exists()


def test_a_symlink_pointing_outside_the_zone_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    (root / "batch" / "fact_receipts").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.csv").write_text("a,b\n")
    (root / "batch" / "fact_receipts" / "2024-01").symlink_to(outside)
    with pytest.raises(LandingPathError, match="resolves outside the landing zone"):
        LandingZone(root_uri=str(root)).read_bytes("batch/fact_receipts/2024-01/x.csv")


def test_the_audit_names_every_file_bronze_would_never_read(zone: LandingZone) -> None:
    zone.write_bytes("batch/fact_receipts/2024-01/part-0.parquet", b"ok")
    zone.write_bytes("events/receipt_created/2024-01-01/b0.jsonl", b"ok")
    if zone.is_local:
        stray = zone._local_root / "batch" / "fact_refunds" / "2024-01"
        stray.mkdir(parents=True)
        (stray / "r.csv").write_text("a\n")
        (zone._local_root / "batch" / "fact_receipts" / "2024-01" / "notes.txt").write_text("hi")
    else:
        client, prefix = zone._azure
        client.upload_blob(f"{prefix}/batch/fact_refunds/2024-01/r.csv", b"a\n")
        client.upload_blob(f"{prefix}/batch/fact_receipts/2024-01/notes.txt", b"hi")
    problems = zone.audit()
    assert len(problems) == 2
    assert any("unknown table 'fact_refunds'" in p for p in problems)
    assert any("notes.txt': batch files must be .parquet or .csv" in p for p in problems)


def test_the_landing_check_command_exits_non_zero_on_stray_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from retail_assets.cli import main

    monkeypatch.setenv("RETAIL_DATA_DIR", str(tmp_path))
    (tmp_path / "landing" / "batch" / "fact_refunds" / "2024-01").mkdir(parents=True)
    (tmp_path / "landing" / "batch" / "fact_refunds" / "2024-01" / "r.csv").write_text("a\n")
    assert main(["landing", "check"]) == 1
    captured = capsys.readouterr()
    assert "unknown table 'fact_refunds'" in captured.err
    assert captured.out.startswith("1 landed files outside the layout")


def _stray(zone: LandingZone, relpath: str, data: bytes) -> None:
    """Put a file where a producer would, bypassing write_bytes' validation."""
    if zone.is_local:
        target = zone._local_root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    else:
        client, prefix = zone._azure
        client.upload_blob(f"{prefix}/{relpath}", data)


def test_a_misnamed_file_is_reported_with_its_reason_and_the_rest_is_listed(zone: LandingZone) -> None:
    zone.write_bytes("events/receipt_created/2024-01-05/ok.jsonl", b"{}\n")
    _stray(zone, "events/receipt_created/2024-01-15/x.json", b"{}\n")
    _stray(zone, "events/receipt_created/2024-01-32/b.jsonl", b"{}\n")
    _stray(zone, "events/receipt_created/2999-01-05/b.jsonl", b"{}\n")
    _stray(zone, "events/receipt_created/1900-01-05/b.jsonl", b"{}\n")
    assert [f.path.path for f in zone.event_files("receipt_created", JAN)] == ["events/receipt_created/2024-01-05/ok.jsonl"]
    files, misnamed = zone.event_listing("receipt_created", JAN)
    assert [f.path.path for f in files] == ["events/receipt_created/2024-01-05/ok.jsonl"]
    assert [path for path, _ in misnamed] == ["events/receipt_created/2024-01-15/x.json", "events/receipt_created/2024-01-32/b.jsonl"]
    assert "event files must be .jsonl" in misnamed[0][1] and "'2024-01-32' is not a valid date" in misnamed[1][1]
    _, everything = zone.scan("events/")
    reasons = dict(everything)
    assert len(reasons) == 4
    assert "2999-01-05 is outside the months the platform serves (2024-01 to " in reasons["events/receipt_created/2999-01-05/b.jsonl"]
    assert "1900-01-05 is outside the months the platform serves" in reasons["events/receipt_created/1900-01-05/b.jsonl"]
    assert sorted(zone.audit()) == sorted(reasons.values())
    with pytest.raises(LandingPathError, match="event files must be .jsonl"):
        zone.list_files("events/")  # the strict listing is still there for callers that want it


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("events/receipt_created/2024-01-32/b.jsonl", ("receipt_created", JAN)),
        ("events/receipt_created/2024-01-15/x.json", ("receipt_created", JAN)),
        ("events/receipt_created/2024-01-15/deeper/b.jsonl", ("receipt_created", JAN)),
        ("batch/fact_receipts/2024-02/notes.txt", ("fact_receipts", dt.date(2024, 2, 1))),
        ("events/receipt_deleted/2024-01-05/b.jsonl", None),  # unknown event type: no table to file it under
        ("events/receipt_created/2024-13-01/b.jsonl", None),  # no month
        ("events/receipt_created/2999-01-05/b.jsonl", None),  # a month that is not a partition
        ("events/receipt_created/b.jsonl", None),
    ],
)
def test_a_bad_path_claims_the_table_and_month_its_folders_name(path: str, claimed) -> None:
    assert claimed_partition(path, dt.datetime(2024, 3, 1, tzinfo=dt.UTC)) == claimed


def test_served_months_follow_the_monthly_partitions() -> None:
    assert served_months(dt.datetime(2024, 3, 31, 23, 59, tzinfo=dt.UTC)) == (JAN, dt.date(2024, 3, 1))
    assert served_months(dt.datetime(2024, 4, 1, tzinfo=dt.UTC)) == (JAN, dt.date(2024, 4, 1))
