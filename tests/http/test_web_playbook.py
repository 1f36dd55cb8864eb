"""The dashboard's playbook pages through HTTP as a browser sends it: the active playbook as
tables (the default playbook's real rules and points), the versions and a diff between two,
checking a candidate (errors with their line) and activating it (admins only, with the CSRF token)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from leadrelay.adapters.playbook.loader import default_playbook_path
from tests.support.http import ApiHarness, make_harness

DEFAULT = default_playbook_path().read_text(encoding="utf-8")
#: the next version: a new version number and one engagement rule's label changed
NEXT = DEFAULT.replace('\nversion: "2026.12.1"', '\nversion: "2026.12.2"', 1).replace(
    "label: Attended a webinar\n", "label: Attended a live webinar\n", 1
)
assert NEXT.count("Attended a live webinar") == 1 and "2026.12.2" in NEXT
ADMIN = "admin@users.example.co.jp"
PASSWORD = "correct horse battery"
USERS = {
    "admin": {"role": "admin"},
    "marketing": {"role": "marketing"},
    "manager": {"role": "manager", "departments": ["hq_inside_sales"]},
    "rep": {"role": "rep", "rep": "is-kobayashi"},
}


@pytest.fixture
def web(db_url: str) -> Iterator[ApiHarness]:
    with make_harness(db_url, web_secure_cookie=False) as harness:
        for name, user in USERS.items():
            harness.relay.add_user(f"{name}@users.example.co.jp", actor="test", password=PASSWORD, **user)  # type: ignore[arg-type]
        yield harness


def form_token(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} in the page"
    return found.group(1)


def log_in(client: TestClient, who: str) -> None:
    """Through the log-in form, as a browser (its own token, then the session cookie)."""
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "email": f"{who}@users.example.co.jp",
            "password": PASSWORD,
            "form_token": form_token(page.text, "form_token"),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def cells(page: str, first: str) -> list[str]:
    """The texts of the cells of the first table row whose first cell is ``first``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S):
        found = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        ]
        if found and found[0] == first:
            return found
    raise AssertionError(f"no row starts with {first!r}")


def csrf_of(client: TestClient, path: str = "/playbook") -> str:
    return form_token(client.get(path).text, "csrf")


def broken() -> tuple[str, int]:
    """The default playbook with an unknown time zone, and the line it is on (counted by hand)."""
    lines = DEFAULT.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("timezone:"))
    lines[at] = "timezone: Mars/Olympus"
    return "\n".join(lines) + "\n", at + 1


def test_the_playbook_page_shows_the_default_playbooks_rules_as_tables(web: ApiHarness) -> None:
    log_in(web.client, "rep")  # every role may read the playbook
    page = web.client.get("/playbook")
    assert page.status_code == 200
    text = page.text
    assert "<strong>2026.12.1</strong>" in text and "Default B2B handoff (seed example)" in text
    assert "<dt>Activated by</dt><dd>engine</dd>" in text
    assert cells(text, "target_industry")[1::2] == ["Target industry", "20"]
    assert cells(text, "company_size_large")[-1] == "20"
    assert cells(text, "webinar_attended")[1:] == [
        "Attended a webinar",
        "webinar_attended",
        "every such activity",
        "25",
        "no limit",
        "the default (above)",
    ]
    assert "Decay of engagement points: halves every 45 days" in text
    assert cells(text, "webinar_no_show")[4] == "-3"
    assert cells(text, "document_downloaded")[4:6] == ["10", "once per activity.properties.document, at most 5 times"]
    assert cells(text, "careers_page")[4:6] == ["-10", "once at most"]
    assert cells(text, "unsubscribed")[6] == "counts for 365 days"
    assert cells(text, "student")[1:3] == ["student", "Student"]
    assert cells(text, "4")[1] == "level4_sales_conversation_wanted"  # the level table's first row
    assert cells(text, "4")[-1] == "HQ Corporate Sales (hq_corporate_sales), Osaka Branch Sales (osaka_branch)"
    assert cells(text, "1")[-1] == "Marketing"  # level 1 is marketing's
    assert cells(text, "mql_score")[1:3] == ["Engagement score threshold", "score.engagement is at least 60"]
    assert "Fit needed before an MQL: fit score ≥ 20" in text
    rule = next(r for r in re.findall(r"<tr>(.*?)</tr>", text, flags=re.S) if "route_level4_kinki" in r)
    assert re.sub(r"<[^>]+>", "|", rule).split("|").count("kinki") == 1 and "round robin" in rule
    assert "Osaka Branch Sales (osaka_branch)" in rule
    assert "A lead no rule can place waits in the queue of: Marketing (marketing)" in text
    assert "handoff_kinki" in text  # the Pre-SQL handoff rules
    assert cells(text, "sla_inside_sales")[3:] == [
        "HQ Inside Sales (hq_inside_sales)",
        "every level",
        "8 business hours",
        "2 business hours",
        "75 % of the time",
        "route again to another rep",
    ]
    assert "MQLs a month (marketing delivers): 50" in text
    assert cells(text, "Osaka Branch Sales (osaka_branch)")[-1] == "6"


