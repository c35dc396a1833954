"""Steps on a distributed executor: Celery workers over a private Redis, on loopback (docs/scale-out.md)."""
