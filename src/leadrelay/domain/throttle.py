"""A token bucket per caller (e.g. per IP address): at most ``burst`` requests at once, refilled
at ``rate`` requests a second. Time is passed in (seconds on a monotonic clock)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Throttle:
    """Token buckets by key. :meth:`take` spends one token of ``key`` or says how long to wait."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a throttle needs a rate above zero and a burst of at least one")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> float | None:
        """Spend a token of ``key`` at ``now``: None when allowed, else the seconds until one is free."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + max(0.0, now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they behave as new ones), else the oldest half."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst]
        if not full:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].at)
            full = oldest[: max(1, len(oldest) // 2)]
        for key in full:
            del self._buckets[key]
