"""``rules/*.kql``: one rule query per business alert, rendered with the configured thresholds.

Pair each query with an Activator (Reflex) alert scheduled at least every
``AlertThresholds.lookback_minutes``; every row it returns is one alert. The thresholds come
from :class:`retail_assets.lib.alerts.AlertThresholds` — the same values the Gold alert checks
use — and appear as ``let`` statements at the top of each query.
"""

from __future__ import annotations

from dataclasses import dataclass

from retail_assets.lib import alerts
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.kpi_twins import MARKETING_COST_DAILY, Cents
from retail_assets.lib.kql import text
from retail_assets.lib.kql.functions import LIFECYCLE_KEY, SHIPMENT_KEYS, SITE, TRUCK_SLA

FOLDER = "rules"


@dataclass(frozen=True)
class Rule:
    alert: str
    description: str
    # Threshold fields of AlertThresholds the rule uses.
    thresholds: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"rule_{self.alert}"

    @property
    def path(self) -> str:
        return f"{FOLDER}/{self.name}.kql"

    def render(self, config: AlertThresholds) -> str:
        notes = [self.description, "Thresholds (change with the environment variable, then re-render):"]
        for field in self.thresholds:
            notes.append(f"  {field} = {_show(getattr(config, field))} ({AlertThresholds.env_var(field)})")
        return text.query(f"{self.name}.kql", notes, self.lines)


def _show(value: object) -> str:
    return str(value) if not isinstance(value, dict) else (", ".join(f"{k}: {v}" for k, v in value.items()) or "none")


def _budgets(config: AlertThresholds) -> str:
    rows = ", ".join(f"{text.string(c)}, {cents}" for c, cents in sorted(config.campaign_daily_budgets_cents.items()))
    return f"datatable(campaign_id: string, daily_budget_cents: long) [{rows}]"


def rules(config: AlertThresholds) -> list[Rule]:
    lookback = f"let lookback = {config.lookback_minutes}m;"
    total_cents = Cents(name="total_cents", dollars="total", cents="total_cents").kql()
    spend_today = MARKETING_COST_DAILY.kql_aggregation(prefilter="ingest_timestamp >= startofday(now())")
    return [
        Rule(
            alerts.STOCKOUT,
            "A product ran out at a store or a distribution centre.",
            ("lookback_minutes",),
            (
                lookback,
                "stockout_detected",
                "| where ingest_timestamp > ago(lookback)",
                "| project detection_time, store_id, dc_id, product_id, last_known_quantity, trace_id",
            ),
        ),
        Rule(
            alerts.HIGH_VALUE_RECEIPT,
            "A store receipt whose total is above the high-value threshold.",
            ("lookback_minutes", "high_value_receipt_cents"),
            (
                lookback,
                f"let high_value_cents = {config.high_value_receipt_cents};",
                "receipt_created",
                "| where ingest_timestamp > ago(lookback)",
                f"| extend total_cents = {total_cents}",
                "| where total_cents > high_value_cents",
                "| project ingest_timestamp, store_id, customer_id, receipt_id, total_cents, tender_type, trace_id",
            ),
        ),
        Rule(
            alerts.TRUCK_DWELL_OVER_SLA,
            (
                "A truck stayed at its site longer than the SLA: shipments that departed late in the lookback "
                "(DEPARTED_LATE) and trucks still at the dock past the SLA (STILL_AT_DOCK)."
            ),
            ("lookback_minutes", "truck_dwell_sla_minutes", "truck_open_horizon_hours"),
            (
                lookback,
                f"let sla = {config.truck_dwell_sla_minutes}m;",
                f"let open_horizon = {config.truck_open_horizon_hours}h;",
                f"let departed_late = {TRUCK_SLA}()",
                "    | where departure_time > ago(lookback) and dwell_minutes > sla / 1m",
                "    | extend status = 'DEPARTED_LATE';",
                "let departed = truck_departed",
                f"    | project lifecycle_key = {LIFECYCLE_KEY};",
                "let still_at_dock = truck_arrived",
                "    | where arrival_time > ago(open_horizon)",
                f"    | summarize arrival_time = min(arrival_time) by {SHIPMENT_KEYS}",
                "    | where now() - arrival_time > sla",
                f"    | extend lifecycle_key = {LIFECYCLE_KEY}",
                "    | join kind=leftanti departed on lifecycle_key",
                f"    | extend site = {SITE}, departure_time = datetime(null),",
                "        dwell_minutes = (now() - arrival_time) / 1m, status = 'STILL_AT_DOCK';",
                "union departed_late, still_at_dock",
                f"| project status, {SHIPMENT_KEYS}, site, arrival_time, departure_time, dwell_minutes",
            ),
        ),
        Rule(
            alerts.CAMPAIGN_OVER_BUDGET,
            (
                "A campaign's spend today (UTC) is above its daily budget: the campaign's own budget when "
                "configured, else the default. Spend is marketing_cost_daily's cost_cents (kpi_twins)."
            ),
            ("campaign_daily_budget_cents", "campaign_daily_budgets_cents"),
            (
                f"let default_budget_cents = {config.campaign_daily_budget_cents};",
                f"let budgets = {_budgets(config)};",
                *spend_today,
                "| lookup kind=leftouter budgets on campaign_id",
                "| extend daily_budget_cents = coalesce(daily_budget_cents, default_budget_cents)",
                "| where cost_cents > daily_budget_cents",
                "| project campaign_id, day, impressions, cost_cents, daily_budget_cents",
            ),
        ),
        Rule(
            alerts.URGENT_REORDER,
            f"A store requested replenishment with priority {alerts.URGENT_PRIORITY}.",
            ("lookback_minutes",),
            (
                lookback,
                "reorder_triggered",
                "| where ingest_timestamp > ago(lookback)",
                f"| where priority == '{alerts.URGENT_PRIORITY}'",
                "| project ingest_timestamp, store_id, dc_id, product_id, current_quantity, reorder_point,",
                "    reorder_quantity, trace_id",
            ),
        ),
        Rule(
            alerts.OVERCROWDED_ZONE,
            (
                "A store zone where the sensors counted more people than the limit in the window, "
                "or whose readings' average dwell is above the limit."
            ),
            ("zone_window_minutes", "zone_max_customers", "zone_max_avg_dwell_seconds"),
            (
                f"let window = {config.zone_window_minutes}m;",
                f"let max_customers = {config.zone_max_customers};",
                f"let max_avg_dwell_seconds = {config.zone_max_avg_dwell_seconds};",
                "customer_entered",
                "| where ingest_timestamp > ago(window)",
                "| summarize customers = sum(customer_count), avg_dwell_seconds = avg(dwell_time), readings = count()",
                "    by store_id, zone",
                "| where customers > max_customers or avg_dwell_seconds > max_avg_dwell_seconds",
            ),
        ),
    ]


def render(config: AlertThresholds) -> dict[str, str]:
    return {r.path: r.render(config) for r in rules(config)}
