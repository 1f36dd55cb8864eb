"""The rejects file: every row an import could not take, with its line, field and reason.

It follows the import's checkpoint: a batch's rejections are written and fsynced before the
batch commits, the file's size is stored with the checkpoint, and a resumed import cuts the file
back to that size — so after a crash and a resume it holds what one clean import would write.
"""

from __future__ import annotations

import csv
import json
import os
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
