"""Taking a person out of texts and of rejects files (no database)."""

from __future__ import annotations

from pathlib import Path

from leadrelay.adapters.files.rejects import remove_rows
from leadrelay.services.erasure import Identifiers, Redactor

TARO = Identifiers("taro.yamada@sakura-mfg.co.jp", "crm-7781", "Taro", "Yamada", "03-5555-0199", "100-0005")


def test_every_identifier_is_replaced_in_text_and_in_json_keys_and_values() -> None:
    redact = Redactor(TARO)
    assert redact("Lead: Yamada Taro <TARO.YAMADA@sakura-mfg.co.jp>, tel 0355550199") == (
        "Lead: [erased] <[erased]>, tel [erased]"
    )
    assert redact({"crm-7781": ["call 03-5555-0199", 3, None], "zip": "〒100-0005"}) == {
        "[erased]": ["call [erased]", 3, None],
        "zip": "〒[erased]",
    }
    assert redact("ｔａｒｏ．ｙａｍａｄａ＠ｓａｋｕｒａ－ｍｆｇ．ｃｏ．ｊｐ") == "[erased]"


def test_latin_names_are_whole_words_and_japanese_names_match_anywhere() -> None:
    li = Redactor(Identifiers("li@x.co.jp", None, "Li", "Qualified", None))
    assert li("disqualified by rule; Li called") == "disqualified by rule; [erased] called"
    yamada = Redactor(Identifiers(None, "crm-1", "太郎", "山田", None))
    assert yamada("山田太郎様から問い合わせ、山田様に折り返し") == "[erased]様から問い合わせ、[erased]様に折り返し"


def test_a_text_without_the_person_is_left_exactly_as_it_was() -> None:
    text = "ｆｕｌｌ-width note about Hanako Suzuki"
    assert Redactor(TARO)(text) == text


def rejects(path: Path, rows: list[str]) -> Path:
    path.write_bytes(("\ufeffline,field,reason,email,name\r\n" + "".join(r + "\r\n" for r in rows)).encode())
    return path


def test_rejects_rows_of_the_person_go_and_the_header_and_other_rows_stay(tmp_path: Path) -> None:
    path = rejects(
        tmp_path / "a.csv",
        [
            "2,occurred_at,no zone,TARO.YAMADA@sakura-mfg.co.jp,Taro",
            "3,occurred_at,no zone,hanako@sakura-mfg.co.jp,Hanako",
            "4,type,unknown,,Yamada Taro",
        ],
    )
    removed, size = remove_rows(path, lambda row: "taro" in ",".join(row).lower())
    assert removed == 2
    text = path.read_bytes().decode("utf-8")
    assert text == "\ufeffline,field,reason,email,name\r\n3,occurred_at,no zone,hanako@sakura-mfg.co.jp,Hanako\r\n"
    assert size == path.stat().st_size


def test_an_unfinished_imports_checkpoint_size_shrinks_by_the_committed_rows_taken_out(tmp_path: Path) -> None:
    header = "\ufeffline,field,reason,email,name\r\n"
    committed = header + "2,type,unknown,taro@x.co.jp,T\r\n"
    path = tmp_path / "b.csv"
    path.write_bytes((committed + "9,type,unknown,taro@x.co.jp,T\r\n").encode())
    removed, size = remove_rows(path, lambda row: "taro@x.co.jp" in row, committed=len(committed.encode()))
    assert removed == 2
    assert size == len(header.encode())
    assert path.read_bytes() == header.encode()


def test_a_file_without_the_person_is_not_rewritten(tmp_path: Path) -> None:
    path = rejects(tmp_path / "c.csv", ["3,occurred_at,no zone,hanako@sakura-mfg.co.jp,Hanako"])
    before = path.read_bytes()
    assert remove_rows(path, lambda row: False) == (0, len(before))
    assert path.read_bytes() == before
