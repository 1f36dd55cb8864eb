"""What the file readers and mappings share: the import kinds, a record, and the error for a file
or mapping that cannot be imported at all."""

from __future__ import annotations

from typing import Any, Literal

from leadrelay.adapters.records import (
    ACTIVITY_FIELDS,
    InputError,
)
from leadrelay.errors import LeadRelayError

Kind = Literal["leads", "activities", "outcomes"]
Record = dict[str, Any]
Numbered = tuple[int, Record | InputError]

DELIMITERS = (",", ";", "\t", "|")
DETECT_ENCODINGS = ("utf-8-sig", "cp932")
SAMPLE_BYTES = 1 << 20
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
#: Rows per record batch read from a Parquet file: memory stays bounded by this, not the file.
PARQUET_BATCH_ROWS = 2048
#: The longest CSV field, in characters (the csv module's own default is 128 KB); a row with a
#: longer field is rejected, the rows around it are kept.
CSV_FIELD_MAX = 1 << 20
#: The widest CSV header: its first line (characters) and its columns. Beyond these, a file is not
#: a table of leads (or its delimiter is wrong); it is refused before any row is read.
HEADER_LINE_MAX = 1 << 20
HEADER_COLUMNS_MAX = 10_000
#: The name standard input goes by in messages (``leadrelay import leads -``).
STDIN_NAME = "<stdin>"
TIME_FIELDS = frozenset({"created_at", "occurred_at", "lead.created_at", "closed_at"})
#: Lead fields that, in an activity import, describe the person and go under ``lead.``.
_ACTIVITY_TOP = ACTIVITY_FIELDS - {"lead"}


#: Columns an import needs besides the lead's e-mail or external id.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "leads": (),
    "activities": ("type", "occurred_at"),
    "outcomes": ("outcome", "closed_at"),
}


class ImportFileError(LeadRelayError, ValueError):
    """A file or mapping that cannot be imported at all (one clear line; the CLI exits 2)."""
