"""A small produced window shared by the streaming tests: tiny-profile facts and their events."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import dagster as dg
import polars as pl
import pytest

from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.facts import facts_between
from retail_assets.lib.streaming.envelopes import encode_events

START = dt.datetime(2024, 1, 30, tzinfo=dt.UTC)
END = dt.datetime(2024, 2, 1, 6, tzinfo=dt.UTC)  # crosses into February: two Bronze months


@pytest.fixture(scope="session")
def tiny():
    return load_config("tiny")


@pytest.fixture(scope="session")
def window_facts(tiny) -> dict[str, pl.DataFrame]:
    return facts_between(tiny, START, END)


@pytest.fixture(scope="session")
def window_events(window_facts) -> pl.DataFrame:
    return encode_events(window_facts)


def materialize(assets, keys: Sequence[str], resources, instance, partition: str | None = None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.materialize(
            assets,
            selection=[dg.AssetKey(k.split("/")) for k in keys],
            resources=resources,
            instance=instance,
            partition_key=partition,
            **kwargs,
        )
