"""``kql/README.md``: how an Eventhouse user deploys and uses ``kql/`` (rendered, so it lists what is there)."""

from __future__ import annotations

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.kpi_twins import KPIS, QUERYSET_VIEWS, kql_timespan
from retail_assets.lib.kql import functions, mappings, querysets, rules, tables, text, views
from retail_assets.lib.specs.envelope import ENVELOPE
from retail_assets.lib.specs.registry import REGISTRY

FILE = "README.md"

# The reference's 10-tile real-time dashboard (reference spec §12.6) and the queryset behind each tile.
DASHBOARD_TILES = (
    ("Sales/min by Store (1h)", "q_receipts_minute_by_store"),
    ("Online Orders (15m)", "q_online_orders_15m"),
    ("Fulfillment Pipeline (24h)", "q_fulfillment_pipeline_24h"),
    ("BLE Presence (30m)", "q_ble_presence_30m"),
    ("Marketing Cost (24h)", "q_marketing_cost_24h"),
    ("Tender Mix (15m)", "q_tender_mix"),
    ("Top Products (15m)", "q_top_products_by_sales"),
    ("Open Stockouts (24h)", "q_stockouts_open_by_store"),
    ("Zone Dwell Heatmap (30m)", "q_zone_dwell_heatmap"),
    ("Truck Dwell by Site (24h)", "q_truck_dwell_by_site"),
)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def _event_tables() -> list[str]:
    envelope = ", ".join(f"`{c.name}` ({c.dtype.kql})" for c in ENVELOPE)
    lines = [
        "## Event tables",
        "",
        f"Every table starts with the envelope columns, read from `$.<name>`: {envelope}. Then come the payload",
        "columns, read from `$.payload.<field>`:",
        "",
    ]
    for event in REGISTRY.events:
        lines += [f"### `{event.table_name}`", "", f"{event.description} Retention {event.retention_days} days.", ""]
        lines += _table(
            ("Column", "Type", "JSON field", "Meaning"),
            [(f"`{c.name}`", c.dtype.kql, f"`payload.{c.field}`", c.description) for c in event.payload],
        )
        lines.append("")
    return lines


