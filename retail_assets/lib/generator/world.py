"""The simulated retailer's master data, built deterministically from the config.

``World`` holds the dimensions as numpy arrays (what the simulation uses) and renders them as
frames shaped exactly like the specs (what lands). Stores and customers change over time: each
month after ``first_month`` a few stores change their hours or format and a few customers move;
``stores_at(month)`` and ``customers_at(month)`` give the state as of a month, computed from the
months' hashes without any previous output, so every month can be generated on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import polars as pl

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator import dictionaries as dic
from retail_assets.lib.generator.config import GeneratorConfig, GeneratorConfigError
from retail_assets.lib.generator.rng import cumulative, hash64, stream, stream_salt, uniform
from retail_assets.lib.months import from_month_index, month_index
from retail_assets.lib.specs import REGISTRY, polars_schema
from retail_assets.lib.specs.dimensions import OPERATING_HOURS, STORE_FORMATS, TAXABILITY, TRUCK_FLEETS, VOLUME_CLASSES

HOURS_LABELS = OPERATING_HOURS
HOURS_OPEN = np.array([0, 6, 8, 9, 9], dtype=np.int32)
HOURS_CLOSE = np.array([24, 24, 22, 21, 18], dtype=np.int32)
H247, HEXT, HSTD, HLTD, HRED = range(5)
FLAGSHIP, HIGH, MEDIUM, LOW, KIOSK = range(5)
HYPER, SUPER, STANDARD, NEIGHBORHOOD, EXPRESS = range(5)
TRAFFIC_RANGE = np.array([[2.5, 3.0], [1.8, 2.4], [0.8, 1.2], [0.4, 0.7], [0.25, 0.35]])
URBAN_REGIONS = frozenset({"Northeast", "West"})

TAG_BITS = {tag: 1 << i for i, tag in enumerate(cal.TAGS)}


def haversine_miles(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 3958.8 * 2 * np.arcsin(np.sqrt(a))


def _lut(values) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String)


def _base36(values: np.ndarray, width: int) -> pl.Series:
    """Fixed-width base-36 text of non-negative integers."""
    digits = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
    out = np.empty((len(values), width), dtype=np.uint8)
    x = values.astype(np.int64).copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = digits[x % 36]
        x //= 36
    return pl.Series(out.view(f"S{width}").ravel()).cast(pl.String)


@dataclass(frozen=True)
class StoreState:
    """Stores as of one month: the attributes that change over time."""

    volume_class: np.ndarray
    store_format: np.ndarray
    hours: np.ndarray
    traffic: np.ndarray

    @property
    def open_hour(self) -> np.ndarray:
        return HOURS_OPEN[self.hours]

    @property
    def close_hour(self) -> np.ndarray:
        return HOURS_CLOSE[self.hours]


@dataclass(frozen=True)
class CustomerState:
    """Customers as of one month: home geography, street address, home store, and who shops.

    The pools hold the month's active customers only (joined, not yet lapsed), sorted by home store;
    ``pool_cum`` accumulates their visit rates so a uniform draw picks a shopper in proportion to it.
    """

    geography: np.ndarray
    address_seed: np.ndarray
    home_store: np.ndarray
    active: np.ndarray  # (customers,) bool: joined and not lapsed this month
    pool_order: np.ndarray  # active customer indices sorted by home store
    pool_start: np.ndarray  # per store, offset into pool_order
    pool_size: np.ndarray
    pool_cum: np.ndarray  # (len(pool_order) + 1,) cumulative visit rate along pool_order, from 0

    @property
    def active_count(self) -> int:
        return len(self.pool_order)

    def pick(self, u: np.ndarray, store: np.ndarray) -> np.ndarray:
        """Customer index per draw ``u`` in [0, 1), weighted by visit rate: among the active customers
        of ``store``'s pool, or of the whole network where ``store`` is -1 (the pool must not be empty)."""
        if not self.active_count:
            return np.zeros(len(u), dtype=np.int64)
        own = store >= 0
        s = np.maximum(store, 0)
        lo = np.where(own, self.pool_start[s], 0)
        hi = np.where(own, self.pool_start[s] + self.pool_size[s], self.active_count)
        target = self.pool_cum[lo] + u * (self.pool_cum[hi] - self.pool_cum[lo])
        pos = np.clip(np.searchsorted(self.pool_cum, target, side="right") - 1, lo, hi - 1)
        return self.pool_order[pos].astype(np.int64)


