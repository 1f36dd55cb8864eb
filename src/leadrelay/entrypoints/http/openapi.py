"""The OpenAPI document, with the examples exactly as the routes give them.

FastAPI writes the document with ``exclude_none``, which also drops every ``null`` field from the
examples: the example of a lead would lack ``external_id``, the answer of a record ``queue``, and
they would no longer match the answers, which always have those fields. :func:`install` puts the
examples of the routes (``responses={...: {"content": {...: {"example": ...}}}}`` and
``openapi_extra={"requestBody": ...}``) back as they are written. ``tests/http/test_openapi_examples.py``
checks every example against its schema.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

EXAMPLE_KEYS = ("example", "examples")


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Make ``app.openapi()`` give the examples of the routes of ``routers`` (included in ``app``
    without a prefix) with their ``null`` fields."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until routes are added
        restore_examples(schema, routers)
        return schema

    app.openapi = document  # type: ignore[method-assign]


def restore_examples(schema: dict[str, Any], routers: Sequence[APIRouter]) -> None:
    """Copy each route's examples into ``schema`` as written (idempotent)."""
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        item = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            for status, response in route.responses.items():
                documented = operation.get("responses", {}).get(str(status), {})
                _copy(response.get("content", {}), documented.get("content", {}))
            body = (route.openapi_extra or {}).get("requestBody", {})
            _copy(body.get("content", {}), operation.get("requestBody", {}).get("content", {}))


def _copy(given: Mapping[str, Any], documented: dict[str, Any]) -> None:
    for media, spec in given.items():
        target = documented.get(media)
        if target is None or not isinstance(spec, Mapping):
            continue
        for key in EXAMPLE_KEYS:
            if key in spec:
                target[key] = copy.deepcopy(spec[key])
