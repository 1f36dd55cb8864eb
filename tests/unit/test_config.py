"""Settings read once from the environment and checked at load; the wiring built from them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

from leadrelay import bootstrap
from leadrelay.adapters.calendars import UnknownRegion
from leadrelay.adapters.clock import FakeClock, SystemClock
from leadrelay.adapters.files.formats import ImportFileError
from leadrelay.adapters.notify.errors import DeliveryError
from leadrelay.adapters.playbook.document import DocumentError
from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, parse_playbook
from leadrelay.adapters.records import InputError
from leadrelay.adapters.store.schema import StoreError
from leadrelay.config import Settings, SettingsError, load_settings, parse_smtp_url, redact
from leadrelay.domain.calendar import CalendarError
from leadrelay.domain.conditions import ConditionError
from leadrelay.domain.identity import InvalidEmail
from leadrelay.domain.lifecycle import IllegalTransition
from leadrelay.entrypoints.cli.common import UserError
from leadrelay.entrypoints.worker import WorkerSettings
from leadrelay.errors import LeadRelayError
from leadrelay.services import sla
from leadrelay.services.leads import LeadNotFound
from leadrelay.services.routing import RoutingUnavailable
from leadrelay.services.sales import FeedbackError
from leadrelay.services.timers import notify_timer

DEFAULT_PLAYBOOK = parse_playbook(default_playbook_path().read_text(encoding="utf-8")).playbook
SMTP = {
    "LEADRELAY_SMTP_URL": "smtp+starttls://bot%40example.co.jp:pa%3Ass@mail.example.co.jp",
    "LEADRELAY_SMTP_FROM": "leadrelay@example.co.jp",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without leadrelay's variables or a locale."""
    for name in list(os.environ):
        if name.startswith("LEADRELAY_") or name in ("LC_ALL", "LANG"):
            monkeypatch.delenv(name)


def env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_without_variables_the_defaults_are_the_worker_s_usual_ones() -> None:
    settings = load_settings()
    assert (settings.db, settings.language, settings.now, settings.smtp_url) == (None, "en", None, None)
    worker = WorkerSettings.from_settings(settings, "w1")
    assert (worker.timer_batch, worker.message_batch, worker.poll, worker.concurrency) == (500, 200, 1.0, 16)
    assert worker.lease == timedelta(minutes=5)
    assert (worker.backoff.base, worker.backoff.cap, worker.backoff.max_attempts) == (10.0, 3600.0, 10)
    assert (worker.timer_backoff.base, worker.timer_backoff.cap, worker.timer_backoff.max_attempts) == (
        30.0,
        3600.0,
        10,
    )


