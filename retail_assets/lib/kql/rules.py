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


def _percent(share: float) -> str:
    """A share as the percentile KQL's percentile() takes (0.9995 -> 99.95)."""
    return f"{share * 100:.6g}"


def _budgets(config: AlertThresholds) -> str:
    rows = ", ".join(f"{text.string(c)}, {cents}" for c, cents in sorted(config.campaign_daily_budgets_cents.items()))
    return f"datatable(campaign_id: string, daily_budget_cents: long) [{rows}]"


def rules(config: AlertThresholds) -> list[Rule]:
    lookback = f"let lookback = {config.lookback_minutes}m;"
    baseline = f"let baseline = {config.baseline_days}d;"
    total_cents = Cents(name="total_cents", dollars="total", cents="total_cents").kql()
    spend_today = MARKETING_COST_DAILY.kql_aggregation(prefilter="ingest_timestamp >= startofday(now())")
    return [
        Rule(
            alerts.STOCKOUT,
            (
                "A store's fast mover ran out (not within stockout_repeat_hours of its previous stockout: the same "
                "empty shelf alerts once): products whose units sold over the last baseline_days are at or above the "
                "store's 1 - stockout_fast_mover_share quantile of units per product."
            ),
            ("lookback_minutes", "baseline_days", "stockout_fast_mover_share", "stockout_repeat_hours"),
            (
                lookback,
                baseline,
                f"let fast_mover_percentile = {_percent(1 - config.stockout_fast_mover_share)};",
                "let sales = receipt_created",
                "    | where ingest_timestamp > ago(baseline)",
                f"    | extend total_cents = {total_cents}",
                "    | where total_cents > 0",
                "    | project receipt_id, store_id;",
                "let units = receipt_line_added",
                "    | where ingest_timestamp > ago(baseline)",
                "    | join kind=inner sales on receipt_id",
                "    | summarize units = sum(quantity) by store_id, product_id;",
                "let cuts = units",
                "    | summarize cut = percentile(units, fast_mover_percentile) by store_id;",
                "let fast_movers = units",
                "    | join kind=inner cuts on store_id",
                "    | where units >= cut",
                "    | project store_id, product_id;",
                f"let repeat = {config.stockout_repeat_hours}h;",
                "let earlier = stockout_detected",
                "    | where ingest_timestamp > ago(lookback + repeat) and ingest_timestamp <= ago(lookback)",
                "    | where isnotnull(store_id)",
                "    | distinct store_id, product_id;",
                "stockout_detected",
                "| where ingest_timestamp > ago(lookback)",
                "| where isnotnull(store_id)",
                "| join kind=inner fast_movers on store_id, product_id",
                "| join kind=leftanti earlier on store_id, product_id",
                "| summarize arg_min(ingest_timestamp, *) by store_id, product_id",
                f"| extend action = {text.string(alerts.ACTIONS[alerts.STOCKOUT])}",
                "| project detection_time, store_id, product_id, last_known_quantity, trace_id, action",
            ),
        ),
        Rule(
            alerts.HIGH_VALUE_RECEIPT,
            (
                "A store receipt whose total is above both the floor and the store's high_value_receipt_quantile of "
                "receipt totals over the last baseline_days."
            ),
            ("lookback_minutes", "baseline_days", "high_value_receipt_cents", "high_value_receipt_quantile"),
            (
                lookback,
                baseline,
                f"let floor_cents = {config.high_value_receipt_cents};",
                f"let tail_percentile = {_percent(config.high_value_receipt_quantile)};",
                "let receipts = receipt_created",
                f"    | extend total_cents = {total_cents};",
                "let limits = receipts",
                "    | where ingest_timestamp > ago(baseline) and total_cents > 0",
                "    | summarize tail_cents = percentile(total_cents, tail_percentile) by store_id",
                "    | extend limit_cents = iff(tail_cents > floor_cents, tail_cents, floor_cents);",
                "receipts",
                "| where ingest_timestamp > ago(lookback)",
                "| join kind=inner limits on store_id",
                "| where total_cents > limit_cents",
                f"| extend action = {text.string(alerts.ACTIONS[alerts.HIGH_VALUE_RECEIPT])}",
                "| project ingest_timestamp, store_id, customer_id, receipt_id, total_cents, limit_cents, tender_type,",
                "    trace_id, action",
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
                f"| extend action = {text.string(alerts.ACTIONS[alerts.TRUCK_DWELL_OVER_SLA])}",
                f"| project status, {SHIPMENT_KEYS}, site, arrival_time, departure_time, dwell_minutes, action",
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
                f"| extend action = {text.string(alerts.ACTIONS[alerts.CAMPAIGN_OVER_BUDGET])}",
                "| project campaign_id, day, impressions, cost_cents, daily_budget_cents, action",
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
                f"| extend action = {text.string(alerts.ACTIONS[alerts.URGENT_REORDER])}",
                "| project ingest_timestamp, store_id, dc_id, product_id, current_quantity, reorder_point,",
                "    reorder_quantity, trace_id, action",
            ),
        ),
        Rule(
            alerts.OVERCROWDED_ZONE,
            (
                "A store zone's hourly sensor reading is above zone_crowding_factor times the zone's normal (median) "
                "reading for that hour of the day over the last baseline_days, and above zone_min_customers. Each "
                "reading already counts an hour, so readings are compared one by one, never summed."
            ),
            ("lookback_minutes", "baseline_days", "zone_crowding_factor", "zone_min_customers"),
            (
                lookback,
                baseline,
                f"let crowding_factor = {config.zone_crowding_factor};",
                f"let min_customers = {config.zone_min_customers};",
                "let readings = customer_entered",
                "    | extend hour = hourofday(ingest_timestamp);",
                "let normal = readings",
                "    | where ingest_timestamp > ago(baseline)",
                "    | summarize normal_customers = percentile(customer_count, 50) by store_id, zone, hour;",
                "readings",
                "| where ingest_timestamp > ago(lookback)",
                "| join kind=inner normal on store_id, zone, hour",
                "| where customer_count > crowding_factor * normal_customers and customer_count > min_customers",
                f"| extend action = {text.string(alerts.ACTIONS[alerts.OVERCROWDED_ZONE])}",
                "| project ingest_timestamp, store_id, zone, customer_count, normal_customers, dwell_time, action",
            ),
        ),
    ]


def render(config: AlertThresholds) -> dict[str, str]:
    return {r.path: r.render(config) for r in rules(config)}
