"""A small book of leads for the lead list: four hand-raisers routed round robin to reps a, b, c
and a again (inside sales), and two leads without activity (stage new, nobody's), each changed a
minute after the one before."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from leadrelay import LeadRelay
from tests.conftest import NOW
from tests.support.routing import hand_raise, playbook_file

#: The leads, the last changed first (the order of GET /v1/leads).
SAKURA = ["person3@sakura-mfg.co.jp", "person2@sakura-mfg.co.jp", "person1@sakura-mfg.co.jp"]
KAEDE = "person4@kaede-soft.co.jp"
YAMADA = "taro.yamada@momiji-shoji.co.jp"
SMITH = "john.smith@maple-works.com"
NEWEST_FIRST = [SMITH, YAMADA, KAEDE, *SAKURA]
OF_REP = {"a": [KAEDE, SAKURA[2]], "b": [SAKURA[1]], "c": [SAKURA[0]]}


def fill(relay: LeadRelay, tmp_path: Path) -> None:
    relay.use_playbook(playbook_file(tmp_path))
    for minute, n in enumerate([1, 2, 3]):
        relay.record_activities([hand_raise(n)], now=NOW + timedelta(minutes=minute))
    relay.record_activities(
        [hand_raise(4, company="kaede-soft.co.jp", company_name="かえでソフト株式会社")], now=NOW + timedelta(minutes=3)
    )
    relay.add_leads(
        [{"email": YAMADA, "last_name": "山田", "first_name": "太郎", "company": {"name": "もみじ商事株式会社"}}],
        now=NOW + timedelta(minutes=4),
    )
    relay.add_leads(
        [{"email": SMITH, "last_name": "Smith", "first_name": "John", "company": {"name": "Maple Works Inc."}}],
        now=NOW + timedelta(minutes=5),
    )
