"""The edge domain's dimensions and event types (seed 003), declared with the spine's spec model.

Import rule (as for the retail event modules): it lives under ``lib/specs`` so that importing it first builds the
registries, and ``lib/specs/registry.py`` imports it while doing so; it imports only
``lib/specs`` modules that do not import the registry (``model``, ``columns``, ``envelope``).

Names are unique across domains: the landing zone and Bronze resolve an event type or table by its name, so the
edge dimensions are named ``dim_sari_stores``, ``dim_fmcg_products`` … rather than retail's ``dim_stores``.
Timestamps are UTC. Device clocks drift: ``ingest_timestamp`` of every edge event is the time the store gateway
received it (UTC, trusted), and ``device_clock`` is what the device's own clock said when it sent it.
"""

from __future__ import annotations

from retail_assets.lib.specs.columns import col, fk
from retail_assets.lib.specs.envelope import count_field, id_field, text_field, time_field
from retail_assets.lib.specs.model import ColumnSpec, DType, EventSpec, TableSpec

D = DType

# Eventhouse-style retention class of the edge streams, in days.
EDGE_RETENTION = 30

DEVICE_MODELS = ("RPI4B-4GB", "RPI4B-8GB", "RPI5-8GB")
LANGUAGES = ("fil", "en", "ceb", "taglish")
DETECTION_TYPES = ("person", "pickup", "putback")
NETWORK_TYPES = ("wifi", "lte")
CATEGORIES = ("beverages", "snacks", "personal_care", "household", "tobacco", "condiments", "noodles", "dairy")


