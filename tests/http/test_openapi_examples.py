"""The OpenAPI document shows an example for every endpoint: of its request body (when it has one)
and of the answer of each success status; and every example is valid against the schema it
illustrates, so an example cannot drift from the models. A new endpoint without examples fails here.

The examples are checked with ``jsonschema_rs`` (installed with schemathesis): the document is
OpenAPI 3.1, whose schemas are JSON Schema 2020-12.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from leadrelay.config import Settings
from leadrelay.entrypoints.http.app import create_app

METHODS = ("get", "put", "post", "patch", "delete", "options", "head")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(db=f"sqlite:///{folder / 'unused.db'}"))  # the document needs no database
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def component(document: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """The component a ``$ref`` schema names (or the schema itself)."""
    if schema and "$ref" in schema:
        found: dict[str, Any] = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return found
    return schema or {}


def examples_of(document: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples a media type shows: its own (``example``, ``examples``), else its schema's."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [entry["value"] for entry in media["examples"].values()]
    schema = component(document, media.get("schema"))
    if "example" in schema:
        return [schema["example"]]
    return list(schema.get("examples", []))


def check(document: dict[str, Any], schema: dict[str, Any], example: Any) -> str | None:
    """Why ``example`` is not valid against ``schema`` (its references resolved in ``document``)."""
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    errors = [f"{'/'.join(map(str, e.instance_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(example)]
    return "; ".join(errors[:3]) or None


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    missing = [
        f"{name} {kind}"
        for name, operation in operations(document)
        for kind, media in operation.get("requestBody", {}).get("content", {}).items()
        if not examples_of(document, media)
    ]
    assert missing == []


def test_every_success_answer_has_an_example(document: dict[str, Any]) -> None:
    missing = []
    for name, operation in operations(document):
        successes = {status: r for status, r in operation["responses"].items() if status[0] in "23"}
        assert successes, f"{name} documents no success status"
        for status, response in successes.items():
            content = response.get("content")
            if not content:  # only an answer without a body may show none
                if status != "204" and status[0] != "3":
                    missing.append(f"{name} {status}: no content")
                continue
            missing += [
                f"{name} {status} {kind}" for kind, media in content.items() if not examples_of(document, media)
            ]
    assert missing == []


def test_a_redirect_documents_where_it_sends_the_browser_and_no_body(document: dict[str, Any]) -> None:
    form = document["paths"]["/forms/{form_id}"]["post"]["responses"]["303"]
    assert "content" not in form
    assert "Location" in form["headers"]


def test_every_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    invalid = []
    for name, operation in operations(document):
        bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
        bodies += [(status, r.get("content") or {}) for status, r in operation["responses"].items()]
        for where, content in bodies:
            for kind, media in content.items():
                schema = media.get("schema")
                if schema is None:
                    continue
                for example in examples_of(document, media):
                    problem = check(document, schema, example)
                    if problem:
                        invalid.append(f"{name} {where} {kind}: {problem}")
    for model, schema in document["components"]["schemas"].items():
        for example in examples_of(document, {"schema": schema}):
            problem = check(document, schema, example)
            if problem:
                invalid.append(f"schema {model}: {problem}")
    assert invalid == []


def test_the_check_finds_an_example_that_does_not_fit(document: dict[str, Any]) -> None:
    schema = {"$ref": "#/components/schemas/Health"}
    assert check(document, schema, {"status": "ok", "database": "ok"}) is None
    assert check(document, schema, {"status": "fine"}) is not None
