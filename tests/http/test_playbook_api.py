"""The playbook over HTTP: read the active one and its versions, check a candidate (errors with
the line), activate one (admin only, kept with who and when)."""

from __future__ import annotations

from leadrelay.adapters.playbook.loader import default_playbook_path
from leadrelay.services.access import Role
from tests.support.http import ApiHarness, MakeUser, auth

YAML = {"Content-Type": "application/yaml"}
DEFAULT = default_playbook_path().read_text(encoding="utf-8")
NEXT = DEFAULT.replace('\nversion: "2026.12.1"', '\nversion: "2026.12.2"', 1)
assert NEXT != DEFAULT


def broken() -> tuple[str, int]:
    """The default playbook with an unknown time zone, and the line it is on."""
    lines = DEFAULT.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("timezone:"))
    lines[at] = "timezone: Mars/Olympus"
    return "\n".join(lines) + "\n", at + 1


def test_the_active_playbook_is_readable_by_every_role(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.rep, rep="rep-tanaka")
    body = api.client.get("/v1/playbook", headers=auth(key)).json()
    assert (body["id"], body["version"], body["activated_by"]) == ("default", "2026.12.1", "engine")
    assert body["text"] == DEFAULT
    assert body["document"]["timezone"] == "Asia/Tokyo"


def test_a_candidate_with_an_error_is_422_naming_its_line(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.marketing)
    text, line = broken()
    response = api.client.post("/v1/playbook/validate", content=text.encode(), headers={**auth(key), **YAML})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == f"body (line {line})"
    assert "Mars/Olympus" in error["message"]
    assert response.json()["detail"].startswith(f"the playbook cannot be used: line {line}: ")


def test_a_good_candidate_is_checked_and_not_stored(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.manager, departments=["hq_corporate_sales"])
    response = api.client.post("/v1/playbook/validate", content=NEXT.encode(), headers={**auth(key), **YAML})
    assert response.status_code == 200, response.text
    assert (response.json()["valid"], response.json()["version"], response.json()["errors"]) == (True, "2026.12.2", [])
    assert [v.version for v in api.relay.playbook_versions()] == ["2026.12.1"]


def test_an_admin_activates_a_version_kept_with_who_and_when(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin, email="admin@example.co.jp")
    response = api.client.post("/v1/playbook/activate", content=NEXT.encode(), headers={**auth(key), **YAML})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["activated_by"], body["activated_at"]) == (
        "2026.12.2",
        "admin@example.co.jp",
        "2026-11-25T12:00:00+09:00",
    )
    versions = api.client.get("/v1/playbook/versions", headers=auth(key)).json()
    assert [(v["version"], v["active"], [a["by"] for a in v["activations"]]) for v in versions] == [
        ("2026.12.2", True, ["admin@example.co.jp"]),
        ("2026.12.1", False, ["engine"]),
    ]
    assert api.relay.playbook().playbook.version == "2026.12.2"


def test_only_an_admin_activates_and_a_broken_playbook_is_never_activated(api: ApiHarness, make_user: MakeUser) -> None:
    client = api.client
    for role, departments, rep in (
        (Role.marketing, (), None),
        (Role.manager, ("hq_corporate_sales",), None),
        (Role.rep, (), "rep-tanaka"),
    ):
        _, key = make_user(role, departments, rep)
        assert (
            client.post("/v1/playbook/activate", content=NEXT.encode(), headers={**auth(key), **YAML}).status_code
            == 403
        )
    _, admin = make_user(Role.admin)
    text, _ = broken()
    assert (
        client.post("/v1/playbook/activate", content=text.encode(), headers={**auth(admin), **YAML}).status_code == 422
    )
    assert api.relay.playbook().playbook.version == "2026.12.1"


def test_a_candidate_that_is_not_yaml_text_is_refused(api: ApiHarness, make_user: MakeUser) -> None:
    _, key = make_user(Role.admin)
    as_json = api.client.post("/v1/playbook/validate", json={"id": "x"}, headers=auth(key))
    assert as_json.status_code == 415
    binary = api.client.post("/v1/playbook/validate", content=b"\xff\xfe\x00", headers={**auth(key), **YAML})
    assert binary.status_code == 422
    not_a_mapping = api.client.post("/v1/playbook/validate", content=b"- a\n- b\n", headers={**auth(key), **YAML})
    assert not_a_mapping.status_code == 422
    assert not_a_mapping.json()["errors"][0]["field"] == "body (line 1)"
