"""Alert thresholds: documented defaults, environment overrides, and the rules rendered with them."""

from __future__ import annotations

import pytest

from retail_assets.lib import alerts
from retail_assets.lib.alerts import AlertConfigError, AlertThresholds
from retail_assets.lib.kql import rules


def test_defaults_follow_the_deployment_guide() -> None:
    config = AlertThresholds()
    # Sized for ~5 alerts a store-day at supermarket volumes (issue 13); thresholds from the store's own data.
    assert (config.high_value_receipt_cents, config.high_value_receipt_quantile) == (20_000, 0.9998)
    assert config.truck_dwell_sla_minutes == 120  # ~2 h free time before detention
    assert (config.zone_crowding_factor, config.zone_min_customers, config.baseline_days) == (2.5, 30, 28)
    assert (config.stockout_fast_mover_share, config.stockout_repeat_hours) == (0.0025, 25)
    assert config.campaign_daily_budget_cents == 15_000
    assert config.lookback_minutes == 5
    assert all(field.description for field in AlertThresholds.model_fields.values())


def test_environment_overrides_every_threshold() -> None:
    env = {
        "RETAIL_ALERT_LOOKBACK_MINUTES": "10",
        "RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS": "20000",
        "RETAIL_ALERT_HIGH_VALUE_RECEIPT_QUANTILE": "0.999",
        "RETAIL_ALERT_BASELINE_DAYS": "14",
        "RETAIL_ALERT_STOCKOUT_FAST_MOVER_SHARE": "0.05",
        "RETAIL_ALERT_STOCKOUT_REPEAT_HOURS": "30",
        "RETAIL_ALERT_TRUCK_DWELL_SLA_MINUTES": "60",
        "RETAIL_ALERT_TRUCK_OPEN_HORIZON_HOURS": "12",
        "RETAIL_ALERT_CAMPAIGN_DAILY_BUDGET_CENTS": "100000",
        "RETAIL_ALERT_CAMPAIGN_DAILY_BUDGETS_CENTS": '{"CAMP1": 5000}',
        "RETAIL_ALERT_ZONE_CROWDING_FACTOR": "3",
        "RETAIL_ALERT_ZONE_MIN_CUSTOMERS": "40",
        "UNRELATED": "x",
    }
    config = AlertThresholds.from_env(env)
    assert set(env) - {"UNRELATED"} == {AlertThresholds.env_var(f) for f in AlertThresholds.model_fields}
    assert config.model_dump() == {
        "lookback_minutes": 10,
        "high_value_receipt_cents": 20_000,
        "high_value_receipt_quantile": 0.999,
        "baseline_days": 14,
        "stockout_fast_mover_share": 0.05,
        "stockout_repeat_hours": 30,
        "truck_dwell_sla_minutes": 60,
        "truck_open_horizon_hours": 12,
        "campaign_daily_budget_cents": 100_000,
        "campaign_daily_budgets_cents": {"CAMP1": 5000},
        "zone_crowding_factor": 3.0,
        "zone_min_customers": 40,
    }
    assert config.campaign_budget_cents("CAMP1") == 5000
    assert config.campaign_budget_cents("CAMP2") == 100_000
    assert AlertThresholds.from_env({}) == AlertThresholds()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS": "lots"}, "RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS='lots'"),
        ({"RETAIL_ALERT_TRUCK_DWELL_SLA_MINUTES": "0"}, "RETAIL_ALERT_TRUCK_DWELL_SLA_MINUTES='0'"),
        ({"RETAIL_ALERT_CAMPAIGN_DAILY_BUDGETS_CENTS": "{not json"}, "JSON object"),
        ({"RETAIL_ALERT_CAMPAIGN_DAILY_BUDGETS_CENTS": '{"C1": -5}'}, "positive"),
        ({"RETAIL_ALERT_HIGH_VALUE_RECIEPT_CENTS": "1"}, "unknown alert settings ['RETAIL_ALERT_HIGH_VALUE_RECIEPT_CENTS']"),
    ],
)
def test_bad_environment_is_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(AlertConfigError) as raised:
        AlertThresholds.from_env(env)
    assert message in str(raised.value)


def test_one_rule_per_alert_rendered_with_the_thresholds() -> None:
    config = AlertThresholds(high_value_receipt_cents=12_345, truck_dwell_sla_minutes=77, lookback_minutes=9,
                             campaign_daily_budgets_cents={"CAMP9": 4321}, zone_min_customers=33)
    rendered = rules.render(config)
    assert sorted(rendered) == sorted(f"rules/rule_{a}.kql" for a in alerts.ALERTS)
    assert "let floor_cents = 12345;" in rendered["rules/rule_high_value_receipt.kql"]
    assert "let sla = 77m;" in rendered["rules/rule_truck_dwell_over_sla.kql"]
    assert "let lookback = 9m;" in rendered["rules/rule_stockout.kql"]
    assert '["CAMP9", 4321]' in rendered["rules/rule_campaign_over_budget.kql"]
    assert "let min_customers = 33;" in rendered["rules/rule_overcrowded_zone.kql"]
    assert "priority == 'URGENT'" in rendered["rules/rule_urgent_reorder.kql"]
    for path, text in rendered.items():
        assert "RETAIL_ALERT_" in text, f"{path} must say which variable changes its thresholds"
        alert = path.removeprefix("rules/rule_").removesuffix(".kql")
        assert f"| extend action = \"{alerts.ACTIONS[alert]}\"" in text, f"{path} must name the action"