def test_the_playbook_page_in_japanese(web: ApiHarness) -> None:
    log_in(web.client, "marketing")
    web.client.cookies.set("leadrelay_lang", "ja")
    text = web.client.get("/playbook").text
    assert '<html lang="ja">' in text and "確度レベル" in text and "加点の条件" in text
    assert cells(text, "sla_inside_sales")[5:7] == ["8営業時間", "2営業時間"]
    assert "行動スコアの減衰: 45日ごとに半減" in text
    assert cells(text, "unsubscribed")[6] == "365日間のみ有効"


def test_the_versions_and_the_diff_of_two_show_the_changed_line(web: ApiHarness) -> None:
    web.relay.activate_playbook(NEXT, actor=ADMIN)
    log_in(web.client, "manager")
    versions = web.client.get("/playbook/versions").text
    newest, older = cells(versions, "2026.12.2default"), cells(versions, "2026.12.1default")
    assert "active" in newest[2] and ADMIN in newest[3]
    assert "engine" in older[3]
    answer = web.client.get("/playbook/diff", params={"from": "2026.12.1", "to": "2026.12.2"})
    assert answer.status_code == 200
    text = answer.text
    at = DEFAULT.splitlines().index("      label: Attended a webinar") + 1  # the same line number in both
    removed = re.search(r'<tr class="pb-removed">(.*?)</tr>', text, flags=re.S)
    added = re.search(r'<tr class="pb-added">(.*?)</tr>', text, flags=re.S)
    assert removed and added
    assert re.findall(r'<tr class="pb-removed">', text).__len__() == 2  # the version line and the label line
    labels_removed = [r for r in re.findall(r'<tr class="pb-removed">(.*?)</tr>', text, flags=re.S) if "Attended" in r]
    labels_added = [r for r in re.findall(r'<tr class="pb-added">(.*?)</tr>', text, flags=re.S) if "Attended" in r]
    assert len(labels_removed) == 1 and len(labels_added) == 1
    assert (
        f'<td class="num">{at}</td>' in labels_removed[0]
        and '<td class="pb-sign" aria-hidden="true">-</td>' in labels_removed[0]
    )
    assert "label: Attended a webinar" in labels_removed[0]
    assert '<td class="pb-sign" aria-hidden="true">+</td>' in labels_added[0]
    assert "label: Attended a live webinar" in labels_added[0]
    changed = re.search(r'id="h-sections".*?</section>', text, flags=re.S)
    assert changed and re.findall(r"<code>(\w+)</code>", changed.group(0)) == ["version", "engagement"]


