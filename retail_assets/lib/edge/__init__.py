"""Store edge analytics (seed 003): sari-sari store devices sending speech, vision and heartbeats.

A second domain on the platform's spine; ``docs/edge.md`` maps the seed to it. The specs are in
``lib/specs/edge.py`` (collected by ``lib/specs/registry.py`` as ``EDGE_REGISTRY``); the generator, Silver and
Gold transforms are plain polars functions beside it; ``defs/edge.py`` wires them to Dagster under ``edge/``.
"""
