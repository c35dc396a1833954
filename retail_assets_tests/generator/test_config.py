"""Profiles, file and environment overrides, and the errors users see."""

from __future__ import annotations

import json

import pytest

from retail_assets.lib.generator.config import PROFILES, GeneratorConfigError, load_config


def test_profiles_load_and_reference_matches_the_reference_volumes():
    for name in PROFILES:
        assert load_config(name, environ={}).profile == name
    ref = load_config("reference", environ={})
    assert (ref.stores, ref.dcs, ref.geographies, ref.products, ref.trucks) == (86, 20, 20, 10_000, 50)
    assert (ref.online_orders_per_day, ref.marketing_impressions_per_day) == (6_500, 301_000)


def test_demo_and_reference_run_stores_at_supermarket_volume():
    """Both keep a real store's sales per day (FMI: ~1,800); demo has fewer stores, not smaller ones,
    and sells online ~15 % of its in-store value at ~$105 an order."""
    demo, ref = load_config("demo", environ={}), load_config("reference", environ={})
    assert demo.receipts_per_store_day == ref.receipts_per_store_day >= 1_000
    assert demo.stores < 6
    for config in (demo, ref):
        in_store_dollars = config.stores * config.receipts_per_store_day * 40
        assert 0.10 <= config.online_orders_per_day * 105 / in_store_dollars <= 0.20
    assert load_config("tiny", environ={}).receipts_per_store_day < 100


def test_receipts_per_store_day_and_churn_are_settings():
    config = load_config("tiny", environ={"RETAIL_GEN_RECEIPTS_PER_STORE_DAY": "50", "RETAIL_GEN_CUSTOMER_CHURN_RATE": "0.1"})
    assert (config.receipts_per_store_day, config.customer_churn_rate) == (50, 0.1)
    with pytest.raises(GeneratorConfigError, match=r"receipts_per_store_day=0 \(argument\)"):
        load_config("tiny", environ={}, receipts_per_store_day=0)
    with pytest.raises(GeneratorConfigError, match=r"customer_churn_rate='0.9' \(environment variable RETAIL_GEN_CUSTOMER_CHURN_RATE\)"):
        load_config("tiny", environ={"RETAIL_GEN_CUSTOMER_CHURN_RATE": "0.9"})
    assert load_config("tiny", environ={"RETAIL_GEN_CUSTOMER_ACQUISITION_MONTHS": "60"}).customer_acquisition_months == 60


def test_profile_comes_from_argument_then_environment_then_default():
    assert load_config(environ={}).profile == "demo"
    assert load_config(environ={"RETAIL_PROFILE": "tiny"}).profile == "tiny"
    assert load_config("reference", environ={"RETAIL_PROFILE": "tiny"}).profile == "reference"


def test_file_then_environment_then_arguments_override(tmp_path):
    path = tmp_path / "gen.json"
    path.write_text(json.dumps({"profile": "tiny", "stores": 5, "seed": 7}))
    config = load_config(config_file=path, environ={"RETAIL_GEN_SEED": "9"})
    assert (config.profile, config.stores, config.seed) == ("tiny", 5, 9)
    assert load_config(config_file=path, environ={"RETAIL_GEN_SEED": "9"}, seed=11).seed == 11
    toml = tmp_path / "gen.toml"
    toml.write_text('profile = "tiny"\nproducts = 300\n')
    assert load_config(environ={"RETAIL_GENERATOR_CONFIG": str(toml)}).products == 300


def test_errors_name_field_value_and_source(tmp_path):
    with pytest.raises(GeneratorConfigError, match=r"stores='abc' \(environment variable RETAIL_GEN_STORES\)"):
        load_config("tiny", environ={"RETAIL_GEN_STORES": "abc"})
    with pytest.raises(GeneratorConfigError, match="unknown generator profile 'huge'"):
        load_config("huge", environ={})
    with pytest.raises(GeneratorConfigError, match="unknown generator setting.*storez from argument"):
        load_config("tiny", environ={}, storez=3)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GeneratorConfigError, match="bad.json: not valid json"):
        load_config(config_file=bad, environ={})
    with pytest.raises(GeneratorConfigError, match="first_month must be the first day"):
        load_config("tiny", environ={}, first_month="2024-01-15")
