"""The edge world: barangays, sari-sari stores, FMCG brands and products, and the device registry.

Everything is derived from the profile's seed and store count, so two processes build the same world. The
gazetteer and the brands are real names (regions, provinces, cities and barangays of the Philippines; brands sold
in sari-sari stores) so that transcripts read like the seed's; products, prices and devices are invented.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from retail_assets.lib.edge.profiles import EdgeProfile
from retail_assets.lib.specs.edge import DEVICE_MODELS, EDGE_DIMENSIONS
from retail_assets.lib.generator.rng import stream
from retail_assets.lib.specs.registry import polars_schema

# (region, province, city, barangays)
GAZETTEER: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("NCR", "Metro Manila", "Quezon City", ("Batasan Hills", "Commonwealth", "Bagong Silangan", "Payatas")),
    ("NCR", "Metro Manila", "Manila", ("Tondo I", "Sampaloc", "Malate")),
    ("NCR", "Metro Manila", "Pasig", ("Pinagbuhatan", "Santolan", "Manggahan")),
    ("Region IV-A", "Cavite", "Bacoor", ("Molino III", "Talaba", "Niog")),
    ("Region IV-A", "Laguna", "Calamba", ("Parian", "Real", "Canlubang")),
    ("Region VII", "Cebu", "Cebu City", ("Lahug", "Guadalupe", "Mabolo")),
    ("Region VII", "Cebu", "Mandaue", ("Subangdaku", "Banilad")),
    ("Region XI", "Davao del Sur", "Davao City", ("Buhangin", "Talomo", "Matina Crossing")),
)
# Rough centre of each city, for store coordinates.
CITY_CENTRES = {
    "Quezon City": (14.676, 121.044),
    "Manila": (14.599, 120.984),
    "Pasig": (14.576, 121.085),
    "Bacoor": (14.459, 120.941),
    "Calamba": (14.212, 121.165),
    "Cebu City": (10.316, 123.885),
    "Mandaue": (10.323, 123.922),
    "Davao City": (7.190, 125.455),
}
# (brand, company, category, ((product, pack size, SRP centavos), ...))
BRANDS: tuple[tuple[str, str, str, tuple[tuple[str, str, int], ...]], ...] = (
    ("Lucky Me", "Monde Nissin", "noodles", (("Pancit Canton", "60g", 1600), ("Beef Mami", "55g", 1200))),
    ("Coca-Cola", "Coca-Cola Beverages Philippines", "beverages",
     (("Coke Mismo", "290ml", 2000), ("Coke", "1L", 6500))),
    ("C2", "Universal Robina", "beverages", (("C2 Apple", "230ml", 1800), ("C2 Lemon", "500ml", 3000))),
    ("Piattos", "Universal Robina", "snacks", (("Piattos Cheese", "40g", 2000),)),
    ("Nescafe", "Nestle Philippines", "beverages",
     (("Nescafe Classic", "sachet", 700), ("Nescafe 3in1", "sachet", 900))),
    ("Bear Brand", "Nestle Philippines", "dairy", (("Bear Brand Fortified", "33g", 1300),)),
    ("Safeguard", "Procter & Gamble", "personal_care", (("Safeguard Pure White", "60g", 3200),)),
    ("Surf", "Unilever Philippines", "household", (("Surf Powder", "sachet", 900), ("Surf Fabcon", "sachet", 700))),
    ("Datu Puti", "NutriAsia", "condiments",
     (("Datu Puti Vinegar", "385ml", 2400), ("Datu Puti Soy Sauce", "200ml", 1800))),
    ("Marlboro", "PMFTC", "tobacco", (("Marlboro Red", "stick", 1000),)),
    ("Palmolive", "Colgate-Palmolive", "personal_care", (("Palmolive Shampoo", "sachet", 700),)),
    ("Kopiko", "Mayora", "beverages", (("Kopiko Brown", "sachet", 800), ("Kopiko Blanca", "sachet", 800))),
)
FIRMWARE = ("2.3.0", "2.3.1", "2.4.0")
_OWNERS = ("Aling Nena", "Mang Tonyo", "Aling Rosa", "Mang Ben", "Ate Joy", "Kuya Jun", "Aling Maring", "Mang Caloy")


@dataclass(frozen=True)
class EdgeWorld:
    """The dimensions of the edge domain for a profile."""

    profile: EdgeProfile

    @cached_property
    def barangays(self) -> pl.DataFrame:
        rows = [
            (region, province, city, barangay)
            for region, province, city, barangays in GAZETTEER
            for barangay in barangays
        ]
        return pl.DataFrame(
            {
                "barangay_id": list(range(1, len(rows) + 1)),
                "barangay_name": [r[3] for r in rows],
                "city_name": [r[2] for r in rows],
                "province_name": [r[1] for r in rows],
                "region_name": [r[0] for r in rows],
            },
            schema=_schema("dim_edge_barangays"),
        )

    @cached_property
    def stores(self) -> pl.DataFrame:
        n = self.profile.stores
        rng = stream(self.profile.seed, "edge_stores")
        barangay = rng.integers(0, self.barangays.height, n)
        cities = self.barangays.get_column("city_name").to_list()
        centre = np.array([CITY_CENTRES[cities[b]] for b in barangay]).reshape(n, 2)
        jitter = rng.normal(0.0, 0.01, (n, 2))
        owners = rng.integers(0, len(_OWNERS), n)
        return pl.DataFrame(
            {
                "store_id": np.arange(1, n + 1),
                "store_name": [f"{_OWNERS[o]} Sari-Sari #{i + 1}" for i, o in enumerate(owners)],
                "barangay_id": barangay + 1,
                "latitude": centre[:, 0] + jitter[:, 0],
                "longitude": centre[:, 1] + jitter[:, 1],
            },
            schema=_schema("dim_sari_stores"),
        )

    @cached_property
    def brands(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "brand_id": list(range(1, len(BRANDS) + 1)),
                "brand_name": [b[0] for b in BRANDS],
                "company_name": [b[1] for b in BRANDS],
                "category": [b[2] for b in BRANDS],
            },
            schema=_schema("dim_fmcg_brands"),
        )

    @cached_property
    def products(self) -> pl.DataFrame:
        rows = [(brand_id, *p) for brand_id, b in enumerate(BRANDS, start=1) for p in b[3]]
        return pl.DataFrame(
            {
                "product_id": list(range(1, len(rows) + 1)),
                "brand_id": [r[0] for r in rows],
                "product_name": [r[1] for r in rows],
                "pack_size": [r[2] for r in rows],
                "srp_cents": [r[3] for r in rows],
            },
            schema=_schema("dim_fmcg_products"),
        )

    @cached_property
    def devices(self) -> pl.DataFrame:
        """One device per store, installed before the first simulated month."""
        n = self.profile.stores
        rng = stream(self.profile.seed, "edge_devices")
        installed = [self.profile.start - dt.timedelta(days=int(d)) for d in rng.integers(10, 400, n)]
        return pl.DataFrame(
            {
                "device_id": np.arange(1, n + 1),
                "store_id": np.arange(1, n + 1),
                "serial_number": [f"RPI-{int(s):08X}" for s in rng.integers(0, 2**32, n)],
                "model": [DEVICE_MODELS[i] for i in rng.integers(0, len(DEVICE_MODELS), n)],
                "firmware_version": [FIRMWARE[i] for i in rng.integers(0, len(FIRMWARE), n)],
                "installed_on": installed,
            },
            schema=_schema("dim_edge_devices"),
        )

    def dimension_frames(self) -> dict[str, pl.DataFrame]:
        """Every edge dimension, by table name (registry order)."""
        frames = {
            "dim_edge_barangays": self.barangays,
            "dim_sari_stores": self.stores,
            "dim_fmcg_brands": self.brands,
            "dim_fmcg_products": self.products,
            "dim_edge_devices": self.devices,
        }
        return {t.name: frames[t.name] for t in EDGE_DIMENSIONS}


def _schema(table: str) -> pl.Schema:
    spec = next(t for t in EDGE_DIMENSIONS if t.name == table)
    return polars_schema(spec.columns)