def render(config: AlertThresholds, paths: list[str]) -> str:
    events = REGISTRY.events
    mvs = views.views()
    queries = querysets.querysets()
    rule_list = rules.rules(config)
    twin_rows = [
        (f"`{k.materialized_view}`", f"`gold/{k.gold_table}`", f"{', '.join(k.keys)} × {kql_timespan(k.time_bin.width)}")
        for k in KPIS.values()
        if k.gold_table and k.materialized_view
    ] + [
        (f"`{v.name}`", f"`gold/{v.kpi.gold_table}`", f"{', '.join(v.kpi.keys)} × {kql_timespan(v.kpi.time_bin.width)}")
        for v in QUERYSET_VIEWS.values()
        if v.kpi.gold_table
    ]
    threshold_rows = [
        (f"`{name}`", f"`{AlertThresholds.env_var(name)}`", str(getattr(config, name)), field.description or "")
        for name, field in AlertThresholds.model_fields.items()
    ]
    lines = [
        "# KQL for Eventhouse",
        "",
        f"<!-- {text.GENERATED} -->",
        "",
        "What an Eventhouse (Azure Data Explorer / Fabric Real-Time Intelligence) user deploys to run the",
        "platform's hot path: the event tables that the same producers fill, their ingestion mappings, stored",
        "functions, materialized views, dashboard querysets and alert rules. Everything here is rendered from the",
        "spec registry (`retail_assets/lib/specs`), the KPI formulas shared with Gold",
        "(`retail_assets/lib/kpi_twins.py`) and the alert thresholds (`retail_assets/lib/alerts.py`), and checked",
        "by Microsoft's Kusto parser in the test suite. Do not edit these files: change the sources and run",
        "`retail-assets kql render`.",
        "",
        "## What is here",
        "",
        *_table(
            ("File", "Creates"),
            [
                (f"`{tables.FILE}`", f"{len(events)} event tables (envelope + payload columns), "
                 "soft-delete retention per event class, hot cache "
                 f"{tables.HOT_CACHE_DAYS} days"),
                (f"`{mappings.FILE}`", f"{len(events)} JSON ingestion mappings named `{mappings.MAPPING_NAME}`"),
                (f"`{functions.FILE}`", f"`{functions.TRUCK_SLA}()`, `{functions.MARKETING_ATTRIBUTION}(window)`"),
                (f"`{views.FILE}`", f"{len(mvs)} materialized views: "
                 + ", ".join(f"`{k.materialized_view}`" for k in mvs)),
                (f"`{querysets.FOLDER}/`", f"{len(queries)} querysets, one query per file"),
                (f"`{rules.FOLDER}/`", f"{len(rule_list)} alert rules, one query per file"),
            ],
        ),
        "",
        f"Materialized views keep {views.RETENTION_DAYS} days; the tables' retention is listed with each table below.",
        "",
        "## Deploy",
        "",
        "1. Create an Eventhouse and a KQL database (the reference calls it `kql_retail_db`).",
        "2. Run the four scripts in order: "
        + ", ".join(f"`{f}`" for f in (tables.FILE, mappings.FILE, functions.FILE, views.FILE))
        + ". Each file is a single",
        f"   `{text.SCRIPT_HEADER}` command. In the query editor select the **whole file**",
        "   (Ctrl+A) before running it: the editor otherwise runs only the block around the cursor, which ends at",
        "   the first blank line. From code, send the file's text as one management command (for example",
        "   `KustoClient.execute_mgmt(database, text)` in azure-kusto-data). Every command is idempotent",
        "   (`.create-merge`, `.create-or-alter`, `.alter`), so re-running a script after a spec change applies it;",
        "   changing a materialized view's group-by or aggregations needs `.drop materialized-view <name>` first.",
        "3. Route the events: an Eventstream (or Event Hubs data connection) from the producers' hub into the",
        "   database, JSON format, one table per `event_type` (the table name is the event type), mapping",
        f"   `{mappings.MAPPING_NAME}`. Events carry the reference's envelope, which the platform's producers use too.",
        "4. Add each file of `querysets/` as a query of a KQL queryset or a real-time dashboard tile.",
        "5. Pair each file of `rules/` with an Activator alert, scheduled at least every "
        f"{config.lookback_minutes} minutes; every row a rule returns is one alert.",
        "",
        "## Querysets",
        "",
        *_table(
            ("Queryset", "Shows", "Gold twin"),
            [(f"`{q.name}`", q.description, f"`gold/{q.gold_table}`" if q.gold_table else "") for q in queries],
        ),
        "",
        "Dashboard tiles of the reference and the queryset behind each:",
        "",
        *_table(("Tile", "Queryset"), [(tile, f"`{q}`") for tile, q in DASHBOARD_TILES]),
        "",
        "## Twins: the same figures as Gold",
        "",
        "These KQL objects compute a Gold table's figures by the formula in `retail_assets/lib/kpi_twins.py`",
        "(source, group keys, time bin, measures); a queryset twin returns rows of its Gold table restricted to",
        "its window. The test suite checks that the KQL uses exactly those aggregations and runs it on DuckDB",
        "(`duckdb-kql`) to compare the numbers with the polars formula Gold uses.",
        "",
        *_table(("KQL object", "Gold table", "Grain"), twin_rows),
        "",
        "Conventions the twins rely on:",
        "",
        "- Money is integer cents, as in Gold. Event payloads carry float dollars; they become cents as",
        "  `floor(round(dollars × 100, 6) + 0.5)` (the same function Silver uses, `lib/money.py`), unless the event carries its own `*_cents` field.",
        "- `ingest_timestamp` is the business time of an event (UTC), Silver's `event_ts`. Bins start at",
        "  multiples of their width since 1970-01-01 UTC; a daily bin is UTC midnight.",
        "- A ratio (`avg_basket_cents`) is floor(numerator / denominator) in whole cents, computed when read.",
        "- Both sides must see the same events: Silver drops duplicate events, an Eventhouse table keeps what it",
        "  was sent. Producers that retry should set ingest-by tags or deduplicate before sending.",
        "",
        "## Alert rules and thresholds",
        "",
        *_table(("Rule", "Raises"), [(f"`{r.name}`", r.description) for r in rule_list]),
        "",
        "The thresholds are those of `AlertThresholds` (`retail_assets/lib/alerts.py`), which the Gold alert checks",
        "read too. The committed files use the defaults:",
        "",
        *_table(("Threshold", "Environment variable", "Value", "Meaning"), threshold_rows),
        "",
        "To deploy other thresholds, set the variables and render a copy, then deploy its `rules/`:",
        "",
        "```bash",
        "RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS=20000 \\",
        "RETAIL_ALERT_CAMPAIGN_DAILY_BUDGETS_CENTS='{\"CAMP202401010001\": 250000}' \\",
        "  uv run retail-assets kql render --out my-kql",
        "```",
        "",
        "Set the same variables for Dagster so the Gold alert checks agree. The reference's rule code alerted on",
        "receipts above $200 and its deployment guide on $1,000; the default here is the guide's $1,000.",
        "",
        "## Fixed against the reference",
        "",
        "- `q_truck_dwell_by_site` reads `fn_truck_sla()`; the reference read `mv_truck_sla`, which never existed.",
        "- `fn_truck_sla()` takes the first arrival and last departure of each (truck_id, dc_id, store_id,",
        "  shipment_id), so a shipment's dwell counts once (the reference joined every arrival to every departure).",
        "- `fn_marketing_attribution()` attributes by the purchase's impression id or the customer's last touch",
        "  within 7 days; the reference joined impressions to receipts on trace ids, which never match.",
        "- `receipt_created` maps `campaign_id` and the optional cents and attribution fields (the reference's",
        "  mapping omitted `campaign_id`).",
        "- Materialized views have no `ago()` filter (a view's query cannot depend on the clock); their 7-day",
        "  horizon is a retention policy.",
        "- A rule exists for every alert of the deployment guide, including campaign budget, which had none.",
        "",
        *_event_tables(),
        "## Files",
        "",
        *(f"- `{p}`" for p in paths),
        "",
    ]
    return "\n".join(lines)
