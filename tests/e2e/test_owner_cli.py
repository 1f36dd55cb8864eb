"""Who holds a lead, as a user reads it (seed 003): lead show, route explain, summary and reps name the
real owner — a sales department and rep, marketing, or nobody — and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run

PROFILE = ("--company", "さくら製作所", "--industry", "manufacturing", "--employees", "800")
PERSON = ("--seniority", "manager", "--title", "部長", "--country", "JP")


def add(db: Path, email: str, *extra: str) -> None:
    done = run("lead", "add", "--email", email, *PROFILE, *PERSON, *extra, db=db)
    assert done.returncode == 0, done.stderr


def did(db: Path, email: str, type_: str, at: str, *props: str) -> None:
    args = ["activity", "add", "--email", email, "--type", type_, "--at", at]
    for prop in props:
        args += ["--prop", prop]
    done = run(*args, db=db)
    assert done.returncode == 0, done.stderr


def shown(db: Path, *args: str) -> Any:
    done = run(*args, "--json", db=db)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The leads, made once by the commands a user types; each test works on its own copy."""
    path = tmp_path_factory.mktemp("owners") / "owners.db"
    add(path, "level1@sakura-mfg.co.jp", "--prefecture", "東京都")
    did(path, "level1@sakura-mfg.co.jp", "trade_show_visited", "2026-11-20T10:00:00+09:00")
    add(path, "level3@sakura-mfg.co.jp", "--prefecture", "大阪府")
    did(path, "level3@sakura-mfg.co.jp", "webinar_attended", "2026-11-20T10:00:00+09:00")
    add(path, "level4@sakura-mfg.co.jp", "--phone", "06-6123-4567")  # Osaka, known only from the number
    did(path, "level4@sakura-mfg.co.jp", "booth_visited", "2026-11-20T10:00:00+09:00", "detailed_talk=true")
    add(path, "student@sakura-mfg.co.jp", "--prefecture", "東京都")
    did(path, "student@sakura-mfg.co.jp", "demo_requested", "2026-11-20T10:00:00+09:00")
    done = run(
        "lead", "add", "--email", "student@sakura-mfg.co.jp", "--seniority", "student", "--title", "学生", db=path
    )
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def db(tmp_path: Path, made: Path) -> Path:
    copy = tmp_path / "owners.db"
    copy.write_bytes(made.read_bytes())
    return copy


def test_lead_show_names_the_department_the_rep_and_why(db: Path) -> None:
    level3 = shown(db, "lead", "show", "level3@sakura-mfg.co.jp")["owner"]
    assert (level3["holder"], level3["department"]) == ("sales", "hq_inside_sales")
    assert level3["rep"].startswith("is-") and level3["department_label"]["ja"] == "本社 インサイドセールス"
    assert level3["why"].startswith("Other MQLs → HQ Inside Sales: ")  # the routing rule that placed it

    level4 = shown(db, "lead", "show", "level4@sakura-mfg.co.jp")["owner"]
    assert (level4["holder"], level4["department"]) == ("sales", "osaka_branch")
    assert level4["why"].startswith("Level 4 in Kinki → Osaka Branch Sales: ")

    level1 = shown(db, "lead", "show", "level1@sakura-mfg.co.jp")["owner"]
    assert (level1["holder"], level1["department"], level1["rep"]) == ("marketing", "marketing", None)
    assert "owned by Marketing" in level1["why"]

    student = shown(db, "lead", "show", "student@sakura-mfg.co.jp")["owner"]
    assert (student["holder"], student["department"], student["rep"]) == ("nobody", None, None)
    assert student["why"].startswith("disqualified (student)")

    text = run("lead", "show", "level1@sakura-mfg.co.jp", db=db).stdout
    assert "Owner: Marketing" in text


def test_route_explain_says_when_a_lead_would_not_be_routed_and_why(db: Path) -> None:
    level1 = shown(db, "route", "explain", "level1@sakura-mfg.co.jp")
    assert level1["would_route"] is False and level1["stage"] == "nurture"
    assert level1["why_not"] == (
        "it is in Nurture, not an MQL; level 1 is owned by Marketing: a lead goes to sales when it becomes an MQL"
    )
    student = shown(db, "route", "explain", "student@sakura-mfg.co.jp")
    assert student["would_route"] is False and "disqualified (student)" in student["why_not"]
    text = run("route", "explain", "student@sakura-mfg.co.jp", db=db).stdout
    assert "would not be routed now" in text and "Routing" not in text  # no assignment shown

    level3 = shown(db, "route", "explain", "level3@sakura-mfg.co.jp")
    assert level3["would_route"] is True and level3["why_not"] is None
    assert level3["department"] == "hq_inside_sales"  # its level's department, even in Osaka


def test_summary_and_reps_count_who_holds_the_leads(db: Path) -> None:
    owners = {(o["holder"], o["department"]): (o["with_rep"], o["queued"]) for o in shown(db, "summary")["owners"]}
    assert owners[("sales", "hq_inside_sales")] == (1, 0)
    assert owners[("sales", "osaka_branch")] == (1, 0)
    assert owners[("marketing", "marketing")] == (0, 1)
    assert owners[("nobody", None)] == (0, 1)
    text = run("summary", db=db, lang="ja").stdout
    assert "リードの担当" in text and "本社 インサイドセールス" in text
