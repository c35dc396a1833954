"""The dimensions of the reference system plus dim_date (reference spec §4, §4.7).

Names are snake_case; the reference's PascalCase columns map as noted in each description.
"""

from __future__ import annotations

from retail_assets.lib.specs.columns import cents, col, dc_id, fk
from retail_assets.lib.specs.model import DType, TableSpec

D = DType

VOLUME_CLASSES = ("flagship", "high_volume", "medium_volume", "low_volume", "kiosk")
STORE_FORMATS = ("hypermarket", "superstore", "standard", "neighborhood", "express")
OPERATING_HOURS = ("24/7", "6am-midnight", "8am-10pm", "9am-9pm", "9am-6pm")
TAXABILITY = ("TAXABLE", "NON_TAXABLE", "REDUCED_RATE")
TRUCK_FLEETS = ("DC", "POOL", "SUPPLIER")

DIM_GEOGRAPHIES = TableSpec(
    name="dim_geographies",
    kind="dimension",
    description="Cities where stores, distribution centres and customers are located.",
    grain="one row per city/zip",
    primary_key=("geography_id",),
    columns=(
        col("geography_id", D.INT64, "Geography key (reference: ID).", gt=0),
        col("city", D.STRING, "City name."),
        col("state", D.STRING, "Two-letter state code."),
        col("zip_code", D.STRING, "ZIP or ZIP+4, kept as text."),
        col("district", D.STRING, "Sales district."),
        col("region", D.STRING, "Sales region (West, Midwest, Northeast, Southeast, Southwest)."),
        col("latitude", D.FLOAT64, "Latitude in degrees; used for nearest-store and nearest-DC routing.", ge=-90, le=90),
        col("longitude", D.FLOAT64, "Longitude in degrees.", ge=-180, le=180),
    ),
)

DIM_DISTRIBUTION_CENTERS = TableSpec(
    name="dim_distribution_centers",
    kind="dimension",
    description="Distribution centres that receive supplier deliveries and ship to stores.",
    grain="one row per distribution centre",
    primary_key=("dc_id",),
    columns=(
        col("dc_id", D.INT64, "Distribution centre key (reference: ID).", gt=0),
        col("dc_number", D.STRING, "Business number, DC + 3 digits (DC001)."),
        col("address", D.STRING, "Street address."),
        fk("geography_id", "dim_geographies", "Location (dim_geographies)."),
    ),
)

DIM_STORES = TableSpec(
    name="dim_stores",
    kind="dimension",
    history="scd2",
    description=(
        "Stores with their format, traffic profile, tax rate and opening hours. History is kept "
        "as SCD Type 2 in Silver: a change of format or hours opens a new version."
    ),
    grain="one row per store",
    primary_key=("store_id",),
    columns=(
        col("store_id", D.INT64, "Store key (reference: ID).", gt=0),
        col("store_number", D.STRING, "Business number, S + 6 digits (S000001)."),
        col("address", D.STRING, "Street address."),
        fk("geography_id", "dim_geographies", "Location (dim_geographies)."),
        col("time_zone", D.STRING, "IANA time zone of the store (America/Chicago); local time = event_ts in this zone."),
        col(
            "tax_rate_bps",
            D.INT32,
            "Combined sales-tax rate in basis points (825 = 8.25 %); reference: tax_rate.",
            ge=0,
            le=2000,
        ),
        col("volume_class", D.STRING, "Traffic class.", allowed=VOLUME_CLASSES),
        col("store_format", D.STRING, "Store format.", allowed=STORE_FORMATS),
        col("operating_hours", D.STRING, "Opening-hours label.", allowed=OPERATING_HOURS),
        col("open_hour", D.INT32, "Local hour the store opens (0-23).", ge=0, le=23),
        col("close_hour", D.INT32, "Local hour the store closes (1-24; 24 = midnight, so a 24/7 store opens at 0 and closes at 24).", ge=1, le=24),
        col("daily_traffic_multiplier", D.FLOAT64, "Traffic relative to an average store.", ge=0.25, le=3.0),
    ),
)

DIM_TRUCKS = TableSpec(
    name="dim_trucks",
    kind="dimension",
    description="Trucks of the DC fleets, the shared pool and suppliers.",
    grain="one row per truck",
    primary_key=("truck_id",),
    columns=(
        col("truck_id", D.INT64, "Truck key (reference: ID).", gt=0),
        col("license_plate", D.STRING, "Licence plate: 3 letters + 4 digits."),
        col("is_refrigerated", D.BOOL, "Refrigerated truck (reference: Refrigeration)."),
        col("fleet", D.STRING, "DC (assigned to a home DC), POOL (shared) or SUPPLIER.", allowed=TRUCK_FLEETS),
        dc_id(nullable=True, description="Home distribution centre; NULL for pool and supplier trucks (reference: DCID)."),
    ),
)

