"""The playbook's forms: and hooks: sections: the default ones load, mistakes name file and line."""

from __future__ import annotations

import pytest

from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook

HEADER = "id: test\nname: Forms test\nversion: '1'\n"
HAND_RAISERS = "hand_raisers:\n  rules:\n    - {id: hr, activity: [demo_requested, contact_requested]}\n"


def error_of(body: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(HEADER + body, "playbooks/web.yaml")
    return caught.value


def form(extra: str = "", fields: str = "{email: mail}") -> str:
    return (
        f"forms:\n  - id: contact\n    fields: {fields}\n    thank_you_url: https://www.example.co.jp/thanks\n{extra}"
    )


def test_the_default_playbook_has_a_contact_form_and_three_hook_sources() -> None:
    playbook = load_playbook(default_playbook_path()).playbook

    contact = playbook.forms["contact"]
    assert contact.fields == {
        "email": "email",
        "company": "company",
        "name": "name",
        "phone": "phone",
        "wants_contact": "wants_contact",
    }
    assert contact.wants_contact_activity == "contact_requested"
    assert contact.allowed_origins == {"https://www.example.co.jp", "http://localhost:8000"}
    assert contact.honeypot == "website"
    assert contact.thank_you_url == "https://www.example.co.jp/contact/thanks"
    assert sorted(playbook.hooks) == ["hubspot", "marketo", "salesforce"]
    assert playbook.hooks["hubspot"].secret_env == "LEADRELAY_HUBSPOT_HOOK_SECRET"


def test_a_form_records_form_submitted_by_default_and_origins_are_kept_lower_case() -> None:
    loaded = parse_playbook(HEADER + form("    allowed_origins: [HTTPS://Www.Example.co.jp/]\n"))

    contact = loaded.playbook.forms["contact"]
    assert contact.activity == "form_submitted"
    assert contact.allowed_origins == {"https://www.example.co.jp"}
    assert contact.wants_contact_activity is None  # no checkbox: no hand-raise


def test_a_form_without_an_email_field_names_the_line() -> None:
    error = error_of(form(fields="{company: co}"))

    assert error.line == 6
    assert "email" in error.where
    assert "required" in error.message


def test_an_unknown_activity_type_of_a_form_names_the_line() -> None:
    error = error_of(form("    activity: form_sent\n"))

    assert error.line == 8
    assert "unknown activity type 'form_sent'" in error.message


def test_a_wants_contact_box_must_record_a_hand_raise() -> None:
    error = error_of(form(fields="{email: mail, wants_contact: call_me}"))

    assert "no hand_raisers rule names 'contact_requested'" in error.message
    assert error.line == 5  # the form (its wants_contact_activity is the default)


def test_a_wants_contact_box_recording_a_hand_raise_loads() -> None:
    loaded = parse_playbook(HEADER + HAND_RAISERS + form(fields="{email: mail, wants_contact: call_me}"))

    assert loaded.playbook.forms["contact"].wants_contact_activity == "contact_requested"


def test_an_origin_with_a_path_is_refused_with_its_line() -> None:
    error = error_of(
        form("    allowed_origins:\n      - https://www.example.co.jp\n      - https://lp.example.com/campaign\n")
    )

    assert error.line == 10
    assert "'https://lp.example.com/campaign' is not an origin" in error.message


def test_a_honeypot_that_is_a_mapped_field_is_refused() -> None:
    error = error_of(form("    honeypot: mail\n"))

    assert "'mail' is a mapped field, not a honeypot" in error.message


def test_a_profile_field_must_be_a_lead_field() -> None:
    error = error_of(form("    profile: {salary: pay}\n"))

    assert error.line == 8
    assert "'salary' is not a lead field a form can set" in error.message


def test_a_form_declared_twice_is_refused() -> None:
    twice = form() + "  - id: contact\n    fields: {email: e}\n    thank_you_url: /thanks\n"

    error = error_of(twice)

    assert error.line == 8
    assert "form 'contact' is declared twice" in error.message


def test_a_hook_names_a_built_in_mapping_and_a_variable() -> None:
    error = error_of("hooks:\n  - source: pardot\n    mapping: pardot\n    secret_env: PARDOT_SECRET\n")

    assert error.line == 6
    assert "unknown mapping 'pardot' (built in: hubspot, leadrelay, marketo, salesforce)" in error.message


def test_a_hook_secret_is_a_variable_name_not_a_secret() -> None:
    error = error_of("hooks:\n  - source: hubspot\n    mapping: hubspot\n    secret_env: 's3cr3t=='\n")

    assert error.line == 7
    assert "secret_env" in error.where


def test_an_activity_hook_loads_with_its_activity_type() -> None:
    text = (
        "hooks:\n  - {source: ma, mapping: marketo, records: activities, activity: webinar_attended, secret_env: MA}\n"
    )

    hook = parse_playbook(HEADER + text).playbook.hooks["ma"]

    assert (hook.records, hook.activity, hook.secret_env) == ("activities", "webinar_attended", "MA")
