"""Marketing: campaigns, ad impressions priced per mille, and attribution journeys.

Campaigns are regional: new ones launch each day at a rate proportional to the network's stores
(seasonal sales, launches, loyalty pushes, flash sales; reference spec §7.3 fact_marketing), and
each DC region runs a monthly always-on campaign sized by its stores, so a campaign's daily spend is
about the same on a 3-store demo and the 86-store reference and one daily budget fits both.

Cost is priced per mille by channel (ad-calc.com benchmarks: display $2.80, Facebook $7.19, YouTube
$9.68, search $38.40 CPM; email $15-50 CPM, omnisend) with a device factor, drawn per impression in
whole cents by unbiased stochastic rounding (an impression costs fractions of a cent; the expected cost
of every impression is exactly its CPM / 1000). Delivery is paced to plan, except that some campaigns
over-deliver on their launch day (an auction pacing burst), which the campaign-over-budget alert catches.

A share of identified purchases has an ad journey: two impressions to the buyer, 3-7 days and
1 minute-2 days before the purchase (reference spec §17); the purchase credits the last one within
7 days. Journeys are derived from the purchase, so the impressions of a purchase made early next month
are generated this month, with the ids next month's attribution refers to. The funnel lands where the
sources put it when ``attribution_rate`` (identified purchases with a journey) is ~0.1 % of purchases
per ~1,750 impressions a store-day: about 0.1 % of impressions convert (display CTR ~0.46 % x 0.89 %
conversion, ad-calc.com; view-through credit of identified shoppers adds more), ROAS ~2-6.
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
# USD per thousand impressions (low, high) by channel, around the ad-calc.com / omnisend benchmarks.
CHANNEL_CPM = np.array(
    [[5.0, 9.5], [28.0, 48.0], [5.0, 9.5], [7.0, 12.5], [15.0, 50.0], [2.0, 3.6], [28.0, 48.0], [5.0, 9.5], [7.0, 12.5]]
)
DEVICES = ("MOBILE", "DESKTOP", "TABLET")
DEVICE_CUM = cumulative([0.6, 0.3, 0.1])
DEVICE_COST = np.array([1.0, 1.2, 1.1])
# Campaign types: (name, channels, duration days, planned impressions per day): each plans ~$30-70 a day.
CAMPAIGN_TYPES = (
    ("seasonal_sale", (FACEBOOK, GOOGLE, EMAIL), 7, 2000),
    ("product_launch", (INSTAGRAM, YOUTUBE, DISPLAY), 14, 6000),
    ("loyalty_program", (EMAIL, SOCIAL), 30, 1500),
    ("flash_sale", (SOCIAL, SEARCH), 1, 3000),
)
# Always-on search/display/video, one campaign per DC region, planned impressions per store and day.
ALWAYS_ON = ("always_on", (SEARCH, DISPLAY, VIDEO), 31, 700)
# Campaign launches per store and day (reference: ~2.5 a day over 86 stores).
LAUNCHES_PER_STORE_DAY = 0.029
# Launch-day pacing burst: this share of launches serves BURST_RANGE times its plan on its first day.
BURST_SHARE = 0.2
BURST_RANGE = (3.0, 5.0)
CRM_MATCH_RATE = 0.05
OUTSIDE_WINDOW_SHARE = 0.1
DAY_US = cal.US_PER_DAY


def impression_cost_cents(channel: np.ndarray, device: np.ndarray, u_cpm: np.ndarray, u_round: np.ndarray) -> np.ndarray:
    """Whole cents per impression: the channel's CPM (drawn by ``u_cpm``) x device, rounded up with
    probability equal to the fraction (``u_round``), so sums over impressions keep the CPM exactly."""
    lo, hi = CHANNEL_CPM[channel, 0], CHANNEL_CPM[channel, 1]
    cents = (lo + (hi - lo) * u_cpm) * DEVICE_COST[device] / 10.0
    return np.floor(cents + u_round).astype(np.int64)


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


def campaigns_started(world, ordinal: int) -> list[Campaign]:
    """The campaigns launched on a day: Poisson, LAUNCHES_PER_STORE_DAY per store."""
    day = cal.from_ordinal(ordinal)
    rng = stream(world.config.seed, "campaign", ordinal)
    n = min(int(rng.poisson(LAUNCHES_PER_STORE_DAY * world.config.stores)), 99)
    kinds = np.searchsorted(cumulative(_type_weights(day)), rng.random(n), side="right").clip(0, len(CAMPAIGN_TYPES) - 1)
    return [
        Campaign(f"CMP{day:%Y%m%d}{i + 1:02d}", CAMPAIGN_TYPES[k][1], ordinal, CAMPAIGN_TYPES[k][2], CAMPAIGN_TYPES[k][3])
        for i, k in enumerate(kinds)
    ]


def always_on(world, first: dt.date) -> list[Campaign]:
    """The month's always-on campaigns, one per DC region (``CMP<first day>A<dc>``), sized by its stores."""
    stores = np.bincount(world.store_dc, minlength=world.config.dcs)
    return [
        Campaign(f"CMP{first:%Y%m%d}A{dc + 1:02d}", ALWAYS_ON[1], cal.ordinal(first), ALWAYS_ON[2], int(ALWAYS_ON[3] * k))
        for dc, k in enumerate(stores)
        if k > 0
    ]


