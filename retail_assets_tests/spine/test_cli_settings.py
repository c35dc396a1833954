"""Bad configuration: one clear line on stderr, exit code 2, before any run starts (issue 12, part 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from retail_assets import cli
from retail_assets.lib.lake import LakeError
from retail_assets.lib.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]
AZURE_OVER_HTTP = {
    "RETAIL_ENV": "azure",
    "RETAIL_LAKE_URI": "abfss://lake@devstoreaccount1.dfs.core.windows.net/lake",
    "RETAIL_LANDING_URI": "az://landing/drop",
    "AZURE_STORAGE_ACCOUNT_NAME": "devstoreaccount1",
    "AZURE_STORAGE_ENDPOINT": "http://127.0.0.1:10000/devstoreaccount1",
}
# Variables that would change what these tests see, from the developer's shell.
CLEARED = ("RETAIL_", "AZURE_", "DAGSTER_HOME")


def clean_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {**env, "DAGSTER_HOME": str(home), "RETAIL_DATA_DIR": str(tmp_path / "data"), **settings}


def runs_in(home: Path) -> int:
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        return len(instance.get_run_records())


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"RETAIL_ENV": "prod"}, ["RETAIL_ENV='prod'", "local", "azure"]),
        ({"RETAIL_PROFILE": "huge"}, ["RETAIL_PROFILE='huge'", "tiny", "demo", "reference"]),
        (AZURE_OVER_HTTP, ["AZURE_STORAGE_ENDPOINT='http://127.0.0.1:10000/devstoreaccount1'", "AZURE_STORAGE_ACCOUNT_KEY"]),
    ],
    ids=["unknown-environment", "unknown-profile", "azure-http-without-key"],
)
def test_run_with_a_bad_setting_prints_one_line_and_exits_2_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], named: list[str]
) -> None:
    env = clean_environment(tmp_path, **settings)
    result = subprocess.run(
        [sys.executable, "-m", "retail_assets.cli", "run", "--month", "2024-01"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("retail-assets: "), result.stderr[-3000:]
    for text in named:
        assert text in lines[0]
    assert result.stdout == ""
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    assert runs_in(Path(env["DAGSTER_HOME"])) == 0
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["runs"],
        ["generate", "--month", "2024-01"],
        ["stream", "--duration", "1"],
        ["landing", "check"],
        ["kql", "render", "--check"],
        ["dashboard", "--port", "1"],
    ],
    ids=lambda argv: argv[0],
)
@pytest.mark.parametrize(
    ("variable", "value"),
    [("RETAIL_ENV", "prod"), ("RETAIL_PROFILE", "huge"), ("RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS", "-1"),
     ("RETAIL_GEN_STORES", "many")],
)
def test_every_command_checks_every_setting_before_it_does_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], variable: str,
    value: str,
) -> None:
    for name, setting in clean_environment(tmp_path, **{variable: value}).items():
        monkeypatch.setenv(name, setting)
    for name in [n for n in os.environ if n.startswith(CLEARED) and n not in (variable, "DAGSTER_HOME", "RETAIL_DATA_DIR")]:
        monkeypatch.delenv(name)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("retail-assets: ") and variable in err[0], err
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "home" / "storage").exists()


def test_a_dagster_home_that_is_not_a_directory_is_a_setting_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    assert cli.main(["runs"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and f"DAGSTER_HOME='{tmp_path / 'missing'}'" in err[0] and "mkdir" in err[0]


def test_lake_errors_are_one_line_and_other_errors_keep_their_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import retail_assets.lib.instance as instance

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    def unreadable_table(**_):
        raise LakeError("lake table 'bronze/fact_receipts' at /x: _delta_log/00003.json is truncated;\nrestore it")

    monkeypatch.setattr(instance, "open_instance", unreadable_table)
    assert cli.main(["runs"]) == 2
    assert capsys.readouterr().err == (
        "retail-assets: lake table 'bronze/fact_receipts' at /x: _delta_log/00003.json is truncated; restore it\n"
    )

    def bug(**_):
        raise KeyError("a bug, not a configuration problem")

    monkeypatch.setattr(instance, "open_instance", bug)
    with pytest.raises(KeyError, match="a bug"):
        cli.main(["runs"])


def test_azure_endpoint_rules() -> None:
    with pytest.raises(SettingsError, match="AZURE_STORAGE_ENDPOINT='http://127.0.0.1:10000/devstoreaccount1' is plain HTTP"):
        Settings.from_env(AZURE_OVER_HTTP)
    # A shared key or a SAS token works over HTTP (Azurite); a token credential over HTTPS.
    Settings.from_env({**AZURE_OVER_HTTP, "AZURE_STORAGE_ACCOUNT_KEY": "key"})
    Settings.from_env({**AZURE_OVER_HTTP, "AZURE_STORAGE_SAS_TOKEN": "sv=1"})
    Settings.from_env({**AZURE_OVER_HTTP, "AZURE_STORAGE_ENDPOINT": "https://proxy.example/devstoreaccount1"})
    # Capture files use the same endpoint and credentials in the local environment too.
    with pytest.raises(SettingsError, match="AZURE_STORAGE_ACCOUNT_KEY"):
        Settings.from_env({"RETAIL_CAPTURE_URI": "az://capture/hub", "AZURE_STORAGE_ENDPOINT": "http://127.0.0.1:1/acct"})


def test_generator_and_alert_settings_are_checked_with_the_deployment_settings() -> None:
    from retail_assets.lib.settings import validate_environment

    with pytest.raises(SettingsError, match="RETAIL_GEN_STORES"):
        validate_environment({"RETAIL_GEN_STORES": "many"})
    with pytest.raises(SettingsError, match="RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS"):
        validate_environment({"RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS": "-1"})
    assert validate_environment({"RETAIL_PROFILE": "Tiny"}).generator_profile == "tiny"


def test_run_over_a_damaged_transaction_log_prints_one_line_and_exits_2_before_any_run(tmp_path: Path) -> None:
    """A truncated ``_delta_log`` commit said "Kernel error: Json error…" from inside a run; now the run does not
    start, and the one line names the table, the commit file and what to do."""
    import datetime as dt

    import polars as pl

    from retail_assets.lib.lake import LakeStore

    env = clean_environment(tmp_path, RETAIL_PROFILE="tiny")
    lake = LakeStore(root_uri=str(tmp_path / "data" / "lake"))
    month = pl.DataFrame({"month_start": [dt.date(2024, 1, 1)], "receipt_id": ["R1"]})
    lake.overwrite_months("silver/fact_receipts", month, [dt.date(2024, 1, 1)])
    newest = max((tmp_path / "data" / "lake" / "silver" / "fact_receipts" / "_delta_log").glob("*.json"))
    newest.write_text(newest.read_text()[:40])
    result = subprocess.run(
        [sys.executable, "-m", "retail_assets.cli", "run", "--month", "2024-01"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    (line,) = result.stderr.splitlines()
    assert line.startswith("retail-assets: lake table silver/fact_receipts at ")
    assert f"transaction log version {int(newest.stem)} (_delta_log/{newest.name}) is damaged" in line
    assert runs_in(Path(env["DAGSTER_HOME"])) == 0
    assert not (tmp_path / "data" / "landing").exists(), "nothing was generated"
