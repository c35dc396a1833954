"""Marketing: campaigns, ad impressions with channel and device costs, and attribution journeys.

Campaigns start on most days (seasonal sales, launches, loyalty pushes, flash sales; reference spec
§7.3 fact_marketing) next to a monthly always-on campaign, and serve impressions each day within a
network cap. A share of identified purchases has an ad journey: two impressions to the buyer,
3-7 days and 1 minute-2 days before the purchase (reference spec §17); the purchase credits the
last one within 7 days. Journeys are derived from the purchase, so the impressions of a purchase
made early next month are generated this month, with the ids next month's attribution refers to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from retail_assets.lib.generator import calendar as cal
from retail_assets.lib.generator.online import UTC_CURVE
from retail_assets.lib.generator.rng import cumulative, stream, stream_salt, uniform

CHANNELS = ("FACEBOOK", "GOOGLE", "INSTAGRAM", "YOUTUBE", "EMAIL", "DISPLAY", "SEARCH", "SOCIAL", "VIDEO")
FACEBOOK, GOOGLE, INSTAGRAM, YOUTUBE, EMAIL, DISPLAY, SEARCH, SOCIAL, VIDEO = range(9)
# USD per impression (reference spec §2.3), by channel.
CHANNEL_COST = np.array(
    [[0.25, 3.00], [1.00, 5.00], [0.20, 3.00], [1.50, 5.25], [0.10, 0.25], [0.50, 2.00], [1.00, 5.00], [0.75, 3.00], [1.50, 5.25]]
)
DEVICES = ("MOBILE", "DESKTOP", "TABLET")
DEVICE_CUM = cumulative([0.6, 0.3, 0.1])
DEVICE_COST = np.array([1.0, 1.5, 1.2])
# Campaign types: (name, channels, duration days, planned impressions per day).
CAMPAIGN_TYPES = (
    ("seasonal_sale", (FACEBOOK, GOOGLE, EMAIL), 7, 1000),
    ("product_launch", (INSTAGRAM, YOUTUBE, DISPLAY), 14, 2000),
    ("loyalty_program", (EMAIL, SOCIAL), 30, 500),
    ("flash_sale", (SOCIAL, SEARCH), 1, 5000),
)
ALWAYS_ON = ("always_on", (SEARCH, DISPLAY, VIDEO), 31, 800)
# Share of planned impressions actually served (auctions won); calibrates ~5,400 impressions a day
# at the reference profile, journeys included (research/anchor-datagen-bench.md).
FILL_RATE = 0.29
CRM_MATCH_RATE = 0.05
OUTSIDE_WINDOW_SHARE = 0.1
DAY_US = cal.US_PER_DAY


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    channels: tuple[int, ...]
    start: int
    duration: int
    volume: int


def _type_weights(day: dt.date) -> list[float]:
    if day.month in (11, 12):
        return [3, 1, 2, 4]
    if day.month in (8, 9):
        return [2, 3, 1, 2]
    return [1, 1, 1, 1]


def campaign_started(world, ordinal: int) -> Campaign | None:
    """The campaign launched on a day, if any (90 % of days)."""
    day = cal.from_ordinal(ordinal)
    rng = stream(world.config.seed, "campaign", ordinal)
    if rng.random() >= 0.9:
        return None
    kind = CAMPAIGN_TYPES[int(np.searchsorted(cumulative(_type_weights(day)), rng.random(), side="right"))]
    return Campaign(f"CMP{day:%Y%m%d}01", kind[1], ordinal, kind[2], kind[3])


def campaigns_on(world, ordinal: int) -> list[Campaign]:
    """Campaigns serving on a day: the month's always-on campaign first, then by start."""
    cache = world.day_cache("campaigns")
    if ordinal not in cache:
        day = cal.from_ordinal(ordinal)
        first = day.replace(day=1)
        active = [Campaign(f"CMP{first:%Y%m%d}00", ALWAYS_ON[1], cal.ordinal(first), ALWAYS_ON[2], ALWAYS_ON[3])]
        for start in range(ordinal - 29, ordinal + 1):
            c = campaign_started(world, start)
            if c is not None and start + c.duration > ordinal:
                active.append(c)
        cache[ordinal] = active
    return cache[ordinal]


