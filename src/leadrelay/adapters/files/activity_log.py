"""The columnar activity log: every stored activity as three memory-mappable columns, for bulk work.

A folder holds ``manifest.json`` and *segments*. A segment is three raw little-endian files of one
row per activity, sorted by (lead, time, activity id):

* ``<name>.lead`` — the lead id (int32),
* ``<name>.at`` — when it happened, microseconds since the epoch, UTC (int64),
* ``<name>.sig`` — its *signature*: an index into the manifest's list of distinct
  (type, campaign id, product, properties text) combinations (int32).

The manifest names the segments with their row counts and CRC-32 checksums, the *watermark* (the
highest activity id the log holds, and that row's lead, type and time, so a log is never read
against another database that reused the path) and the highest erasure id whose rewrite the log already took in.

The log is a cache of the ``activities`` table, never the record: it is written only from the
table (``leadrelay.services.activity_log``), and a crash at any line leaves either the old manifest
or the new one. Segment files are written under new names and fsynced, then the manifest is
replaced by an atomic rename (and the folder fsynced); files no manifest names are removed at the
next write. A log whose manifest is missing, unreadable, of another format or whose files have the
wrong size is thrown away and rebuilt from the table.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import secrets
import shutil
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT = 1
MANIFEST = "manifest.json"
#: (suffix, dtype) of a segment's columns, in file order
COLUMNS: tuple[tuple[str, str], ...] = (("lead", "<i4"), ("at", "<i8"), ("sig", "<i4"))
#: A signature: type, campaign id, product, properties as the database gives them as text.
Identity = tuple[str, int | None, str | None, str | None]

Int = npt.NDArray[np.int64]


class ActivityLogError(Exception):
    """The folder holds no usable log (missing, torn, of another format): rebuild it from the table."""


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    rows: int
    crc: dict[str, int]  # column suffix → CRC-32 of its file

    def path(self, folder: Path, column: str) -> Path:
        return folder / f"{self.name}.{column}"


@dataclass(slots=True)
class Manifest:
    watermark: int = 0  # highest activity id in the log (0: none)
    watermark_key: str | None = None  # that activity's lead, type and time
    erasures: int = 0  # highest erasure id the log has taken in
    signatures: list[Identity] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "watermark": self.watermark,
            "watermark_key": self.watermark_key,
            "erasures": self.erasures,
            "rows": self.rows,
            "signatures": [list(s) for s in self.signatures],
            "segments": [{"name": s.name, "rows": s.rows, "crc": s.crc} for s in self.segments],
        }

    @classmethod
    def of_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ActivityLogError("not a manifest of this format")
        try:
            return cls(
                watermark=int(data["watermark"]),
                watermark_key=data["watermark_key"],
                erasures=int(data["erasures"]),
                signatures=[(str(s[0]), s[1], s[2], s[3]) for s in data["signatures"]],
                segments=[Segment(str(s["name"]), int(s["rows"]), dict(s["crc"])) for s in data["segments"]],
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ActivityLogError(f"manifest: {exc}") from None


@dataclass(slots=True)
class Rows:
    """Activity rows as columns (any order until :meth:`sorted`)."""

    lead: Int
    at: Int
    sig: Int
    id: Int  # the activity id: the last sort key, so equal times keep one order

    def __len__(self) -> int:
        return len(self.lead)

    @classmethod
    def empty(cls) -> Rows:
        e = np.zeros(0, dtype=np.int64)
        return cls(e, e.copy(), e.copy(), e.copy())

    @classmethod
    def concat(cls, parts: Sequence[Rows]) -> Rows:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, c) for p in parts]) for c in ("lead", "at", "sig", "id")))

    def sorted(self) -> Rows:
        order = np.lexsort((self.id, self.at, self.lead))
        return Rows(self.lead[order], self.at[order], self.sig[order], self.id[order])

    def without_leads(self, leads: Int) -> Rows:
        if not len(leads) or not len(self):
            return self
        keep = ~np.isin(self.lead, leads)
        return Rows(self.lead[keep], self.at[keep], self.sig[keep], self.id[keep])


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentWriter:
    """A new segment written in pieces (each sorted, and after the one before): the columns are
    appended, checksummed as they go and fsynced by :meth:`finish`."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = f"seg-{secrets.token_hex(8)}"
        self.rows = 0
        self._crc = dict.fromkeys((c for c, _ in COLUMNS), 0)
        self._files = {c: (folder / f"{self.name}.{c}").open("wb") for c, _ in COLUMNS}

    def append(self, rows: Rows) -> None:
        if not len(rows):
            return
        if int(rows.lead.max()) >= 2**31 or int(rows.sig.max()) >= 2**31:
            raise ActivityLogError("lead ids and signatures must fit in 32 bits")
        for column, dtype in COLUMNS:
            data = np.ascontiguousarray(getattr(rows, column), dtype=dtype).tobytes()
            self._files[column].write(data)
            self._crc[column] = zlib.crc32(data, self._crc[column])
        self.rows += len(rows)

    def finish(self) -> Segment:
        for handle in self._files.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        return Segment(self.name, self.rows, dict(self._crc))

    def abandon(self) -> None:
        for column, handle in self._files.items():
            handle.close()
            (self.folder / f"{self.name}.{column}").unlink(missing_ok=True)


