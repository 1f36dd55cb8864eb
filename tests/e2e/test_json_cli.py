"""Every command that reports something has a ``--json`` form, and every time in it is in the
playbook's zone (the default playbook works in Asia/Tokyo: +09:00)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import NOW, run

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
LATER = "2026-12-27T12:00:00+09:00"  # 32 days after NOW: past the default 30 days without activity


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("json") / "demo.db"
    assert run("demo", "--static", "--people", "400", "--companies", "40", db=db).returncode == 0
    return db


@pytest.fixture
def db(tmp_path: Path, demo_db: Path) -> Path:
    copy = tmp_path / "copy.db"
    copy.write_bytes(demo_db.read_bytes())
    return copy


def as_json(*args: str, db: Path) -> Any:
    result = run(*args, "--json", db=db)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def owned(db: Path, stage: str) -> list[dict[str, Any]]:
    return [row for row in as_json("suppression", "export", db=db) if row["stage"] == stage]


def times(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, text) in a JSON document that is a time stamp."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from times(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from times(item, f"{path}[{index}]")
    elif isinstance(value, str) and TIME.match(value):
        yield path, value


def test_every_time_in_the_json_outputs_carries_the_playbook_zones_offset(db: Path) -> None:
    mql = owned(db, "mql")[0]["email"]
    outputs = {
        "lead show": as_json("lead", "show", mql, db=db),
        "sla": as_json("sla", db=db),
        "sla --all": as_json("sla", "--all", db=db),
        "suppression export": as_json("suppression", "export", db=db),
        "outbox": as_json("outbox", db=db),
        "summary": as_json("summary", db=db),
    }
    found = {name: list(times(document)) for name, document in outputs.items()}
    for name in ("lead show", "sla --all", "suppression export", "outbox", "summary"):
        assert found[name], f"{name}: no time found"
    wrong = [(name, path, text) for name, pairs in found.items() for path, text in pairs if not text.endswith("+09:00")]
    assert wrong == []
    assert outputs["summary"]["as_of"] == NOW


def test_lead_show_json_carries_the_leads_sla_clocks_as_sla_reads_them(db: Path) -> None:
    mql = owned(db, "mql")[0]["email"]
    report = as_json("lead", "show", mql, db=db)
    clocks = [row for row in as_json("sla", "--all", db=db) if row["lead"] == mql]
    assert report["sla"] and report["sla"] == clocks
    assert {c["clock"] for c in clocks} <= {"accept", "touch"} and all(
        c["rep"] == report["owner"]["rep"] for c in clocks
    )
    nurture = as_json("lead", "show", as_json("summary", db=db)["top_leads"][-1]["email"], db=db)
    if nurture["stage"] != "mql":
        assert nurture["sla"] == []  # only a lead waiting for sales' answer has running clocks


def test_lead_add_json_reports_what_was_created_then_updated(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    email = "k.sato@sakura-mfg.co.jp"
    added = as_json("lead", "add", "--email", email, "--title", "部長", "--company", "さくら製作所", db=db)
    assert (added["leads_created"], added["leads_updated"], added["rejected"]) == (1, 0, [])
    assert (added["moves"], added["routed"]) == ([], [])  # a profile alone is no engagement: it stays new
    again = as_json("lead", "add", "--email", email, "--title", "本部長", db=db)
    assert (again["leads_created"], again["leads_updated"]) == (0, 1)
    assert as_json("lead", "show", email, db=db)["profile"]["title"] == "本部長"
    webinar = as_json(
        "activity", "add", "--email", email, "--type", "webinar_attended", "--at", "2026-11-20T15:00:00+09:00", db=db
    )
    assert webinar["activities_inserted"] == 1
    assert [(m["lead"], m["from"], m["to"], m["at"]) for m in webinar["moves"]] == [
        (email, "new", "nurture", "2026-11-20T15:00:00+09:00")
    ]


def test_sales_answers_in_json_name_the_lead_its_stage_and_each_move(db: Path) -> None:
    first, second = (row["email"] for row in owned(db, "mql")[:2])
    accepted = as_json("lead", "accept", first, "--as", "cli-rep", db=db)
    assert (accepted["lead"], accepted["stage"]) == (first, "sal")
    [move] = accepted["moves"]
    assert (move["from"], move["to"], move["trigger"], move["actor"]) == ("mql", "sal", "accepted", "cli-rep")
    assert move["at"] == NOW
    advanced = as_json("lead", "advance", first, "--to", "sql", db=db)
    assert (advanced["stage"], [m["to"] for m in advanced["moves"]]) == ("sql", ["sql"])
    recycled = as_json("lead", "recycle", first, "--reason", "予算凍結", db=db)
    assert recycled["stage"] == "recycled" and recycled["moves"][0]["reason"] == "recycled: 予算凍結"
    rejected = as_json("lead", "reject", second, "--reason", "not_ready", db=db)
    assert rejected["stage"] == "recycled"  # a recyclable reason goes straight back to marketing
    assert [(m["from"], m["to"], m["rule"]) for m in rejected["moves"]] == [
        ("mql", "rejected", "not_ready"),
        ("rejected", "recycled", None),
    ]
    assert [m["to"] for m in as_json("lead", "show", second, db=db)["history"]][-2:] == ["rejected", "recycled"]


def test_recycle_inactive_dry_run_lists_what_would_be_recycled_and_changes_nothing(db: Path) -> None:
    email = owned(db, "mql")[0]["email"]
    assert run("lead", "accept", email, db=db).returncode == 0
    dry = as_json("--now", LATER, "recycle-inactive", "--dry-run", db=db)
    assert dry["dry_run"] is True and dry["inactive_days"] == 30 and dry["as_of"] == LATER
    would = {f["lead"]: f["stage"] for f in dry["recycled"]}
    assert would[email] == "recycled"
    assert as_json("lead", "show", email, db=db)["stage"] == "sal"  # nothing changed
    text = run("--now", LATER, "recycle-inactive", "--dry-run", db=db)
    assert f"{len(would)} leads would be recycled" in text.stdout
    done = as_json("--now", LATER, "recycle-inactive", db=db)
    assert done["dry_run"] is False and {f["lead"] for f in done["recycled"]} == set(would)
    assert as_json("lead", "show", email, db=db)["stage"] == "recycled"
    assert as_json("--now", LATER, "recycle-inactive", db=db)["recycled"] == []
