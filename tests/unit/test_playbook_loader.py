"""Loading playbooks: the default loads, and every error names the file, the line and the rule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leadrelay.adapters.playbook.loader import (
    PlaybookError,
    default_playbook_path,
    load_playbook,
    parse_playbook,
    rule_ids,
)
from leadrelay.domain.conditions import Facts
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import Activity, Lead
from tests.conftest import NOW

HEADER = "id: test\nname: Loader test\nversion: '1'\n"


def error_of(body: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(HEADER + body, "playbooks/sales.yaml")
    return caught.value


# --- the default playbook --------------------------------------------------------------------


def test_the_default_playbook_loads() -> None:
    loaded = load_playbook(default_playbook_path())
    playbook = loaded.playbook

    assert (playbook.id, playbook.version) == ("default", "2026.12.1")
    assert str(playbook.timezone) == "Asia/Tokyo"
    assert [(r.level, r.id) for r in playbook.levels] == [
        (4, "level4_sales_conversation_wanted"),
        (3, "level3_webinar_attended"),
        (2, "level2_document_email_opened"),
        (1, "level1_trade_show"),
    ]
    assert [r.id for r in playbook.disqualifications] == [
        "competitor",
        "free_mail",
        "country_not_served",
        "student",
        "job_seeker",
    ]
    assert [r.id for r in playbook.mql_rules] == [
        "mql_level4",
        "mql_bant",
        "mql_target_account",
        "mql_analytics_pricing",
        "mql_score",
        "handoff_level2_document_email_opened",
        "handoff_level3_webinar_attended",
        "handoff_level4_sales_conversation_wanted",
    ]
    assert [(r.level, r.departments, r.owner) for r in playbook.levels] == [
        (4, ("hq_corporate_sales", "osaka_branch"), "HQ Corporate Sales / Osaka Branch Sales"),
        (3, ("hq_inside_sales",), "HQ Inside Sales"),
        (2, ("hq_inside_sales",), "HQ Inside Sales"),
        (1, (), "Marketing"),
    ]
    assert playbook.sales.requalify == "new_evidence"
    assert playbook.fit_gate.min_score == 20
    assert playbook.window_days == 180
    assert (playbook.decay.kind, playbook.decay.days) == ("half_life", 45)
    assert playbook.stage_label(Stage.MQL, "ja") == "MQL（営業引き渡し）"
    assert playbook.stage_label(Stage.SAL, "en") == "SAL"
    assert "gmail.com" in playbook.free_mail
    assert len(playbook.hash) == 64
    assert loaded.source == str(default_playbook_path())


def test_every_rule_id_in_the_default_playbook_is_unique() -> None:
    ids = rule_ids(load_playbook(default_playbook_path()).playbook)
    assert len(ids) == len(set(ids)) == 45


def test_a_minimal_playbook_loads_with_defaults() -> None:
    playbook = parse_playbook(HEADER).playbook

    assert playbook.version == "1"
    assert str(playbook.timezone) == "Asia/Tokyo"
    assert playbook.levels == ()
    assert [r.id for r in playbook.disqualifications] == ["free_mail"]


def test_a_numeric_version_is_kept_as_text() -> None:
    assert parse_playbook("id: t\nname: T\nversion: 2026.11\n").playbook.version == "2026.11"


# --- errors name the file, the line and the rule ---------------------------------------------


def test_unknown_operator_names_file_line_and_rule() -> None:
    error = error_of(
        "fit:\n"
        "  rules:\n"
        "    - id: big_company\n"
        "      points: 5\n"
        "      when: {field: account.employees, op: greater, value: 1000}\n"
    )
    assert (error.source, error.line, error.rule_id) == ("playbooks/sales.yaml", 8, "big_company")
    assert str(error).startswith(
        "playbooks/sales.yaml:8: rule 'big_company' fit.rules[0].when.op: unknown operator 'greater' (known: eq, ne,"
    )


def test_unknown_field_names_the_line_of_the_field() -> None:
    error = error_of(
        "levels:\n"
        "  - level: 1\n"
        "    id: level1\n"
        "    when:\n"
        "      all:\n"
        "        - activity: {type: trade_show_visited}\n"
        "        - field: lead.salary\n"
        "          op: gt\n"
        "          value: 1\n"
    )
    assert str(error).startswith(
        "playbooks/sales.yaml:10: rule 'level1' levels[0].when.all[1].field: unknown field 'lead.salary'"
    )


def test_unknown_activity_type_in_a_rule_names_the_line() -> None:
    error = error_of("engagement:\n  rules:\n    - id: podcast\n      activity: podcast_listened\n      points: 5\n")
    assert str(error).startswith(
        "playbooks/sales.yaml:7: rule 'podcast' engagement.rules[0].activity: "
        "unknown activity type 'podcast_listened' (declare it under activity_types"
    )


def test_unknown_activity_type_in_a_condition_names_the_rule() -> None:
    error = error_of("levels:\n  - level: 1\n    id: level1\n    when:\n      activity: {type: podcast_listened}\n")
    assert (error.line, error.rule_id) == (7, "level1")
    assert "unknown activity type 'podcast_listened'" in str(error)


def test_an_activity_type_declared_by_the_playbook_is_accepted() -> None:
    playbook = parse_playbook(
        HEADER
        + "activity_types: [podcast_listened]\n"
        + "engagement:\n  rules:\n    - id: podcast\n      activity: podcast_listened\n      points: 5\n"
    ).playbook
    assert "podcast_listened" in playbook.activity_types
    assert [r.id for r in playbook.rules_by_type["podcast_listened"]] == ["podcast"]


def test_duplicate_rule_id_names_both_lines() -> None:
    error = error_of(
        "engagement:\n"
        "  rules:\n"
        "    - id: webinar\n"
        "      activity: webinar_attended\n"
        "      points: 25\n"
        "    - id: webinar\n"
        "      activity: webinar_registered\n"
        "      points: 5\n"
    )
    assert str(error) == (
        "playbooks/sales.yaml:9: rule 'webinar' engagement.rules[1].id: rule id 'webinar' is used twice (first on line 6)"
    )


def test_duplicate_rule_id_across_sections_is_refused() -> None:
    error = error_of(
        "fit:\n"
        "  rules:\n"
        "    - id: same\n"
        "      points: 5\n"
        "      when: {field: lead.title, op: exists}\n"
        "levels:\n"
        "  - level: 1\n"
        "    id: same\n"
        "    when: {activity: {type: trade_show_visited}}\n"
    )
    assert (error.line, error.rule_id) == (11, "same")
    assert "rule id 'same' is used twice (first on line 6)" in str(error)


def test_duplicate_level_names_the_line_and_rule() -> None:
    error = error_of(
        "levels:\n"
        "  - level: 2\n"
        "    id: level2_mail\n"
        "    when: {activity: {type: email_opened}}\n"
        "  - level: 2\n"
        "    id: level2_webinar\n"
        "    when: {activity: {type: webinar_attended}}\n"
    )
    assert str(error) == "playbooks/sales.yaml:8: rule 'level2_webinar' levels[1].level: level 2 is declared twice"


def test_unknown_top_level_key_names_the_misspelt_key() -> None:
    error = error_of("description: test\nengagment:\n  rules: []\n")
    assert str(error) == (
        "playbooks/sales.yaml:5: engagment: unknown key (check the spelling; see docs/playbook-reference.md)"
    )


def test_unknown_key_inside_a_rule_names_the_rule() -> None:
    error = error_of(
        "engagement:\n  rules:\n    - id: webinar\n      activity: webinar_attended\n      points: 25\n      pionts: 3\n"
    )
    assert (error.line, error.rule_id, error.where) == (9, "webinar", "engagement.rules[0].pionts")


def test_invalid_yaml_names_the_line() -> None:
    error = error_of("fit:\n  rules:\n    - id: a\n      points: [5\n    - id: b\n")
    assert error.source == "playbooks/sales.yaml"
    assert error.line == 8
    assert "invalid YAML" in str(error)
    assert str(error).startswith("playbooks/sales.yaml:8: invalid YAML: ")


def test_duplicate_yaml_key_is_invalid_yaml() -> None:
    error = error_of("name: Again\n")
    assert str(error) == (
        'playbooks/sales.yaml:4: invalid YAML: found duplicate key "name" with value "Again" (original value: "Loader test")'
    )


def test_missing_required_key_names_the_rule() -> None:
    error = error_of("fit:\n  rules:\n    - id: manager\n      when: {field: lead.seniority, op: eq, value: manager}\n")
    assert str(error) == "playbooks/sales.yaml:6: rule 'manager' fit.rules[0].points: required key is missing"


def test_missing_playbook_id_is_reported_at_the_top() -> None:
    with pytest.raises(PlaybookError, match=r"^pb\.yaml:1: id: required key is missing$"):
        parse_playbook("name: T\nversion: '1'\n", "pb.yaml")


def test_a_playbook_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(PlaybookError, match=r"^pb\.yaml:1: a playbook is a YAML mapping"):
        parse_playbook("- id: t\n", "pb.yaml")


@pytest.mark.parametrize(
    "when",
    [
        "{field: score.engagement, op: gte, value: 10}",
        "{field: level, op: gte, value: 2}",
        "{activity: {type: webinar_attended}}",
    ],
)
def test_a_fit_rule_that_reads_scores_or_activities_is_refused(when: str) -> None:
    error = error_of(f"fit:\n  rules:\n    - id: engaged_fit\n      points: 5\n      when: {when}\n")
    assert str(error) == (
        "playbooks/sales.yaml:8: rule 'engaged_fit' fit.rules[0].when: "
        "fit rules look at who the lead is (lead.*, account.*), not at scores, level or activities"
    )


def test_a_level_that_reads_the_level_is_refused() -> None:
    error = error_of("levels:\n  - level: 2\n    id: circular\n    when: {field: level, op: gte, value: 1}\n")
    assert (error.line, error.rule_id) == (7, "circular")
    assert error.message == "a level cannot depend on the level itself"


def test_unknown_time_zone_names_the_line() -> None:
    error = error_of("timezone: Asia/Osaka\n")
    assert str(error) == "playbooks/sales.yaml:4: timezone: unknown time zone 'Asia/Osaka' (e.g. Asia/Tokyo, UTC)"


def test_unknown_country_in_countries_served_names_the_line() -> None:
    error = error_of("disqualification:\n  countries_served:\n    countries:\n      - JP\n      - Narnia\n")
    assert str(error) == (
        "playbooks/sales.yaml:8: disqualification.countries_served.countries[1]: "
        "unknown country 'Narnia' (use ISO codes such as JP, US)"
    )


def test_a_cap_on_a_negative_rule_is_refused() -> None:
    error = error_of(
        "engagement:\n"
        "  rules:\n"
        "    - id: careers\n"
        "      activity: page_viewed\n"
        "      points: -10\n"
        "      cap: {points: 10, per: week}\n"
    )
    assert (error.line, error.rule_id) == (6, "careers")
    assert "cap applies to rules that give points" in error.message


# --- YAML 1.2 --------------------------------------------------------------------------------


def test_on_yes_and_no_stay_strings_and_true_is_a_bool() -> None:
    loaded = parse_playbook(
        HEADER + "engagement:\n"
        "  rules:\n"
        "    - id: switch_on\n"
        "      activity: form_submitted\n"
        "      where: {field: activity.properties.switch, op: eq, value: on}\n"
        "      points: 1\n"
        "    - id: answers\n"
        "      activity: survey_answered\n"
        "      where: {field: activity.properties.answer, op: in, value: [yes, no]}\n"
        "      points: 1\n"
        "    - id: wants_contact\n"
        "      activity: survey_answered\n"
        "      where: {field: activity.properties.wants_contact, op: eq, value: true}\n"
        "      points: 1\n"
    )
    switch, answers, wants = loaded.document.engagement.rules

    assert switch.where["value"] == "on"
    assert answers.where["value"] == ["yes", "no"]
    assert wants.where["value"] is True

    rules = {r.id: r for r in loaded.playbook.engagement_rules}
    assert rules["switch_on"].where(activity(switch="on")) is True
    assert rules["switch_on"].where(activity(switch=True)) is False
    assert rules["answers"].where(activity(answer="NO")) is True
    assert rules["answers"].where(activity(answer=False)) is False
    assert rules["wants_contact"].where(activity(wants_contact=True)) is True


def test_no_in_countries_served_is_norway() -> None:
    playbook = parse_playbook(HEADER + "disqualification:\n  countries_served:\n    countries: [JP, no]\n").playbook
    [rule] = [r for r in playbook.disqualifications if r.id == "country_not_served"]

    def facts(country: str) -> Facts:
        return Facts(Lead(email="a@acme.example", country=country), None, [], NOW, {})

    assert rule.test(facts("NO")) is False
    assert rule.test(facts("FR")) is True


def activity(**properties: object) -> Activity:
    return Activity(key="k", type="survey_answered", occurred_at=NOW - timedelta(days=1), properties=properties)


# --- files -----------------------------------------------------------------------------------


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(PlaybookError) as caught:
        load_playbook(missing)

    assert str(caught.value) == f"{missing}: file not found"
    assert caught.value.line is None


def test_an_error_in_a_file_names_that_file(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(HEADER + "timezone: Mars/Olympus\n", encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)

    assert str(caught.value).startswith(f"{path}:4: timezone: unknown time zone 'Mars/Olympus'")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sjis.yaml"
    path.write_bytes((HEADER + "description: 営業\n").encode("shift_jis"))

    with pytest.raises(PlaybookError, match=r"not UTF-8 text \(byte \d+\)$"):
        load_playbook(path)


def test_a_utf8_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode("utf-8"))

    assert load_playbook(path).playbook.id == "test"
