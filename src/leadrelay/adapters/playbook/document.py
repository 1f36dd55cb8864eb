"""Reading a playbook file as YAML 1.2 with line numbers, so every error can name its line.

YAML 1.2 (ruamel.yaml) keeps ``on``, ``yes`` and ``no`` as strings; only ``true``/``false``
are booleans.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leadrelay.errors import LeadRelayError


class DocumentError(LeadRelayError, ValueError):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_text(path: Path) -> str:
    """A UTF-8 text file (a BOM is allowed); :class:`DocumentError` says plainly why it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(None, "file not found") from None
    except IsADirectoryError:
        raise DocumentError(None, "is a directory, not a file") from None
    except OSError as exc:
        raise DocumentError(None, f"cannot read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(None, f"not UTF-8 text (byte {exc.start})") from None


def parse_yaml(text: str) -> Any:
    from ruamel.yaml import YAML  # imported on first use: a stored playbook is read from its JSON form
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DocumentError(line, f"invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise DocumentError(None, f"invalid YAML: {exc}") from None


def line_of(document: Any, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node along ``path`` that the document has."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = document
    line: int | None = None
    for step in path:
        if isinstance(node, CommentedMap) and isinstance(step, str) and step in node:
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                line = node.lc.key(step)[0] + 1
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                line = node.lc.item(step)[0] + 1
            node = node[step]
        else:
            break
    if line is None and isinstance(document, CommentedMap):
        line = document.lc.line + 1 if document.lc.line is not None else None
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