def test_every_variable_is_read_by_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    env(
        monkeypatch,
        LEADRELAY_DB="postgresql://leadrelay@db/leadrelay",
        LEADRELAY_LANG="ja",
        LEADRELAY_NOW="2026-11-25T12:00:00Z",
        LEADRELAY_SMTP_TIMEOUT="3.5",
        LEADRELAY_WEBHOOK_TIMEOUT="4",
        LEADRELAY_WORKER_TIMER_BATCH="50",
        LEADRELAY_WORKER_TIMER_MAX_ATTEMPTS="2",
        LEADRELAY_WORKER_TIMER_BACKOFF_BASE="5",
        LEADRELAY_WORKER_TIMER_BACKOFF_CAP="50",
        LEADRELAY_WORKER_MESSAGE_BATCH="20",
        LEADRELAY_WORKER_MAX_ATTEMPTS="3",
        LEADRELAY_WORKER_BACKOFF_BASE="1",
        LEADRELAY_WORKER_BACKOFF_CAP="9",
        LEADRELAY_WORKER_LEASE="60",
        LEADRELAY_WORKER_CONCURRENCY="4",
        LEADRELAY_WORKER_POLL="0.5",
        **SMTP,
    )
    settings = load_settings()
    assert settings.db == "postgresql://leadrelay@db/leadrelay" and settings.language == "ja"
    assert settings.now == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert (settings.smtp_timeout, settings.webhook_timeout) == (3.5, 4.0)
    worker = WorkerSettings.from_settings(settings, "w1")
    assert (worker.timer_batch, worker.message_batch, worker.poll, worker.concurrency) == (50, 20, 0.5, 4)
    assert worker.lease == timedelta(minutes=1)
    assert (worker.backoff.base, worker.backoff.cap, worker.backoff.max_attempts) == (1.0, 9.0, 3)
    assert (worker.timer_backoff.base, worker.timer_backoff.cap, worker.timer_backoff.max_attempts) == (5.0, 50.0, 2)
    smtp = bootstrap.smtp_settings(settings)
    assert smtp is not None
    assert (smtp.scheme, smtp.host, smtp.port, smtp.user, smtp.password) == (
        "smtp+starttls",
        "mail.example.co.jp",
        587,
        "bot@example.co.jp",
        "pa:ss",
    )
    assert (smtp.sender, smtp.timeout) == ("leadrelay@example.co.jp", 3.5)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADRELAY_SMTP_TIMEOUT", "ten", "LEADRELAY_SMTP_TIMEOUT: 'ten': input should be a valid number"),
        ("LEADRELAY_WEBHOOK_TIMEOUT", "0", "LEADRELAY_WEBHOOK_TIMEOUT: '0': input should be greater than 0"),
        (
            "LEADRELAY_WORKER_TIMER_BATCH",
            "0",
            "LEADRELAY_WORKER_TIMER_BATCH: '0': input should be greater than or equal to 1",
        ),
        (
            "LEADRELAY_WORKER_MAX_ATTEMPTS",
            "many",
            "LEADRELAY_WORKER_MAX_ATTEMPTS: 'many': input should be a valid integer",
        ),
        (
            "LEADRELAY_WORKER_BACKOFF_CAP",
            "5",
            "LEADRELAY_WORKER_BACKOFF_CAP (5.0) is below LEADRELAY_WORKER_BACKOFF_BASE (10.0)",
        ),
        ("LEADRELAY_NOW", "yesterday", "LEADRELAY_NOW: 'yesterday' is not an ISO 8601 timestamp"),
        ("LEADRELAY_NOW", "2026-11-25T12:00:00", "LEADRELAY_NOW: '2026-11-25T12:00:00' has no time zone"),
        ("LEADRELAY_LANG", "fr", "LEADRELAY_LANG: 'fr' is not one of en, ja"),
        (
            "LEADRELAY_SMTP_URL",
            "http://bot:secret@mail",
            "LEADRELAY_SMTP_URL: must look like smtp://user:password@host:port",
        ),
        ("LEADRELAY_SMTP_URL", "smtp://bot:secret@mail:99999", "LEADRELAY_SMTP_URL: the port is not a number"),
        ("LEADRELAY_SMTP_FROM", "leadrelay", "LEADRELAY_SMTP_FROM: 'leadrelay' is not an e-mail address"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    env(monkeypatch, **{name: value})
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text and "secret" not in text  # one line; a URL's password is never echoed


def test_given_values_win_over_the_environment_even_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    env(monkeypatch, LEADRELAY_NOW="yesterday", LEADRELAY_DB="env.db", LEADRELAY_LANG="ja")
    moment = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=9)))
    settings = load_settings(now=moment, db="given.db", lang="en")
    assert (settings.now, settings.db, settings.language) == (moment, "given.db", "en")
    assert load_settings(now=moment, db=None).db == "env.db"  # None: not given


