"""One month of edge events, deterministic for (profile, month): transcripts, detections and heartbeats.

Per device, from its own random streams (so a device's month does not depend on the others):

- **Offline periods**: a Poisson number per month, log-normal lengths (median ``offline_median_hours``, capped at
  three days). While offline a device sends nothing; it reboots when it comes back (``uptime_seconds`` restarts).
- **Heartbeats** every ``heartbeat_minutes`` (± 20 s of jitter): uptime, CPU temperature with a daily cycle (hot
  devices gain up to 30 °C in the afternoon), memory, storage filling up over the month, uplink and signal, UPS
  battery (NULL where none is fitted), firmware.
- **Exchanges** at the counter, Poisson per day over opening hours (06:00–22:00 Manila time, UTC+8): one STT
  transcript naming one or two products (Taglish templates; praise or a complaint at the end now and then), a person
  detection, a pick-up per product with probability 0.6 and a put-back of a picked product with probability 0.15.
  Passers-by give person detections without an exchange.
- **Faults**: clock drift (``device_clock`` runs ahead by 5–60 s a day on drifting devices), duplicate sends (the
  same event, same ``trace_id``, twice), low-confidence detections, garbled transcripts (scrambled text, confidence
  under 0.35).

``ingest_timestamp`` (the gateway's receive time) is the true time and decides the month; ``device_clock`` is the
drifted one. Only events whose true time falls in the month are produced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from retail_assets.lib.edge.profiles import EdgeProfile
from retail_assets.lib.specs.edge import DEVICE_HEARTBEAT, LANGUAGES, STT_TRANSCRIPT, VISUAL_DETECTION
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.generator.rng import stream
from retail_assets.lib.months import month_bounds_utc
from retail_assets.lib.specs.registry import event_columns, polars_schema

SOURCE = "scout-edge-sim"
US = 1_000_000
DAY_US = 86_400 * US
MANILA_OFFSET_US = 8 * 3600 * US
OPEN_HOUR, CLOSE_HOUR = 6, 22
_TEMPLATES = (
    "Pabili po ng {0}.",
    "Ate, may {0} pa ba kayo?",
    "Isang {0} nga po, tsaka {1}.",
    "Magkano po ang {0}?",
    "Kuya, dalawang {0} po.",
    "Can I get one {0} and {1} please?",
    "Wala na po bang {0}? Sige {1} na lang.",
)
# How a customer sometimes ends: praise (p = 0.3) or a complaint (p = 0.15), for transcript sentiment.
_PRAISE = ("Salamat po!", "Masarap talaga 'to.", "Sulit po, thank you!", "Ang galing, the best!")
_COMPLAINTS = ("Ang mahal naman.", "Sira yung huli kong nabili, nakakainis.", "Ubos na naman lagi.", "Pangit ng lasa.")


@dataclass(frozen=True)
class EdgeMonth:
    """A month of events by type (envelope + payload columns, typed as Bronze types them) and what was simulated."""

    month: dt.date
    events: dict[str, pl.DataFrame]
    # Ground truth for tests: device_id, offline_from, offline_to (UTC), clipped to the month.
    offline: pl.DataFrame
    # device_id, drift_seconds_per_day, hot (bool)
    devices: pl.DataFrame


def _ts(us: np.ndarray) -> pl.Series:
    return pl.Series(us.astype(np.int64)).cast(pl.Datetime("us", "UTC"))


def _offline_windows(rng: np.random.Generator, profile: EdgeProfile, lo: int, hi: int) -> np.ndarray:
    n = rng.poisson(profile.offline_periods_per_month)
    starts = rng.integers(lo, hi, n)
    hours = np.minimum(rng.lognormal(np.log(profile.offline_median_hours), 0.9, n), 72.0)
    ends = np.minimum(starts + (hours * 3600 * US).astype(np.int64), hi)
    order = np.argsort(starts)
    return np.stack([starts[order], ends[order]], axis=1).reshape(-1, 2)


def _online(t: np.ndarray, windows: np.ndarray) -> np.ndarray:
    ok = np.ones(t.shape, dtype=bool)
    for start, end in windows:
        ok &= ~((t >= start) & (t < end))
    return ok


def _last_boot(t: np.ndarray, windows: np.ndarray, boot: int) -> np.ndarray:
    """The boot before each instant: the end of the last offline period before it, else the device's first boot."""
    last = np.full(t.shape, boot, dtype=np.int64)
    for _, end in windows:
        last = np.where(t >= end, np.maximum(last, end), last)
    return last


