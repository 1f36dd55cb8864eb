"""The YAML side of :mod:`leadrelay.adapters.playbook.document`: ruamel.yaml's round-trip reader with the
size and nesting limits, and the lines of its nodes.

Only :func:`~leadrelay.adapters.playbook.document.parse_yaml` and
:func:`~leadrelay.adapters.playbook.document.line_of` import this module, when a YAML text is parsed:
a process that reads a stored playbook from its JSON form (``lead show`` on a current database) never
loads ruamel.yaml.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from leadrelay.adapters.playbook.document import MAX_NESTING, MAX_VALUES, DocumentError


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


def load(text: str) -> Any:
    """The document of a YAML 1.2 text (size already checked), its mappings and lists carrying their lines."""
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
