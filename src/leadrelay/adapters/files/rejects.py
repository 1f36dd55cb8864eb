"""The rejects file: every row an import could not take, with its line, field and reason.

It follows the import's checkpoint: a batch's rejections are written and fsynced before the
batch commits, the file's size is stored with the checkpoint, and a resumed import cuts the file
back to that size — so after a crash and a resume it holds what one clean import would write.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from leadrelay.adapters.files.formats import ImportFileError


def default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.rejects.csv")


class RejectsWriter:
    """The rejects CSV (UTF-8 with BOM, so spreadsheet tools read Japanese): line, field, reason, the row."""

    def __init__(self, path: Path, headers: list[str], *, resume_size: int = 0) -> None:
        """``resume_size``: the size stored with the checkpoint of an earlier run of the same import;
        the file is cut back to it and continued (0: a new file)."""
        self.path = path
        self.headers = headers
        usable = resume_size > 0 and path.exists() and path.stat().st_size >= resume_size
        self.resume_size = resume_size if usable else 0
        self.resumed = self.resume_size > 0
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._mark = (self.resume_size, 0)  # size and count of what committed batches wrote
        self._synced = self.resume_size

    def _open(self) -> None:
        try:
            if self.resume_size:
                self._handle = self.path.open("r+", encoding="utf-8", newline="")
                self._handle.truncate(self.resume_size)
                self._handle.seek(0, os.SEEK_END)
            else:
                self._handle = self.path.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise ImportFileError(f"{self.path}: cannot write the rejects file ({exc.strerror})") from None
        self._writer = csv.writer(self._handle)
        if not self.resume_size:
            self._handle.write("\ufeff")
            # a JSONL file has no columns: its records follow as one JSON cell, headed "record"
            self._writer.writerow(["line", "field", "reason", *(self.headers or ["record"])])
            self._mark = (self.sync(), 0)

    def write(self, line: int, field_name: str, reason: str, row: dict[str, Any] | list[str] | None) -> None:
        """``row``: the source row by column, or (a row that did not fit the header) its cells as read."""
        if self._writer is None:
            self._open()
        cells: list[Any] = []
        if isinstance(row, list):
            cells = list(row)
        elif row is not None:
            if self.headers:
                cells = [row.get(h, "") for h in self.headers]
            else:  # JSONL: the original object as one cell
                cells = [json.dumps(row, ensure_ascii=False)]
        self._writer.writerow([line, field_name, reason, *cells])
        self.count += 1

    def sync(self) -> int:
        """Flush and fsync what was written; the file's size (to store with the checkpoint)."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._synced = os.fstat(self._handle.fileno()).st_size
        return self._synced

    def mark(self) -> None:
        """The batch whose rejections were last synced has committed: keep them."""
        self._mark = (self._synced, self.count)

    def rewind(self) -> None:
        """Drop what was written since the last :meth:`mark` (a batch that did not commit)."""
        if self._handle is None or self.count == self._mark[1]:
            return
        self._handle.flush()
        self._handle.truncate(self._mark[0])
        self._handle.seek(0, os.SEEK_END)
        self._synced, self.count = self._mark

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def remove_rows(path: Path, matches: Callable[[list[str]], bool], committed: int | None = None) -> tuple[int, int]:
    """Rewrite the rejects file at ``path`` without the rows ``matches`` picks (the header is kept).

    ``committed``: the size an unfinished import stored with its checkpoint (the rows it covers are
    the first ``committed`` bytes); the second value returned is the size those rows take now, to
    store in its place. The new file is written beside the old one, fsynced and renamed over it,
    so a crash leaves the old file or the new one, never half of one. Returns (rows removed, size).
    """
    data = path.read_bytes()
    cut = len(data) if committed is None or committed <= 0 else min(committed, len(data))
    kept_head, removed_head = _filtered(data[:cut].decode("utf-8"), matches, header=True)
    kept_tail, removed_tail = _filtered(data[cut:].decode("utf-8"), matches, header=False)
    if not removed_head + removed_tail:
        return 0, cut
    head = kept_head.encode("utf-8")
    temporary = path.with_name(f".{path.name}.erasing")
    with temporary.open("wb") as handle:
        handle.write(head + kept_tail.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return removed_head + removed_tail, len(head)


def _filtered(text: str, matches: Callable[[list[str]], bool], *, header: bool) -> tuple[str, int]:
    """The CSV ``text`` without the rows ``matches`` picks (a header row first when ``header``)."""
    out = io.StringIO(newline="")
    bom = text.startswith("\ufeff")
    if bom:
        out.write("\ufeff")
        text = text[1:]
    writer = csv.writer(out)
    removed = 0
    for index, row in enumerate(csv.reader(io.StringIO(text, newline=""))):
        if not (header and index == 0) and matches(row):
            removed += 1
            continue
        writer.writerow(row)
    return out.getvalue(), removed
