"""Business time of many moments at once: a cumulative index over a calendar's working spans.

``BusinessIndex.build(calendar, first, last)`` lays the working spans of the local days ``first``
to ``last`` end to end; ``index.at(t)`` is the business seconds from the first span's opening to
``t`` (epoch seconds, NumPy arrays), so the business time from ``a`` to ``b`` is
``at(b) - at(a)`` — what :meth:`~leadrelay.domain.calendar.BusinessCalendar.elapsed` gives one pair
at a time, for a whole column with one ``searchsorted``. Moments outside the days built are
clipped to them: build the index over every day the moments may fall on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from leadrelay.domain.calendar import BusinessCalendar

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class BusinessIndex:
    opens: FloatArray  # epoch seconds of each span's opening, ascending
    closes: FloatArray  # ... and closing
    before: FloatArray  # business seconds of the spans before each span

    @classmethod
    def build(cls, calendar: BusinessCalendar, first: date, last: date) -> BusinessIndex:
        spans = calendar.open_intervals(first, last)
        opens = np.array([a.timestamp() for a, _ in spans], dtype=np.float64)
        closes = np.array([b.timestamp() for _, b in spans], dtype=np.float64)
        lengths = closes - opens
        before = np.concatenate(([0.0], np.cumsum(lengths)[:-1])) if spans else np.zeros(0)
        return cls(opens, closes, before)

    def at(self, moments: FloatArray) -> FloatArray:
        """Business seconds from the index's start to each moment (NaN stays NaN)."""
        t = np.asarray(moments, dtype=np.float64)
        if self.opens.size == 0:
            return np.where(np.isnan(t), np.nan, 0.0)
        k = np.searchsorted(self.opens, np.nan_to_num(t, nan=-np.inf), side="right") - 1
        inside = np.clip(k, 0, None)
        within = np.clip(t - self.opens[inside], 0.0, self.closes[inside] - self.opens[inside])
        out = np.where(k < 0, 0.0, self.before[inside] + within)
        return np.where(np.isnan(t), np.nan, out)

    def elapsed(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Business seconds from ``a`` to ``b``, element by element (NaN where either is NaN)."""
        return self.at(b) - self.at(a)