class ActivityLog:
    """One log folder: read the manifest, map segments, write new ones."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def locked(self, *, shared: bool = False) -> Iterator[None]:
        """Hold the folder's lock: exclusive to write (one refresh at a time, across processes),
        shared to open the segments for reading (so none is removed between the manifest and the map)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "lock").open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def spill(self) -> Path:
        """A fresh scratch folder for a build's external sort (removed by the next :meth:`sweep`
        when a build dies)."""
        path = self.folder / f".spill-{secrets.token_hex(6)}"
        path.mkdir(parents=True)
        return path

    def manifest(self) -> Manifest:
        """The current manifest, checked against the files it names (sizes); raises
        :class:`ActivityLogError` when there is no usable log."""
        try:
            text = (self.folder / MANIFEST).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ActivityLogError("no log yet") from None
        except OSError as exc:
            raise ActivityLogError(f"manifest unreadable: {exc.strerror}") from None
        try:
            manifest = Manifest.of_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ActivityLogError(f"manifest: {exc}") from None
        for segment in manifest.segments:
            for column, dtype in COLUMNS:
                path = segment.path(self.folder, column)
                expected = segment.rows * np.dtype(dtype).itemsize
                try:
                    size = path.stat().st_size
                except OSError:
                    raise ActivityLogError(f"{path.name} is missing") from None
                if size != expected:
                    raise ActivityLogError(f"{path.name} has {size} bytes, not {expected}")
        return manifest

    def write_segment(self, rows: Rows) -> Segment:
        """Write ``rows`` (sorted) as a new segment; fsynced, but named by no manifest yet."""
        writer = SegmentWriter(self.folder)
        try:
            writer.append(rows)
        except BaseException:
            writer.abandon()
            raise
        return writer.finish()

    def commit(self, manifest: Manifest) -> None:
        """Make ``manifest`` the log's (atomic rename), then remove the files it no longer names."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{MANIFEST}.{secrets.token_hex(4)}"
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(manifest.as_json(), out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.folder / MANIFEST)
        _fsync_folder(self.folder)
        self.sweep(manifest)

    def sweep(self, manifest: Manifest) -> None:
        """Remove segment files and temporary manifests that ``manifest`` does not name (left by a
        write that died, or replaced by a compaction)."""
        named = {s.name for s in manifest.segments}
        for path in self.folder.iterdir():
            if path.name.startswith(".spill-"):
                shutil.rmtree(path, ignore_errors=True)
                continue
            stem = path.name.split(".", 1)[0]
            stale_segment = path.name.startswith("seg-") and stem not in named
            if stale_segment or path.name.startswith(f".{MANIFEST}."):
                path.unlink(missing_ok=True)

    def clear(self) -> None:
        if self.folder.exists():
            self.sweep(Manifest())
            (self.folder / MANIFEST).unlink(missing_ok=True)

    def open(self, manifest: Manifest) -> MappedLog:
        return MappedLog(self.folder, manifest)


class MappedSegment:
    """One segment's columns, memory-mapped read-only."""

    def __init__(self, folder: Path, segment: Segment) -> None:
        self.segment = segment
        self._maps: dict[str, mmap.mmap] = {}
        self.columns: dict[str, npt.NDArray[Any]] = {}
        for column, dtype in COLUMNS:
            if segment.rows == 0:
                self.columns[column] = np.zeros(0, dtype=dtype)
                continue
            with segment.path(folder, column).open("rb") as handle:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            self._maps[column] = mapped
            self.columns[column] = np.frombuffer(mapped, dtype=dtype)
        self._crc = dict.fromkeys(self.segment.crc, 0)
        self._checked = 0  # rows whose bytes went into the running checksums

    def bounds(self, low: int, high: int) -> tuple[int, int]:
        """The rows of leads ``low`` … ``high``."""
        lead = self.columns["lead"]
        return int(np.searchsorted(lead, low, "left")), int(np.searchsorted(lead, high, "right"))

    def take(self, start: int, stop: int) -> tuple[Int, Int, Int]:
        """Rows ``start`` … ``stop - 1`` copied out as int64 columns; the mapped pages are let go
        (so a pass over the log keeps one chunk resident, not the whole file)."""
        out = tuple(self.columns[c][start:stop].astype(np.int64) for c, _ in COLUMNS)
        for column, dtype in COLUMNS:
            mapped = self._maps.get(column)
            if mapped is not None and stop > start:
                size = np.dtype(dtype).itemsize
                page = mmap.PAGESIZE
                first = (start * size) // page * page
                last = (stop * size) // page * page
                if last > first:
                    mapped.madvise(mmap.MADV_DONTNEED, first, last - first)
        return out[0], out[1], out[2]

    def check(self, stop: int) -> None:
        """Fold rows up to ``stop`` into the running checksums (called in row order)."""
        if stop <= self._checked:
            return
        for column, _ in COLUMNS:
            part = np.ascontiguousarray(self.columns[column][self._checked : stop])
            self._crc[column] = zlib.crc32(part.data, self._crc[column])
        self._checked = stop

    def verified(self) -> bool:
        """After the whole segment was checked: do its bytes match the manifest's checksums?"""
        self.check(self.segment.rows)
        return self._crc == self.segment.crc

    def close(self) -> None:
        self.columns.clear()
        for mapped in self._maps.values():
            with suppress(BufferError):  # a view is still alive somewhere; the map closes with it
                mapped.close()
        self._maps.clear()


