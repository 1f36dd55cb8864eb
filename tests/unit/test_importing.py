"""File reading and mappings for `leadrelay import`: encodings, delimiters, line numbers, mapping files."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadrelay.adapters.files.formats import ImportFileError
from leadrelay.adapters.files.mappings import Mapping, builtin_mappings, load_mapping, parse_mapping
from leadrelay.adapters.files.sources import detect_encoding, open_source, sniff_delimiter
from leadrelay.adapters.records import InputError


def rows(path: Path, encoding: str | None = None) -> list[tuple[int, object]]:
    with open_source(path, encoding) as source:
        return list(source.rows())


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        delimiter.join(["email", "company.name"]) + "\n" + delimiter.join(["a@x.co.jp", '"X, Inc."']) + "\n"
    )
    with open_source(path) as source:
        assert source.delimiter == delimiter
        assert source.headers == ["email", "company.name"]
        assert list(source.rows()) == [(2, {"email": "a@x.co.jp", "company.name": "X, Inc."})]


def test_sniff_ignores_delimiters_inside_quotes() -> None:
    assert sniff_delimiter('"a,b,c";"d"\n') == ";"
    assert sniff_delimiter("single\n") == ","


def test_utf8_bom_is_dropped_from_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("Email,First Name\nk@x.co.jp,健二\n".encode("utf-8-sig"))
    with open_source(path) as source:
        assert source.encoding == "utf-8-sig"
        assert source.headers == ["Email", "First Name"]
        assert list(source.rows()) == [(2, {"Email": "k@x.co.jp", "First Name": "健二"})]


def test_cp932_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "sjis.csv"
    path.write_bytes("メール,姓\nk@x.co.jp,佐藤\nm@x.co.jp,髙橋\n".encode("cp932"))
    with open_source(path) as source:
        assert source.encoding == "cp932"
        assert source.headers == ["メール", "姓"]
        assert [r for _, r in source.rows()] == [
            {"メール": "k@x.co.jp", "姓": "佐藤"},
            {"メール": "m@x.co.jp", "姓": "髙橋"},
        ]


def test_encoding_can_be_forced(tmp_path: Path) -> None:
    path = tmp_path / "sjis.csv"
    path.write_bytes("email,last_name\nk@x.co.jp,佐藤\n".encode("cp932"))
    assert rows(path, "shift_jis") == [(2, {"email": "k@x.co.jp", "last_name": "佐藤"})]
    with pytest.raises(ImportFileError, match="not valid utf-8"):
        rows(path, "utf-8")
    with pytest.raises(ImportFileError, match="not an encoding"):
        rows(path, "no-such-codec")


def test_undecodable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="not UTF-8 or Shift_JIS"):
        detect_encoding("email,name\nk@x.de,Café Müller\n".encode("latin-1"), at_end=True)
    path = tmp_path / "binary.csv"
    path.write_bytes("email,name\nk@x.de,Café Müller\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match=r"binary\.csv: not UTF-8 or Shift_JIS"):
        open_source(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="file not found"):
        open_source(tmp_path / "nope.csv")


def test_line_numbers_are_physical_lines_where_rows_start(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text('\nemail,note\na@x.co.jp,"two\nlines"\n\nb@x.co.jp,one\nc@x.co.jp,x,extra\n')
    numbered = rows(path)
    assert [n for n, _ in numbered] == [3, 6, 7]
    assert numbered[0][1] == {"email": "a@x.co.jp", "note": "two\nlines"}
    assert isinstance(numbered[2][1], InputError)


def test_jsonl_rows_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "acts.jsonl"
    path.write_text('{"email": "a@x.co.jp"}\n\n{broken\n[1]\n')
    numbered = rows(path)
    assert numbered[0] == (1, {"email": "a@x.co.jp"})
    assert [n for n, _ in numbered] == [1, 3, 4]
    assert all(isinstance(r, InputError) for _, r in numbered[1:])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with open_source(path) as source:
        assert source.empty
        assert list(source.rows()) == []


def test_builtin_mappings_map_their_headers() -> None:
    assert {"hubspot", "salesforce", "marketo", "leadrelay"} <= set(builtin_mappings())
    hubspot = load_mapping("hubspot").with_timezone("Asia/Tokyo")
    row = {
        "Email": "k.sato@sakura-mfg.co.jp",
        "First Name": "健二",
        "Company Name": "さくら製作所",
        "Number of Employees": "1,200",
        "Create Date": "2026-11-01 10:00",
        "Lifecycle Stage": "lead",
        "Industry": "",
    }
    assert hubspot.apply(row, "leads") == {
        "email": "k.sato@sakura-mfg.co.jp",
        "first_name": "健二",
        "company": {"name": "さくら製作所", "employees": "1,200"},
        "created_at": "2026-11-01T10:00:00+09:00",
    }
    assert hubspot.unknown(["Email", "lifecycle  stage", "Favourite Colour"]) == ["Favourite Colour"]
    salesforce = load_mapping("salesforce")
    assert salesforce.apply(
        {"Email": "a@x.co.jp", "Lead Source": "Web", "Created Date": "2026/11/01 10:00"}, "leads"
    ) == {
        "email": "a@x.co.jp",
        "source_channel": "Web",
        "created_at": "2026-11-01T10:00:00+00:00",
    }
    marketo = load_mapping("marketo")
    assert marketo.apply({"Email Address": "a@x.co.jp", "State": "大阪府"}, "leads") == {
        "email": "a@x.co.jp",
        "prefecture": "大阪府",
    }


def test_identity_mapping_unflattens_dotted_headers() -> None:
    identity = load_mapping("leadrelay")
    row = {
        "email": "a@x.co.jp",
        "type": "document_downloaded",
        "occurred_at": "2026-11-01T10:00:00+09:00",
        "properties.document": "whitepaper",
        "properties.pages": "12",
        "campaign.code": "wp-1",
        "last_name": "佐藤",
        "company.name": "X",
        "colour": "blue",
    }
    assert identity.apply(row, "activities") == {
        "email": "a@x.co.jp",
        "type": "document_downloaded",
        "occurred_at": "2026-11-01T10:00:00+09:00",
        "properties": {"document": "whitepaper", "pages": 12},
        "campaign": {"code": "wp-1"},
        "lead": {"last_name": "佐藤", "company": {"name": "X"}},
    }
    assert identity.unknown(list(row)) == ["colour"]


MAPPING = """\
name: webinar-tool
columns:
  Mail: email
  Event: type
  Attended At: occurred_at
  Seminar: campaign
