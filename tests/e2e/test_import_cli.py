"""`leadrelay import` as a user runs it: real processes, real files, rejects files and exit codes."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.cli import NOW, run

HUBSPOT = """\
Record ID,Email,First Name,Last Name,Job Title,Company Name,Number of Employees,Country/Region,Create Date,Lifecycle Stage,Favourite Colour
101,k.sato@sakura-mfg.co.jp,Kenji,Sato,部長,さくら製作所,"1,200",Japan,2026-11-01 10:00,lead,blue
102,not-an-email,Bad,Row,,Nowhere,5,Japan,2026-11-01 11:00,lead,red
103,a.suzuki@hikari-denki.co.jp,Aki,"Suzuki",Manager,Hikari Denki,300,JP,2026-11-02 09:30,subscriber,
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "import.db"


def lead(db: Path, email: str) -> dict[str, object]:
    shown = run("lead", "show", email, "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    report: dict[str, object] = json.loads(shown.stdout)
    return report


def test_hubspot_csv_with_a_bad_row_keeps_the_good_ones_and_reimport_changes_nothing(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "hubspot-export.csv"
    source.write_text(HUBSPOT, encoding="utf-8")
    first = run("import", "leads", str(source), "--mapping", "hubspot", "--timezone", "Asia/Tokyo", db=db)
    assert first.returncode == 1, first.stderr
    assert "2 leads created, 0 leads updated, 0 duplicates skipped" in first.stdout
    assert "1 rejected" in first.stdout
    assert "warning: columns not in mapping hubspot, ignored: Favourite Colour" in first.stderr
    assert "rejected line 3: email:" in first.stderr

    rejects = source.with_name("hubspot-export.csv.rejects.csv")
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][:4] == ["line", "field", "reason", "Record ID"]
    assert len(table) == 2
    assert table[1][:2] == ["3", "email"]
    assert "not-an-email" in table[1][2]
    assert table[1][3:6] == ["102", "not-an-email", "Bad"]

    before = lead(db, "k.sato@sakura-mfg.co.jp")
    assert before["profile"]["created_at"] == "2026-11-01T10:00:00+09:00"  # type: ignore[index]
    assert before["account"]["employees"] == 1200  # type: ignore[index]
    assert before["account"]["name"] == "さくら製作所"  # type: ignore[index]

    second = run("import", "leads", str(source), "--mapping", "hubspot", "--timezone", "Asia/Tokyo", db=db)
    assert second.returncode == 1, second.stderr
    assert "0 leads created" in second.stdout
    assert "0 stage moves" in second.stdout
    assert lead(db, "k.sato@sakura-mfg.co.jp") == before


def test_activities_csv_with_a_mapping_file_is_idempotent(tmp_path: Path, db: Path) -> None:
    mapping = tmp_path / "webinar-tool.yaml"
    mapping.write_text(
        "columns:\n  Mail: email\n  Event: type\n  Time: occurred_at\n  Seminar: campaign\n  Name: last_name\n"
        "values:\n  type:\n    Webinar: webinar_attended\n    Registration: webinar_registered\n"
        "timezone: Asia/Tokyo\ndate_formats: ['%Y/%m/%d %H:%M']\n",
        encoding="utf-8",
    )
    source = tmp_path / "events.csv"
    source.write_text(
        "Mail;Event;Time;Seminar;Name\n"
        "k.sato@sakura-mfg.co.jp;Registration;2026/11/18 09:00;dx-2026;佐藤\n"
        "k.sato@sakura-mfg.co.jp;Webinar;2026/11/20 15:00;dx-2026;佐藤\n",
        encoding="utf-8",
    )
    first = run("import", "activities", str(source), "--mapping", str(mapping), db=db)
    assert first.returncode == 0, first.stderr
    assert "2 activities recorded, 0 duplicates skipped" in first.stdout
    assert not source.with_name("events.csv.rejects.csv").exists()
    before = lead(db, "k.sato@sakura-mfg.co.jp")
    assert before["profile"]["last_name"] == "佐藤"  # type: ignore[index]

    second = run("import", "activities", str(source), "--mapping", str(mapping), db=db)
    assert second.returncode == 0, second.stderr
    assert "0 activities recorded, 2 duplicates skipped" in second.stdout
    assert lead(db, "k.sato@sakura-mfg.co.jp") == before


def test_shift_jis_file_with_japanese_names(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "sjis.csv"
    text = "email,last_name,first_name,company.name,prefecture\r\nk.sato@sakura-mfg.co.jp,佐藤,健二,さくら製作所,大阪府\r\nm.takahashi@hikari.co.jp,髙橋,美咲,ひかり電機,東京都\r\n"
    source.write_bytes(text.encode("cp932"))
    done = run("import", "leads", str(source), db=db)
    assert done.returncode == 0, done.stderr
    assert "2 leads created" in done.stdout
    report = lead(db, "m.takahashi@hikari.co.jp")
    assert report["profile"]["last_name"] == "髙橋"  # type: ignore[index]
    assert report["account"]["name"] == "ひかり電機"  # type: ignore[index]


def test_missing_required_column_exits_2_before_reading_rows(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "no-email.csv"
    source.write_text("First Name,Last Name\nKenji,Sato\n", encoding="utf-8")
    done = run("import", "leads", str(source), "--mapping", "hubspot", db=db)
    assert done.returncode == 2
    assert "missing required column 'Email' (email)" in done.stderr
    assert "Traceback" not in done.stderr
    activities = tmp_path / "acts.csv"
    activities.write_text("email,type\na@x.co.jp,webinar_attended\n", encoding="utf-8")
    done = run("import", "activities", str(activities), db=db)
    assert done.returncode == 2
    assert "one mapped to occurred_at" in done.stderr


def test_missing_and_empty_files(tmp_path: Path, db: Path) -> None:
    missing = run("import", "leads", str(tmp_path / "nope.csv"), db=db)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.csv'}: file not found"]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    done = run("import", "leads", str(empty), db=db)
    assert done.returncode == 0, done.stderr
    assert "empty file, nothing to import" in done.stdout
    assert "0 leads created, 0 leads updated, 0 duplicates skipped, 0 stage moves, 0 rejected" in done.stdout


def test_jsonl_activities_and_rejects_path(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "acts.jsonl"
    good = {"email": "k.sato@sakura-mfg.co.jp", "type": "webinar_attended", "occurred_at": "2026-11-20T15:00:00+09:00"}
    source.write_text(json.dumps(good) + "\n" + json.dumps({**good, "type": "telepathy"}) + "\n", encoding="utf-8")
    rejects = tmp_path / "bad.csv"
    done = run("import", "activities", str(source), "--rejects", str(rejects), db=db)
    assert done.returncode == 1
    assert "1 activities recorded" in done.stdout
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[1][:2] == ["2", "type"]
    assert json.loads(table[1][3])["type"] == "telepathy"


def test_parquet_leads_with_a_bad_row_reject_it_by_row_number(tmp_path: Path, db: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "crm.parquet"
    pq.write_table(
        pa.table(
            {
                "Email": ["k.sato@sakura-mfg.co.jp", "not-an-email", "a.suzuki@hikari-denki.co.jp"],
                "Company Name": ["さくら製作所", "Nowhere", "Hikari Denki"],
                "Number of Employees": [1200, 5, 300],
                "Create Date": pa.array(
                    [datetime(2026, 11, 1, 10, 0), datetime(2026, 11, 1, 11, 0), None], pa.timestamp("s")
                ),
            }
        ),
        source,
    )
    done = run("import", "leads", str(source), "--mapping", "hubspot", "--timezone", "Asia/Tokyo", db=db)
    assert done.returncode == 1, done.stderr
    assert "2 leads created" in done.stdout
    assert "rejected line 2: email:" in done.stderr
    with source.with_name("crm.parquet.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["line", "field", "reason", "Email", "Company Name", "Number of Employees", "Create Date"]
    assert table[1][:2] == ["2", "email"]
    assert table[1][3] == "not-an-email"
    report = lead(db, "k.sato@sakura-mfg.co.jp")
    assert report["profile"]["created_at"] == "2026-11-01T10:00:00+09:00"  # type: ignore[index]
    assert report["account"]["employees"] == 1200  # type: ignore[index]


def test_outcomes_import_moves_leads_to_won_and_lead_show_and_summary_show_them(tmp_path: Path, db: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("external_id,source_channel,created_at\nmql-1,social,2026-10-01\nmql-2,,2026-10-02\n")
    mapping = tmp_path / "deals.yaml"
    mapping.write_text(
        "columns:\n  Lead: external_id\n  Result: outcome\n  Closed: closed_at\n  Amount: amount\n  Rep: sr\n"
        "values:\n  outcome:\n    Closed Won: won\n    Closed Lost: lost\n"
        "constants:\n  currency: JPY\ntimezone: Asia/Tokyo\ndate_formats: ['%Y-%m-%d']\n",
        encoding="utf-8",
    )
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Lead,Result,Closed,Amount,Rep\nmql-1,Closed Won,2026-11-10,500000,佐藤\nnobody,Closed Won,2026-11-11,1,x\n"
        "mql-2,Closed Lost,2026-11-12,,鈴木\n",
        encoding="utf-8",
    )
    assert run("import", "leads", str(leads), "--timezone", "Asia/Tokyo", db=db).returncode == 0
    done = run("import", "outcomes", str(deals), "--mapping", str(mapping), db=db)
    assert done.returncode == 1, done.stderr
    assert "2 outcomes recorded, 0 duplicates skipped, 2 stage moves, 1 rejected" in done.stdout
    assert "rejected line 3: external_id: no lead with external_id 'nobody' (import the leads first)" in done.stderr
    assert "Traceback" not in done.stderr

    report = lead(db, "mql-1")
    assert report["stage"] == "won"
    assert report["outcomes"][0]["sr"] == "佐藤"  # type: ignore[index]
    shown = run("lead", "show", "mql-1", db=db)
    assert shown.returncode == 0 and "won_imported" in shown.stdout and "500000.00 JPY" in shown.stdout

    summary = run("summary", db=db)
    assert "1 / 1" in summary.stdout and "JPY: won 500000.00, lost 0.00" in summary.stdout
    again = run("import", "outcomes", str(deals), "--mapping", str(mapping), db=db)
    assert "0 outcomes recorded, 2 duplicates skipped, 0 stage moves, 1 rejected" in again.stdout


# --- one poison row must not kill a batch; files the import cannot read say why in one line -----


def piped(*args: str, db: Path, data: bytes, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`leadrelay ARGS` with ``data`` on its standard input (a pipe)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update(LEADRELAY_NOW=NOW, LEADRELAY_DB=str(db), COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "leadrelay", "--lang", "en", *args],
        input=data,
        capture_output=True,
        env=env,
        timeout=120,
        cwd=cwd,
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_year_0001_timestamp_rejects_its_row_and_the_batch_is_stored_then_and_on_every_rerun(
    tmp_path: Path, db: Path
) -> None:
    source = tmp_path / "acts.csv"
    source.write_text(
        "email,type,occurred_at\n"
        "a@sakura-mfg.co.jp,page_viewed,2026-11-20T10:00:00+09:00\n"
        "b@sakura-mfg.co.jp,page_viewed,0001-01-01T00:00:00+09:00\n"
        "c@sakura-mfg.co.jp,page_viewed,2026-11-20T11:00:00+09:00\n",
        encoding="utf-8",
    )
    for attempt in range(2):
        done = run("import", "activities", str(source), db=db)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert "rejected line 3: occurred_at: '0001-01-01T00:00:00+09:00' is not between the years 1900" in done.stderr
        assert f"{2 if attempt == 0 else 0} activities recorded" in done.stdout
    assert lead(db, "c@sakura-mfg.co.jp")["stage"] is not None


def test_jsonl_with_values_postgresql_cannot_store_keeps_the_good_rows(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "leads.jsonl"
    lines = [
        {"email": "a@sakura-mfg.co.jp", "company": {"employees": 800}},
        {"email": "b@hikari-denki.co.jp", "company": {"employees": 3000000000}},
        {"email": "c@kaze-soft.co.jp", "company": {"employees": 10**30}},
        {"email": "d@umi-logi.co.jp", "first_name": "Ken\u0000ji"},
        {"email": "e@yama-foods.co.jp"},
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    done = run("import", "leads", str(source), db=db)
    assert done.returncode == 1, done.stderr
    assert "2 leads created" in done.stdout and "3 rejected" in done.stdout
    assert "rejected line 2: company.employees: is larger than 2147483647" in done.stderr
    assert "rejected line 3: company.employees: is larger than 2147483647" in done.stderr
    assert "rejected line 4: first_name: must not contain NUL characters" in done.stderr
    assert lead(db, "e@yama-foods.co.jp")["email"] == "e@yama-foods.co.jp"


def test_a_csv_field_over_128_kb_is_kept_and_one_over_1_mb_rejects_only_its_row(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "notes.csv"
    source.write_text(
        "email,custom.notes\n"
        f"a@sakura-mfg.co.jp,{'n' * 200_000}\n"
        f'b@hikari-denki.co.jp,"{"m" * (1 << 21)}\nsecond line"\n'
        "c@kaze-soft.co.jp,short\n",
        encoding="utf-8",
    )
    done = run("import", "leads", str(source), db=db)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "2 leads created" in done.stdout and "1 rejected" in done.stdout
    assert "rejected line 3: custom.notes: is longer than 1,048,576 characters" in done.stderr
    assert lead(db, "a@sakura-mfg.co.jp")["profile"]["custom"]["notes"] == "n" * 200_000  # type: ignore[index]
    assert lead(db, "c@kaze-soft.co.jp")["email"] == "c@kaze-soft.co.jp"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("email," + "h" * (1 << 21), "the header line is longer than 1,048,576 characters"),
        ('email,"' + ("h" * 1000 + "\n") * 1100 + '"', "the header is not readable CSV (a field is longer than"),
        ("email," + ",".join(f"c{n}" for n in range(10_000)), "the header has 10,001 columns"),
    ],
    ids=["long-line", "long-quoted-field", "wide"],
)
def test_a_header_too_long_or_too_wide_is_one_line_exit_2(tmp_path: Path, db: Path, header: str, message: str) -> None:
    source = tmp_path / "head.csv"
    source.write_text(f"{header}\na@sakura-mfg.co.jp\n", encoding="utf-8")
    assert message in one_line_error(run("import", "leads", str(source), db=db))


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-16", "UTF-16-LE text (it starts with a byte order mark)"),
        ("utf-16-le", "UTF-16-LE text without a byte order mark"),
    ],
)
def test_a_utf16_file_is_named_with_how_to_convert_it(tmp_path: Path, db: Path, codec: str, bom: str) -> None:
    source = tmp_path / "excel.csv"
    source.write_bytes("Email,Last Name\r\nk.sato@sakura-mfg.co.jp,佐藤\r\n".encode(codec))
    message = one_line_error(run("import", "leads", str(source), "--mapping", "hubspot", db=db))
    assert bom in message and "not UTF-8 or Shift_JIS" in message and "iconv" in message
    named = run("import", "leads", str(source), "--mapping", "hubspot", "--encoding", codec, db=db)
    assert named.returncode == 0, named.stderr
    assert lead(db, "k.sato@sakura-mfg.co.jp")["profile"]["last_name"] == "佐藤"  # type: ignore[index]


def test_csv_and_jsonl_are_imported_from_standard_input_without_resuming(tmp_path: Path, db: Path) -> None:
    csv_data = b"email,type,occurred_at\na@sakura-mfg.co.jp,page_viewed,2026-11-20T10:00:00+09:00\nbad,page_viewed,x\n"
    done = piped("import", "activities", "-", db=db, data=csv_data, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "1 activities recorded" in done.stdout
    assert "rejected rows written to stdin.rejects.csv" in done.stderr
    with (tmp_path / "stdin.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert [row[:2] for row in csv.reader(handle)] == [["line", "field"], ["3", "occurred_at"]]
    again = piped("import", "activities", "-", db=db, data=csv_data, cwd=tmp_path)
    assert "resuming" not in again.stderr and "1 duplicates skipped" in again.stdout

    jsonl = b'{"email": "b@hikari-denki.co.jp", "type": "page_viewed", "occurred_at": "2026-11-20T10:00:00+09:00"}\n'
    for name in ("-", "/dev/stdin"):
        done = piped("import", "activities", name, db=db, data=jsonl, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert lead(db, "b@hikari-denki.co.jp")["email"] == "b@hikari-denki.co.jp"
    runs = sqlite3.connect(db).execute("SELECT count(*) FROM import_runs").fetchone()
    assert runs == (0,)  # nothing to resume: a pipe cannot be read again


def test_parquet_on_standard_input_is_one_line_exit_2(tmp_path: Path, db: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "leads.parquet"
    pq.write_table(pa.table({"email": ["a@sakura-mfg.co.jp"]}), path)
    message = one_line_error(piped("import", "leads", "-", db=db, data=path.read_bytes(), cwd=tmp_path))
    assert "Parquet cannot be read from a pipe or standard input" in message


def test_rejects_naming_the_input_file_is_refused_and_the_input_is_kept(tmp_path: Path, db: Path) -> None:
    source = tmp_path / "hubspot-export.csv"
    source.write_text(HUBSPOT, encoding="utf-8")
    os.link(source, tmp_path / "same-file.csv")
    for rejects in (str(source), str(tmp_path / "." / "same-file.csv")):
        done = run("import", "leads", str(source), "--mapping", "hubspot", "--rejects", rejects, db=db)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"error: --rejects {rejects} is the file being imported: choose another rejects file"
        ]
        assert source.read_text(encoding="utf-8") == HUBSPOT


def test_a_row_with_more_cells_than_the_header_keeps_every_original_value_in_the_rejects_file(
    tmp_path: Path, db: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(
        "email,first_name,title\na@sakura-mfg.co.jp,Aki,部長\nb@hikari.co.jp,Bo,Manager,Osaka,extra\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    done = run("import", "leads", str(source), "--rejects", str(rejects), db=db)
    assert done.returncode == 1, done.stderr
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["line", "field", "reason", "email", "first_name", "title"],
        ["3", "row", "has 5 fields but the header has 3", "b@hikari.co.jp", "Bo", "Manager", "Osaka", "extra"],
    ]


def test_a_reused_source_id_is_a_conflict_in_the_rejects_file_not_a_duplicate(tmp_path: Path, db: Path) -> None:
    def line(type_: str, source_id: str) -> str:
        record = {"email": "k@sakura-mfg.co.jp", "type": type_, "occurred_at": "2026-11-20T10:00:00+09:00"}
        return json.dumps({**record, "source_id": source_id})

    first = tmp_path / "live.jsonl"
    first.write_text(line("page_viewed", "crm-1") + "\n", encoding="utf-8")
    assert run("import", "activities", str(first), db=db).returncode == 0
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_text(
        "\n".join([line("page_viewed", "crm-1"), line("demo_requested", "crm-1"), line("email_opened", "crm-2")])
        + "\n",
        encoding="utf-8",
    )
    second = run("import", "activities", str(backfill), db=db)
    assert second.returncode == 1, second.stderr
    assert "1 activities recorded, 1 duplicates skipped" in second.stdout
    assert "1 rejected" in second.stdout
    assert "rejected line 2: source_id: 'crm-1' already names another activity (it differs in type)" in second.stderr
    with backfill.with_name("backfill.jsonl.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["line", "field", "reason", "record"]
    assert [row[:2] for row in table[1:]] == [["2", "source_id"]]
    assert json.loads(table[1][3])["type"] == "demo_requested"
