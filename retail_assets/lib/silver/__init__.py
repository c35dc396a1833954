"""Silver: Bronze rows typed to the spec, batch ∪ stream, deduplicated on business keys, rejected rows quarantined.

Plain functions on polars frames, unit-testable without Dagster; ``defs/silver.py`` only wires
them to partitions, metadata and checks. Modules:

- ``rules``: row checks (null keys, bounds, allowed values, cross-column rules, partition, foreign keys);
- ``stream``: the event → fact mapping of every event type (reference spec §9.3), collected from the event
  modules (``lib/specs/events/``), which build theirs from ``mapping``;
- ``dedupe``: business-key deduplication (a batch row wins over an event of its key, exact duplicates
  dropped, conflicts quarantined);
- ``lifecycle``: online_order_picked/shipped applied to the lines of their order;
- ``scd2``: dimension versions (SCD Type 2) and as-of resolution of facts to the version valid at event time;
- ``dims`` / ``facts``: building one dimension or one fact month, end to end, against the lake.
"""