class MappedLog:
    """Every segment of a manifest, mapped; read a range of leads across all of them."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.manifest = manifest
        self.segments = [MappedSegment(folder, s) for s in manifest.segments]

    def leads(self, low: int, high: int, *, last: bool = False) -> Rows:
        """The rows of leads ``low`` … ``high`` (every row from ``low`` on with ``last``), sorted."""
        parts: list[tuple[Int, Int, Int]] = []
        for segment in self.segments:
            start, stop = segment.bounds(low, high)
            if last:
                stop = segment.segment.rows
            if stop > start:
                parts.append(segment.take(start, stop))
        if not parts:
            return Rows.empty()
        lead, at, sig = (np.concatenate([p[i] for p in parts]) for i in range(3))
        rows = Rows(lead, at, sig, np.zeros(len(lead), dtype=np.int64))
        if len(parts) > 1:  # each segment is sorted; their union is sorted again (ties keep segment order)
            order = np.lexsort((at, lead))
            rows = Rows(lead[order], at[order], sig[order], rows.id)
        return rows

    def check_through(self, low: int, high: int, *, last: bool = False) -> None:
        for segment in self.segments:
            stop = segment.segment.rows if last else segment.bounds(low, high)[1]
            segment.check(stop)

    def verified(self) -> bool:
        return all(segment.verified() for segment in self.segments)

    def all_rows(self) -> Iterator[Rows]:
        for segment in self.segments:
            lead, at, sig = segment.take(0, segment.segment.rows)
            yield Rows(lead, at, sig, np.zeros(len(lead), dtype=np.int64))

    def close(self) -> None:
        for segment in self.segments:
            segment.close()
