"""The names of the ``LEADRELAY_*`` variables and the languages of the output: constants only.

:mod:`leadrelay.config` reads and checks the variables (with pydantic-settings); this module
imports nothing, so the command line can name them in its options and its ``--help`` without
loading pydantic.
"""

from __future__ import annotations

DB_ENV = "LEADRELAY_DB"
LANG_ENV = "LEADRELAY_LANG"
NOW_ENV = "LEADRELAY_NOW"
SMTP_URL_ENV = "LEADRELAY_SMTP_URL"
SMTP_FROM_ENV = "LEADRELAY_SMTP_FROM"
SMTP_TIMEOUT_ENV = "LEADRELAY_SMTP_TIMEOUT"
WEBHOOK_TIMEOUT_ENV = "LEADRELAY_WEBHOOK_TIMEOUT"
PROGRESS_SECONDS_ENV = "LEADRELAY_PROGRESS_SECONDS"
#: SQLite: how often (milliseconds) an idle worker looks for new messages between polls
WORKER_WAKE_MS_ENV = "LEADRELAY_WORKER_WAKE_MS"
#: how often (seconds) an idle worker looks for work at the latest
WORKER_POLL_ENV = "LEADRELAY_WORKER_POLL"
HTTP_HOST_ENV = "LEADRELAY_HTTP_HOST"
HTTP_PORT_ENV = "LEADRELAY_HTTP_PORT"
HTTP_WORKERS_ENV = "LEADRELAY_HTTP_WORKERS"
HTTP_BODY_LIMIT_ENV = "LEADRELAY_HTTP_BODY_LIMIT"
HTTP_RETRY_AFTER_ENV = "LEADRELAY_HTTP_RETRY_AFTER"
WEB_SESSION_HOURS_ENV = "LEADRELAY_WEB_SESSION_HOURS"
WEB_SECURE_COOKIE_ENV = "LEADRELAY_WEB_SECURE_COOKIE"

FORM_RATE_ENV = "LEADRELAY_FORM_RATE_PER_MINUTE"
FORM_BURST_ENV = "LEADRELAY_FORM_BURST"

LANGS = ("en", "ja")