def impressions_day(world, ordinal: int) -> dict[str, np.ndarray | list]:
    """Campaign impressions served on a UTC day."""
    c = world.config
    day = cal.from_ordinal(ordinal)
    rng = stream(c.seed, "impressions", ordinal)
    mult = cal.marketing_multiplier(day)
    cap = int(max(100 * c.network_scale, c.marketing_impressions_per_day * np.clip(mult, 0.5, 2.0)))
    campaign_ids, channels, counts = [], [], []
    served = 0
    for campaign in campaigns_on(world, ordinal):
        per_channel = campaign.volume * mult * c.network_scale * FILL_RATE / len(campaign.channels)
        for ch in campaign.channels:
            k = min(int(rng.poisson(per_channel)), cap - served)
            if k <= 0:
                continue
            campaign_ids.append(campaign.campaign_id)
            channels.append(ch)
            counts.append(k)
            served += k
    n = served
    counts_arr = np.array(counts, dtype=np.int64)
    channel = np.repeat(np.array(channels, dtype=np.int64), counts_arr)
    campaign_index = np.repeat(np.arange(len(counts)), counts_arr)
    hour = np.searchsorted(cumulative(UTC_CURVE), rng.random(n), side="right").clip(0, 23)
    ts = (ordinal + cal.EPOCH_1970_DAYS) * DAY_US + hour * cal.US_PER_HOUR + (rng.random(n) * cal.US_PER_HOUR).astype(np.int64)
    device = np.searchsorted(DEVICE_CUM, rng.random(n), side="right").clip(0, 2)
    lo, hi = CHANNEL_COST[channel, 0], CHANNEL_COST[channel, 1]
    cost = np.round((lo + (hi - lo) * rng.random(n)) * DEVICE_COST[device] * 100).astype(np.int64)
    customer = rng.integers(0, c.customers, n) + 1
    matched = rng.random(n) < CRM_MATCH_RATE
    creative = rng.integers(1, 4, n)
    order = np.argsort(ts, kind="stable")
    return {
        "campaign": [campaign_ids[i] for i in campaign_index[order]],
        "day": np.full(n, ordinal, dtype=np.int64),
        "seq": np.arange(n, dtype=np.int64),
        "ts": ts[order],
        "channel": channel[order],
        "device": device[order],
        "cost": cost[order],
        "ad_customer": customer[order],
        "customer": np.where(matched, customer, 0)[order],
        "creative": creative[order],
    }


def journeys(world, kind: np.ndarray, key: np.ndarray, ts: np.ndarray, customer: np.ndarray) -> dict[str, np.ndarray | list]:
    """Ad touches leading to attributed purchases; one entry per touch.

    ``kind`` is 0 for store receipts and 1 for online orders; ``key`` is the purchase's key. Most
    journeys have two touches (3-7 days and 1 minute-2 days before); a few only an early touch
    8-10 days before, which falls outside the 7-day attribution window.
    """
    c = world.config
    pkey = (np.asarray(key, dtype=np.uint64) << np.uint64(1)) | np.asarray(kind, dtype=np.uint64)
    u = lambda name: uniform(pkey, stream_salt(c.seed, name))
    outside = u("journey_outside") < OUTSIDE_WINDOW_SHARE
    early = np.where(outside, 8 + 2 * u("touch1"), 3 + 4 * u("touch1")) * DAY_US
    late = (60 + u("touch2") * (2 * 86_400 - 60)) * 1_000_000
    n = len(pkey)
    touches = np.where(outside, 1, 2)
    purchase = np.repeat(np.arange(n), touches)
    touch_no = np.arange(len(purchase)) - np.repeat(np.cumsum(touches) - touches, touches) + 1
    touch_ts = ts[purchase] - np.where(touch_no == 1, early[purchase], late[purchase]).astype(np.int64)
    tkey = (pkey[purchase] << np.uint64(2)) | touch_no.astype(np.uint64)
    tu = lambda name: uniform(tkey, stream_salt(c.seed, name))
    day = touch_ts // DAY_US - cal.EPOCH_1970_DAYS
    campaign, channel = [], np.zeros(len(purchase), dtype=np.int64)
    pick_c, pick_ch = tu("touch_campaign"), tu("touch_channel")
    for i, d in enumerate(day):
        active = campaigns_on(world, int(d))
        chosen = active[int(pick_c[i] * len(active))]
        campaign.append(chosen.campaign_id)
        channel[i] = chosen.channels[int(pick_ch[i] * len(chosen.channels))]
    device = np.searchsorted(DEVICE_CUM, tu("touch_device"), side="right").clip(0, 2)
    lo, hi = CHANNEL_COST[channel, 0], CHANNEL_COST[channel, 1]
    cost = np.round((lo + (hi - lo) * tu("touch_cost")) * DEVICE_COST[device] * 100).astype(np.int64)
    return {
        "purchase": purchase,
        "touch_no": touch_no,
        "ts": touch_ts,
        "campaign": campaign,
        "channel": channel,
        "device": device,
        "cost": cost,
        "customer": np.asarray(customer)[purchase],
        "creative": 1 + (tu("touch_creative") * 3).astype(np.int64),
        "outside": outside[purchase],
    }
