"""schemathesis against the OpenAPI document: whatever it sends, no 5xx, and every answer matches the
schema (status, content type, body). Every endpoint the app mounts is covered, with an admin key
(and, by schemathesis' own checks, without one)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.http import auth, make_harness


def test_every_endpoint_answers_within_its_schema_and_never_5xx(sqlite_url: str) -> None:
    with make_harness(sqlite_url) as harness:
        _, key = harness.make_user("admin")
        schema = schemathesis.openapi.from_asgi("/openapi.json", harness.client.app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/healthz", "/v1/me"}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def answers_within_schema(case: Any) -> None:
                case.call_and_validate(headers=auth(key))

            answers_within_schema()
