"""File reading and mappings for `leadrelay import`: encodings, delimiters, line numbers, mapping files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from leadrelay.adapters.files.formats import ImportFileError
from leadrelay.adapters.files.mappings import Mapping, builtin_mappings, load_mapping, parse_mapping
from leadrelay.adapters.files.sources import Source, detect_encoding, open_source, open_stream, sniff_delimiter
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


def test_a_parquet_time_stamp_past_the_year_9999_rejects_its_row_not_the_batch(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    beyond = 253402300800 * 1_000_000 * 2  # microseconds: year 10000 and more
    stamps = pa.array([1_700_000_000_000_000, beyond, 1_700_000_000_000_000], pa.timestamp("us", tz="UTC"))
    path = tmp_path / "acts.parquet"
    pq.write_table(pa.table({"email": ["a@x.co.jp", "b@x.co.jp", "c@x.co.jp"], "occurred_at": stamps}), path)
    numbered = rows(path)
    assert [n for n, _ in numbered] == [1, 2, 3]
    assert [r["email"] for _, r in numbered if isinstance(r, dict)] == ["a@x.co.jp", "c@x.co.jp"]
    assert isinstance(numbered[1][1], InputError) and numbered[1][1].field == "occurred_at"


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


# --- rows and files that must not stop an import ------------------------------------------------

FIELD_MAX = 1 << 20  # CSV_FIELD_MAX


def test_a_csv_field_between_128_kb_and_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(f"email,custom.notes\na@x.co.jp,{'n' * 200_000}\nb@x.co.jp,short\n")
    numbered = rows(path)
    assert numbered == [
        (2, {"email": "a@x.co.jp", "custom.notes": "n" * 200_000}),
        (3, {"email": "b@x.co.jp", "custom.notes": "short"}),
    ]


def test_a_csv_field_over_the_limit_rejects_its_row_and_keeps_the_rows_around_it(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    huge = "h" * (FIELD_MAX + 1)
    path.write_text(
        "email,notes,title\n"
        "a@x.co.jp,one,ok\n"
        f"b@x.co.jp,{huge},t\n"  # line 3: unquoted, on one line
        "c@x.co.jp,three,ok\n"
        f'd@x.co.jp,"{huge}\nstill d\nstill, d",t\n'  # lines 5-7: quoted over three lines
        'e@x.co.jp,"quoted, ""fine""",ok\n'
        f"f@x.co.jp,six,{huge}\n"
    )
    numbered = rows(path)
    assert [n for n, _ in numbered] == [2, 3, 4, 5, 8, 9]
    good = {n: r for n, r in numbered if isinstance(r, dict)}
    assert [r["email"] for r in good.values()] == ["a@x.co.jp", "c@x.co.jp", "e@x.co.jp"]
    assert good[8]["notes"] == 'quoted, "fine"'
    broken = {n: r for n, r in numbered if isinstance(r, InputError)}
    assert [(n, e.field) for n, e in broken.items()] == [(3, "notes"), (5, "notes"), (9, "title")]
    assert "longer than 1,048,576 characters" in broken[3].message


def test_a_quote_left_open_is_one_rejected_row_to_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text('email,notes\na@x.co.jp,ok\nb@x.co.jp,"never closed\n' + "c@x.co.jp,lost\n" * 80_000)
    numbered = rows(path)
    assert [n for n, _ in numbered] == [2, 3]
    assert isinstance(numbered[1][1], InputError)
    assert numbered[1][1].field == "notes"
    assert "a quote left open" in numbered[1][1].message


