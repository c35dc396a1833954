"""Plain-Python building blocks (specs, storage, transforms), importable without registering Dagster definitions."""