def _envelope(event_type: str, ts: np.ndarray, trace: list[str], device: int, session: list[str] | None) -> dict:
    return {
        "event_type": [event_type] * len(trace),
        "trace_id": trace,
        "ingest_timestamp": _ts(ts),
        "schema_version": ["1.0"] * len(trace),
        "source": [SOURCE] * len(trace),
        "correlation_id": session if session is not None else [None] * len(trace),
        "partition_key": [f"device_{device}"] * len(trace),
        "session_id": session if session is not None else [None] * len(trace),
        "parent_event_id": [None] * len(trace),
    }


def _frame(event, data: dict) -> pl.DataFrame:
    return pl.DataFrame(data, schema=polars_schema(event_columns(event)))


def _duplicated(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    again = rng.random(frame.height) < rate
    return pl.concat([frame, frame.filter(pl.Series(again))]) if again.any() else frame


class _Device:
    def __init__(self, world: EdgeWorld, row: dict, month: dt.date) -> None:
        profile = world.profile
        self.profile, self.world, self.row = profile, world, row
        self.id, self.store = int(row["device_id"]), int(row["store_id"])
        lo, hi = month_bounds_utc(month)
        self.lo, self.hi = int(lo.timestamp() * US), int(hi.timestamp() * US)
        self.key = (self.id, month.year * 100 + month.month)
        traits = stream(profile.seed, "edge_device_traits", self.id)
        self.drift_per_day = traits.uniform(5, 60) if traits.random() < profile.drifting_device_rate else 0.0
        self.hot = bool(traits.random() < profile.hot_device_rate)
        self.battery = bool(traits.random() < 0.6)
        self.lte = bool(traits.random() < 0.3)
        self.windows = _offline_windows(stream(profile.seed, "edge_offline", *self.key), profile, self.lo, self.hi)
        installed = int(dt.datetime.combine(row["installed_on"], dt.time(), dt.UTC).timestamp() * US)
        self.boot = max(installed, self.lo - int(stream(profile.seed, "edge_boot", *self.key).integers(1, 20)) * DAY_US)

    def clock(self, t: np.ndarray) -> np.ndarray:
        return t + ((t - self.lo) / DAY_US * self.drift_per_day * US).astype(np.int64)

    def heartbeats(self) -> pl.DataFrame:
        p = self.profile
        rng = stream(p.seed, "edge_heartbeats", *self.key)
        step = p.heartbeat_minutes * 60 * US
        t = np.arange(self.lo, self.hi, step) + rng.integers(0, 20 * US, (self.hi - self.lo + step - 1) // step)
        t = t[(t < self.hi) & _online(t, self.windows)]
        n = t.size
        local_hour = ((t + MANILA_OFFSET_US) % DAY_US) / (3600 * US)
        heat = np.clip(np.sin((local_hour - 8) / 24 * 2 * np.pi), 0, None)
        temp = 47 + 9 * heat + rng.normal(0, 1.5, n) + (30 * heat if self.hot else 0)
        storage = 35 + 20 * (t - self.lo) / (self.hi - self.lo) + rng.normal(0, 0.3, n)
        signal = rng.normal(-75 if self.lte else -58, 6, n)
        data = {
            **_envelope(DEVICE_HEARTBEAT.event_type, t, [f"hb-{self.id}-{x}" for x in t], self.id, None),
            "device_id": [self.id] * n,
            "store_id": [self.store] * n,
            "device_clock": _ts(self.clock(t)),
            "uptime_seconds": (t - _last_boot(t, self.windows, self.boot)) // US,
            "cpu_temp_c": np.round(np.clip(temp, -20, 120), 1),
            "memory_used_pct": np.round(np.clip(rng.normal(48, 9, n), 0, 100), 1),
            "storage_used_pct": np.round(np.clip(storage, 0, 100), 1),
            "network_type": ["lte" if self.lte else "wifi"] * n,
            "signal_dbm": np.clip(np.round(signal), -120, 0).astype(np.int64),
            "battery_pct": np.round(np.clip(rng.normal(96, 3, n), 0, 100), 1) if self.battery else [None] * n,
            "firmware_version": [self.row["firmware_version"]] * n,
        }
        return _duplicated(_frame(DEVICE_HEARTBEAT, data), rng, p.duplicate_rate)

    def exchanges(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        p = self.profile
        rng = stream(p.seed, "edge_exchanges", *self.key)
        days = (self.hi - self.lo) // DAY_US
        counts = rng.poisson(p.interactions_per_day, days)
        day_of = np.repeat(np.arange(days), counts)
        # Opening hours in Manila time, as UTC instants.
        local = rng.uniform(OPEN_HOUR, CLOSE_HOUR, day_of.size) * 3600 * US
        t = np.sort(self.lo + day_of * DAY_US + local.astype(np.int64) - MANILA_OFFSET_US)
        t = t[(t >= self.lo) & (t < self.hi) & _online(t, self.windows)]
        products = self.world.products
        product_ids = products.get_column("product_id").to_numpy()
        brand_of = dict(zip(product_ids, products.get_column("brand_id").to_list(), strict=True))
        name_of = dict(zip(product_ids, products.get_column("product_name").to_list(), strict=True))
        stt: dict[str, list] = {k: [] for k in ("t", "id", "text", "lang", "conf", "dur")}
        vis: dict[str, list] = {k: [] for k in ("t", "id", "type", "people", "dwell", "brand", "product", "conf")}
        for i, start in enumerate(t.tolist()):
            interaction = f"ix-{self.id}-{start}"
            mentioned = rng.choice(product_ids, size=2 if rng.random() < 0.4 else 1, replace=False).tolist()
            template = _TEMPLATES[rng.integers(0, len(_TEMPLATES))]
            names = [name_of[m] for m in mentioned] + [name_of[mentioned[0]]]
            text = template.format(*names)
            tone = rng.random()
            if tone < 0.3:
                text = f"{text} {_PRAISE[rng.integers(0, len(_PRAISE))]}"
            elif tone < 0.45:
                text = f"{text} {_COMPLAINTS[rng.integers(0, len(_COMPLAINTS))]}"
            confidence = float(np.clip(rng.beta(9, 2), 0.5, 0.99))
            if rng.random() < p.garbled_rate:
                chars = list(text)
                rng.shuffle(chars)
                text, confidence = "".join(chars), float(rng.uniform(0.05, 0.35))
            stt["t"].append(start)
            stt["id"].append(interaction)
            stt["text"].append(text)
            stt["lang"].append(LANGUAGES[rng.choice(4, p=[0.35, 0.15, 0.1, 0.4])])
            stt["conf"].append(round(confidence, 3))
            stt["dur"].append(int(rng.integers(1500, 9000)))
            people = int(rng.integers(1, 4))
            vis_rows = [(start - 5 * US, "person", None, None)]
            picked = []
            for product in mentioned:
                if rng.random() < 0.6:
                    at = start + int(rng.integers(10, 60)) * US
                    vis_rows.append((at, "pickup", brand_of[product], product))
                    picked.append((at, product))
            for at, product in picked:
                if rng.random() < 0.15:
                    vis_rows.append((at + int(rng.integers(5, 30)) * US, "putback", brand_of[product], product))
            for at, kind, brand, product in vis_rows:
                vis["t"].append(at)
                vis["id"].append(interaction)
                vis["type"].append(kind)
                vis["people"].append(people)
                vis["dwell"].append(round(float((at - start) / US + 5 + rng.uniform(0, 3)), 1))
                vis["brand"].append(brand)
                vis["product"].append(product)
                vis["conf"].append(self._bbox_confidence(rng))
        passers = rng.poisson(p.passers_by_per_day * days)
        for at in np.sort(self.lo + rng.integers(0, self.hi - self.lo, passers)).tolist():
            vis["t"].append(at)
            vis["id"].append(None)
            vis["type"].append("person")
            vis["people"].append(int(rng.integers(1, 3)))
            vis["dwell"].append(round(float(rng.uniform(0.5, 8)), 1))
            vis["brand"].append(None)
            vis["product"].append(None)
            vis["conf"].append(self._bbox_confidence(rng))
        return self._stt_frame(stt, rng), self._visual_frame(vis, rng)

    def _bbox_confidence(self, rng: np.random.Generator) -> float:
        if rng.random() < self.profile.low_confidence_rate:
            return round(float(rng.uniform(0.1, 0.45)), 3)
        return round(float(np.clip(rng.beta(12, 2), 0.5, 0.999)), 3)

    def _stt_frame(self, stt: dict, rng: np.random.Generator) -> pl.DataFrame:
        t = np.array(stt["t"], dtype=np.int64)
        arrive = t + np.array(stt["dur"], dtype=np.int64) * 1000 + 2 * US  # sent when the segment ends
        keep = arrive < self.hi
        t, arrive = t[keep], arrive[keep]
        pick = lambda k: [v for v, ok in zip(stt[k], keep, strict=True) if ok]  # noqa: E731
        ids = pick("id")
        data = {
            **_envelope(STT_TRANSCRIPT.event_type, arrive, [f"stt-{i}" for i in ids], self.id, ids),
            "device_id": [self.id] * t.size,
            "store_id": [self.store] * t.size,
            "device_clock": _ts(self.clock(arrive)),
            "interaction_id": ids,
            "started_at": _ts(self.clock(t)),
            "duration_ms": pick("dur"),
            "transcript": pick("text"),
            "language": pick("lang"),
            "confidence": pick("conf"),
        }
        return _duplicated(_frame(STT_TRANSCRIPT, data), rng, self.profile.duplicate_rate)

    def _visual_frame(self, vis: dict, rng: np.random.Generator) -> pl.DataFrame:
        order = np.argsort(np.array(vis["t"], dtype=np.int64), kind="stable")
        t = np.array(vis["t"], dtype=np.int64)[order]
        keep = (t >= self.lo) & (t + US < self.hi) & _online(t, self.windows)
        rows = {k: [v[i] for i in order] for k, v in vis.items()}
        rows = {k: [x for x, ok in zip(v, keep, strict=True) if ok] for k, v in rows.items()}
        t = t[keep]
        arrive = t + US
        traces = [
            f"vis-{self.id}-{x}-{kind}-{product or 0}"
            for x, kind, product in zip(t.tolist(), rows["type"], rows["product"], strict=True)
        ]
        data = {
            **_envelope(VISUAL_DETECTION.event_type, arrive, traces, self.id, rows["id"]),
            "device_id": [self.id] * t.size,
            "store_id": [self.store] * t.size,
            "device_clock": _ts(self.clock(arrive)),
            "interaction_id": rows["id"],
            "detected_at": _ts(self.clock(t)),
            "detection_type": rows["type"],
            "person_count": rows["people"],
            "dwell_seconds": rows["dwell"],
            "brand_id": rows["brand"],
            "product_id": rows["product"],
            "bbox_confidence": rows["conf"],
        }
        return _duplicated(_frame(VISUAL_DETECTION, data), rng, self.profile.duplicate_rate)


def simulate_month(world: EdgeWorld, month: dt.date) -> EdgeMonth:
    """Every edge event of ``month`` (UTC), by event type, in device then time order."""
    streams = (STT_TRANSCRIPT, VISUAL_DETECTION, DEVICE_HEARTBEAT)
    frames: dict[str, list[pl.DataFrame]] = {e.event_type: [] for e in streams}
    offline, traits = [], []
    for row in world.devices.iter_rows(named=True):
        device = _Device(world, row, month)
        stt, visual = device.exchanges()
        frames[STT_TRANSCRIPT.event_type].append(stt)
        frames[VISUAL_DETECTION.event_type].append(visual)
        frames[DEVICE_HEARTBEAT.event_type].append(device.heartbeats())
        offline += [(device.id, int(s), int(e)) for s, e in device.windows]
        traits.append((device.id, device.drift_per_day, device.hot))
    offline_frame = pl.DataFrame(
        {
            "device_id": [o[0] for o in offline],
            "offline_from": _ts(np.array([o[1] for o in offline], dtype=np.int64)),
            "offline_to": _ts(np.array([o[2] for o in offline], dtype=np.int64)),
        },
        schema={
            "device_id": pl.Int64,
            "offline_from": pl.Datetime("us", "UTC"),
            "offline_to": pl.Datetime("us", "UTC"),
        },
    )
    devices = pl.DataFrame(
        traits, schema={"device_id": pl.Int64, "drift_seconds_per_day": pl.Float64, "hot": pl.Boolean}, orient="row"
    )
    return EdgeMonth(month, {k: pl.concat(v) for k, v in frames.items()}, offline_frame, devices)
