"""In-store sales: shoppers per store-hour, baskets by department, promotions, tax and money.

Every attribute of a receipt and of its lines is a hash of the receipt's key (day, store, sequence
number) and a stream name, so :func:`build_receipts` produces the same receipt whether it is
called for a whole day or for a handful of keys (a return re-creating the sale it refers to, an
ad journey looking ahead at next month's purchases). Only the number of receipts per store-hour
comes from a per-day random stream, which is regenerated identically on demand.

Money (integer cents): ``ext = unit x qty - discount``; ``tax = round(ext x rate x taxability)``
per line; receipt ``subtotal = sum(ext)``, ``gross_subtotal - discount = subtotal``,
``total = subtotal + tax``. The discount is subtracted once (the reference subtracted it twice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator import dictionaries as dic
from retail_assets.lib.generator import shelf
from retail_assets.lib.generator.clock import Clock
from retail_assets.lib.generator.rng import cumulative, split_uniforms, stream, stream_salt, uniform
from retail_assets.lib.specs.facts import PAYMENT_METHODS

# Shopper missions (dunnhumby / FMI): a top-up or quick trip of a few items, the main weekly shop,
# a family stock-up and a bulk (pantry-loading) trip. Lines per mission [min, max].
QUICK, GROCERY, FAMILY, BULK = range(4)
BASKET_LINES = np.array([[1, 4], [5, 12], [9, 20], [15, 28]])
# Mission mix per shopper segment (budget, convenience, quality, brand-loyal) and anonymous shoppers:
# over half of all trips are top-ups, so most baskets hold 6 items or fewer.
SEGMENT_SHARE = np.array([0.35, 0.25, 0.20, 0.20])
BASKET_BY_SEGMENT = np.array(
    [
        [0.45, 0.33, 0.17, 0.05],
        [0.70, 0.24, 0.05, 0.01],
        [0.50, 0.36, 0.12, 0.02],
        [0.50, 0.34, 0.13, 0.03],
        [0.62, 0.28, 0.08, 0.02],
    ]
)
BASKET_CUM = np.cumsum(BASKET_BY_SEGMENT, axis=1)
# Lines scale by store format (hypermarket, superstore, standard, neighborhood, express).
FORMAT_LINE_SCALE = np.array([1.15, 1.05, 1.0, 0.85, 1.0])
EXPRESS = 4
# Share of a basket's lines per department (dictionaries.DEPARTMENTS order), per mission: a top-up is
# food and drink; bigger trips add household, personal care, pet and baby lines. General merchandise
# stays a small share of lines (its higher prices make it ~45 % of value).
DEPARTMENT_MIX = np.array(
    [
        [0.825, 0.045, 0.055, 0.01, 0.005, 0.005, 0.01, 0.015, 0.005, 0.01, 0.005, 0.01],
        [0.755, 0.075, 0.065, 0.015, 0.005, 0.015, 0.02, 0.025, 0.005, 0.005, 0.005, 0.01],
        [0.69, 0.095, 0.075, 0.025, 0.01, 0.025, 0.035, 0.025, 0.005, 0.005, 0.005, 0.005],
        [0.65, 0.125, 0.075, 0.025, 0.01, 0.02, 0.035, 0.035, 0.005, 0.01, 0.005, 0.005],
    ]
)

# Tender codes: positions in the spec's PAYMENT_METHODS (the generator draws codes, tables.py names them).
CREDIT, DEBIT, CASH, MOBILE, PAYPAL, CHECK, OTHER = (
    PAYMENT_METHODS.index(m) for m in ("CREDIT_CARD", "DEBIT_CARD", "CASH", "MOBILE_PAY", "PAYPAL", "CHECK", "OTHER")
)
# Tender by basket size (Atlanta Fed diary: cash is small payments): P(cash) = floor + extra x
# exp(-total / scale), higher for shoppers without a loyalty card; card payments split credit /
# debit / mobile (Fed Diary 2024, FMI grocery).
CASH_FLOOR, CASH_SMALL, CASH_SCALE_CENTS, CASH_ANONYMOUS = 0.05, 0.26, 3000.0, 1.4
NON_CASH = np.array([CREDIT, DEBIT, MOBILE])
NON_CASH_CUM = cumulative([0.40, 0.46, 0.14])

# Promotion codes: (code, percent, minimum gross cents, months (None = all), departments (None = all),
# is BOGO, is a shelf promotion). Shelf promotions are set per product and ISO week for the whole chain
# (temporary price reductions TPRnn and the multi-buy BOGO50: the second unit half price); the other
# codes are coupons a shopper presents, one per receipt at most, on lines not already on a shelf promotion.
_APPAREL_TECH = ("Clothing", "Electronics")
_MULTIBUY_DEPARTMENTS = frozenset({"Grocery", "Household", "Health & Beauty", "Pet Supplies"})
PROMOTIONS: tuple[tuple[str, int, int, frozenset | None, frozenset | None, bool, bool], ...] = (
    ("SAVE10", 10, 0, None, None, False, False),
    ("SAVE15", 15, 2500, None, None, False, False),
    ("SAVE20", 20, 5000, None, None, False, False),
    ("SAVE25", 25, 7500, None, None, False, False),
    ("BOGO50", 50, 0, None, _MULTIBUY_DEPARTMENTS, True, True),
    ("CLEARANCE30", 30, 0, None, frozenset({*_APPAREL_TECH, "Home & Garden"}), False, False),
    ("CLEARANCE50", 50, 0, frozenset({1, 2, 7, 8}), frozenset(_APPAREL_TECH), False, False),
    ("BFRIDAY30", 30, 0, frozenset({11}), None, False, False),
    ("BFRIDAY40", 40, 10000, frozenset({11}), None, False, False),
    ("SUMMER25", 25, 0, frozenset({6, 7, 8}), None, False, False),
    ("BACKTOSCHOOL", 20, 0, frozenset({8, 9}), frozenset({*_APPAREL_TECH, "Office Supplies"}), False, False),
    ("HOLIDAY20", 20, 0, frozenset({12}), None, False, False),
    ("NEWYEAR15", 15, 0, frozenset({1, 2}), None, False, False),
    ("TPR10", 10, 0, None, None, False, True),
    ("TPR15", 15, 0, None, None, False, True),
    ("TPR20", 20, 0, None, None, False, True),
    ("TPR25", 25, 0, None, None, False, True),
    ("TPR30", 30, 0, None, None, False, True),
)
PROMO_CODES = tuple(p[0] for p in PROMOTIONS)
PROMO_PCT = np.array([p[1] for p in PROMOTIONS])
PROMO_MIN = np.array([p[2] for p in PROMOTIONS])
PROMO_BOGO = np.array([p[5] for p in PROMOTIONS])
PROMO_SHELF = np.array([p[6] for p in PROMOTIONS])
PROMO_DEPT = np.array([[p[4] is None or d in p[4] for d in dic.DEPARTMENTS] for p in PROMOTIONS], dtype=bool)  # (codes, departments)
MULTIBUY = PROMO_CODES.index("BOGO50")
TPR = np.array([PROMO_CODES.index(f"TPR{pct}") for pct in (10, 15, 20, 25, 30)])
TPR_DEPTH_CUM = cumulative([0.25, 0.25, 0.25, 0.15, 0.10])
# Share of product-weeks on a shelf promotion (before the month's promotional intensity), and how
# much more a promoted product sells that week (Nielsen: ~31 % of units sold on promotion).
TPR_RATE, MULTIBUY_RATE = 0.10, 0.045
TPR_LIFT, MULTIBUY_LIFT = 1.8, 2.0
# Share of shoppers of each segment presenting a coupon (times the month's promotional intensity).
SEGMENT_PROMO_RATE = np.array([0.12, 0.03, 0.04, 0.06, 0.02])

HOLIDAY_BUMP_MAX_CENTS = 2000

LINE_BITS = 6  # up to 63 lines per receipt
MAX_LINES = (1 << LINE_BITS) - 1


def receipt_key(day: np.ndarray, store: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """(day ordinal: 16 bits, store index: 12 bits, sequence in the store-day: 18 bits)."""
    return (day.astype(np.uint64) << np.uint64(30)) | (store.astype(np.uint64) << np.uint64(18)) | seq.astype(np.uint64)


def hours_factor(open_hour, close_hour, curve: np.ndarray) -> np.ndarray:
    """Longer opening hours bring somewhat more shoppers (square root of the extra curve mass);
    1.0 for standard hours (08-22), so receipts_per_store_day is a standard store's figure."""
    cum = np.concatenate([[0.0], np.cumsum(curve)])
    open_mass = cum[np.asarray(close_hour)] - cum[np.asarray(open_hour)]
    reference = cum[22] - cum[8]
    return np.sqrt(open_mass / reference)


