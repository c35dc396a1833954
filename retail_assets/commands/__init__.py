"""Subcommands of ``retail-assets``; every module here defines ``register(subparsers)``."""
