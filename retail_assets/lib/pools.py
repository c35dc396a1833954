"""Dagster pools of the platform (``dagster.yaml`` gives every pool one slot: ``pools.default_limit: 1``).

``stream``: every writer of what the stream updates incrementally — the 18 Bronze event tables (their month
rebuilds, the Event Hubs and Capture ingestion ops), the four hot Silver facts and the four minute-grain Gold
tables — and the stream worker itself, whose one op declares the pool and so holds its slot for its whole run.
An incremental Bronze ingest reads the month to deduplicate and then commits, and the worker appends to the hot
months: Delta does not see two such writers as conflicting, so they take turns. The worker hands the slot over
whenever another run needs it (``defs/streaming.py``): it ends after the batch in hand, the other run's step
claims the slot, and ``stream_worker_sensor`` starts a worker again once no such run is active.

``duckdb`` (``defs/serving.py``): the writers of the serving DuckDB file (one writing process per file).

On PostgreSQL (``deploy/dagster.yaml``) the pools are given their limit explicitly when a ``retail-assets`` command
opens the instance (``lib/instance.py``), rather than by the first run that uses each: two runs doing that at once
fail one of them there (dagster-io/dagster#33552).
"""

STREAM_POOL = "stream"
DUCKDB_POOL = "duckdb"
# Every pool a step of the platform declares (spine/test_definitions.py checks the definitions against it).
PLATFORM_POOLS = (STREAM_POOL, DUCKDB_POOL)
