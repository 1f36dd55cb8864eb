"""A database outage is a 503 with Retry-After, and the API recovers by itself when the database is back.

Runs on a PostgreSQL cluster of the test's own (``tests/support/postgres.py``), stopped and
started under the running app.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http import ApiHarness, auth, make_harness
from tests.support.postgres import OwnCluster, own_cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[OwnCluster]:
    try:
        with own_cluster() as running:
            yield running
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def api(cluster: OwnCluster) -> Iterator[ApiHarness]:
    with make_harness(cluster.url) as harness:
        yield harness


def test_an_outage_is_503_with_retry_after_and_the_api_recovers_when_the_database_is_back(
    cluster: OwnCluster, api: ApiHarness
) -> None:
    _, key = api.make_user("admin")
    assert api.client.get("/v1/me", headers=auth(key)).status_code == 200
    cluster.stop()
    down = api.client.get("/v1/me", headers=auth(key))
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["type"] == "urn:leadrelay:problem:database-unavailable"
    assert down.json()["detail"] == "the database does not answer; try again in 5 seconds"
    health = api.client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert health.headers["Retry-After"] == "5"
    cluster.start()
    back = api.client.get("/v1/me", headers=auth(key))
    assert back.status_code == 200
    assert back.json()["role"] == "admin"
    assert api.client.get("/healthz").json() == {"status": "ok", "database": "ok"}
