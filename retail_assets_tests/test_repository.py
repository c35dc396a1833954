"""The README's first lines stay true: two commands, and CI runs the same test command."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    lines = REPO.joinpath("README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```")]
    return [line for line in block if line and not line.startswith("#")]


def test_the_readme_opens_with_a_setup_and_run_command_and_a_test_command() -> None:
    run, test = _readme_commands()
    assert "retail-assets run --month" in run
    assert test.endswith("pytest")
    for command in (run, test):
        assert not any(server in command for server in ("dagster dev", "dagster-webserver", "dagster-daemon")), (
            f"the README's first commands start no server: {command}"
        )


def test_ci_runs_the_readmes_test_command() -> None:
    _, test = _readme_commands()
    ci_commands = [l for l in REPO.joinpath(".ci", "run").read_text().splitlines() if l and not l.startswith("#")]
    assert test in ci_commands


def test_the_top_level_layout_is_what_the_user_asked_for() -> None:
    for name in ("pyproject.toml", "retail_assets", "retail_assets_tests", "workspace.yaml", "dagster.yaml", "kql", "README.md"):
        assert REPO.joinpath(name).exists(), name
