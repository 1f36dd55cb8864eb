"""The examples of README.md and docs/*.md run as shown, so the documentation cannot go stale.

Each document's command and Python blocks run in document order in a fresh directory with a fresh
SQLite database (``LEADRELAY_DB=leadrelay.db``) and a fixed ``LEADRELAY_NOW``; exit codes and the
outputs the documents show are checked. Values the documents quote in prose that the code
computes (the default playbook's hash and version, the bundled lists) are compared with the code.
How to mark a block: tests/support/docs.py.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from leadrelay.adapters.playbook.loader import default_playbook_path, free_mail_domains, load_playbook
from leadrelay.domain.conditions import OPERATORS
from leadrelay.domain.model import ACTIVITY_TYPES
from tests.support.docs import Block, DocError, Example, output_matches, read_blocks

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
OLIST = REPO.parent / "shared" / "data" / "olist"
NOW = "2026-11-25T12:00:00+09:00"  # the moment the documents' examples are judged at


def doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def example_directory(tmp_path: Path) -> Path:
    """A fresh directory that looks like the repository's root to the examples (docs/, src/, ../shared)."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("docs", "src"):
        (work / name).symlink_to(REPO / name, target_is_directory=True)
    if OLIST.is_dir():  # copied, not linked: an import writes its rejects file beside the input
        shutil.copytree(OLIST, tmp_path / "shared" / "data" / "olist")
    return work


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADRELAY_")}
    env.update({"LEADRELAY_DB": "leadrelay.db", "LEADRELAY_NOW": NOW, "LEADRELAY_LANG": "en", "COLUMNS": "200"})
    return env


def run_document(path: Path, directory: Path) -> list[str]:
    """Run a document's examples in order; the problems found, each naming the line."""
    blocks = read_blocks(path)
    example = Example(directory, environment())
    for block in blocks:
        if block.file and not block.skip:
            target = directory / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
    problems: list[str] = []
    for block in blocks:
        if block.skip or not (block.lang == "python" or block.runs_leadrelay):
            continue
        for line in block.setup:
            done = example.run(line)
            if done.code != 0:
                problems.append(f"{block.where}: setup `{line}` exited {done.code}:\n{done.output}")
        if block.lang == "python":
            try:
                example.python(block.text, block.where)
            except Exception as exc:
                problems.append(f"{block.where}: the Python example raised {type(exc).__name__}: {exc}")
            continue
        problems.extend(_run_commands(example, block))
    return problems