def basket_type_share(known_share: float) -> np.ndarray:
    known = SEGMENT_SHARE @ BASKET_BY_SEGMENT[:4]
    return known_share * known + (1 - known_share) * BASKET_BY_SEGMENT[4]


def mean_lines(fmt: np.ndarray, known_share: float) -> np.ndarray:
    share = basket_type_share(known_share)
    per_type = BASKET_LINES.mean(axis=1)
    regular = (share * per_type).sum() * FORMAT_LINE_SCALE[fmt]
    return np.where(fmt == EXPRESS, per_type[QUICK], regular)


def expected_line_share(world) -> np.ndarray:
    """(store format, product) -> expected share of a receipt line being that product."""
    weights = world.prod_weight
    dept = world.prod_dept
    dept_total = np.bincount(dept, weights=weights, minlength=len(dic.DEPARTMENTS))
    within = weights / np.where(dept_total[dept] > 0, dept_total[dept], 1)
    share = basket_type_share(world.config.known_customer_share)
    lines = BASKET_LINES.mean(axis=1)
    mix = (share * lines) @ DEPARTMENT_MIX / (share * lines).sum()
    regular = mix[dept] * within
    quick = DEPARTMENT_MIX[QUICK][dept] * within
    return np.stack([regular, regular, regular, regular, quick])


