"""The streaming tests whose guarantees rest on the instance, run unchanged on the production instance.

They are the streaming package's own tests, imported: this package's fixtures replace the instances they use
(``instance`` in conftest.py, ``pool_instance`` below), so they run against PostgreSQL with no copy to drift.

- The stream worker holds the ``stream`` pool's slot through Dagster (claimed in PostgreSQL), hands it over to a
  run that needs the pool, and its sensor waits while that run is active (streaming/test_worker.py).
- The landing sensor, restarted from its stored cursor mid-stream, requests only new files, and its runs
  (found again by run key in PostgreSQL) lose and double nothing (streaming/test_sensors.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_assets_tests.postgres.conftest import open_pooled
from retail_assets_tests.streaming.conftest import tiny, window_events, window_facts  # noqa: F401 - fixtures they use
from retail_assets_tests.streaming.test_sensors import (
    test_restart_mid_stream_loses_nothing_and_doubles_nothing as test_the_landing_sensor_resumes_exactly_once_on_postgres,
)
from retail_assets_tests.streaming.test_worker import assets  # noqa: F401 - a fixture they use
from retail_assets_tests.streaming.test_worker import (
    test_the_worker_holds_the_stream_pool_and_hands_it_over_to_a_run_that_needs_it as test_the_stream_worker_hands_its_pool_over_on_postgres,
)

__all__ = ["test_the_landing_sensor_resumes_exactly_once_on_postgres", "test_the_stream_worker_hands_its_pool_over_on_postgres"]


@pytest.fixture
def pool_instance(pg_home: Path):
    """Opens the production instance (deploy/dagster.yaml: pools of one slot) on this test's database."""
    return lambda: open_pooled(pg_home)
