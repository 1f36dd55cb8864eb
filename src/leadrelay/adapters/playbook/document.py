"""Reading a playbook file as YAML 1.2 with line numbers, so every error can name its line.

YAML 1.2 (ruamel.yaml) keeps ``on``, ``yes`` and ``no`` as strings; only ``true``/``false``
are booleans.

A playbook is configuration, not data, so the reader refuses documents no playbook needs and
that would exhaust the process: more than :data:`MAX_BYTES` bytes (checked before parsing),
nesting deeper than :data:`MAX_NESTING` levels, or more than :data:`MAX_VALUES` values once
anchors and aliases are expanded (an "alias bomb" of a few lines expands to billions). The
checks run while the YAML is composed, so nothing is ever expanded past the limits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

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


class _BoundedComposer(Composer):
    """ruamel's composer that refuses too deep or too large documents as it goes.

    Each finished node's expanded size and depth are kept by node identity, so an alias costs
    one lookup, however much it would expand to.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._open = 0  # nodes being composed around the current one
        self._measures: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth), aliases expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._measures:
                raise DocumentError(_line(event), f"invalid YAML: alias *{event.anchor} refers to a node it is inside")
            node = super().compose_node(parent, index)
        else:
            self._open += 1
            if self._open > MAX_NESTING:
                raise DocumentError(_line(event), f"the document is nested more than {MAX_NESTING} levels deep")
            node = super().compose_node(parent, index)
            self._open -= 1
        values, depth = self._measure(node)
        if values > MAX_VALUES:
            raise DocumentError(
                _line(node),
                f"the document holds more than {MAX_VALUES:,} values with its aliases expanded (check anchors and aliases)",
            )
        if self._open + depth > MAX_NESTING:
            raise DocumentError(
                _line(node), f"the document is nested more than {MAX_NESTING} levels deep with its aliases expanded"
            )
        return node

    def _measure(self, node: Node) -> tuple[int, int]:
        known = self._measures.get(id(node))
        if known is not None:
            return known
        if isinstance(node, MappingNode):
            children = [self._measures[id(n)] for pair in node.value for n in pair]
        elif isinstance(node, SequenceNode):
            children = [self._measures[id(n)] for n in node.value]
        else:
            children = []
        measure = (1 + sum(c[0] for c in children), 1 + max((c[1] for c in children), default=0))
        self._measures[id(node)] = measure
        return measure


def _line(item: Any) -> int | None:
    mark = getattr(item, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def parse_yaml(text: str) -> Any:
    if len(text) > MAX_BYTES or len(text.encode("utf-8")) > MAX_BYTES:
        raise DocumentError(None, _too_large())
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Composer = _BoundedComposer
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