def test_an_unknown_or_missing_version_is_a_4xx_page_naming_the_parameter(web: ApiHarness) -> None:
    log_in(web.client, "marketing")
    unknown = web.client.get("/playbook/diff", params={"from": "9.9.9", "to": "2026.12.1"})
    assert unknown.status_code == 404
    assert "from: no stored playbook version or hash is &#39;9.9.9&#39;" in unknown.text
    bad_to = web.client.get("/playbook/diff", params={"from": "2026.12.1", "to": "nope<script>"})
    assert (
        bad_to.status_code == 404 and "to: no stored" in bad_to.text and "<script>" not in bad_to.text.split("<main")[1]
    )
    only_one = web.client.get("/playbook/diff")
    assert only_one.status_code == 422 and "Only one version is stored" in only_one.text
    # the same version number on two different texts: the number names neither, a hash prefix does
    web.relay.activate_playbook(
        DEFAULT.replace("label: Attended a webinar\n", "label: Went to a webinar\n", 1), actor=ADMIN
    )
    [first, second] = web.relay.playbook_versions()
    both = web.client.get("/playbook/diff", params={"from": "2026.12.1", "to": second.hash})
    assert both.status_code == 422 and "from: &#39;2026.12.1&#39; names more than one stored playbook" in both.text
    by_prefix = web.client.get("/playbook/diff", params={"from": second.hash[:8], "to": first.hash[:8]})
    assert by_prefix.status_code == 200 and "label: Went to a webinar" in by_prefix.text
    assert web.client.get("/playbook/diff", params={"from": second.hash[:5], "to": first.hash}).status_code == 404


def test_an_admin_checks_a_broken_playbook_and_sees_its_line(web: ApiHarness) -> None:
    log_in(web.client, "admin")
    token = csrf_of(web.client, "/playbook/candidate")
    text, line = broken()
    answer = web.client.post("/playbook/validate", data={"csrf": token, "yaml": text})
    assert answer.status_code == 422
    row = cells(answer.text, str(line))
    assert "Mars/Olympus" in row[3] and row[4] == "timezone: Mars/Olympus"
    assert [v.version for v in web.relay.playbook_versions()] == ["2026.12.1"]  # nothing stored
    good = web.client.post("/playbook/validate", data={"csrf": token, "yaml": NEXT.replace("\n", "\r\n")})
    assert good.status_code == 200 and "This playbook can be used: default 2026.12.2" in good.text
    uploaded = web.client.post(
        "/playbook/validate",
        data={"csrf": token, "yaml": ""},
        files={"file": ("next.yaml", NEXT.encode(), "application/yaml")},
    )
    assert uploaded.status_code == 200 and "default 2026.12.2" in uploaded.text
    empty = web.client.post("/playbook/validate", data={"csrf": token, "yaml": "  "})
    assert empty.status_code == 422 and "Paste a playbook or choose a file first." in empty.text


def test_an_admin_activates_a_new_version_kept_with_their_name(web: ApiHarness) -> None:
    log_in(web.client, "admin")
    token = csrf_of(web.client, "/playbook/candidate")
    answer = web.client.post("/playbook/activate", data={"csrf": token, "yaml": NEXT}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/playbook?done=activated"
    page = web.client.get(answer.headers["location"]).text
    assert "Playbook 2026.12.2 is now the active one." in page and ADMIN in page
    versions = web.relay.playbook_versions()
    assert [v.version for v in versions] == ["2026.12.2", "2026.12.1"]
    assert versions[0].active and [a.by for a in versions[0].activations] == [ADMIN]
    assert web.relay.playbook_view().text == NEXT
    still = web.client.post("/playbook/activate", data={"csrf": token, "yaml": broken()[0]})
    assert still.status_code == 422 and web.relay.playbook_view().version == "2026.12.2"


@pytest.mark.parametrize("who", ["rep", "marketing", "manager"])
def test_only_an_admin_may_check_or_activate(web: ApiHarness, who: str) -> None:
    log_in(web.client, who)
    page = web.client.get("/playbook").text
    assert 'href="/playbook/candidate"' not in page
    assert web.client.get("/playbook/candidate").status_code == 403
    token = form_token(page, "csrf")
    for action in ("validate", "activate"):
        answer = web.client.post(f"/playbook/{action}", data={"csrf": token, "yaml": NEXT})
        assert answer.status_code == 403 and "Only an admin" in answer.text
    assert [v.version for v in web.relay.playbook_versions()] == ["2026.12.1"]


def test_a_form_without_the_csrf_token_is_refused(web: ApiHarness) -> None:
    log_in(web.client, "admin")
    assert 'href="/playbook/candidate"' in web.client.get("/playbook").text
    for data in ({"yaml": NEXT}, {"yaml": NEXT, "csrf": "forged"}):
        answer = web.client.post("/playbook/activate", data=data)
        assert answer.status_code == 403
    assert [v.version for v in web.relay.playbook_versions()] == ["2026.12.1"]