DIM_CUSTOMERS = TableSpec(
    name="dim_customers",
    kind="dimension",
    history="scd2",
    description=(
        "Customers with their contact details and the device ids that link them to BLE pings and "
        "ad impressions. History is kept as SCD Type 2 in Silver (customers move)."
    ),
    grain="one row per customer",
    primary_key=("customer_id",),
    columns=(
        col("customer_id", D.INT64, "Customer key (reference: ID).", gt=0),
        col("first_name", D.STRING, "First name."),
        col("last_name", D.STRING, "Last name."),
        col("address", D.STRING, "Home address."),
        fk("geography_id", "dim_geographies", "Home location (dim_geographies)."),
        col("loyalty_card", D.STRING, "Loyalty card number: LC + 6-digit id + 3 digits."),
        col("phone", D.STRING, "Phone number (AAA) EEE-NNNN."),
        col("ble_id", D.STRING, "Bluetooth device id seen by store beacons (reference: BLEId)."),
        col("ad_id", D.STRING, "Advertising id seen by ad impressions (reference: AdId)."),
    ),
)

DIM_PRODUCTS = TableSpec(
    name="dim_products",
    kind="dimension",
    description="Products with brand, hierarchy, prices and tax treatment.",
    grain="one row per product",
    primary_key=("product_id",),
    columns=(
        col("product_id", D.INT64, "Product key (reference: ID).", gt=0),
        col("product_name", D.STRING, "Product name."),
        col("brand", D.STRING, "Brand."),
        col("company", D.STRING, "Company that owns the brand."),
        col("department", D.STRING, "Department (Grocery, Electronics, ...)."),
        col("category", D.STRING, "Category within the department."),
        col("subcategory", D.STRING, "Subcategory within the category."),
        cents("cost_cents", "Unit cost to the retailer."),
        cents("msrp_cents", "Manufacturer's suggested retail price."),
        cents("sale_price_cents", "Shelf price charged before promotions; cost < sale price <= MSRP."),
        col("requires_refrigeration", D.BOOL, "Needs a refrigerated truck."),
        col("launch_date", D.DATE, "First day the product may be sold."),
        col("taxability", D.STRING, "Tax treatment: full, none, or half rate.", allowed=TAXABILITY),
        col("tags", D.STRING, "Semicolon-separated tags used by holiday demand (thanksgiving;turkey).", nullable=True),
    ),
)

DIM_DATE = TableSpec(
    name="dim_date",
    kind="dimension",
    description="Calendar with retail holidays and a July-start fiscal year.",
    grain="one row per calendar day",
    primary_key=("date_key",),
    columns=(
        col("date_key", D.INT32, "Day as yyyymmdd (20240105).", gt=0),
        col("date", D.DATE, "The day."),
        col("year", D.INT32, "Calendar year."),
        col("quarter", D.INT32, "Calendar quarter 1-4.", ge=1, le=4),
        col("month", D.INT32, "Month 1-12.", ge=1, le=12),
        col("month_name", D.STRING, "Month name (January)."),
        col("day", D.INT32, "Day of month 1-31.", ge=1, le=31),
        col("day_of_week", D.INT32, "ISO day of week, Monday = 1 ... Sunday = 7.", ge=1, le=7),
        col("day_name", D.STRING, "Day name (Monday)."),
        col("week_of_year", D.INT32, "ISO week number 1-53.", ge=1, le=53),
        col("is_weekend", D.BOOL, "Saturday or Sunday."),
        col("fiscal_year", D.INT32, "Fiscal year; it starts on 1 July and is named by the calendar year it ends in."),
        col("fiscal_quarter", D.INT32, "Fiscal quarter 1-4.", ge=1, le=4),
        col("holiday_name", D.STRING, "Retail holiday on this day (Thanksgiving, Black Friday, ...).", nullable=True),
    ),
)

DIMENSIONS: tuple[TableSpec, ...] = (
    DIM_GEOGRAPHIES,
    DIM_DISTRIBUTION_CENTERS,
    DIM_STORES,
    DIM_TRUCKS,
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    DIM_DATE,
)
