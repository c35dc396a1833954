"""Dagster definitions, autoloaded by ``definitions.py``: one module per feature."""