def _ratio(name: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    return col(name, D.FLOAT64, description, nullable=nullable, ge=0.0, le=1.0)


def _percent(name: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    return col(name, D.FLOAT64, description, nullable=nullable, ge=0.0, le=100.0)


DIM_EDGE_BARANGAYS = TableSpec(
    name="dim_edge_barangays",
    kind="dimension",
    description="Philippine barangays with their city, province and region (seed 003's store hierarchy).",
    grain="one row per barangay",
    primary_key=("barangay_id",),
    columns=(
        id_field("barangay_id", "Barangay."),
        text_field("barangay_name", "Barangay name."),
        text_field("city_name", "City or municipality the barangay belongs to."),
        text_field("province_name", "Province of the city."),
        text_field("region_name", "Region of the province (NCR, Region IV-A, ...)."),
    ),
)

DIM_SARI_STORES = TableSpec(
    name="dim_sari_stores",
    kind="dimension",
    description="Sari-sari stores equipped with an edge device.",
    grain="one row per store",
    primary_key=("store_id",),
    columns=(
        id_field("store_id", "Sari-sari store."),
        text_field("store_name", "Store's trading name."),
        fk("barangay_id", "dim_edge_barangays", "Barangay the store is in."),
        col("latitude", D.FLOAT64, "Latitude, degrees.", ge=-90.0, le=90.0),
        col("longitude", D.FLOAT64, "Longitude, degrees.", ge=-180.0, le=180.0),
    ),
)

DIM_FMCG_BRANDS = TableSpec(
    name="dim_fmcg_brands",
    kind="dimension",
    description="FMCG brands sold in sari-sari stores, as customers name them.",
    grain="one row per brand",
    primary_key=("brand_id",),
    columns=(
        id_field("brand_id", "Brand."),
        text_field("brand_name", "Brand name as spoken and printed (matched in transcripts, case-insensitive)."),
        text_field("company_name", "Company owning the brand."),
        text_field("category", "Main category.", allowed=CATEGORIES),
    ),
)

DIM_FMCG_PRODUCTS = TableSpec(
    name="dim_fmcg_products",
    kind="dimension",
    description="FMCG products (SKUs) of the brands.",
    grain="one row per product",
    primary_key=("product_id",),
    columns=(
        id_field("product_id", "Product."),
        fk("brand_id", "dim_fmcg_brands", "Brand of the product."),
        text_field("product_name", "Product name, brand first."),
        text_field("pack_size", "Pack size as sold (sachet, 1L, 55g, ...)."),
        col("srp_cents", D.INT64, "Suggested retail price, centavos.", gt=0),
    ),
)

DIM_EDGE_DEVICES = TableSpec(
    name="dim_edge_devices",
    kind="dimension",
    description="The device registry: one Raspberry Pi per store running Whisper and OpenCV.",
    grain="one row per device",
    primary_key=("device_id",),
    columns=(
        id_field("device_id", "Edge device."),
        fk("store_id", "dim_sari_stores", "Store the device is installed in."),
        text_field("serial_number", "Hardware serial number."),
        text_field("model", "Hardware model.", allowed=DEVICE_MODELS),
        text_field("firmware_version", "Firmware installed at the snapshot."),
        col("installed_on", D.DATE, "Day the device was installed."),
    ),
)

EDGE_DIMENSIONS: tuple[TableSpec, ...] = (
    DIM_EDGE_BARANGAYS,
    DIM_SARI_STORES,
    DIM_FMCG_BRANDS,
    DIM_FMCG_PRODUCTS,
    DIM_EDGE_DEVICES,
)

_DEVICE = (
    id_field("device_id", "Edge device that sent the event (dim_edge_devices)."),
    id_field("store_id", "Store the device reports for (dim_sari_stores)."),
    time_field("device_clock", "The device's own clock when it sent the event (drifts; ingest_timestamp is trusted)."),
)

STT_TRANSCRIPT = EventSpec(
    event_type="stt_transcript",
    description="A speech-to-text (Whisper) transcript of one customer–storekeeper exchange at the counter.",
    facts=(),
    retention_days=EDGE_RETENTION,
    payload=(
        *_DEVICE,
        text_field("interaction_id", "The exchange the transcript belongs to (shared with its visual detections)."),
        time_field("started_at", "Start of the speech segment, device clock."),
        col("duration_ms", D.INT64, "Length of the speech segment, milliseconds.", gt=0),
        text_field("transcript", "The recognised text."),
        text_field("language", "Language Whisper detected.", allowed=LANGUAGES),
        _ratio("confidence", "Mean word confidence Whisper reported."),
    ),
)

VISUAL_DETECTION = EventSpec(
    event_type="visual_detection",
    description="An OpenCV detection at the counter: people in view, or a product picked up or put back.",
    facts=(),
    retention_days=EDGE_RETENTION,
    payload=(
        *_DEVICE,
        text_field(
            "interaction_id", "The exchange the detection belongs to, when the device linked one.", nullable=True
        ),
        time_field("detected_at", "When the frame was taken, device clock."),
        text_field("detection_type", "What was detected.", allowed=DETECTION_TYPES),
        count_field("person_count", "People in view."),
        col("dwell_seconds", D.FLOAT64, "How long the tracked person has been in view, seconds.", ge=0.0),
        id_field("brand_id", "Brand of the product picked up or put back (pickup/putback only).", nullable=True),
        id_field("product_id", "Product picked up or put back, when recognised.", nullable=True),
        _ratio("bbox_confidence", "Detector confidence of the bounding box."),
    ),
)

DEVICE_HEARTBEAT = EventSpec(
    event_type="device_heartbeat",
    description="A device's periodic health report.",
    facts=(),
    retention_days=EDGE_RETENTION,
    payload=(
        *_DEVICE,
        count_field("uptime_seconds", "Seconds since the device last booted."),
        col("cpu_temp_c", D.FLOAT64, "CPU temperature, °C.", ge=-20.0, le=120.0),
        _percent("memory_used_pct", "Memory in use, %."),
        _percent("storage_used_pct", "SD card in use, %."),
        text_field("network_type", "Uplink in use.", allowed=NETWORK_TYPES),
        col("signal_dbm", D.INT64, "Uplink signal strength, dBm.", ge=-120, le=0),
        _percent("battery_pct", "UPS battery charge, % (NULL: no UPS fitted).", nullable=True),
        text_field("firmware_version", "Firmware running."),
    ),
)

# Seed 003's legacy combined format (bronze_raw_events): devices on old firmware send one flat JSON record per
# reading, {"device_id", "store_id", "type": "stt" | "visual" | "heartbeat", "timestamp", "data": {...}}. The
# gateway wraps each record in an envelope of this type (lib/edge/legacy.py), so it lands, types, deduplicates and
# quarantines like every event; Silver splits ``data`` into the three event types.
LEGACY_KINDS = {"stt": "stt_transcript", "visual": "visual_detection", "heartbeat": "device_heartbeat"}

RAW_EVENT = EventSpec(
    event_type="raw_event",
    description="A record of the legacy combined format (seed 003 raw_events), as the device sent it.",
    facts=(),
    retention_days=EDGE_RETENTION,
    payload=(
        id_field("device_id", "Edge device that sent the record."),
        id_field("store_id", "Store the device reports for."),
        text_field("kind", "What the record holds.", allowed=tuple(LEGACY_KINDS)),
        time_field("recorded_at", "The record's timestamp (device clock: legacy records carry no other time)."),
        text_field("data", "The record's measurements: a JSON object with the payload fields of its kind."),
    ),
)

VERDICTS = ("accepted", "rejected", "dismissed")

INSIGHT_FEEDBACK_GIVEN = EventSpec(
    event_type="insight_feedback_given",
    description="A store advisor's verdict on an insight the platform derived from edge Gold (seed 003).",
    facts=(),
    retention_days=EDGE_RETENTION,
    payload=(
        text_field("insight_id", "The insight (edge/gold/insight_feedback.insight_id)."),
        id_field("advisor_id", "Store advisor who gave the verdict."),
        text_field("verdict", "What the advisor made of it.", allowed=VERDICTS),
        text_field("comment", "Free text.", nullable=True),
    ),
)

EDGE_EVENTS: tuple[EventSpec, ...] = (
    STT_TRANSCRIPT,
    VISUAL_DETECTION,
    DEVICE_HEARTBEAT,
    RAW_EVENT,
    INSIGHT_FEEDBACK_GIVEN,
)

# Bronze table of each event type: the seed's names where it has one (bronze_stt_raw, bronze_visual_stream).
BRONZE_TABLES = {
    "stt_transcript": "stt_raw",
    "visual_detection": "visual_stream",
    "device_heartbeat": "device_heartbeat",
    "raw_event": "raw_events",
    "insight_feedback_given": "insight_feedback",
}
