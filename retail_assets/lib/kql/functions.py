"""``03-functions.kql``: stored functions (reference spec §12.3), fixed.

- ``fn_truck_sla()``: one row per shipment lifecycle (truck_id, dc_id, store_id, shipment_id):
  first arrival, last departure, dwell — each shipment counted once (the reference left-joined
  every arrival to every departure). Its polars twin is ``kpi_twins.shipment_dwell``.
- ``fn_marketing_attribution(window = 7d)``: last-touch attribution of store receipts and online
  orders to ad impressions within ``window`` before the purchase. A purchase that names its
  impression (``impression_id``, later reference versions) is credited to that impression when it
  lies in the window. Otherwise the customer's latest impression in the window is credited (only
  impressions of known customers carry ``customer_id``), restricted to the purchase's own
  ``campaign_id`` when it names one. Purchases with no such touch are not returned. The
  reference joined on trace ids, which never match.
"""

from __future__ import annotations

from retail_assets.lib.kpi_twins import SHIPMENT_DWELL_COLUMNS, Cents
from retail_assets.lib.kql import text

FILE = "03-functions.kql"
FOLDER = "retail"
TRUCK_SLA = "fn_truck_sla"
MARKETING_ATTRIBUTION = "fn_marketing_attribution"
ATTRIBUTION_WINDOW_DAYS = 7

# A shipment lifecycle as one string, so shipments with a NULL dc_id or store_id still join.
LIFECYCLE_KEY = "strcat(truck_id, '|', tostring(dc_id), '|', tostring(store_id), '|', shipment_id)"
# The site a truck waits at: its store when it has one, else its DC (reference gold.truck_dwell_daily).
SITE = "iff(isnotnull(store_id), strcat('STORE_', store_id), strcat('DC_', dc_id))"
SHIPMENT_KEYS = "truck_id, dc_id, store_id, shipment_id"

TRUCK_SLA_DOC = "One row per truck shipment: first arrival, last departure and dwell minutes at its site."
ATTRIBUTION_DOC = (
    "Last-touch attribution of receipts and online orders to ad impressions within the window before purchase."
)


def _function(name: str, parameters: str, doc: str, body: list[str]) -> list[str]:
    props = f"with (folder = {text.string(FOLDER)}, docstring = {text.string(doc)})"
    return [f".create-or-alter function {props} {name}({parameters}) {{", *text.indent(body), "}"]


def truck_sla() -> list[str]:
    output = ", ".join(SHIPMENT_DWELL_COLUMNS)
    body = [
        "let arrivals = truck_arrived",
        f"    | summarize arrival_time = min(arrival_time) by {SHIPMENT_KEYS}",
        f"    | extend lifecycle_key = {LIFECYCLE_KEY};",
        "let departures = truck_departed",
        f"    | summarize departure_time = max(departure_time) by {SHIPMENT_KEYS}",
        f"    | project lifecycle_key = {LIFECYCLE_KEY}, departure_time;",
        "arrivals",
        "| join kind=inner departures on lifecycle_key",
        "| where departure_time > arrival_time",
        f"| extend site = {SITE}, dwell_minutes = (departure_time - arrival_time) / 1m",
        f"| project {output}",
    ]
    return _function(TRUCK_SLA, "", TRUCK_SLA_DOC, body)


def _purchases(table: str, purchase_type: str, id_column: str) -> list[str]:
    revenue = Cents(name="revenue_cents", dollars="subtotal", cents="subtotal_cents").kql()
    total = Cents(name="total_cents", dollars="total", cents="total_cents").kql()
    return [
        f"    ({table}",
        f"     | project purchase_type = '{purchase_type}', purchase_id = {id_column}, customer_id,",
        "         purchase_time = ingest_timestamp, claimed_campaign_id = campaign_id,",
        "         claimed_impression_id = impression_id,",
        f"         revenue_cents = {revenue},",
        f"         total_cents = {total})",
    ]


def marketing_attribution() -> list[str]:
    purchase_keys = "purchase_type, purchase_id, customer_id, purchase_time, revenue_cents, total_cents"
    receipts = _purchases("receipt_created", "RECEIPT", "receipt_id")
    orders = _purchases("online_order_created", "ONLINE_ORDER", "order_id")
    receipts[-1] += ","
    orders[-1] += ";"
    in_window = "| where touch_time between ((purchase_time - window) .. purchase_time)"
    latest_touch = [
        "| summarize arg_max(touch_time, impression_id, campaign_id, channel)",
        f"    by {purchase_keys}",
    ]
    body = [
        "let purchases = union",
        *receipts,
        *orders,
        "let touches = ad_impression",
        "    | project impression_id, campaign_id, channel, touch_time = ingest_timestamp,",
        "        touch_customer_id = customer_id;",
        "let by_impression = purchases",
        "    | where isnotempty(claimed_impression_id)",
        "    | join kind=inner touches on $left.claimed_impression_id == $right.impression_id",
        *text.indent([in_window, *latest_touch]),
        "    | extend attribution_rule = 'IMPRESSION_ID';",
        "let by_customer = purchases",
        "    | join kind=leftanti by_impression on purchase_type, purchase_id",
        "    | join kind=inner (touches | where isnotnull(touch_customer_id))",
        "        on $left.customer_id == $right.touch_customer_id",
        *text.indent(
            [in_window, "| where isempty(claimed_campaign_id) or campaign_id == claimed_campaign_id", *latest_touch]
        ),
        "    | extend attribution_rule = 'CUSTOMER_LAST_TOUCH';",
        "union by_impression, by_customer",
        "| project purchase_type, purchase_id, customer_id, purchase_time, campaign_id, impression_id, channel,",
        "    touch_time, lag_seconds = tolong((purchase_time - touch_time) / 1s), attribution_rule,",
        "    revenue_cents, total_cents",
    ]
    return _function(MARKETING_ATTRIBUTION, f"window: timespan = {ATTRIBUTION_WINDOW_DAYS}d", ATTRIBUTION_DOC, body)


def render() -> str:
    return text.script(
        f"{FILE}: stored functions {TRUCK_SLA}() and {MARKETING_ATTRIBUTION}(window).",
        [
            f"{TRUCK_SLA}(): {TRUCK_SLA_DOC}",
            f"{MARKETING_ATTRIBUTION}(window = {ATTRIBUTION_WINDOW_DAYS}d): {ATTRIBUTION_DOC}",
            "  A purchase naming its impression_id is credited to it; otherwise the customer's latest impression",
            "  (restricted to the purchase's campaign_id when it names one). Unattributed purchases are omitted.",
            "Run after 01-tables.kql. Idempotent.",
        ],
        [truck_sla(), marketing_attribution()],
    )
