"""The engagement sums of a chunk of leads in one compiled pass over the activity columns.

:meth:`leadrelay.bulk.engine.BulkEngine._engagement` computes, with NumPy, what each activity row
counts under each engagement rule (repeat rules, caps per period, ``max_times``), weighs it by
decay and sums it per lead and per product: a dozen full passes over the columns per
order-sensitive rule. :func:`engagement` does the same in a single pass compiled with Numba,
over blocks of leads on every core (``prange``): the rows of a lead are contiguous (the columns
are sorted by lead, then time), so each lead's counters live in a few scalars and a small
"seen" table per ``unique_by`` rule.

It is the same arithmetic in the same order, operation for operation, as the NumPy path (and
hence as ``count_points`` / ``engagement_at``): each row's count, ``count × factor``, and the
sum per lead over rows in time order and rules in playbook order; cap steps are the running
``used + counted`` / ``max(cap - used, 0)`` sequence. Leads the NumPy path hands to the per-lead
engine (two counted rows at the same microsecond, unhashable ``unique_by`` values) are flagged
the same way; so is a lead whose cap periods go back in time (a daylight-saving change that
crosses midnight), which the NumPy path counts by group and this pass cannot.

Compilation happens once per machine (``cache=True`` keeps the machine code beside this
module); the engine uses this pass only above :data:`MIN_ROWS` rows, so small inputs (tests, the
demo) never wait for a compile.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: ``numba.prange`` once the passes are compiled (Numba is imported on first use: it takes a
#: quarter to half a second, which a process that never rescores in bulk should not pay).
prange: Any = range

Int = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

#: Rows of a chunk from which the engine uses the compiled pass (below: NumPy, no compile).
MIN_ROWS = 200_000
#: Activities of a whole rescore from which it loads the compiled passes at all: loading them
#: takes a process about a second of CPU (Numba's import and the cached machine code), which
#: NumPy's compute of ~2 million activities costs too.
MIN_TOTAL_ROWS = 2_000_000

# decay kinds and cap periods, as the kernel reads them
DECAY_NONE, DECAY_HALF_LIFE, DECAY_WINDOW, DECAY_LINEAR = 0, 1, 2, 3
PER_NONE, PER_LEAD, PER_DAY, PER_WEEK, PER_MONTH = -1, 0, 1, 2, 3

_DAY_US = 86_400_000_000


def _factor(kind: int, days: float, age_days: float, half: float) -> float:
    """``Decay.factor``. ``half`` is 0.5, passed in at run time: with the constant, LLVM turns
    ``0.5 ** x`` into ``exp2(-x)``, which differs from ``pow`` in the last bit now and then."""
    if kind == DECAY_NONE:
        return 1.0
    if kind == DECAY_HALF_LIFE:
        return float(half ** (age_days / days))
    if kind == DECAY_WINDOW:
        return 1.0 if age_days <= days else 0.0
    value = 1.0 - age_days / days
    return value if value > 0.0 else 0.0  # np.maximum(0.0, value)


def _period(per: int, local_us: int) -> int:
    """The cap period of a local moment: 0 (per lead), the day, the Monday of the ISO week or
    the month (months since 1970-01), as ``BulkEngine._cap_groups`` numbers them."""
    if per == PER_LEAD:
        return 0
    day = local_us // _DAY_US
    if per == PER_DAY:
        return day
    if per == PER_WEEK:
        return day - (day + 3) % 7
    # the civil month of a day number (H. Hinnant's days → civil date)
    z = day + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return (year - 1970) * 12 + month - 1


def _pass(
    starts: Int,
    at: Int,
    sig: Int,
    now_us: int,
    half: float,
    rules: Int,
    points: Float,
    decay_of: Int,
    base_kind: int,
    base_days: float,
    window_us: int,
    own_kind: Int,
    own_days: Float,
    slot_of: Int,
    ukey_row: Int,
    ukeys: Int,
    ukey_sizes: Int,
    cap_points: Float,
    cap_per: Int,
    max_times: Int,
    tz_at: Int,
    tz_offset: Int,
    product_of: Int,
    unhashable: Bool,
    engagement: Float,
    by_product: Float,
    product_kept: Bool,
    fallback: Bool,
    blocks: int,
) -> None:
    n = len(starts) - 1
    width = rules.shape[0]
    slots = len(ukey_row)
    widest = 1
    for k in range(len(ukey_sizes)):
        widest = max(widest, ukey_sizes[k])
    for block in prange(blocks):
        lo = block * n // blocks
        hi = (block + 1) * n // blocks
        seen = np.zeros((max(len(ukey_sizes), 1), widest), dtype=np.int64)  # stamp: lead + 1
        last_at = np.zeros(slots, dtype=np.int64)
        last_sig = np.full(slots, -1, dtype=np.int64)
        period = np.zeros(slots, dtype=np.int64)
        has_period = np.zeros(slots, dtype=np.bool_)
        used = np.zeros(slots, dtype=np.float64)
        before = np.zeros(slots, dtype=np.int64)
        for lead in range(lo, hi):
            stamp = lead + 1
            for s in range(slots):
                last_sig[s] = -1
                has_period[s] = False
                used[s] = 0.0
                before[s] = 0
            total = 0.0
            flag = False
            for row in range(starts[lead], starts[lead + 1]):
                moment = at[row]
                code = sig[row]
                if unhashable[code]:
                    flag = True
                age_days = float(now_us - moment) / 1e6 / 86_400.0
                base = _factor(base_kind, base_days, age_days, half)
                if window_us >= 0 and now_us - moment > window_us:
                    base = 0.0
                product = product_of[code]
                for m in range(width):
                    rule = rules[m, code]
                    if rule < 0:
                        break
                    value = points[rule]
                    s = slot_of[rule]
                    if s >= 0:
                        if last_sig[s] >= 0 and last_at[s] == moment and last_sig[s] != code:
                            flag = True  # same moment, different activity: order by key unknown
                        last_at[s] = moment
                        last_sig[s] = code
                        live = True
                        u = ukey_row[s]
                        if u >= 0:
                            key = ukeys[u, code]
                            if key >= 0:
                                if seen[u, key] == stamp:
                                    live = False
                                else:
                                    seen[u, key] = stamp
                        value = value if live else 0.0
                        positive = live
                        per = cap_per[s]
                        if per != PER_NONE and live:
                            index = np.searchsorted(tz_at, moment, side="right") - 1
                            current = _period(per, moment + tz_offset[index])
                            if not has_period[s] or current != period[s]:
                                if has_period[s] and current < period[s]:
                                    flag = True  # a period again after a later one
                                has_period[s] = True
                                period[s] = current
                                used[s] = 0.0
                            left = cap_points[s] - used[s]
                            if left < 0.0:
                                left = 0.0
                            value = left if points[rule] > left else points[rule]
                            used[s] = used[s] + value
                            positive = value > 0.0
                        if max_times[s] >= 0:
                            if before[s] >= max_times[s]:
                                value = 0.0
                            if positive:
                                before[s] += 1
                    d = decay_of[rule]
                    factor = base if d < 0 else _factor(own_kind[d], own_days[d], age_days, half)
                    weighed = value * factor
                    total += weighed
                    if product >= 0 and weighed != 0.0:
                        by_product[lead, product] += weighed
                        product_kept[lead, product] = True
            engagement[lead] = total
            fallback[lead] = flag


def _history(
    starts: Int,
    at: Int,
    sig: Int,
    marks: Bool,
    since: Int,
    counted: Int,
    campaign_of: Int,
    campaigns: int,
    group_start: Int,
    group_end: Int,
    counts: Int,
    together: Bool,
    blocks: int,
) -> None:
    """Per lead: ``counts[lead, k]``, the rows that match spec row ``counted[k]`` of ``marks``
    from ``since`` on (``activity`` nodes); ``together[lead, g]``, whether one campaign holds a
    row of every spec row ``group_start[g] … group_end[g] - 1`` (``same_campaign`` nodes)."""
    n = len(starts) - 1
    specs = marks.shape[0]
    groups = len(group_start)
    for block in prange(blocks):
        lo = block * n // blocks
        hi = (block + 1) * n // blocks
        seen = np.zeros((max(specs, 1), max(campaigns, 1)), dtype=np.int64)  # stamp: lead + 1
        for lead in range(lo, hi):
            stamp = lead + 1
            first, last = starts[lead], starts[lead + 1]
            for k in range(len(counted)):
                spec = counted[k]
                total = 0
                for row in range(first, last):
                    if marks[spec, sig[row]] and at[row] >= since[spec]:
                        total += 1
                counts[lead, k] = total
            for g in range(groups):
                if group_end[g] <= group_start[g]:
                    continue
                for row in range(first, last):
                    campaign = campaign_of[sig[row]]
                    if campaign < 0:
                        continue
                    for spec in range(group_start[g], group_end[g]):
                        if marks[spec, sig[row]] and at[row] >= since[spec]:
                            seen[spec, campaign] = stamp
                hit = False
                lead_spec = group_start[g]
                for row in range(first, last):
                    campaign = campaign_of[sig[row]]
                    if campaign < 0 or seen[lead_spec, campaign] != stamp:
                        continue
                    hit = True
                    for spec in range(group_start[g] + 1, group_end[g]):
                        if seen[spec, campaign] != stamp:
                            hit = False
                            break
                    if hit:
                        break
                together[lead, g] = hit


def history(
    n: int,
    lead: Int,
    at: Int,
    sig: Int,
    marks: Bool,
    since: Int,
    counted: Int,
    campaign_of: Int,
    campaigns: int,
    groups: list[tuple[int, int]],
) -> tuple[Int, Bool]:
    """:func:`_history` over a chunk of leads sorted by lead (``lead`` the row in the chunk)."""
    starts = np.searchsorted(lead, np.arange(n + 1, dtype=np.int64)).astype(np.int64)
    counts = np.zeros((n, max(len(counted), 1)), dtype=np.int64)
    together = np.zeros((n, max(len(groups), 1)), dtype=np.bool_)
    _jit()["history"](
        starts,
        np.ascontiguousarray(at, dtype=np.int64),
        np.ascontiguousarray(sig, dtype=np.int64),
        np.ascontiguousarray(marks, dtype=np.bool_),
        since,
        counted,
        campaign_of,
        campaigns,
        np.array([g[0] for g in groups], dtype=np.int64),
        np.array([g[1] for g in groups], dtype=np.int64),
        counts,
        together,
        max(1, min(n, 8 * _jit()["threads"]())),
    )
    return counts, together


def _positions(ids: Int, lead: Int, out: Int) -> bool:
    """``out[i]``: the position of ``lead[i]`` in ``ids`` (both ascending), by one merge walk;
    whether every lead was found."""
    j = 0
    found = True
    for i in range(len(lead)):
        value = lead[i]
        while j < len(ids) and ids[j] < value:
            j += 1
        out[i] = j
        if j >= len(ids) or ids[j] != value:
            found = False
    return found


def positions(ids: Int, lead: Int) -> tuple[Int, bool]:
    """Where each of the sorted ``lead`` ids sits in the sorted ``ids`` (``np.searchsorted``, in
    one pass), and whether each is there."""
    out = np.empty(len(lead), dtype=np.int64)
    found = _jit()["positions"](
        np.ascontiguousarray(ids, dtype=np.int64), np.ascontiguousarray(lead, dtype=np.int64), out
    )
    return out, bool(found)


_compiled: dict[str, Any] = {}


def _jit() -> dict[str, Any]:
    """The compiled passes (from the on-disk cache when it has them; else compiled, ~20 s)."""
    if not _compiled:
        import numba  # on first use only, see ``prange``

        global prange, _factor, _period  # what the compiled passes call
        prange = numba.prange
        _factor = numba.njit(cache=True, inline="always")(_factor)
        _period = numba.njit(cache=True, inline="always")(_period)
        _compiled["pass"] = numba.njit(parallel=True, cache=True, nogil=True)(_pass)
        _compiled["history"] = numba.njit(parallel=True, cache=True, nogil=True)(_history)
        _compiled["positions"] = numba.njit(cache=True, nogil=True)(_positions)
        _compiled["threads"] = numba.get_num_threads
    return _compiled


def engagement(
    n: int,
    lead: Int,
    at: Int,
    sig: Int,
    products: int,
    tables: dict[str, Any],
) -> tuple[Float, Float, Bool, Bool]:
    """Per lead of the chunk: the engagement sum, the sums per product (``n × products``),
    which (lead, product) pairs had a non-zero row, and which leads the per-lead engine must
    judge. ``tables`` are the engine's per-rule and per-signature arrays (see
    ``BulkEngine._kernel_tables``)."""
    starts = np.searchsorted(lead, np.arange(n + 1, dtype=np.int64)).astype(np.int64)
    out = np.zeros(n, dtype=np.float64)
    by_product = np.zeros((n, max(products, 1)), dtype=np.float64)
    kept = np.zeros((n, max(products, 1)), dtype=np.bool_)
    fallback = np.zeros(n, dtype=np.bool_)
    blocks = max(1, min(n, 8 * _jit()["threads"]()))
    t = tables
    _jit()["pass"](
        starts,
        np.ascontiguousarray(at, dtype=np.int64),
        np.ascontiguousarray(sig, dtype=np.int64),
        t["now_us"],
        0.5,
        t["rules"],
        t["points"],
        t["decay_of"],
        t["base_kind"],
        t["base_days"],
        t["window_us"],
        t["own_kind"],
        t["own_days"],
        t["slot_of"],
        t["ukey_row"],
        t["ukeys"],
        t["ukey_sizes"],
        t["cap_points"],
        t["cap_per"],
        t["max_times"],
        t["tz_at"],
        t["tz_offset"],
        t["product"],
        t["unhashable"],
        out,
        by_product,
        kept,
        fallback,
        blocks,
    )
    return out, by_product[:, :products], kept[:, :products], fallback


def warm_up() -> None:
    """Load the compiled passes (from the on-disk cache, or compile them) with tiny inputs: the
    first call in a process costs about half a second even when cached; a caller can pay it on
    another thread while it reads."""
    one = np.zeros(1, dtype=np.int64)
    positions(one, one)
    history(1, one, one, one, np.ones((1, 1), dtype=np.bool_), one, one, one, 1, [])
    real, grid, flag = np.zeros(1, dtype=np.float64), np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.bool_)
    tables = {
        "now_us": 0,
        "rules": grid,
        "points": real,
        "decay_of": one,
        "base_kind": DECAY_NONE,
        "base_days": 0.0,
        "window_us": -1,
        "own_kind": one[:0],
        "own_days": real[:0],
        "slot_of": one,
        "ukey_row": one,
        "ukeys": grid,
        "ukey_sizes": one,
        "cap_points": real,
        "cap_per": one,
        "max_times": one,
        "tz_at": one,
        "tz_offset": one,
        "product": one,
        "unhashable": flag,
    }
    engagement(1, one, one, one, 1, tables)
