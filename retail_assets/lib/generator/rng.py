"""Deterministic randomness: counter-based hashing for addressable draws, seeded streams for bulk.

Two kinds of randomness, both derived only from the config's seed:

- :func:`uniform` / :func:`draw` hash an integer key (a receipt, a line, a customer) with a named
  stream. The value depends on nothing but (seed, stream, key), so any receipt can be regenerated
  on its own: a return in February re-creates the January sale it refers to, bit for bit, without
  generating January.
- :func:`stream` returns a numpy ``Generator`` for (seed, name, *ids), e.g. one per table and day.
  Days are generated independently, so two months that both need a day (the local day straddling
  a UTC month boundary) produce it identically.

The hash is splitmix64's finaliser, vectorised over uint64 arrays.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_TO_UNIT = 2.0**-53
_S11 = np.uint64(11)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 with full avalanche; returns a new array."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z ^= z >> _S30
    z *= _C1
    z ^= z >> _S27
    z *= _C2
    z ^= z >> _S31
    return z


def _mix_scalar(value: int) -> int:
    with np.errstate(over="ignore"):
        return int(mix64(np.array([value & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0])


def stream_salt(seed: int, name: str) -> np.uint64:
    """A per-(seed, stream name) constant mixed into every key of that stream."""
    return np.uint64(_mix_scalar((seed << 32) ^ zlib.crc32(name.encode())))


def hash64(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    return mix64(np.asarray(keys, dtype=np.uint64) ^ salt)


def uniform(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """Uniform [0, 1) floats, one per key; the same key and salt always give the same value."""
    return (hash64(keys, salt) >> _S11).astype(np.float64) * _TO_UNIT


def split_uniforms(keys: np.ndarray, salt: np.uint64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three uniforms from one hash: 32 bits of resolution for the first, 16 for the others."""
    h = hash64(keys, salt)
    u1 = (h & np.uint64(0xFFFFFFFF)).astype(np.float64) * 2.0**-32
    u2 = ((h >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.float64) * 2.0**-16
    u3 = (h >> np.uint64(48)).astype(np.float64) * 2.0**-16
    return u1, u2, u3


def cumulative(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return c


def stream(seed: int, name: str, *ids: int) -> np.random.Generator:
    """A numpy Generator for (seed, name, ids); independent of every other (name, ids)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), *(int(i) for i in ids)])
