"""Notifications: who hears about what, on which channel, and the words they read.

Pure: the plan (channels, rules) comes from the playbook's ``notifications`` section; who the
recipients are is resolved by the caller (reps and managers come from routing); :func:`render`
turns an event and its facts into a short subject and body in English or Japanese.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

#: The events a playbook may notify about (code → English, Japanese description).
EVENTS: dict[str, tuple[str, str]] = {
    "assigned": ("a lead was assigned to a rep or a queue", "リードが担当者またはキューに割り当てられた"),
    "hand_raiser": ("a lead asked for a sales conversation", "リードが商談を希望した（ハンドレイザー）"),
    "key_page_visit": ("a lead viewed a key page (pricing, case study, ...)", "リードが重要ページを閲覧した"),
    "nurture_finished": ("a lead finished nurture with engagement", "ナーチャリングを終えたリードに反応があった"),
    "sla_warning": ("an SLA is about to be breached", "SLA期限が近づいている"),
    "sla_breach": ("an SLA was breached", "SLA期限を過ぎた"),
    "recycled": ("a lead was returned to marketing nurture", "リードがマーケティングに戻された"),
    "suppression_changed": ("marketing mail to a lead stopped or resumed", "マーケティング配信の停止状態が変わった"),
}

#: Recipients a rule may name besides a department id (which means that department's manager).
RECIPIENTS: dict[str, str] = {
    "rep": "the lead's rep",
    "manager": "the manager of the lead's department",
    "owner": "the lead's rep, or the department's manager while the lead waits in its queue",
}

WEBHOOK_FORMATS = ("chat", "signed")


@dataclass(frozen=True, slots=True)
class Channel:
    """Where messages go. ``email``: to the people a rule names (or ``to`` addresses);
    ``webhook``: one message per event to a URL, chat-compatible (``{"text": ...}``) or signed JSON."""

    id: str
    kind: str  # email | webhook
    format: str | None = None  # webhook: chat | signed
    url: str | None = None  # webhook: the URL itself ...
    url_env: str | None = None  # ... or the environment variable that holds it (read when sending)
    secret_env: str | None = None  # signed: the environment variable holding the HMAC secret
    to: tuple[str, ...] = ()  # email: fixed addresses (e.g. a team list), besides the rule's people
    lang: str = "ja"  # language of messages not addressed to a person (webhooks, ``to`` lists)


@dataclass(frozen=True, slots=True)
class NotificationRule:
    id: str
    event: str
    to: tuple[str, ...]  # rep, manager, owner, or department ids
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Notifications:
    channels: Mapping[str, Channel]
    rules: tuple[NotificationRule, ...]

    def rules_for(self, event: str) -> tuple[NotificationRule, ...]:
        return tuple(rule for rule in self.rules if rule.event == event)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a message is addressed to."""

    role: str  # rep, manager
    name: str
    email: str | None
    lang: str


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What a message says about the lead and the event."""

    lead: str  # a name or an e-mail: how the lead is shown
    email: str | None = None
    company: str | None = None
    title: str | None = None
    level: int | None = None
    score: float | None = None
    rep: str | None = None  # the rep's name
    department: tuple[str, str] | None = None  # (English, Japanese) label
    reason: str | None = None
    due_at: datetime | None = None
    page: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


_SUBJECTS: dict[str, tuple[str, str]] = {
    "assigned": ("New lead assigned: {lead}", "新しいリードが割り当てられました：{lead}"),
    "assigned_queue": (
        "Lead waiting in the {department} queue: {lead}",
        "{department}のキューでリードが待機中：{lead}",
    ),
    "hand_raiser": ("Hand-raiser: {lead} asked to talk to sales", "ハンドレイザー：{lead} が商談を希望しています"),
    "key_page_visit": ("{lead} viewed a key page", "{lead} が重要ページを閲覧しました"),
    "nurture_finished": ("{lead} finished nurture and is engaging", "ナーチャリング完了後に反応あり：{lead}"),
    "sla_warning": ("SLA due soon: {lead}", "SLA期限が近づいています：{lead}"),
    "sla_breach": ("SLA breached: {lead}", "SLA期限を過ぎました：{lead}"),
    "recycled": ("Lead returned to marketing: {lead}", "リードをマーケティングに戻しました：{lead}"),
    "suppression_changed": ("Marketing mail changed for {lead}", "マーケティング配信の状態が変わりました：{lead}"),
}

_LABELS: dict[str, tuple[str, str]] = {
    "lead": ("Lead", "リード"),
    "company": ("Company", "会社"),
    "title": ("Title", "役職"),
    "level": ("Level", "確度レベル"),
    "score": ("Score", "スコア"),
    "owner": ("Owner", "担当"),
    "queue": ("queue", "キュー"),
    "reason": ("Reason", "理由"),
    "due": ("Due", "期限"),
    "page": ("Page", "ページ"),
    "footer": ("Sent by leadrelay.", "leadrelay からの自動通知です。"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "ja" else pair[0]


def render(event: str, facts: EventFacts, lang: str, zone: tzinfo) -> tuple[str, str]:
    """The subject and body of a message about ``event``, in ``lang`` (ja or en); times in ``zone``."""
    department = _pick(facts.department, lang) if facts.department else ""
    name = "assigned_queue" if event == "assigned" and facts.rep is None and facts.department else event
    subject = _pick(_SUBJECTS.get(name, (event, event)), lang).format(lead=facts.lead, department=department)
    sep = "：" if lang == "ja" else ": "
    lines = [f"{_pick(_LABELS['lead'], lang)}{sep}{facts.lead}" + (f" <{facts.email}>" if facts.email else "")]
    if facts.company:
        lines.append(f"{_pick(_LABELS['company'], lang)}{sep}{facts.company}")
    if facts.title:
        lines.append(f"{_pick(_LABELS['title'], lang)}{sep}{facts.title}")
    if facts.level is not None:
        lines.append(f"{_pick(_LABELS['level'], lang)}{sep}{facts.level}")
    if facts.score is not None:
        lines.append(f"{_pick(_LABELS['score'], lang)}{sep}{facts.score:.1f}".removesuffix(".0"))
    if facts.rep or department:
        owner = f"{facts.rep} ({department})" if facts.rep and department else facts.rep or ""
        if not facts.rep:
            owner = f"{department} {_pick(_LABELS['queue'], lang)}"
        lines.append(f"{_pick(_LABELS['owner'], lang)}{sep}{owner}")
    if facts.page:
        lines.append(f"{_pick(_LABELS['page'], lang)}{sep}{facts.page}")
    if facts.due_at is not None:
        lines.append(f"{_pick(_LABELS['due'], lang)}{sep}{facts.due_at.astimezone(zone):%Y-%m-%d %H:%M}")
    if facts.reason:
        lines.append(f"{_pick(_LABELS['reason'], lang)}{sep}{facts.reason}")
    lines.extend(f"{key}{sep}{value}" for key, value in facts.extra.items())
    lines += ["", _pick(_LABELS["footer"], lang)]
    return subject, "\n".join(lines)