@pytest.mark.parametrize(
    ("variables", "lang"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LC_ALL": "C.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),  # LC_ALL comes first
        ({"LC_ALL": "", "LANG": "ja_JP.UTF-8"}, "ja"),  # an empty variable is unset
        ({"LEADRELAY_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
        ({"LEADRELAY_LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # a locale is not an error: anything but Japanese is English
    ],
)
def test_the_language_comes_from_leadrelay_lang_else_the_locale(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], lang: str
) -> None:
    env(monkeypatch, **variables)
    assert load_settings().language == lang


def test_the_effective_settings_are_shown_without_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    env(monkeypatch, LEADRELAY_DB="postgresql://leadrelay:db-pw@db/leadrelay", **SMTP)
    settings = load_settings()
    shown = settings.describe()
    assert "postgresql://leadrelay:***@db/leadrelay" in shown
    assert "smtp+starttls://bot%40example.co.jp:***@mail.example.co.jp from leadrelay@example.co.jp" in shown
    assert "timers 500 per batch" in shown and "lease 300s" in shown
    assert "db-pw" not in shown and "pa%3Ass" not in shown and "pa%3Ass" not in repr(settings)
    assert redact("smtp://mail.example.co.jp") == "smtp://mail.example.co.jp"


def test_smtp_urls_take_the_port_of_their_scheme() -> None:
    assert parse_smtp_url("smtp://mail").port == 25
    assert parse_smtp_url("smtps://mail").port == 465
    assert parse_smtp_url("smtp+starttls://mail:2525").port == 2525


def test_channel_variables_are_looked_up_as_they_were_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    env(monkeypatch, TEAM_HOOK_URL=" https://hooks.example.co.jp/team ")
    settings = load_settings()
    monkeypatch.setenv("TEAM_HOOK_URL", "https://changed.example.co.jp/")
    assert settings.variable("TEAM_HOOK_URL") == "https://hooks.example.co.jp/team"
    assert settings.variable("NOT_SET") is None
    assert settings.with_variables({"NOT_SET": "x"}).variable("NOT_SET") == "x"


def test_the_clock_stands_still_at_now_when_it_is_set() -> None:
    moment = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    clock = bootstrap.make_clock(Settings(now=moment))
    assert isinstance(clock, FakeClock) and clock.now() == moment
    assert isinstance(bootstrap.make_clock(Settings()), SystemClock)
    assert bootstrap.database_url(Settings()) == "sqlite:///leadrelay.db"


def test_a_worker_refuses_a_playbook_that_sends_e_mail_without_an_smtp_server() -> None:
    with pytest.raises(SettingsError, match=r"^LEADRELAY_SMTP_URL is not set: .*channel 'email'"):
        bootstrap.check_delivery(Settings(), DEFAULT_PLAYBOOK.notifications)
    without_sender = Settings(smtp_url=SMTP["LEADRELAY_SMTP_URL"])
    with pytest.raises(SettingsError, match=r"^LEADRELAY_SMTP_FROM is not set"):
        bootstrap.check_delivery(without_sender, DEFAULT_PLAYBOOK.notifications)
    assert bootstrap.check_delivery(Settings(), None) == []  # a playbook that notifies nobody needs nothing


def test_webhook_channels_are_checked_when_the_worker_starts() -> None:
    ready = Settings(smtp_url=SMTP["LEADRELAY_SMTP_URL"], smtp_from=SMTP["LEADRELAY_SMTP_FROM"])
    notifications = DEFAULT_PLAYBOOK.notifications
    warnings = bootstrap.check_delivery(ready.with_variables({}), notifications)
    assert warnings == [
        "LEADRELAY_EMAIL_TOOL_WEBHOOK_URL is not set: messages on webhook channel 'email_tool' will fail",
        "LEADRELAY_SALES_CHAT_WEBHOOK_URL is not set: messages on webhook channel 'sales_chat' will fail",
    ]
    urls = {
        "LEADRELAY_SALES_CHAT_WEBHOOK_URL": "https://hooks.example.co.jp/chat",
        "LEADRELAY_EMAIL_TOOL_WEBHOOK_URL": "https://mail-tool.example.co.jp/hook",
    }
    with pytest.raises(SettingsError, match=r"^LEADRELAY_EMAIL_TOOL_WEBHOOK_SECRET is not set: no secret to sign"):
        bootstrap.check_delivery(ready.with_variables(urls), notifications)
    complete = {**urls, "LEADRELAY_EMAIL_TOOL_WEBHOOK_SECRET": "s3cret"}
    assert bootstrap.check_delivery(ready.with_variables(complete), notifications) == []
    bad = {**complete, "LEADRELAY_SALES_CHAT_WEBHOOK_URL": "hooks.example.co.jp/chat"}
    with pytest.raises(SettingsError, match=r"^LEADRELAY_SALES_CHAT_WEBHOOK_URL is not an http\(s\) URL"):
        bootstrap.check_delivery(ready.with_variables(bad), notifications)


def test_the_worker_s_timer_handlers_are_an_explicit_mapping() -> None:
    handlers = bootstrap.timer_handlers()
    assert handlers == {"notify": notify_timer, "sla_warning": sla.fire_warning, "sla_breach": sla.fire_breach}
    with_plugin = bootstrap.timer_handlers(["tests.e2e.timer_plugin"])
    assert set(with_plugin) == {"notify", "sla_warning", "sla_breach", "effect"}


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("tests.e2e.no_such_plugin", "No module named 'tests.e2e.no_such_plugin'"),
        ("tests.unit.test_config", "the module has no TIMER_HANDLERS mapping"),
    ],
)
def test_a_plugin_without_handlers_is_refused(module: str, reason: str) -> None:
    with pytest.raises(bootstrap.PluginError) as caught:
        bootstrap.timer_handlers([module])
    assert caught.value.name == module and caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("error", "also"),
    [
        (SettingsError, ValueError),
        (UserError, Exception),
        (InputError, ValueError),
        (InvalidEmail, ValueError),
        (PlaybookError, ValueError),
        (DocumentError, ValueError),
        (ConditionError, ValueError),
        (CalendarError, ValueError),
        (UnknownRegion, ValueError),
        (ImportFileError, ValueError),
        (StoreError, RuntimeError),
        (LeadNotFound, LookupError),
        (FeedbackError, ValueError),
        (RoutingUnavailable, ValueError),
        (IllegalTransition, ValueError),
        (DeliveryError, Exception),
        (bootstrap.PluginError, Exception),
    ],
)
def test_every_error_a_user_can_cause_is_a_leadrelay_error_and_keeps_its_other_base(
    error: type[Exception], also: type[Exception]
) -> None:
    assert issubclass(error, LeadRelayError) and issubclass(error, also)