def _run_commands(example: Example, block: Block) -> list[str]:
    problems: list[str] = []
    for command in block.commands:
        done = example.run(command.text)
        where = f"{block.path.name}:{command.line}: `{command.text}`"
        if done.code != block.exit_code:
            problems.append(f"{where} exited {done.code}, the document expects {block.exit_code}:\n{done.output}")
        elif command.expected and not output_matches(command.expected, done.output):
            shown = "\n".join(command.expected)
            problems.append(f"{where} printed\n{done.output}\nbut the document shows\n{shown}")
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=doc_id)
def test_documented_examples_run_and_print_what_the_document_shows(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text(encoding="utf-8")
    if "../shared/data/olist" in text and not OLIST.is_dir():
        pytest.skip(f"the Olist data set is not at {OLIST}")
    monkeypatch.chdir(tmp_path)
    problems = run_document(path, example_directory(tmp_path))
    assert not problems, "\n\n".join(problems)


def test_only_a_few_blocks_are_skipped_and_each_says_why() -> None:
    skipped = [(block.where, block.skip) for path in DOCUMENTS for block in read_blocks(path) if block.skip]
    assert all(reason for _, reason in skipped)
    assert len(skipped) <= 8, skipped


def test_a_marker_that_is_not_before_a_block_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- docs-test: skip needs SMTP -->\n\nSome prose.\n\n```bash\nleadrelay worker\n```\n")
    with pytest.raises(DocError, match="right before a block"):
        read_blocks(doc)
    doc.write_text("<!-- docs-test: skipp typo -->\n```bash\nleadrelay worker\n```\n")
    with pytest.raises(DocError, match="unknown docs-test marker 'skipp'"):
        read_blocks(doc)
    doc.write_text("<!-- docs-test: skip -->\n```bash\nleadrelay worker\n```\n")
    with pytest.raises(DocError, match="say why"):
        read_blocks(doc)


def test_console_blocks_are_read_as_commands_with_their_output(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- docs-test: exit 2 -->\n"
        "```console\n$ leadrelay lead show \\\n    nobody@example.co.jp\nerror: no lead\n$ leadrelay summary\n```\n"
        "```bash\n# a comment\nexport A=1\nleadrelay lifecycle   # the table\n```\n"
    )
    first, second = read_blocks(doc)
    assert first.exit_code == 2
    assert [(c.text, c.expected) for c in first.commands] == [
        ("leadrelay lead show nobody@example.co.jp", ["error: no lead"]),
        ("leadrelay summary", []),
    ]
    assert [c.text for c in second.commands] == ["export A=1", "leadrelay lifecycle   # the table"]


def test_shown_output_must_match_apart_from_white_space_and_elisions() -> None:
    printed = "header\n  Leads    8000\n\nWon / lost   842 / 0\nfooter\n"
    assert output_matches(["header", "Leads 8000", "Won / lost 842 / 0", "footer"], printed)
    assert output_matches(["...", "Won / lost 842 / ...", "..."], printed)
    assert output_matches(["header", "Leads ... 8000 ...", "..."], printed)  # white space around "..." is free
    assert not output_matches(["Leads 8000"], printed)  # without "..." the whole output is shown
    assert not output_matches(["...", "Won / lost 841 / 0", "..."], printed)
    assert not output_matches(["...", "Leads ... 842", "..."], printed)  # "..." in a line stays in the line


def test_a_wrong_exit_code_or_output_in_a_document_is_reported(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```console\n$ leadrelay playbook validate missing.yaml\n```\n\n"
        "<!-- docs-test: exit 2 -->\n"
        "```console\n$ leadrelay lead show nobody@example.co.jp\nerror: no such lead\n```\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    problems = run_document(doc, work)
    assert len(problems) == 2
    assert "doc.md:2: `leadrelay playbook validate missing.yaml` exited 2, the document expects 0" in problems[0]
    assert "error: no lead with e-mail or external id nobody@example.co.jp" in problems[1]


def quoted(pattern: str) -> list[tuple[str, str]]:
    """(document, match) for every match of the pattern in the documents' text."""
    return [(doc_id(path), m) for path in DOCUMENTS for m in re.findall(pattern, path.read_text(encoding="utf-8"))]


def test_the_default_playbooks_hash_and_version_quoted_in_the_docs_are_the_bundled_ones() -> None:
    loaded = load_playbook(default_playbook_path())
    hashes = quoted(r"default_playbook\.yaml`[^)]*?hash\s*`([0-9a-f]+)")
    hashes += quoted(r"default \S+ \(([0-9a-f]{12})\) is now the active playbook")
    assert hashes, "the documents quote the default playbook's hash"
    assert all(loaded.playbook.hash.startswith(h) and len(h) >= 12 for _, h in hashes), (loaded.playbook.hash, hashes)
    versions = quoted(r"\(`default`, version `([^`]+)`")
    versions += quoted(r"default (\S+) \([0-9a-f]{12}\) is now the active playbook")
    assert versions
    assert all(v == loaded.playbook.version for _, v in versions), (loaded.playbook.version, versions)


def test_bundled_lists_quoted_in_the_docs_are_the_codes() -> None:
    counts = quoted(r"(\d+) bundled domains")
    assert counts
    assert all(int(n) == len(free_mail_domains()) for _, n in counts), (len(free_mail_domains()), counts)
    listed = quoted(r"Activity types: ((?:`[a-z_]+`,?\s*)+)") + quoted(r"\(`ACTIVITY_TYPES`\): ((?:`[a-z_]+`,?\s*)+)")
    assert len(listed) == 2
    for _, text in listed:
        assert re.findall(r"`([a-z_]+)`", text) == list(ACTIVITY_TYPES)
    reference = (REPO / "docs" / "playbook-reference.md").read_text(encoding="utf-8")
    table = re.search(r"From `leadrelay playbook operators`:\n\n(.*?)\n\n", reference, re.DOTALL)
    assert table is not None
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+?) \| ([^|]+?) \|$", table.group(1), re.MULTILINE)
    assert rows == [(op.name, op.value, op.text_en, op.text_ja) for op in OPERATORS.values()]