def campaigns_on(world, ordinal: int) -> list[Campaign]:
    """Campaigns serving on a day: the month's always-on campaigns first, then by start."""
    cache = world.day_cache("campaigns")
    if ordinal not in cache:
        first = cal.from_ordinal(ordinal).replace(day=1)
        active = always_on(world, first)
        for start in range(ordinal - 29, ordinal + 1):
            active.extend(c for c in campaigns_started(world, start) if start + c.duration > ordinal)
        cache[ordinal] = active
    return cache[ordinal]


def impressions_day(world, ordinal: int) -> dict[str, np.ndarray | list]:
    """Campaign impressions served on a UTC day: each campaign's plan (a launch-day burst for some),
    within the network's daily cap."""
    c = world.config
    day = cal.from_ordinal(ordinal)
    rng = stream(c.seed, "impressions", ordinal)
    mult = cal.marketing_multiplier(day)
    cap = int(c.marketing_impressions_per_day * np.clip(mult, 0.5, 2.0))
    campaign_ids, channels, planned = [], [], []
    for campaign in campaigns_on(world, ordinal):
        plan = campaign.volume * mult
        if campaign.start == ordinal and campaign.duration < ALWAYS_ON[2]:
            burst = stream(c.seed, "campaign_burst", ordinal, int(campaign.campaign_id[-2:]))
            if burst.random() < BURST_SHARE:
                plan *= burst.uniform(*BURST_RANGE)
        for ch in campaign.channels:
            campaign_ids.append(campaign.campaign_id)
            channels.append(ch)
            planned.append(plan / len(campaign.channels))
    counts_arr = rng.poisson(np.array(planned, dtype=np.float64)).astype(np.int64)
    if counts_arr.sum() > cap:  # the network cap thins every campaign alike
        counts_arr = rng.binomial(counts_arr, cap / counts_arr.sum()).astype(np.int64)
    n = int(counts_arr.sum())
    channel = np.repeat(np.array(channels, dtype=np.int64), counts_arr)
    campaign_index = np.repeat(np.arange(len(counts_arr)), counts_arr)
    hour = np.searchsorted(cumulative(UTC_CURVE), rng.random(n), side="right").clip(0, 23)
    ts = (ordinal + cal.EPOCH_1970_DAYS) * DAY_US + hour * cal.US_PER_HOUR + (rng.random(n) * cal.US_PER_HOUR).astype(np.int64)
    device = np.searchsorted(DEVICE_CUM, rng.random(n), side="right").clip(0, 2)
    cost = impression_cost_cents(channel, device, rng.random(n), rng.random(n))
    customer = rng.integers(0, c.customers, n) + 1
    matched = rng.random(n) < CRM_MATCH_RATE
    creative = rng.integers(1, 4, n)
    order = np.argsort(ts, kind="stable")
    return {
        # ASCII ids as bytes: a quarter of numpy's 4-byte-per-character text (millions of rows a month).
        "campaign": np.array(campaign_ids or [""], dtype=np.bytes_)[campaign_index[order]],
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
    cost = impression_cost_cents(channel, device, tu("touch_cost"), tu("touch_cost_round"))
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