def test_a_header_line_over_1_mb_is_a_clear_error_read_no_further(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("email," + "x" * (1 << 21) + "\na@x.co.jp,1\n")
    with pytest.raises(ImportFileError, match=r"wide\.csv: the header line is longer than 1,048,576 characters"):
        open_source(path)


def test_a_header_of_more_than_10000_columns_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("email," + ",".join(f"c{i}" for i in range(10_000)) + "\na@x.co.jp\n")
    with pytest.raises(ImportFileError, match="the header has 10,001 columns, more than the 10,000"):
        open_source(path)
    path.write_text("email," + ",".join(f"c{i}" for i in range(9_999)) + "\na@x.co.jp\n")
    with open_source(path) as source:
        assert len(source.headers) == 10_000


def test_a_header_field_quoted_over_many_lines_past_the_limit_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('email,"' + ("z" * 1000 + "\n") * 1100 + '"\na@x.co.jp,1\n')
    with pytest.raises(ImportFileError, match=r"the header is not readable CSV \(a field is longer than 1,048,576"):
        open_source(path)


@pytest.mark.parametrize(
    ("codec", "named"),
    [("utf-16", "UTF-16-LE"), ("utf-16-be", None), ("utf-32", "UTF-32-LE")],
)
def test_utf16_and_utf32_files_are_named_not_taken_for_utf8(tmp_path: Path, codec: str, named: str | None) -> None:
    path = tmp_path / "wide.csv"
    data = "email,last_name\r\nk@x.co.jp,佐藤\r\n".encode(codec)
    if named is None:  # with a byte order mark written by hand
        data = b"\xfe\xff" + data
        named = "UTF-16-BE"
    path.write_bytes(data)
    with pytest.raises(ImportFileError) as caught:
        open_source(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {named} text (it starts with a byte order mark), not UTF-8 or Shift_JIS")
    assert "iconv -f" in message and "--encoding" in message


@pytest.mark.parametrize(("codec", "named"), [("utf-16-le", "UTF-16-LE"), ("utf-16-be", "UTF-16-BE")])
def test_utf16_without_a_byte_order_mark_is_recognised(tmp_path: Path, codec: str, named: str) -> None:
    path = tmp_path / "nobom.csv"
    path.write_bytes("メール,姓\r\nk@x.co.jp,佐藤\r\nm@x.co.jp,髙橋\r\n".encode(codec))
    with pytest.raises(ImportFileError, match=f"looks like {named} text without a byte order mark"):
        open_source(path)
    assert rows(path, codec)[0] == (  # named, it is read
        2,
        {"メール": "k@x.co.jp", "姓": "佐藤"},
    )


def test_a_utf8_file_with_a_nul_in_one_field_is_still_utf8(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"email,first_name\na@x.co.jp,Ta\x00ro\nb@x.co.jp,Jiro\n")
    assert rows(path) == [
        (2, {"email": "a@x.co.jp", "first_name": "Ta\x00ro"}),
        (3, {"email": "b@x.co.jp", "first_name": "Jiro"}),
    ]


def test_jsonl_lines_python_cannot_hold_are_rejected_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(
        '{"email": "a@x.co.jp"}\n'
        + '{"email": "b@x.co.jp", "company": {"employees": '
        + "9" * 5000
        + "}}\n"
        + '{"email": "c@x.co.jp", "custom": '
        + "[" * 100_000
        + "]" * 100_000
        + "}\n"
        + '{"email": "d@x.co.jp", "first_name": "\\ud800"}\n'
        + '{"email": "e@x.co.jp", "first_name": "\\ud83d\\ude00"}\n'
    )
    numbered = rows(path)
    assert numbered[0] == (1, {"email": "a@x.co.jp"})
    assert numbered[4] == (5, {"email": "e@x.co.jp", "first_name": "😀"})
    errors = {n: r for n, r in numbered if isinstance(r, InputError)}
    assert sorted(errors) == [2, 3, 4]
    assert "more than 4300 digits" in errors[2].message
    assert "nested too deeply" in errors[3].message
    assert "lone surrogate" in errors[4].message


@contextmanager
def piped(data: bytes) -> Iterator[Source]:
    """A source read from a real pipe, written by a thread as a process upstream would."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with open_stream(os.fdopen(read_end, "rb"), Path("<stdin>")) as source:
            yield source
    finally:
        writer.join()


def test_csv_and_jsonl_are_read_from_a_pipe_past_the_bytes_read_ahead(tmp_path: Path) -> None:
    many = "".join(f"u{n}@x.co.jp,{'n' * 100}\n" for n in range(20_000))  # 2.3 MB: beyond the 1 MB sample
    with piped(f"email,notes\n{many}".encode()) as source:
        assert (source.format, source.streamed, source.headers) == ("csv", True, ["email", "notes"])
        numbered = list(source.rows())
    assert len(numbered) == 20_000
    assert numbered[-1] == (20_001, {"email": "u19999@x.co.jp", "notes": "n" * 100})
    with piped(b'{"email": "a@x.co.jp"}\n{"email": "b@x.co.jp"}\n') as source:
        assert source.format == "jsonl"
        assert [r for _, r in source.rows()] == [{"email": "a@x.co.jp"}, {"email": "b@x.co.jp"}]
    with piped(b"") as source:
        assert source.empty


def test_parquet_from_a_pipe_is_a_clear_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "leads.parquet"
    pq.write_table(pa.table({"email": ["a@x.co.jp"]}), path)
    refused = pytest.raises(ImportFileError, match=r"<stdin>: Parquet cannot be read from a pipe or standard input")
    with refused, piped(path.read_bytes()):
        pass


def test_a_named_pipe_is_read_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "leads.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("wb") as handle:
            handle.write(b"email\na@x.co.jp\n")

    writer = threading.Thread(target=write)
    writer.start()
    with open_source(fifo) as source:
        assert source.streamed
        assert list(source.rows()) == [(2, {"email": "a@x.co.jp"})]
    writer.join()
