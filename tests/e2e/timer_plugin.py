"""A timer handler for the worker tests, loaded with ``leadrelay worker --plugin tests.e2e.timer_plugin``.

Each firing writes one row to ``timer_effects`` (created by the test) in the firing transaction,
so counting the rows tells how many times each timer's effect happened.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from leadrelay.adapters.store.outbox import Timer
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.playbook import Playbook
from leadrelay.services.timers import TimerHandler

EFFECTS_TABLE = "CREATE TABLE timer_effects (timer_key VARCHAR(200) NOT NULL, worker VARCHAR(120) NOT NULL)"


def write_effect(tx: StoreTx, timer: Timer, now: datetime, playbook: Playbook) -> None:
    tx._raw_many(
        "INSERT INTO timer_effects (timer_key, worker) VALUES (?, ?)", [(timer.key, os.environ["TEST_WORKER"])]
    )
    pause = float(os.environ.get("TEST_EFFECT_SECONDS", "0"))
    if pause:
        time.sleep(pause)


#: What ``--plugin`` takes from this module: the handler of each timer kind it adds.
TIMER_HANDLERS: dict[str, TimerHandler] = {"effect": write_effect}