@dataclass
class ProductDay:
    """Which products can be bought on a day and how likely each is."""

    weights: np.ndarray  # (products,) popularity today, 0 before launch
    dept: np.ndarray  # (products,) department index
    bump: np.ndarray  # (products,) extra-quantity level from holiday demand: 0, 1 or 2
    promo: np.ndarray  # (products,) shelf promotion code index this week, -1 when none
    tables: dict

    def table(self, mix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stacked cumulative product distributions, one per row of ``mix`` (row r shifted by r), and
        a guide table: the first candidate position for each of 2 x len(table) equal slices."""
        key = mix.tobytes()
        if key not in self.tables:
            totals = np.bincount(self.dept, weights=self.weights, minlength=mix.shape[1])
            within = self.weights / np.where(totals > 0, totals, 1.0)[self.dept]
            rows = mix * (totals > 0)
            rows = rows / rows.sum(axis=1, keepdims=True)
            cum = np.cumsum(rows[:, self.dept] * within[None, :], axis=1)
            cum /= cum[:, -1:]
            cum[:, -1] = 1.0
            table = (cum + np.arange(len(mix))[:, None]).ravel()
            slices = 2 * len(table)
            guide = np.searchsorted(table, np.arange(slices) * (len(mix) / slices), side="right")
            self.tables[key] = (table, guide)
        return self.tables[key]


def product_day(world, day: dt.date) -> ProductDay:
    cache = world.day_cache("product_days")
    if day not in cache:
        launched = world.prod_launch_ordinal <= cal.ordinal(day)
        tag_mult = np.ones(world.config.products)
        for bit, mult in enumerate(cal.tag_multipliers(day)):
            if mult != 1.0:
                has = (world.prod_tag_bits >> bit) & 1 == 1
                tag_mult = np.where(has, np.maximum(tag_mult, mult), tag_mult)
        # Holiday demand adds units of cheap items (a second bag of candy), not a second TV.
        level = np.where(tag_mult >= 3, 2, np.where(tag_mult >= 1.5, 1, 0))
        bump = np.where(world.prod_price >= HOLIDAY_BUMP_MAX_CENTS, 0, level).astype(np.int64)
        promo = shelf_promotions(world, day)
        lift = np.where(promo == MULTIBUY, MULTIBUY_LIFT, np.where(promo >= 0, TPR_LIFT, 1.0))
        cache[day] = ProductDay(world.prod_weight * tag_mult * launched * lift, world.prod_dept, bump, promo, {})
    return cache[day]


def shelf_promotions(world, day: dt.date) -> np.ndarray:
    """Shelf promotion code per product in ``day``'s ISO week (-1 when none), a hash of (seed, product,
    week): the same all week in every store, so a price reduction runs Monday to Sunday chain-wide.
    The week's share of promoted products follows the promotional intensity of the month its Thursday
    falls in (more in November and December)."""
    cache = world.day_cache("shelf_promotions")
    monday = cal.ordinal(day) - day.weekday()
    if monday not in cache:
        intensity = np.sqrt(cal.promo_month_multiplier(cal.from_ordinal(monday + 3)))
        product = np.arange(world.config.products, dtype=np.uint64)
        u_kind, u_depth, _ = split_uniforms(product | (np.uint64(monday) << np.uint64(24)), stream_salt(world.config.seed, "shelf_promo"))
        multibuy = PROMO_DEPT[MULTIBUY, world.prod_dept] & (u_kind < MULTIBUY_RATE * intensity)
        tpr = ~multibuy & (u_kind >= 1 - TPR_RATE * intensity)
        depth = TPR[np.searchsorted(TPR_DEPTH_CUM, u_depth, side="right").clip(0, len(TPR) - 1)]
        cache[monday] = np.where(multibuy, MULTIBUY, np.where(tpr, depth, -1)).astype(np.int8)
    return cache[monday]


def draw_products(world, day: dt.date, mix: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Product index per line: ``row`` picks the department mix (a row of ``mix``), ``u`` the product.

    Inverse-CDF sampling; the guide table makes it a lookup plus a step or two instead of a binary search.
    """
    table, guide = product_day(world, day).table(mix)
    n_products = world.config.products
    q = row + u
    pos = guide[(q * (len(guide) / len(mix))).astype(np.int64)]
    while True:
        behind = table[pos] <= q
        if not behind.any():
            break
        pos += behind
    return (pos - row * n_products).astype(np.int32)