values:
  type:
    Webinar: webinar_attended
    Download: document_downloaded
constants:
  product: analytics
timezone: Asia/Tokyo
date_formats:
  - "%Y/%m/%d %H:%M"
  - "%Y年%m月%d日"
"""


def test_mapping_file_values_constants_date_formats_and_timezone() -> None:
    mapping = parse_mapping(MAPPING, "webinar.yaml", "webinar")
    assert mapping.name == "webinar-tool"
    row = {"Mail": "a@x.co.jp", "Event": "webinar", "Attended At": "2026/11/20 15:30", "Seminar": "dx-2026"}
    assert mapping.apply(row, "activities") == {
        "email": "a@x.co.jp",
        "type": "webinar_attended",
        "occurred_at": "2026-11-20T15:30:00+09:00",
        "campaign": "dx-2026",
        "product": "analytics",
    }
    second = mapping.apply({"Mail": "a@x.co.jp", "Event": "Download", "Attended At": "2026年11月21日"}, "activities")
    assert second["occurred_at"] == "2026-11-21T00:00:00+09:00"
    assert second["type"] == "document_downloaded"
    with pytest.raises(InputError, match="matches no date format") as caught:
        mapping.apply({"Mail": "a@x.co.jp", "Event": "Webinar", "Attended At": "next tuesday"}, "activities")
    assert caught.value.field == "occurred_at"


def test_iso_time_with_zone_passes_and_naive_without_zone_is_left_for_intake() -> None:
    mapping = Mapping(name="m", columns={"at": "occurred_at"})
    assert mapping.apply({"at": "2026-11-20T15:30:00Z"}, "activities") == {"occurred_at": "2026-11-20T15:30:00+00:00"}
    assert mapping.apply({"at": "2026-11-20 15:30"}, "activities") == {"occurred_at": "2026-11-20T15:30:00"}


def test_required_columns_are_checked_before_rows() -> None:
    hubspot = load_mapping("hubspot")
    with pytest.raises(ImportFileError, match=r"in\.csv: missing required column 'Email' \(email\)"):
        hubspot.check_headers(["First Name", "Last Name"], "leads", "in.csv")
    mapping = parse_mapping(MAPPING, "webinar.yaml", "webinar")
    mapping.check_headers(["Mail", "Event", "Attended At"], "activities", "in.csv")
    with pytest.raises(ImportFileError, match=r"'Attended At' \(occurred_at\)"):
        mapping.check_headers(["Mail", "Event"], "activities", "in.csv")
    constant_type = Mapping(
        name="forms", columns={"Mail": "email", "At": "occurred_at"}, constants={"type": "form_submitted"}
    )
    constant_type.check_headers(["Mail", "At"], "activities", "in.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns:\n  Email: email\ntimezone: Mars/Olympus\n", r"m\.yaml:3: timezone: .*not a time zone"),
        (
            "columns:\n  Email: email\n  Shoe Size: shoe_size\n",
            r"m\.yaml:3: columns\.Shoe Size: 'shoe_size' is not a leadrelay field",
        ),
        ("columns:\n  Email: email\ncolumn_map: {}\n", r"m\.yaml:3: column_map: Extra inputs are not permitted"),
        (
            "columns:\n  Email: email\ndate_formats:\n  - yyyy-mm-dd\n",
            r"m\.yaml:3: date_formats: \'yyyy-mm-dd\' is not a strptime format",
        ),
        ("columns:\n  Email: [email\n", r"m\.yaml:\d+: invalid YAML"),
        ("columns:\n  Email: email\n  Email: email\n", r"m\.yaml:\d+: invalid YAML"),
        ("- email\n", r"m\.yaml:1: a mapping file is a YAML mapping"),
    ],
)
def test_bad_mapping_files_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        parse_mapping(text, "m.yaml", "m")


def test_unknown_mapping_name(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="neither a built-in mapping"):
        load_mapping("pardot")
    with pytest.raises(ImportFileError, match="mapping file not found"):
        load_mapping(str(tmp_path / "missing.yaml"))


# --- Parquet ---------------------------------------------------------------------------------


def write_parquet(path: Path, columns: dict[str, list[object]], row_group_size: int | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)


def test_parquet_rows_are_numbered_from_one_and_keep_their_types(tmp_path: Path) -> None:
    from datetime import datetime

    path = tmp_path / "leads.parquet"
    write_parquet(
        path,
        {
            "email": ["a@x.co.jp", None, "c@x.co.jp"],
            "company.employees": [1200, 5, None],
            "created_at": [datetime(2026, 11, 1, 10, 0), datetime(2026, 11, 2, 9, 30), None],
        },
    )
    with open_source(path) as source:
        assert source.format == "parquet"
        assert source.headers == ["email", "company.employees", "created_at"]
        assert source.total_rows == 3
        got = list(source.rows())
    assert [n for n, _ in got] == [1, 2, 3]
    assert got[0][1] == {"email": "a@x.co.jp", "company.employees": 1200, "created_at": datetime(2026, 11, 1, 10, 0)}

    mapping = load_mapping("leadrelay").with_timezone("Asia/Tokyo")
    record = mapping.apply(got[0][1], "leads", mapping.targets(["email", "company.employees", "created_at"]))
    assert record == {"email": "a@x.co.jp", "company": {"employees": 1200}, "created_at": "2026-11-01T10:00:00+09:00"}


def test_parquet_is_read_in_record_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import leadrelay.adapters.files.sources as importing

    monkeypatch.setattr(importing, "PARQUET_BATCH_ROWS", 7)
    path = tmp_path / "many.pq"
    write_parquet(path, {"email": [f"p{i}@x.co.jp" for i in range(100)]}, row_group_size=30)
    with open_source(path) as source:
        seen = []
        for number, row in source.rows():
            seen.append((number, row))
            assert source.position() <= source.size
    assert [n for n, _ in seen] == list(range(1, 101))
    assert seen[-1][1] == {"email": "p99@x.co.jp"}


def test_parquet_checks_required_columns_like_csv(tmp_path: Path) -> None:
    from leadrelay.services.imports import prepare

    path = tmp_path / "no-email.parquet"
    write_parquet(path, {"Name": ["x"]})
    with open_source(path) as source, pytest.raises(ImportFileError, match="missing required column"):
        prepare(source, load_mapping("hubspot"), "leads")


def test_a_broken_parquet_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(ImportFileError, match=r"broken.parquet: not a readable Parquet file"):
        open_source(path)


def test_empty_parquet_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    write_parquet(path, {"email": []})
    with open_source(path) as source:
        assert source.empty


def test_a_mapped_external_id_column_stands_in_for_email() -> None:
    mapping = parse_mapping("columns:\n  Record ID: external_id\n  Channel: source_channel\n", "m.yaml", "m")
    mapping.check_headers(["Record ID", "Channel"], "leads", "crm.csv")
    assert mapping.apply({"Record ID": "0051", "Channel": "social"}, "leads") == {
        "external_id": "0051",
        "source_channel": "social",
    }
    assert mapping.apply({"Record ID": "0051"}, "activities") == {"external_id": "0051"}
    with pytest.raises(ImportFileError, match=r"missing required column one mapped to email or external_id"):
        mapping.check_headers(["Channel"], "leads", "crm.csv")
