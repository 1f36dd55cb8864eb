"""The rejects file: every row an import could not take, with its line, field and reason."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from leadrelay.adapters.files.formats import ImportFileError


def default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.rejects.csv")


class RejectsWriter:
    """The rejects CSV (UTF-8 with BOM, so spreadsheet tools read Japanese): line, field, reason, the row."""

    def __init__(self, path: Path, headers: list[str], *, append: bool = False) -> None:
        """``append``: add to the rejects file of an earlier run of the same import (when resuming)."""
        self.path = path
        self.headers = headers
        self.append = append and path.exists()
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def write(self, line: int, field_name: str, reason: str, row: dict[str, Any] | None) -> None:
        if self._writer is None:
            try:
                if self.append:
                    self._handle = self.path.open("a", encoding="utf-8", newline="")
                else:
                    self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise ImportFileError(f"{self.path}: cannot write the rejects file ({exc.strerror})") from None
            self._writer = csv.writer(self._handle)
            if not self.append:
                self._writer.writerow(["line", "field", "reason", *self.headers])
        cells: list[Any] = []
        if row is not None:
            if self.headers:
                cells = [row.get(h, "") for h in self.headers]
            else:  # JSONL: the original object as one cell
                cells = [json.dumps(row, ensure_ascii=False)]
        self._writer.writerow([line, field_name, reason, *cells])
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