def line_quantity(world, day: dt.date, product: np.ndarray, u_qty: np.ndarray, u_bump: np.ndarray) -> np.ndarray:
    """Units on a line: mostly one, food sometimes two or three, more on holiday demand; a multi-buy
    is taken as at least two units (the deal needs them)."""
    food = world.prod_food[product]
    base = np.where(food, np.where(u_qty < 0.7, 1, np.where(u_qty < 0.9, 2, 3)), np.where(u_qty < 0.9, 1, 2))
    pday = product_day(world, day)
    qty = base + (u_bump * (pday.bump[product] + 1)).astype(np.int32)
    return np.where(pday.promo[product] == MULTIBUY, np.maximum(qty, 2), qty).astype(np.int32)


def tax_cents(ext: np.ndarray, rate_bps: np.ndarray, half_units: np.ndarray) -> np.ndarray:
    """round(ext x rate x taxability), half away from zero, in integer arithmetic."""
    num = ext.astype(np.int64) * rate_bps * half_units
    return (np.sign(num) * ((np.abs(num) * 2 + 20000) // 40000)).astype(ext.dtype)


@lru_cache(maxsize=1024)
def _weather(seed: int, n_geos: int, day: dt.date) -> np.ndarray:
    """Traffic multiplier of the day's weather per geography (sunny, cloudy, rain, snow, storm). Divided
    by the season's mean, so weather moves shoppers between days but the month's level is SEASON's
    (Census MRTS), not the share of snowy days; grocery trips are postponed, rarely skipped, so a
    storm costs ~10 %, not the 30 % of discretionary retail."""
    month = day.month
    if month in (12, 1, 2):
        probs = [0.2, 0.3, 0.1, 0.3, 0.1]
    elif month in (3, 4, 5):
        probs = [0.4, 0.3, 0.3, 0.0, 0.0]
    elif month in (6, 7, 8):
        probs = [0.6, 0.3, 0.1, 0.0, 0.0]
    else:
        probs = [0.3, 0.4, 0.2, 0.1, 0.0]
    mult = np.array([1.03, 1.0, 0.96, 0.93, 0.88])
    u = uniform(np.arange(n_geos, dtype=np.uint64) + np.uint64(cal.ordinal(day) << 12), stream_salt(seed, "weather"))
    return mult[np.searchsorted(cumulative(probs), u, side="right").clip(0, 4)] / float(np.dot(probs, mult))


def day_counts(world, day: dt.date) -> np.ndarray:
    """Receipts per (store, local hour) on ``day``; zero while a store is closed."""
    cache = world.day_cache("day_counts")
    if day not in cache:
        cache[day] = _day_counts(world, day)
    return cache[day]


def _day_counts(world, day: dt.date) -> np.ndarray:
    c = world.config
    state = world.stores_at(day.replace(day=1))
    n = c.stores
    if cal.store_closed(day):
        return np.zeros((n, 24), dtype=np.int64)
    curve = cal.hourly_curve(day)
    open_h, close_h = state.open_hour, state.close_hour
    hours = np.arange(24)
    is_open = (hours[None, :] >= open_h[:, None]) & (hours[None, :] < close_h[:, None])
    shape = curve[None, :] * is_open
    shape = shape / shape.sum(axis=1, keepdims=True)
    weather = _weather(c.seed, c.geographies, day)[world.store_geo]
    daily = (
        c.receipts_per_store_day
        * state.traffic
        * cal.season(day)
        * cal.weekday_factor(day)
        * cal.traffic_holiday_multiplier(day)
        * weather
        * hours_factor(open_h, close_h, curve)
    )
    lam = daily[:, None] * shape
    return stream(c.seed, "traffic", cal.ordinal(day)).poisson(lam).astype(np.int64)


@dataclass
class ReceiptBatch:
    """Receipts (one entry per receipt) and their lines (one entry per line), as arrays."""

    key: np.ndarray
    store: np.ndarray
    day: np.ndarray
    seq: np.ndarray
    hour: np.ndarray
    ts_local: np.ndarray  # naive local time, microseconds since 1970-01-01
    ts: np.ndarray  # UTC microseconds since 1970-01-01
    customer: np.ndarray  # customer id, 0 when unknown
    segment: np.ndarray
    basket: np.ndarray
    n_lines: np.ndarray
    line_start: np.ndarray
    tender: np.ndarray
    gross: np.ndarray
    discount: np.ndarray
    subtotal: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    items: np.ndarray
    attributed: np.ndarray
    # lines
    line_receipt: np.ndarray
    line_number: np.ndarray
    line_product: np.ndarray
    line_qty: np.ndarray
    line_unit: np.ndarray
    line_discount: np.ndarray
    line_promo: np.ndarray  # PROMOTIONS index of the line's discount (int8), -1 when none
    line_ext: np.ndarray
    line_tax: np.ndarray
    # lines shoppers wanted but left out because the shelf was empty (shelf.sell_from_shelves)
    lost_receipt: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lost_product: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lost_qty: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def size(self) -> int:
        return len(self.key)

    def take(self, mask: np.ndarray) -> ReceiptBatch:
        """The receipts selected by a boolean mask, with their lines."""
        index = np.flatnonzero(mask)
        counts = self.n_lines[index]
        line_index = np.repeat(self.line_start[index], counts) + _ranks(counts)
        new_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        receipt_fields = {
            f: getattr(self, f)[index]
            for f in (
                "key",
                "store",
                "day",
                "seq",
                "hour",
                "ts_local",
                "ts",
                "customer",
                "segment",
                "basket",
                "n_lines",
                "tender",
                "gross",
                "discount",
                "subtotal",
                "tax",
                "total",
                "items",
                "attributed",
            )
        }
        line_fields = {
            f: getattr(self, f)[line_index]
            for f in ("line_number", "line_product", "line_qty", "line_unit", "line_discount", "line_promo", "line_ext", "line_tax")
        }
        position = np.full(self.size, -1, dtype=np.int64)
        position[index] = np.arange(len(index))
        lost = position[self.lost_receipt] >= 0
        return ReceiptBatch(
            **receipt_fields,
            line_start=new_start,
            line_receipt=np.repeat(np.arange(len(index)), counts),
            **line_fields,
            lost_receipt=position[self.lost_receipt[lost]],
            lost_product=self.lost_product[lost],
            lost_qty=self.lost_qty[lost],
        )


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..n-1 within each group of ``counts`` consecutive items."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def day_receipt_keys(world, day: dt.date, hours: tuple[int, int] = (0, 24)) -> tuple[np.ndarray, ...]:
    """(store, seq, hour, rank, n_in_hour) of every receipt of ``day`` in local hours [lo, hi)."""
    counts = day_counts(world, day)
    store, hour = np.nonzero(counts)
    n = counts[store, hour]
    start = (np.cumsum(counts, axis=1) - counts)[store, hour]
    keep = (hour >= hours[0]) & (hour < hours[1])
    store, hour, n, start = store[keep], hour[keep], n[keep], start[keep]
    rank = _ranks(n)
    return (
        np.repeat(store, n),
        np.repeat(start, n) + rank,
        np.repeat(hour, n),
        rank,
        np.repeat(n, n),
    )


def locate_receipts(world, day: dt.date, store: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, ...]:
    """(hour, rank, n_in_hour) of given receipts of ``day``; seq must exist."""
    counts = day_counts(world, day)
    cum = np.cumsum(counts, axis=1)
    hour = (seq[:, None] >= cum[store]).sum(axis=1)
    n = counts[store, hour]
    rank = seq - (cum[store, hour] - n)
    return hour, rank, n


def build_receipts(
    world,
    clock: Clock,
    day: dt.date,
    store: np.ndarray,
    seq: np.ndarray,
    hour: np.ndarray,
    rank: np.ndarray,
    n_in_hour: np.ndarray,
) -> ReceiptBatch:
    """Receipts of ``day`` identified by (store, seq), with their lines, promotions and money."""
    c = world.config
    seed = c.seed
    ordinal = cal.ordinal(day)
    n = len(store)
    days = np.full(n, ordinal, dtype=np.int64)
    key = receipt_key(days, store, seq)
    u = lambda name: uniform(key, stream_salt(seed, name))

    # Time within the hour: ordered by sequence, never on the exact hour boundary.
    hour_us = cal.US_PER_HOUR - 2000
    offset = 1000 + ((rank + u("ts")) / n_in_hour * hour_us).astype(np.int64)
    local_us = hour.astype(np.int64) * cal.US_PER_HOUR + offset
    ts_local = (ordinal + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY + local_us
    ts = clock.local_to_utc(world.store_zone[store], days, local_us)

    # Customer: a loyal shopper of this store (its home pool), a visitor, or unknown.
    customer = _customers(world, day, key, store)
    known = customer > 0
    segment = np.where(
        known,
        np.searchsorted(np.cumsum(SEGMENT_SHARE), uniform(customer.astype(np.uint64), stream_salt(seed, "segment")), side="right").clip(
            0, 3
        ),
        4,
    )

    # Mission: how many lines the trip has.
    fmt = world.stores_at(day.replace(day=1)).store_format[store]
    basket = (u("basket")[:, None] >= BASKET_CUM[segment]).sum(axis=1).clip(0, 3)
    basket = np.where(fmt == EXPRESS, QUICK, basket)
    lo, hi = BASKET_LINES[basket, 0], BASKET_LINES[basket, 1]
    raw = lo + np.floor(u("lines") * (hi - lo + 1))
    n_lines = np.clip(np.round(raw * np.where(fmt == EXPRESS, 1.0, FORMAT_LINE_SCALE[fmt])), 1, MAX_LINES).astype(np.int64)

    # Lines.
    line_receipt = np.repeat(np.arange(n, dtype=np.int32), n_lines)
    line_number = (_ranks(n_lines) + 1).astype(np.int32)
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    lkey = (key[line_receipt] << np.uint64(LINE_BITS)) | line_number.astype(np.uint64)
    u_product, u_qty, u_bump = split_uniforms(lkey, stream_salt(seed, "line"))
    product = draw_products(world, day, DEPARTMENT_MIX, basket[line_receipt], u_product)
    qty = line_quantity(world, day, product, u_qty, u_bump)
    lines = shelf.sell_from_shelves(
        world, day, store, local_us, line_receipt, lkey, product, qty, lambda i, p: line_quantity(world, day, p, u_qty[i], u_bump[i])
    )
    line_receipt, line_number, line_start, n_lines, product, qty = (
        lines.line_receipt,
        lines.line_number,
        lines.line_start,
        lines.n_lines,
        lines.product,
        lines.qty,
    )
    unit = world.prod_price32[product]
    gross_line = unit * qty
    per_receipt = lambda v: np.add.reduceat(v, line_start, dtype=np.int64) if n else np.zeros(0, dtype=np.int64)
    gross = per_receipt(gross_line)

    # Promotions: a line's product may be on a shelf promotion this week (TPR or multi-buy); a
    # shopper may also present one coupon, valid this month and for this basket size (weighted by
    # its discount, reference spec §6.2), which discounts the eligible lines not already promoted.
    shelf_promo = product_day(world, day).promo[product].astype(np.int64)
    wants = u("promo") < np.minimum(0.6, SEGMENT_PROMO_RATE[segment] * cal.promo_month_multiplier(day))
    month_ok = np.array([not p[6] and (p[3] is None or day.month in p[3]) for p in PROMOTIONS])
    eligible = month_ok[None, :] & (gross[:, None] >= PROMO_MIN[None, :])
    weights = eligible * PROMO_PCT[None, :]
    total_w = weights.sum(axis=1)
    pick = (u("promo_code")[:, None] * np.where(total_w > 0, total_w, 1)[:, None] >= np.cumsum(weights, axis=1)).sum(axis=1)
    coupon = np.where(wants & (total_w > 0), np.minimum(pick, len(PROMOTIONS) - 1), -1)
    line_coupon = coupon[line_receipt]
    couponed = (shelf_promo < 0) & (line_coupon >= 0) & PROMO_DEPT[np.maximum(line_coupon, 0), world.prod_dept[product]]
    line_code = np.where(shelf_promo >= 0, shelf_promo, np.where(couponed, line_coupon, -1))
    code = np.maximum(line_code, 0)
    disc = np.where(PROMO_BOGO[code], ((qty // 2) * unit + 1) // 2, (gross_line * PROMO_PCT[code] + 50) // 100)
    line_discount = np.where(line_code >= 0, disc, 0).astype(np.int32)
    line_promo = np.where(line_discount > 0, line_code, -1).astype(np.int8)
    discount = per_receipt(line_discount)

    ext = gross_line - line_discount
    line_tax = tax_cents(ext, world.store_tax_bps[store][line_receipt].astype(np.int64), world.prod_tax_half_units[product])
    subtotal, tax, items = per_receipt(ext), per_receipt(line_tax), per_receipt(qty)
    total = subtotal + tax

    # Tender: cash for small baskets, cards for big ones.
    p_cash = np.minimum(0.9, (CASH_FLOOR + CASH_SMALL * np.exp(-total / CASH_SCALE_CENTS)) * np.where(known, 1.0, CASH_ANONYMOUS))
    u_tender = u("tender")
    card = NON_CASH[np.searchsorted(NON_CASH_CUM, (u_tender - p_cash) / (1 - p_cash), side="right").clip(0, len(NON_CASH) - 1)]
    tender = np.where(u_tender < p_cash, CASH, card)
    attributed = (customer > 0) & (u("attribution") < c.attribution_rate)
    return ReceiptBatch(
        key=key,
        store=store.astype(np.int64),
        day=days,
        seq=seq.astype(np.int64),
        hour=hour.astype(np.int64),
        ts_local=ts_local,
        ts=ts,
        customer=customer.astype(np.int64),
        segment=segment,
        basket=basket,
        n_lines=n_lines,
        line_start=line_start,
        tender=tender,
        gross=gross,
        discount=discount,
        subtotal=subtotal,
        tax=tax,
        total=total,
        items=items,
        attributed=attributed,
        line_receipt=line_receipt,
        line_number=line_number,
        line_product=product,
        line_qty=qty,
        line_unit=unit,
        line_discount=line_discount,
        line_promo=line_promo,
        line_ext=ext,
        line_tax=line_tax,
        lost_receipt=lines.lost_receipt,
        lost_product=lines.lost_product,
        lost_qty=lines.lost_qty,
    )


def receipts_for_day(world, clock: Clock, day: dt.date, hours: tuple[int, int] = (0, 24)) -> ReceiptBatch:
    store, seq, hour, rank, n = day_receipt_keys(world, day, hours)
    return build_receipts(world, clock, day, store, seq, hour, rank, n)


def receipts_for_keys(world, clock: Clock, day: dt.date, store: np.ndarray, seq: np.ndarray) -> ReceiptBatch:
    hour, rank, n = locate_receipts(world, day, store, seq)
    return build_receipts(world, clock, day, store, seq, hour, rank, n)


def concat_batches(batches: list[ReceiptBatch], *, consume: bool = False) -> ReceiptBatch:
    """One batch holding all receipts of ``batches`` (line indexes re-based). With ``consume`` the
    batches' arrays are dropped field by field as they are copied, so a month of receipts is never
    held twice (the day batches and the month)."""
    batches = [b for b in batches if b.size]
    if not batches:
        return _empty_batch()
    out = {}
    offsets = np.cumsum([0] + [len(b.line_number) for b in batches[:-1]])
    receipt_offsets = np.cumsum([0] + [b.size for b in batches[:-1]])
    for f in ReceiptBatch.__dataclass_fields__:
        parts = [getattr(b, f) for b in batches]
        if f == "line_start":
            parts = [p + o for p, o in zip(parts, offsets, strict=True)]
        elif f in ("line_receipt", "lost_receipt"):
            parts = [p + o for p, o in zip(parts, receipt_offsets, strict=True)]
        out[f] = np.concatenate(parts)
        del parts
        if consume:
            for b in batches:
                setattr(b, f, None)
    return ReceiptBatch(**out)


def _empty_batch() -> ReceiptBatch:
    return ReceiptBatch(**{f: np.zeros(0, dtype=np.int64) for f in ReceiptBatch.__dataclass_fields__})


@dataclass
class ReceiptHeaders:
    """What an ad journey needs of a receipt, without generating its lines."""

    key: np.ndarray
    store: np.ndarray
    day: np.ndarray
    seq: np.ndarray
    ts: np.ndarray
    customer: np.ndarray
    attributed: np.ndarray


def receipt_headers(world, clock: Clock, day: dt.date) -> ReceiptHeaders:
    """Identity, time, customer and ad attribution of every receipt of ``day`` (same values as build_receipts)."""
    c = world.config
    store, seq, hour, rank, n_in_hour = day_receipt_keys(world, day)
    ordinal = cal.ordinal(day)
    days = np.full(len(store), ordinal, dtype=np.int64)
    key = receipt_key(days, store, seq)
    u = lambda name: uniform(key, stream_salt(c.seed, name))
    hour_us = cal.US_PER_HOUR - 2000
    offset = 1000 + ((rank + u("ts")) / n_in_hour * hour_us).astype(np.int64)
    ts = clock.local_to_utc(world.store_zone[store], days, hour.astype(np.int64) * cal.US_PER_HOUR + offset)
    customer = _customers(world, day, key, store)
    attributed = (customer > 0) & (u("attribution") < c.attribution_rate)
    return ReceiptHeaders(key, store.astype(np.int64), days, seq.astype(np.int64), ts, customer, attributed)


def _customers(world, day: dt.date, key: np.ndarray, store: np.ndarray) -> np.ndarray:
    """Customer id per receipt, 0 when the shopper is not identified.

    An identified shopper is one of the month's active customers, drawn in proportion to their visit
    rate: from the store's own pool (customers whose home store it is) nine times in ten, else a
    visitor from anywhere in the network."""
    c = world.config
    u = lambda name: uniform(key, stream_salt(c.seed, name))
    customers = world.customers_at(day.replace(day=1))
    known = (u("known") < c.known_customer_share) & (customers.active_count > 0)
    from_pool = (u("visitor") < 0.9) & (customers.pool_size[store] > 0)
    picked = customers.pick(u("pool"), np.where(from_pool, store, -1))
    return np.where(known, picked + 1, 0).astype(np.int64)
