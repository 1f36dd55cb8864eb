"""Reading a playbook file as YAML 1.2 with line numbers, so every error can name its line.

YAML 1.2 (ruamel.yaml) keeps ``on``, ``yes`` and ``no`` as strings; only ``true``/``false``
are booleans.

A playbook is configuration, not data, so the reader refuses documents no playbook needs and
that would exhaust the process: more than :data:`MAX_BYTES` bytes (checked before parsing),
nesting deeper than :data:`MAX_NESTING` levels, or more than :data:`MAX_VALUES` values once
anchors and aliases are expanded (an "alias bomb" of a few lines expands to billions). The
checks run while the YAML is composed, so nothing is ever expanded past the limits.

ruamel.yaml is imported only when a YAML text is parsed (:mod:`leadrelay.adapters.playbook.yaml_text`):
a stored playbook is read from its JSON form without it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leadrelay.errors import LeadRelayError

#: the largest playbook file, in bytes of UTF-8
MAX_BYTES = 1_000_000
#: the deepest nesting of mappings, lists and values (aliases expanded)
MAX_NESTING = 100
#: the most values (mappings, lists and scalars) a document may hold, aliases expanded
MAX_VALUES = 100_000


class DocumentError(LeadRelayError, ValueError):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_text(path: Path) -> str:
    """A UTF-8 text file (a BOM is allowed); :class:`DocumentError` says plainly why it cannot be read."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 4)  # a BOM (3 bytes) does not count; one byte more tells "too large"
    except FileNotFoundError:
        raise DocumentError(None, "file not found") from None
    except IsADirectoryError:
        raise DocumentError(None, "is a directory, not a file") from None
    except OSError as exc:
        raise DocumentError(None, f"cannot read ({exc.strerror})") from None
    if len(raw.removeprefix(b"\xef\xbb\xbf")) > MAX_BYTES:
        raise DocumentError(None, _too_large())
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(None, f"not UTF-8 text (byte {exc.start})") from None


def _too_large() -> str:
    return f"the document is larger than {MAX_BYTES:,} bytes (a playbook is configuration, not data)"


def parse_yaml(text: str) -> Any:
    if len(text) > MAX_BYTES or len(text.encode("utf-8")) > MAX_BYTES:
        raise DocumentError(None, _too_large())
    from leadrelay.adapters.playbook import yaml_text  # ruamel.yaml: loaded when a YAML text is parsed

    return yaml_text.load(text)


def line_of(document: Any, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node along ``path`` that the document has; None for a document
    without lines (one read from JSON: then no YAML reader was loaded, and none is loaded here)."""
    yaml_text = sys.modules.get("leadrelay.adapters.playbook.yaml_text")
    if yaml_text is None:  # nothing was parsed as YAML in this process: the document has no lines
        return None
    line: int | None = yaml_text.line_of(document, path)
    return line


def plain(node: Any) -> Any:
    """The document as plain dicts and lists (what the schema validates)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node