class World:
    """Master data of the simulated retailer."""

    def __init__(self, config: GeneratorConfig):
        self.config = config
        if config.geographies > len(dic.CITIES):
            raise GeneratorConfigError(
                f"geographies={config.geographies}: the built-in city list has {len(dic.CITIES)} cities; use at most that"
            )
        self._build_geographies()
        self._build_dcs()
        self._build_stores()
        self._build_trucks()
        self._build_products()
        self._build_customers()

    # ---- geographies, DCs, stores ------------------------------------------------------------

    def _build_geographies(self) -> None:
        c = self.config
        rng = stream(c.seed, "geographies")
        cities = dic.CITIES
        metro = np.array([row[5] for row in cities])
        region = np.array([dic.REGION_OF_STATE[row[1]] for row in cities])
        weight = np.where(metro, 2.0, 1.0) * np.where(np.isin(region, ["West", "Southeast", "Northeast"]), 1.5, 1.0)
        picked = rng.choice(len(cities), size=c.geographies, replace=False, p=weight / weight.sum())
        self.geo_city = np.array([cities[i][0] for i in picked])
        self.geo_state = np.array([cities[i][1] for i in picked])
        self.geo_zip = np.array([cities[i][2] for i in picked])
        self.geo_lat = np.array([cities[i][3] for i in picked])
        self.geo_lon = np.array([cities[i][4] for i in picked])
        self.geo_metro = metro[picked]
        self.geo_region = region[picked]
        self.geo_district = np.array([f"{s} {'Metro' if m else 'Regional'}" for s, m in zip(self.geo_state, self.geo_metro, strict=True)])
        self.geo_weight = weight[picked] * rng.uniform(0.8, 1.2, c.geographies)
        self.zones = sorted({dic.TIME_ZONE_OF_STATE[s] for s in self.geo_state})
        self.geo_zone = np.array([self.zones.index(dic.TIME_ZONE_OF_STATE[s]) for s in self.geo_state], dtype=np.int32)

    def _build_dcs(self) -> None:
        c = self.config
        order = np.argsort(-self.geo_weight, kind="stable")
        self.dc_geo = order[np.arange(c.dcs) % len(order)]
        rng = stream(c.seed, "dcs")
        self.dc_lat = self.geo_lat[self.dc_geo] + rng.uniform(-0.08, 0.08, c.dcs)
        self.dc_lon = self.geo_lon[self.dc_geo] + rng.uniform(-0.08, 0.08, c.dcs)
        self.dc_zone = self.geo_zone[self.dc_geo]
        self.dc_street = rng.integers(1, 1000, c.dcs)

    def _build_stores(self) -> None:
        c = self.config
        rng = stream(c.seed, "stores")
        dc_states = set(self.geo_state[self.dc_geo])
        eligible = np.flatnonzero(np.isin(self.geo_state, list(dc_states)))
        weights = self.geo_weight[eligible]
        by_weight = eligible[np.argsort(-weights, kind="stable")]
        first = by_weight[: min(c.stores, len(by_weight))]
        rest = c.stores - len(first)
        extra = rng.choice(eligible, size=rest, p=weights / weights.sum()) if rest > 0 else np.array([], dtype=np.int64)
        self.store_geo = np.sort(np.concatenate([first, extra])).astype(np.int64)
        rng.shuffle(self.store_geo)
        n = c.stores
        self.store_lat = self.geo_lat[self.store_geo] + rng.uniform(-0.06, 0.06, n)
        self.store_lon = self.geo_lon[self.store_geo] + rng.uniform(-0.06, 0.06, n)
        self.store_zone = self.geo_zone[self.store_geo]
        self.store_street = rng.integers(1000, 100_000, n)
        base = np.array([dic.STATE_TAX_BPS[s] for s in self.geo_state[self.store_geo]])
        self.store_tax_bps = np.where(base > 0, np.clip(base + rng.integers(-40, 41, n), 0, 2000), 0).astype(np.int32)
        distance = haversine_miles(self.store_lat[:, None], self.store_lon[:, None], self.dc_lat[None, :], self.dc_lon[None, :])
        self.store_dc = np.argmin(distance, axis=1)
        nearest = distance[np.arange(n), self.store_dc]
        # Nearest-DC routing; trucks reach any store overnight (capped so a 23:00 order arrives by 05:00).
        self.store_travel_hours = np.clip(nearest / 50.0 + 0.5, 0.5, 3.5)

        urban = np.isin(self.geo_region[self.store_geo], list(URBAN_REGIONS)) & self.geo_metro[self.store_geo]
        self.store_urban = urban
        u = rng.random((n, 4))
        volume = np.where(
            urban,
            np.searchsorted(cumulative([0.10, 0.25, 0.45, 0.15, 0.05]), u[:, 0], side="right"),
            np.searchsorted(cumulative([0.02, 0.10, 0.53, 0.30, 0.05]), u[:, 0], side="right"),
        ).clip(0, 4)
        fmt = np.array([self._draw_format(v, urb, x) for v, urb, x in zip(volume, urban, u[:, 1], strict=True)])
        hours = np.array([self._draw_hours(f, urb, x) for f, urb, x in zip(fmt, urban, u[:, 2], strict=True)])
        lo, hi = TRAFFIC_RANGE[volume, 0], TRAFFIC_RANGE[volume, 1]
        self._store_base = StoreState(volume, fmt, hours, np.round(lo + (hi - lo) * u[:, 3], 3))

    @staticmethod
    def _draw_format(volume: int, urban: bool, u: float) -> int:
        table = {
            FLAGSHIP: {SUPER: 0.6, HYPER: 0.3, STANDARD: 0.1} if urban else {HYPER: 0.7, SUPER: 0.3},
            HIGH: {SUPER: 0.6, STANDARD: 0.3, HYPER: 0.1},
            MEDIUM: {STANDARD: 0.6, SUPER: 0.2, NEIGHBORHOOD: 0.2},
            LOW: {NEIGHBORHOOD: 0.5, STANDARD: 0.3, EXPRESS: 0.2},
            KIOSK: {EXPRESS: 0.8, NEIGHBORHOOD: 0.2},
        }[volume]
        keys = list(table)
        return keys[min(int(np.searchsorted(cumulative(list(table.values())), u, side="right")), len(keys) - 1)]

    @staticmethod
    def _draw_hours(fmt: int, urban: bool, u: float) -> int:
        if fmt == EXPRESS:
            table = {H247: 0.3, HEXT: 0.7} if urban else {HEXT: 0.4, HSTD: 0.4, HLTD: 0.2}
        elif fmt in (HYPER, SUPER):
            table = {H247: 0.15, HEXT: 0.5, HSTD: 0.35} if urban else {H247: 0.1, HEXT: 0.3, HSTD: 0.4, HLTD: 0.2}
        else:
            table = {HSTD: 0.6, HEXT: 0.2, HLTD: 0.2}
        keys = list(table)
        return keys[min(int(np.searchsorted(cumulative(list(table.values())), u, side="right")), len(keys) - 1)]

    def day_cache(self, name: str) -> dict:
        """A per-day memo (receipt counts, product tables, campaigns), bounded to ~100 days so a
        long-running producer does not grow without limit."""
        cache = self.__dict__.setdefault(f"_cache_{name}", {})
        if len(cache) > 100:
            cache.clear()
        return cache

    @lru_cache(maxsize=64)  # noqa: B019 - one World per config, cached for the process
    def stores_at(self, month: dt.date) -> StoreState:
        """Stores as of ``month``: every month after first_month, a few change hours or format."""
        c = self.config
        base = self._store_base
        volume, fmt, hours, traffic = base.volume_class.copy(), base.store_format.copy(), base.hours.copy(), base.traffic.copy()
        n = c.stores
        ids = np.arange(n, dtype=np.uint64)
        for m in range(month_index(c.first_month) + 1, month_index(month) + 1):
            key = ids * np.uint64(1 << 20) + np.uint64(m)
            change = uniform(key, stream_salt(c.seed, "store_change")) < c.store_change_rate
            if not change.any():
                continue
            u = uniform(key, stream_salt(c.seed, "store_change_kind"))
            u_value = uniform(key, stream_salt(c.seed, "store_change_value"))
            u_format = uniform(key, stream_salt(c.seed, "store_change_format"))
            u_traffic = uniform(key, stream_salt(c.seed, "store_change_traffic"))
            for s in np.flatnonzero(change):
                if u[s] < 0.6:  # new opening hours
                    choices = [h for h in range(len(HOURS_LABELS)) if h != hours[s]]
                    hours[s] = choices[int(u_value[s] * len(choices))]
                else:  # remodel: one traffic class up or down, and a format that suits it
                    volume[s] = int(np.clip(volume[s] + (1 if u_value[s] < 0.5 else -1), 0, 4))
                    fmt[s] = self._draw_format(volume[s], bool(self.store_urban[s]), float(u_format[s]))
                    lo, hi = TRAFFIC_RANGE[volume[s]]
                    traffic[s] = round(lo + (hi - lo) * float(u_traffic[s]), 3)
        return StoreState(volume, fmt, hours, traffic)

    # ---- trucks ---------------------------------------------------------------------------

    def _build_trucks(self) -> None:
        c = self.config
        fleet = c.dc_fleet
        assigned = int(fleet * c.truck_dc_assignment_rate)
        refrigerated = round(assigned * c.dc_refrigerated_trucks / fleet) if fleet else 0
        rows: list[tuple[bool, int, int]] = []  # (refrigerated, fleet code, dc index or -1)
        # Assigned round-robin over the DCs, refrigerated trucks first (reference spec §4.4).
        rows += [(i < refrigerated, 0, i % c.dcs) for i in range(assigned)]
        rows += [(True, 1, -1)] * max(c.dc_refrigerated_trucks - refrigerated, 0)
        rows += [(False, 1, -1)] * max(c.dc_dry_trucks - (assigned - refrigerated), 0)
        rows += [(True, 2, -1)] * c.supplier_refrigerated_trucks + [(False, 2, -1)] * c.supplier_dry_trucks
        self.truck_refrigerated = np.array([r[0] for r in rows], dtype=bool)
        self.truck_fleet = np.array([r[1] for r in rows], dtype=np.int32)
        self.truck_dc = np.array([r[2] for r in rows], dtype=np.int64)
        # Trucks a DC dispatches: its own fleet, else the shared pool, else supplier trucks.
        pool = np.flatnonzero(self.truck_fleet == 1)
        fallback = pool if len(pool) else np.flatnonzero(self.truck_fleet == 2)
        if not len(rows):
            raise GeneratorConfigError("the configuration has no trucks; set dc_*_trucks or supplier_*_trucks above 0")
        if not len(fallback):
            fallback = np.arange(len(rows))
        self.dc_trucks = [np.flatnonzero(self.truck_dc == d) if (self.truck_dc == d).any() else fallback for d in range(c.dcs)]

    # ---- products -------------------------------------------------------------------------

    def _build_products(self) -> None:
        """Products as (brand, item, variant, pack size) combinations; pack sizes exist only where the
        subcategory is sold in packs (dictionaries.PACK_SIZES), so no "Laptop 3-Pack"."""
        c = self.config
        rng = stream(c.seed, "products")
        shares = np.array([dic.DEPARTMENT_PRODUCT_SHARE[d] for d in dic.DEPARTMENTS])
        counts = np.floor(shares / shares.sum() * c.products).astype(int)
        counts[np.argsort(-(shares / shares.sum() * c.products - counts))[: c.products - counts.sum()]] += 1
        single = ("", 1.0, 1.0)
        columns: dict[str, list] = {
            k: [] for k in ("name", "brand", "company", "dept", "category", "subcategory", "price", "weight", "tags", "refrigerated")
        }
        for dept_index, dept in enumerate(dic.DEPARTMENTS):
            need = counts[dept_index]
            if need == 0:
                continue
            brands = (*dic.BRANDS[dept], dic.STORE_BRAND)
            variants = dic.FOOD_VARIANTS if dept in dic.FOOD_DEPARTMENTS else dic.GOODS_VARIANTS
            combos = [
                (cat, sub, item, brand, variant, size)
                for cat, subs in dic.CATALOG[dept].items()
                for sub, entries in subs.items()
                for item in entries
                for brand in brands
                for variant in variants
                for size in (single, *dic.PACK_SIZES.get(sub, ()))
            ]
            n_combos = len(combos)
            picks = rng.permutation(n_combos)[:need] if need <= n_combos else np.arange(need)
            for combo in picks:
                repeat, combo = divmod(int(combo), n_combos)
                cat, sub, (item, lo, hi, popularity, tags), (brand, company), variant_row, size_row = combos[combo]
                (variant, variant_mult), (size, size_mult, size_pop) = variant_row, size_row
                name = " ".join(p for p in (brand, item, variant, size) if p) + (f" #{repeat + 1}" if repeat else "")
                columns["name"].append(name)
                columns["brand"].append(brand)
                columns["company"].append(company)
                columns["dept"].append(dept_index)
                columns["category"].append(cat)
                columns["subcategory"].append(sub)
                columns["price"].append((lo + (hi - lo) * rng.random() ** 2) * variant_mult * size_mult)
                brand_pop = 1.5 if brand == dic.STORE_BRAND[0] else 1.0
                variant_pop = 1.5 if variant in ("Regular", "Standard", "Original", "Classic") else 1.0
                columns["weight"].append(popularity * brand_pop * variant_pop * size_pop * rng.lognormal(0, 0.5))
                columns["tags"].append(tags)
                columns["refrigerated"].append(cat in dic.REFRIGERATED_CATEGORIES)
        order = rng.permutation(c.products)
        pick = lambda key: [columns[key][i] for i in order]
        self.prod_name = np.array(pick("name"), dtype=object)
        self.prod_brand = np.array(pick("brand"), dtype=object)
        self.prod_company = np.array(pick("company"), dtype=object)
        self.prod_dept = np.array(pick("dept"), dtype=np.int32)
        self.prod_category = np.array(pick("category"), dtype=object)
        self.prod_subcategory = np.array(pick("subcategory"), dtype=object)
        tag_text = pick("tags")
        self.prod_tags_text = np.array([t or None for t in tag_text], dtype=object)
        self.prod_tag_bits = np.array([sum(TAG_BITS[t] for t in s.split(";") if t) for s in tag_text], dtype=np.int64)
        self.prod_refrigerated = np.array(pick("refrigerated"), dtype=bool)
        base = np.array(pick("price"))
        msrp = np.maximum(49, (base * 100).astype(np.int64) // 10 * 10 + 9)
        discounted = rng.random(c.products) >= 0.6
        sale = np.where(discounted, (msrp * (1 - rng.uniform(0.05, 0.35, c.products))).astype(np.int64) // 10 * 10 + 9, msrp)
        sale = np.clip(sale, 29, msrp)
        self.prod_msrp = msrp
        self.prod_price = sale
        self.prod_price32 = sale.astype(np.int32)
        self.prod_cost = np.minimum((sale * rng.uniform(0.5, 0.85, c.products)).astype(np.int64), sale - 1)
        self.prod_weight = np.array(pick("weight"))
        dept_names = np.array(dic.DEPARTMENTS)[self.prod_dept]
        self.prod_food = np.isin(dept_names, list(dic.FOOD_DEPARTMENTS))
        taxability = np.where(self.prod_food, 1, np.where(np.isin(dept_names, list(dic.REDUCED_RATE_DEPARTMENTS)), 2, 0))
        self.prod_taxability = taxability  # index into TAXABILITY
        self.prod_tax_half_units = np.array([2, 0, 1])[taxability]  # tax multiplier in halves
        # Most products were on sale before the simulated history; 15 % launch during its first year,
        # always on the first of a month so a month's assortment is fixed.
        launched_later = rng.random(c.products) < 0.15
        later_month = rng.integers(1, 13, c.products)
        first = month_index(c.first_month)
        before = c.first_month - dt.timedelta(days=1)
        early_days = rng.integers(180, 1500, c.products)
        self.prod_launch = np.array(
            [
                from_month_index(first + int(m)) if late else before - dt.timedelta(days=int(d))
                for late, m, d in zip(launched_later, later_month, early_days, strict=True)
            ],
            dtype="datetime64[D]",
        )
        self.prod_launch_ordinal = (self.prod_launch - np.datetime64(cal.EPOCH, "D")).astype(np.int32)

    # ---- customers ------------------------------------------------------------------------

    def _build_customers(self) -> None:
        c = self.config
        rng = stream(c.seed, "customers")
        p = self.geo_weight / self.geo_weight.sum()
        self.cust_geo0 = rng.choice(c.geographies, size=c.customers, p=p).astype(np.int32)
        ids = np.arange(1, c.customers + 1, dtype=np.uint64)
        self.cust_first = (hash64(ids, stream_salt(c.seed, "first_name")) % np.uint64(len(dic.FIRST_NAMES))).astype(np.int32)
        self.cust_last = (hash64(ids, stream_salt(c.seed, "last_name")) % np.uint64(len(dic.LAST_NAMES))).astype(np.int32)
        self._build_lifecycles(ids)
        # Stores per geography, and for geographies without one the nearest store.
        d = haversine_miles(self.geo_lat[:, None], self.geo_lon[:, None], self.store_lat[None, :], self.store_lon[None, :])
        self.geo_stores = []
        for g in range(c.geographies):
            local = np.flatnonzero(self.store_geo == g)
            self.geo_stores.append(local if len(local) else np.array([int(np.argmin(d[g]))]))
        self.geo_store_count = np.array([len(s) for s in self.geo_stores])
        width = self.geo_store_count.max()
        self.geo_store_table = np.array([np.resize(s, width) for s in self.geo_stores])
        self.geo_nearest_dc = np.argmin(
            haversine_miles(self.geo_lat[:, None], self.geo_lon[:, None], self.dc_lat[None, :], self.dc_lon[None, :]), axis=1
        )

    def _build_lifecycles(self, ids: np.ndarray) -> None:
        """When each customer joins and lapses, and how often they shop while active.

        Grocers lose 14-31 % of customers a month (upside.com) and most loyalty members within a year,
        and acquisition never stops. A share ``1 / (1 + churn x months)`` of the customers is the base
        already shopping in first_month; the others join evenly over the next
        customer_acquisition_months, so joiners replace lapsers and the active base stays level.
        Every active customer lapses with probability customer_churn_rate a month (geometric tenure,
        at least one month). Visit rates are gamma(2)-distributed around 1: a few shop weekly or
        more, some only now and then.
        """
        c = self.config
        churn, months = c.customer_churn_rate, c.customer_acquisition_months
        base = 1.0 / (1.0 + churn * months)
        u_join = uniform(ids, stream_salt(c.seed, "customer_join"))
        later = np.floor((u_join - base) / (1 - base) * months).astype(np.int64) + 1
        self.cust_join = np.where(u_join < base, 0, np.minimum(later, months))
        u_stay = uniform(ids, stream_salt(c.seed, "customer_tenure"))
        if churn > 0:
            tenure = 1 + np.floor(np.minimum(np.log1p(-u_stay) / np.log1p(-churn), 100_000)).astype(np.int64)
        else:
            tenure = np.full(len(ids), 100_000, dtype=np.int64)
        self.cust_leave = self.cust_join + tenure
        u1 = uniform(ids, stream_salt(c.seed, "visit_rate_1"))
        u2 = uniform(ids, stream_salt(c.seed, "visit_rate_2"))
        self.cust_visit_rate = -(np.log1p(-u1) + np.log1p(-u2)) / 2

    @lru_cache(maxsize=64)  # noqa: B019
    def customers_at(self, month: dt.date) -> CustomerState:
        """Customers as of ``month``: a small share moves every month after first_month; customers
        join and lapse (see _build_lifecycles)."""
        c = self.config
        geo = self.cust_geo0.copy()
        address_seed = np.zeros(c.customers, dtype=np.int64)
        ids = np.arange(1, c.customers + 1, dtype=np.uint64)
        cum = cumulative(self.geo_weight)
        for m in range(month_index(c.first_month) + 1, month_index(month) + 1):
            key = ids * np.uint64(1 << 20) + np.uint64(m)
            moving = np.flatnonzero(uniform(key, stream_salt(c.seed, "customer_move")) < c.customer_move_rate)
            if len(moving):
                geo[moving] = np.searchsorted(cum, uniform(key[moving], stream_salt(c.seed, "customer_move_to")), side="right").clip(
                    0, c.geographies - 1
                )
                address_seed[moving] = m
        pick = (hash64(ids, stream_salt(c.seed, "home_store")) % np.uint64(1 << 30)).astype(np.int64)
        home = self.geo_store_table[geo, pick % self.geo_store_count[geo]]
        offset = max(month_index(month) - month_index(c.first_month), 0)
        active = (self.cust_join <= offset) & (offset < self.cust_leave)
        members = np.flatnonzero(active)
        order = members[np.argsort(home[members], kind="stable")]
        size = np.bincount(home[members], minlength=c.stores)
        start = np.concatenate([[0], np.cumsum(size)[:-1]])
        cum = np.concatenate([[0.0], np.cumsum(self.cust_visit_rate[order])])
        return CustomerState(geo, address_seed, home, active, order, start, size, cum)

    # ---- expected demand (par levels) -----------------------------------------------------

    @cached_property
    def expected_receipts_per_day(self) -> np.ndarray:
        """Mean receipts per store-day over a year, from the traffic model."""
        from retail_assets.lib.generator.receipts import hours_factor

        base = self._store_base
        return (
            self.config.receipts_per_store_day
            * base.traffic
            * float(np.mean(cal.SEASON))
            * float(np.mean(cal.WEEKDAY))
            * hours_factor(base.open_hour, base.close_hour, cal.HOURLY_WEEKDAY)
        )

    @cached_property
    def store_daily_demand(self) -> np.ndarray:
        """Expected units per day per (store, product): the basis of par levels."""
        from retail_assets.lib.generator.online import store_units_per_order
        from retail_assets.lib.generator.receipts import expected_line_share, mean_lines

        fmt = self._store_base.store_format
        lines = self.expected_receipts_per_day * mean_lines(fmt, self.config.known_customer_share)
        share = expected_line_share(self)  # (n_formats, n_products)
        qty = np.where(self.prod_food, 1.4, 1.1)
        demand = lines[:, None] * share[fmt] * qty[None, :]
        online = self.config.online_orders_per_day * store_units_per_order(self, self.config.first_month) / self.config.stores
        return demand + online * share[STANDARD][None, :]

    @cached_property
    def dc_daily_demand(self) -> np.ndarray:
        c = self.config
        out = np.zeros((c.dcs, c.products))
        np.add.at(out, self.store_dc, self.store_daily_demand)
        return out

    @cached_property
    def dc_par(self) -> np.ndarray:
        mu = self.dc_daily_demand * self.config.dc_cover_days
        return np.ceil(mu + 3 * np.sqrt(mu) + 10).astype(np.int32)

    @cached_property
    def dc_reorder_point(self) -> np.ndarray:
        return np.ceil(self.dc_daily_demand * 3).astype(np.int32)

    # ---- dimension frames -----------------------------------------------------------------

    def _addresses(self, numbers: np.ndarray, keys: np.ndarray, geo: np.ndarray, salt: str) -> pl.Series:
        s = stream_salt(self.config.seed, salt)
        h = hash64(keys.astype(np.uint64), s)
        street = (h % np.uint64(len(dic.STREET_NAMES))).astype(np.int64)
        kind = ((h >> np.uint64(16)) % np.uint64(len(dic.STREET_TYPES))).astype(np.int64)
        prefix = ((h >> np.uint64(32)) % np.uint64(len(dic.STREET_PREFIXES))).astype(np.int64)
        df = pl.DataFrame(
            {
                "n": numbers.astype(np.int64),
                "p": _lut(dic.STREET_PREFIXES).gather(prefix),
                "s": _lut(dic.STREET_NAMES).gather(street),
                "t": _lut(dic.STREET_TYPES).gather(kind),
                "c": _lut(self.geo_city).gather(geo),
                "st": _lut(self.geo_state).gather(geo),
                "z": _lut(self.geo_zip).gather(geo),
            }
        )
        return df.select(pl.format("{} {}{} {}, {}, {} {}", "n", "p", "s", "t", "c", "st", "z").alias("address")).to_series()

    def dim_geographies(self) -> pl.DataFrame:
        return _shape(
            "dim_geographies",
            {
                "geography_id": np.arange(1, self.config.geographies + 1),
                "city": self.geo_city,
                "state": self.geo_state,
                "zip_code": self.geo_zip,
                "district": self.geo_district,
                "region": self.geo_region,
                "latitude": self.geo_lat,
                "longitude": self.geo_lon,
            },
        )

    def dim_distribution_centers(self) -> pl.DataFrame:
        n = self.config.dcs
        ids = np.arange(1, n + 1)
        return _shape(
            "dim_distribution_centers",
            {
                "dc_id": ids,
                "dc_number": [f"DC{i:03d}" for i in ids],
                "address": self._addresses(self.dc_street, ids, self.dc_geo, "dc_address"),
                "geography_id": self.dc_geo + 1,
            },
        )

    def dim_stores(self, month: dt.date) -> pl.DataFrame:
        state = self.stores_at(month)
        n = self.config.stores
        ids = np.arange(1, n + 1)
        return _shape(
            "dim_stores",
            {
                "store_id": ids,
                "store_number": [f"S{i:06d}" for i in ids],
                "address": self._addresses(self.store_street, ids, self.store_geo, "store_address"),
                "geography_id": self.store_geo + 1,
                "time_zone": np.array(self.zones)[self.store_zone],
                "tax_rate_bps": self.store_tax_bps,
                "volume_class": np.array(VOLUME_CLASSES)[state.volume_class],
                "store_format": np.array(STORE_FORMATS)[state.store_format],
                "operating_hours": np.array(HOURS_LABELS)[state.hours],
                "open_hour": state.open_hour,
                "close_hour": state.close_hour,
                "daily_traffic_multiplier": state.traffic,
            },
        )

    def dim_trucks(self) -> pl.DataFrame:
        n = len(self.truck_fleet)
        ids = np.arange(1, n + 1, dtype=np.int64)
        plate = (ids * 7919 + 104729) % (26**3 * 10_000)
        letters = plate // 10_000
        alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        plates = [
            f"{alphabet[lt // 676]}{alphabet[lt // 26 % 26]}{alphabet[lt % 26]}{num:04d}"
            for lt, num in zip(letters, plate % 10_000, strict=True)
        ]
        dc = np.where(self.truck_dc >= 0, self.truck_dc + 1, 0)
        return _shape(
            "dim_trucks",
            {
                "truck_id": ids,
                "license_plate": plates,
                "is_refrigerated": self.truck_refrigerated,
                "fleet": np.array(TRUCK_FLEETS)[self.truck_fleet],
                "dc_id": pl.Series(dc).replace(0, None),
            },
        )

    def dim_products(self) -> pl.DataFrame:
        return _shape(
            "dim_products",
            {
                "product_id": np.arange(1, self.config.products + 1),
                "product_name": self.prod_name.tolist(),
                "brand": self.prod_brand.tolist(),
                "company": self.prod_company.tolist(),
                "department": np.array(dic.DEPARTMENTS)[self.prod_dept],
                "category": self.prod_category.tolist(),
                "subcategory": self.prod_subcategory.tolist(),
                "cost_cents": self.prod_cost,
                "msrp_cents": self.prod_msrp,
                "sale_price_cents": self.prod_price,
                "requires_refrigeration": self.prod_refrigerated,
                "launch_date": self.prod_launch,
                "taxability": np.array(TAXABILITY)[self.prod_taxability],
                "tags": self.prod_tags_text.tolist(),
            },
        )

    def dim_customers(self, month: dt.date) -> pl.DataFrame:
        c = self.config
        state = self.customers_at(month)
        ids = np.arange(1, c.customers + 1, dtype=np.int64)
        key = ids * 4096 + state.address_seed
        numbers = 100 + (hash64(key.astype(np.uint64), stream_salt(c.seed, "house_number")) % np.uint64(9900)).astype(np.int64)
        h = hash64(ids.astype(np.uint64), stream_salt(c.seed, "phone"))
        area = np.array([555, 800, 888, 877, 866])[(h % np.uint64(5)).astype(np.int64)]
        exchange = 200 + ((h >> np.uint64(8)) % np.uint64(800)).astype(np.int64)
        line = ((h >> np.uint64(24)) % np.uint64(10_000)).astype(np.int64)
        check = ((h >> np.uint64(40)) % np.uint64(1000)).astype(np.int64)
        id_width = max(6, len(str(c.customers)))
        frame = pl.DataFrame(
            {
                "customer_id": ids,
                "first_name": _lut(dic.FIRST_NAMES).gather(self.cust_first),
                "last_name": _lut(dic.LAST_NAMES).gather(self.cust_last),
                "address": self._addresses(numbers, key, state.geography, "customer_address"),
                "geography_id": state.geography.astype(np.int64) + 1,
                "_id": ids,
                "_check": check,
                "_area": area,
                "_exchange": exchange,
                "_line": line,
            }
        ).with_columns(
            pl.format(
                "LC{}{}",
                pl.col("_id").cast(pl.String).str.zfill(id_width),
                pl.col("_check").cast(pl.String).str.zfill(3),
            ).alias("loyalty_card"),
            pl.format(
                "({}) {}-{}",
                pl.col("_area").cast(pl.String),
                pl.col("_exchange").cast(pl.String),
                pl.col("_line").cast(pl.String).str.zfill(4),
            ).alias("phone"),
            pl.lit(self.customer_ble_ids),
            pl.lit(self.customer_ad_ids),
        )
        return _shape("dim_customers", frame)

    def _device_ids(self, prefix: str, multiplier: int, offset: int) -> pl.Series:
        """prefix + 8 base-36 characters per customer (index = customer_id - 1); unique by construction."""
        ids = np.arange(1, self.config.customers + 1, dtype=np.int64)
        suffix = _base36((ids * multiplier + offset) % 36**8, 8)
        return pl.select(pl.concat_str(pl.lit(prefix), pl.lit(suffix))).to_series()

    @cached_property
    def customer_ble_ids(self) -> pl.Series:
        """Bluetooth device id of each customer's phone (dim_customers.ble_id)."""
        return self._device_ids("BLE", 1_000_003, 17).alias("ble_id")

    @cached_property
    def customer_ad_ids(self) -> pl.Series:
        """Advertising id of each customer's devices (dim_customers.ad_id)."""
        return self._device_ids("AD", 2_000_029, 91).alias("ad_id")


def _shape(table: str, data) -> pl.DataFrame:
    """A frame with exactly the spec's columns, in spec order, with spec dtypes."""
    schema = polars_schema(REGISTRY.table(table).columns)
    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
    return frame.select([pl.col(n).cast(t) for n, t in schema.items()])


@lru_cache(maxsize=4)
def world_for(config: GeneratorConfig) -> World:
    """One World per configuration and process."""
    return World(config)
