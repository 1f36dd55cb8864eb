"""Loading a playbook: YAML → schema → compiled, checked :class:`~leadrelay.domain.playbook.Playbook`.

Every error is a :class:`PlaybookError` naming the file, the line and the rule id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from leadrelay.adapters.calendars import UnknownRegion, country_holidays, normalise_region
from leadrelay.adapters.geo import REGIONS, normalise_country, postal_range, prefecture
from leadrelay.adapters.matching import name_key
from leadrelay.adapters.playbook.document import DocumentError, line_of, parse_yaml, plain, read_text
from leadrelay.adapters.playbook.patterns import re2_pattern
from leadrelay.adapters.playbook.schema import (
    CalendarDoc,
    DecayDoc,
    Label,
    PlaybookDoc,
    RepDoc,
    RoutingRuleDoc,
    TerritoryDoc,
)
from leadrelay.domain.calendar import BusinessCalendar, CalendarError, Closure, MonthDay, Span, no_holidays
from leadrelay.domain.conditions import (
    ACTIVITY_SCOPE,
    ALWAYS,
    LEAD_SCOPE,
    Condition,
    ConditionError,
    Facts,
    activity_types_named,
    compile_field,
    fields_named,
    parse_condition,
    reads_history,
)
from leadrelay.domain.identity import InvalidEmail, is_free_mail, normalise_domain, normalise_email
from leadrelay.domain.lifecycle import DEFAULT_LABELS, Stage
from leadrelay.domain.matching import MatchRules, SharedDomain
from leadrelay.domain.model import ACTIVITY_TYPES, LEAD_PROFILE_FIELDS
from leadrelay.domain.notifications import RECIPIENTS, Channel, NotificationRule, Notifications
from leadrelay.domain.playbook import (
    FORM_FIELDS,
    Cap,
    Decay,
    DisqualificationRule,
    EngagementRule,
    FitGate,
    FitRule,
    HandRaiserRule,
    Hook,
    LevelRule,
    MqlRule,
    Playbook,
    PreSqlPolicy,
    RejectReason,
    SalesPolicy,
    Targets,
    WebForm,
)
from leadrelay.domain.routing import (
    WEEKDAYS,
    Absence,
    Department,
    Manager,
    Rep,
    Routing,
    RoutingRule,
    Segment,
    Territory,
)
from leadrelay.domain.sla import SlaPolicy
from leadrelay.errors import LeadRelayError

Loc = tuple[str | int, ...]

#: 28 consecutive years hold every kind of year (the weekday of 1 January, leap or not) between
#: 1901 and 2099, so a calendar open in each of them opens every year its yearly closures allow
CALENDAR_YEARS_CHECKED = range(2024, 2052)


class PlaybookError(LeadRelayError, ValueError):
    """A playbook that cannot be used. ``str()`` is one line: ``file:line: [rule id] message``."""

    def __init__(self, source: str, line: int | None, rule_id: str | None, where: str, message: str) -> None:
        self.source = source
        self.line = line
        self.rule_id = rule_id
        self.where = where
        self.message = message
        place = f"{source}:{line}" if line else source
        context = " ".join(part for part in (f"rule '{rule_id}'" if rule_id else "", where) if part)
        super().__init__(f"{place}: {context}: {message}" if context else f"{place}: {message}")


@dataclass(frozen=True, slots=True)
class LoadedPlaybook:
    """A compiled playbook with the document it came from (for ``playbook show``)."""

    playbook: Playbook
    document: PlaybookDoc
    text: str
    source: str


#: The lead fields a form's ``profile`` may fill (besides ``custom.<name>``); name, company and phone
#: have their own keys under ``fields``.
FORM_PROFILE_FIELDS: tuple[str, ...] = tuple(
    f for f in LEAD_PROFILE_FIELDS if f not in {"first_name", "last_name", "phone", "company_name"}
)


def builtin_mapping_names() -> frozenset[str]:
    """The import mappings bundled in ``leadrelay/data/mappings`` (what a hook may name)."""
    folder = resources.files("leadrelay.data").joinpath("mappings")
    return frozenset(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def free_mail_domains() -> frozenset[str]:
    text = resources.files("leadrelay.data").joinpath("free_mail_domains.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def default_playbook_path() -> Path:
    return Path(str(resources.files("leadrelay.data").joinpath("default_playbook.yaml")))


def load_playbook(path: str | Path) -> LoadedPlaybook:
    try:
        text = read_text(Path(path))
    except DocumentError as exc:
        raise PlaybookError(str(path), None, None, "", exc.message) from None
    return parse_playbook(text, str(path))


def parse_playbook(text: str, source: str = "<playbook>") -> LoadedPlaybook:
    try:
        tree = parse_yaml(text)
    except DocumentError as exc:
        raise PlaybookError(source, exc.line, None, "", exc.message) from None
    return _compile(text, source, tree)


def stored_form(text: str) -> str | None:
    """A valid playbook's YAML as JSON, to store beside its text: reading it back with
    :func:`parse_stored_playbook` skips parsing the YAML (the most expensive step of loading a
    playbook) on every later load. ``None`` when the document holds values JSON does not carry
    exactly (dates), or is not valid YAML."""
    try:
        return json.dumps(plain(parse_yaml(text)), ensure_ascii=False, separators=(",", ":"))
    except (DocumentError, TypeError, ValueError):
        return None


def parse_stored_playbook(text: str, stored: str | None, source: str = "<playbook>") -> LoadedPlaybook:
    """A stored playbook from its text and its :func:`stored_form` (``None``: parse the text). The
    result is the one :func:`parse_playbook` gives; so are its errors, with their lines: a stored
    form that does not compile is set aside and the text is parsed."""
    tree = None
    if stored is not None:
        with contextlib.suppress(ValueError):
            tree = json.loads(stored)
    if not isinstance(tree, dict):
        return parse_playbook(text, source)
    try:
        return _compile(text, source, tree)
    except PlaybookError:  # e.g. rules this version checks more strictly: report it as for the YAML
        return parse_playbook(text, source)


def _compile(text: str, source: str, tree: Any) -> LoadedPlaybook:
    if not isinstance(tree, dict):
        raise PlaybookError(
            source, 1, None, "", "a playbook is a YAML mapping with id, name, version and rule sections"
        )
    try:
        doc = PlaybookDoc.model_validate(plain(tree))
    except ValidationError as exc:
        problems = exc.errors()
        # a misspelt key shows up as "unknown key" and as "missing": name the typo first
        first = next((e for e in problems if e.get("type") == "extra_forbidden"), problems[0])
        loc: Loc = tuple(first["loc"])
        raise _error(source, tree, loc, _pydantic_message(first)) from None
    builder = _Builder(source, tree, doc)
    playbook = builder.build(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return LoadedPlaybook(playbook, doc, text, source)


def _pydantic_message(error: Any) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see docs/playbook-reference.md)"
    if kind == "missing":
        return "required key is missing"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def _rule_id_at(tree: Any, loc: Loc) -> str | None:
    node = tree
    found: str | None = None
    for step in loc:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found = node["id"]
    return found


def _dotted(loc: Loc) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _error(source: str, tree: Any, loc: Loc, message: str) -> PlaybookError:
    return PlaybookError(source, line_of(tree, loc), _rule_id_at(tree, loc), _dotted(loc), message)


class _Builder:
    def __init__(self, source: str, tree: Any, doc: PlaybookDoc) -> None:
        self.source = source
        self.tree = tree
        self.doc = doc
        self.types = frozenset(ACTIVITY_TYPES) | frozenset(doc.activity_types)
        self.ids: dict[str, Loc] = {}
        self.calendars: dict[str, BusinessCalendar] = {}

    def fail(self, loc: Loc, message: str) -> PlaybookError:
        return _error(self.source, self.tree, loc, message)

    def claim(self, rule_id: str, loc: Loc) -> None:
        if rule_id in self.ids:
            first = line_of(self.tree, self.ids[rule_id])
            raise self.fail((*loc, "id"), f"rule id '{rule_id}' is used twice (first on line {first})")
        self.ids[rule_id] = loc

    def condition(self, data: Any, scope: str, loc: Loc) -> Condition:
        try:
            condition = parse_condition(data, scope, (), patterns=re2_pattern)
        except ConditionError as exc:
            raise self.fail((*loc, *exc.path), exc.message) from None
        for name in activity_types_named(condition):
            self.check_type(name, loc)
        return condition

    def address(self, address: str, loc: Loc) -> str:
        """The address normalised as leads' addresses are (:func:`normalise_email`), or an error."""
        try:
            return normalise_email(address)
        except InvalidEmail as exc:
            raise self.fail(loc, str(exc)) from None

    def email(self, address: str | None, loc: Loc) -> str | None:
        """An optional address (a rep's, a manager's): none when left out or empty."""
        return self.address(address, loc) if address else None

    def check_type(self, name: str, loc: Loc) -> None:
        if name not in self.types:
            raise self.fail(
                loc,
                f"unknown activity type '{name}' (declare it under activity_types, or use one of: {', '.join(sorted(self.types))})",
            )

    def types_of(self, value: str | list[str], loc: Loc) -> frozenset[str]:
        names = [value] if isinstance(value, str) else value
        if not names:
            raise self.fail(loc, "name at least one activity type")
        for name in names:
            self.check_type(name, loc)
        return frozenset(names)

    def decay(self, doc: DecayDoc) -> Decay:
        if doc.half_life_days is not None:
            return Decay("half_life", doc.half_life_days)
        if doc.window_days is not None:
            return Decay("window", doc.window_days)
        if doc.linear_days is not None:
            return Decay("linear", doc.linear_days)
        return Decay()

    def static(self, condition: Condition, loc: Loc, what: str) -> None:
        if reads_history(condition):
            raise self.fail(
                loc, f"{what} look at who the lead is (lead.*, account.*), not at scores, level or activities"
            )

    def build(self, digest: str) -> Playbook:
        doc = self.doc
        try:
            zone = ZoneInfo(doc.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(("timezone",), f"unknown time zone '{doc.timezone}' (e.g. Asia/Tokyo, UTC)") from None
        for i, calendar_doc in enumerate(doc.calendars):
            loc: Loc = ("calendars", i)
            if calendar_doc.id in self.calendars:
                raise self.fail((*loc, "id"), f"calendar '{calendar_doc.id}' is declared twice")
            self.calendars[calendar_doc.id] = self.calendar(calendar_doc, zone, loc)
        labels = dict(DEFAULT_LABELS)
        for key, label in doc.lifecycle.labels.items():
            try:
                stage = Stage(key)
            except ValueError:
                raise self.fail(
                    ("lifecycle", "labels", key), f"unknown stage '{key}' (stages: {', '.join(s.value for s in Stage)})"
                ) from None
            labels[stage] = (label.en, label.ja or DEFAULT_LABELS[stage][1])

        fit_rules = []
        for i, fit_doc in enumerate(doc.fit.rules):
            loc = ("fit", "rules", i)
            self.claim(fit_doc.id, loc)
            condition = self.condition(fit_doc.when, LEAD_SCOPE, (*loc, "when"))
            self.static(condition, (*loc, "when"), "fit rules")
            fit_rules.append(FitRule(fit_doc.id, fit_doc.label or fit_doc.id, fit_doc.points, condition))
        gate_condition = self.condition(doc.fit.gate.when, LEAD_SCOPE, ("fit", "gate", "when"))
        self.static(gate_condition, ("fit", "gate", "when"), "the fit gate's conditions")
        gate = FitGate(doc.fit.gate.min_score, gate_condition)

        engagement_rules = []
        for i, rule_doc in enumerate(doc.engagement.rules):
            loc = ("engagement", "rules", i)
            self.claim(rule_doc.id, loc)
            types = self.types_of(rule_doc.activity, (*loc, "activity"))
            where = self.condition(rule_doc.where, ACTIVITY_SCOPE, (*loc, "where"))
            unique_by = rule_doc.repeat.unique_by if rule_doc.repeat else None
            unique_key: Callable[[Any], Any] | None = None
            if unique_by is not None:
                try:
                    unique_key = compile_field(unique_by, ACTIVITY_SCOPE, ())
                except ConditionError as exc:
                    raise self.fail((*loc, "repeat", "unique_by"), exc.message) from None
            engagement_rules.append(
                EngagementRule(
                    id=rule_doc.id,
                    label=rule_doc.label or rule_doc.id,
                    types=types,
                    where=where,
                    points=rule_doc.points,
                    max_times=rule_doc.repeat.max_times if rule_doc.repeat else None,
                    unique_by=unique_by,
                    unique_key=unique_key,
                    cap=Cap(rule_doc.cap.points, rule_doc.cap.per) if rule_doc.cap else None,
                    decay=self.decay(rule_doc.decay) if rule_doc.decay else None,
                )
            )
        by_type: dict[str, list[EngagementRule]] = {}
        for rule in engagement_rules:
            for name in rule.types:
                by_type.setdefault(name, []).append(rule)

        levels = []
        seen_levels: dict[int, Loc] = {}
        for i, level_doc in enumerate(doc.levels):
            loc = ("levels", i)
            self.claim(level_doc.id, loc)
            if level_doc.level in seen_levels:
                raise self.fail((*loc, "level"), f"level {level_doc.level} is declared twice")
            seen_levels[level_doc.level] = loc
            condition = self.condition(level_doc.when, LEAD_SCOPE, (*loc, "when"))
            if "level" in fields_named(condition):
                raise self.fail((*loc, "when"), "a level cannot depend on the level itself")
            levels.append(LevelRule(level_doc.level, level_doc.id, level_doc.label or level_doc.id, condition))
        levels.sort(key=lambda r: r.level, reverse=True)

        mql_rules = []
        for i, mql_doc in enumerate(doc.mql.rules):
            loc = ("mql", "rules", i)
            self.claim(mql_doc.id, loc)
            condition = self.condition(mql_doc.when, LEAD_SCOPE, (*loc, "when"))
            if condition is ALWAYS:
                raise self.fail((*loc, "when"), "an MQL rule needs a condition")
            mql_rules.append(
                MqlRule(mql_doc.id, mql_doc.label or mql_doc.id, condition, mql_doc.product, mql_doc.priority)
            )

        hand_raisers = []
        for i, hr_doc in enumerate(doc.hand_raisers.rules):
            loc = ("hand_raisers", "rules", i)
            self.claim(hr_doc.id, loc)
            types = self.types_of(hr_doc.activity, (*loc, "activity"))
            where = self.condition(hr_doc.where, ACTIVITY_SCOPE, (*loc, "where"))
            hand_raisers.append(HandRaiserRule(hr_doc.id, hr_doc.label or hr_doc.id, types, where))

        routing = self.routing()
        levels = self.level_owners(levels, routing)
        mql_rules += self.handoff_rules(levels, {r.id for r in mql_rules})
        free_mail = free_mail_domains()
        if doc.disqualification.free_mail is not None:
            free_mail |= frozenset(normalise_domain(d) for d in doc.disqualification.free_mail.extra_domains)
        return Playbook(
            id=doc.id,
            name=doc.name,
            version=doc.version,
            hash=digest,
            timezone=zone,
            activity_types=self.types,
            fit_rules=tuple(fit_rules),
            fit_gate=gate,
            engagement_rules=tuple(engagement_rules),
            decay=self.decay(doc.engagement.decay),
            window_days=doc.engagement.window_days,
            disqualifications=tuple(self.disqualifications()),
            levels=tuple(levels),
            mql_rules=tuple(mql_rules),
            hand_raisers=tuple(hand_raisers),
            hand_raisers_bypass_fit_gate=doc.hand_raisers.bypass_fit_gate,
            stage_labels=labels,
            free_mail=free_mail,
            rules_by_type={k: tuple(v) for k, v in by_type.items()},
            routing=routing,
            sales=self.sales(),
            sla=self.sla(routing),
            pre_sql=self.pre_sql(routing),
            calendars=dict(self.calendars),
            notifications=self.notifications(routing),
            forms=self.forms(hand_raisers),
            hooks=self.hooks(),
            matching=self.matching(free_mail),
            targets=self.targets(routing),
        )

    def targets(self, routing: Routing | None) -> Targets:
        """The ``targets`` section: every department of ``weekly_intake`` one routing declares."""
        doc = self.doc.targets
        for name in doc.weekly_intake:
            if routing is None:
                raise self.fail(("targets", "weekly_intake"), "weekly intake needs a routing section (its departments)")
            if name not in routing.departments:
                raise self.fail(
                    ("targets", "weekly_intake", name),
                    f"unknown department '{name}' (declared: {', '.join(routing.departments)})",
                )
        return Targets(doc.mqls_per_month, dict(doc.weekly_intake))

    def matching(self, free_mail: frozenset[str]) -> MatchRules:
        """The ``matching`` section: every domain a real one and given once, every name a name."""
        doc = self.doc.matching
        owners: dict[str, tuple[str, Loc]] = {}  # domain → account it names, where

        def domain(text: str, loc: Loc) -> str:
            value = normalise_domain(text)
            if "." not in value or " " in value:
                raise self.fail(loc, f"'{text}' is not a domain name")
            if is_free_mail(value, free_mail):
                raise self.fail(loc, f"'{value}' is a free-mail domain: it says nothing about a company")
            return value

        def key(text: str, loc: Loc) -> str:
            value = name_key(text)
            if not value:
                raise self.fail(loc, f"'{text}' is only a legal form: name the company")
            return value

        extra: dict[str, str] = {}
        aliases: dict[str, tuple[tuple[str, str], ...]] = {}
        for i, account_doc in enumerate(doc.accounts):
            loc: Loc = ("matching", "accounts", i)
            account = domain(account_doc.domain, (*loc, "domain"))
            if account in owners:
                first = line_of(self.tree, owners[account][1])
                raise self.fail((*loc, "domain"), f"'{account}' is listed twice (first on line {first})")
            owners[account] = (account, (*loc, "domain"))
            for j, text in enumerate(account_doc.extra_domains):
                value = domain(text, (*loc, "extra_domains", j))
                if value in owners or value in extra:
                    other = extra.get(value, value)
                    raise self.fail((*loc, "extra_domains", j), f"'{value}' already belongs to the account {other}")
                extra[value] = account
            aliases[account] = tuple((key(text, (*loc, "names", j)), text) for j, text in enumerate(account_doc.names))
        for value, account in extra.items():
            if value in owners:
                raise self.fail(("matching", "accounts"), f"'{value}' is an account and an extra domain of {account}")
        shared: dict[str, SharedDomain] = {}
        for i, shared_doc in enumerate(doc.shared_domains):
            loc = ("matching", "shared_domains", i)
            self.claim(shared_doc.id, loc)
            value = domain(shared_doc.domain, (*loc, "domain"))
            if value in shared or value in extra:
                raise self.fail((*loc, "domain"), f"'{value}' is already a shared or an extra domain")
            splits = []
            for j, split in enumerate(shared_doc.split):
                if not split.names:
                    raise self.fail((*loc, "split", j, "names"), "name at least one company name")
                target = domain(split.account, (*loc, "split", j, "account"))
                names = tuple(key(text, (*loc, "split", j, "names", k)) for k, text in enumerate(split.names))
                splits.append((target, names))
            default = domain(shared_doc.default, (*loc, "default")) if shared_doc.default else None
            if not splits and default is None:
                raise self.fail(loc, "a shared domain needs split rules, a default account, or both")
            shared[value] = SharedDomain(shared_doc.id, value, tuple(splits), default)
        return MatchRules(
            fuzzy_threshold=doc.fuzzy_threshold,
            corroborate=frozenset(doc.corroborate),
            shared_domains=shared,
            extra_domains=extra,
            aliases=aliases,
        )

    def level_owners(self, levels: list[LevelRule], routing: Routing | None) -> list[LevelRule]:
        """Resolve each level's ``owner`` to routing departments (the fallback department, or nothing:
        marketing owns the level) and its label in both languages."""
        docs = {doc.id: (i, doc) for i, doc in enumerate(self.doc.levels)}
        owned = []
        for rule in levels:
            i, doc = docs[rule.id]
            names = [doc.owner] if isinstance(doc.owner, str) else list(doc.owner or [])
            loc: Loc = ("levels", i, "owner")
            if names and routing is None:
                raise self.fail(
                    loc, "a level's owner names routing departments: declare them under routing.departments"
                )
            if routing is None:
                owned.append(rule)
                continue
            for j, name in enumerate(names):
                if name not in routing.departments:
                    where = (*loc, j) if isinstance(doc.owner, list) else loc
                    known = ", ".join(routing.departments)
                    raise self.fail(where, f"unknown department '{name}' (declared: {known})")
            if len(set(names)) != len(names):
                raise self.fail(loc, "a department is listed twice")
            if routing.fallback in names and len(names) > 1:
                raise self.fail(
                    loc,
                    f"'{routing.fallback}' is marketing's queue (the fallback): it owns a level alone or not at all",
                )
            departments = tuple(n for n in names if n != routing.fallback)
            shown = names or [routing.fallback]
            owner_en = " / ".join(routing.departments[n].label("en") for n in shown)
            owner_ja = " / ".join(routing.departments[n].label("ja") for n in shown)
            owned.append(replace(rule, owner=owner_en, owner_ja=owner_ja, departments=departments))
        return owned

    def handoff_rules(self, levels: list[LevelRule], taken: set[str]) -> list[MqlRule]:
        """One MQL rule per level a sales department owns, tried after the declared MQL rules: a lead
        that passes the fit gate and reaches the level is handed to that level's department."""
        rules = []
        for rule in sorted(levels, key=lambda r: r.level):
            if not rule.departments:
                continue
            rule_id = f"handoff_{rule.id}"
            if rule_id in taken or rule_id in self.ids:
                docs = {doc.id: i for i, doc in enumerate(self.doc.levels)}
                raise self.fail(
                    ("levels", docs[rule.id], "id"), f"rule id '{rule_id}' is reserved for this level's handoff"
                )
            condition = self.condition({"field": "level", "op": "eq", "value": rule.level}, LEAD_SCOPE, ())
            label = f"Level {rule.level} is owned by {rule.owner}"
            rules.append(MqlRule(rule_id, label, condition, handoff_level=rule.level))
        return rules

    def sla(self, routing: Routing | None) -> tuple[SlaPolicy, ...]:
        policies = []
        for i, doc in enumerate(self.doc.sla.policies):
            loc: Loc = ("sla", "policies", i)
            self.claim(doc.id, loc)
            if routing is None:
                raise self.fail(loc, "SLA policies need a routing section (they time the reps routing assigns)")
            for j, name in enumerate(doc.departments):
                department = routing.departments.get(name)
                if department is None:
                    raise self.fail(
                        (*loc, "departments", j),
                        f"unknown department '{name}' (declared: {', '.join(routing.departments)})",
                    )
            covered = [routing.departments[n] for n in doc.departments] or list(routing.departments.values())
            for department in covered:
                if department.reps and department.calendar is None:
                    raise self.fail(
                        loc,
                        f"department '{department.id}' has no business calendar for its SLA clocks"
                        " (declare one under calendars)",
                    )
            if doc.stage == "pre_sql" and self.doc.pre_sql is None:
                raise self.fail(
                    (*loc, "stage"), "stage pre_sql times the Pre-SQL handoff: the playbook has no pre_sql section"
                )
            policies.append(
                SlaPolicy(
                    id=doc.id,
                    label=doc.label or doc.id,
                    departments=frozenset(doc.departments),
                    levels=frozenset(doc.levels),
                    accept_within=timedelta(hours=doc.accept_within_hours) if doc.accept_within_hours else None,
                    first_touch_within=timedelta(hours=doc.first_touch_within_hours)
                    if doc.first_touch_within_hours
                    else None,
                    warn_at=doc.warn_at,
                    on_breach=doc.on_breach,
                    stage=Stage(doc.stage),
                )
            )
        return tuple(policies)

    def sales(self) -> SalesPolicy:
        doc = self.doc.sales
        reasons: dict[str, RejectReason] = {}
        for i, reason in enumerate(doc.reject_reasons):
            if reason.code in reasons:
                raise self.fail(("sales", "reject_reasons", i, "code"), f"reason '{reason.code}' is listed twice")
            label = reason.label
            if isinstance(label, Label):
                en, ja = label.en, label.ja or label.en
            else:
                en = ja = label or reason.code
            reasons[reason.code] = RejectReason(reason.code, en, ja, reason.recycle, reason.needs_text)
        if not reasons:
            raise self.fail(("sales", "reject_reasons"), "list at least one reason sales may give for a rejection")
        for i, name in enumerate(doc.touch_types):
            self.check_type(name, ("sales", "touch_types", i))
        key_pages = self.condition(doc.key_pages, ACTIVITY_SCOPE, ("sales", "key_pages")) if doc.key_pages else None
        return SalesPolicy(
            reasons,
            doc.recycle.inactive_days,
            doc.recycle.on_lost,
            frozenset(doc.touch_types),
            key_pages,
            requalify=doc.recycle.requalify,
            cooldown_days=doc.recycle.cooldown_days,
        )

    # --- calendars ----------------------------------------------------------------------

    def calendar(self, doc: CalendarDoc, playbook_zone: ZoneInfo, loc: Loc) -> BusinessCalendar:
        zone = playbook_zone
        if doc.timezone is not None:
            try:
                zone = ZoneInfo(doc.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise self.fail(
                    (*loc, "timezone"), f"unknown time zone '{doc.timezone}' (e.g. Asia/Tokyo, America/New_York)"
                ) from None
        if isinstance(doc.hours, str):  # "09:00-12:00, 13:00-18:00"
            texts: list[tuple[str, Loc]] = [(doc.hours, (*loc, "hours"))]
        else:
            texts = [(text, (*loc, "hours", j)) for j, text in enumerate(doc.hours)]
        if not texts:
            raise self.fail((*loc, "hours"), "name at least one span of working hours, e.g. 09:00-18:00")
        spans = []
        for text, span_loc in texts:
            for part in text.split(","):
                try:
                    spans.append(Span.parse(part))
                except CalendarError as exc:
                    raise self.fail(span_loc, str(exc)) from None
        if not doc.working_days:
            raise self.fail((*loc, "working_days"), "name at least one working day, e.g. [mon, tue, wed, thu, fri]")
        for j, region in enumerate(doc.holidays):
            try:
                normalise_region(region)
            except UnknownRegion as exc:
                raise self.fail((*loc, "holidays", j), str(exc)) from None
        closures = []
        for j, closure_doc in enumerate(doc.closures):
            ends = []
            for key, value in (("from", closure_doc.starts), ("to", closure_doc.ends)):
                if not isinstance(value, str):
                    raise self.fail(
                        (*loc, "closures", j, key),
                        f"'{value}' is a date; a closure repeats every year, so give a month-day like 12-29 "
                        "(one-off days go under closed_dates)",
                    )
                try:
                    ends.append(MonthDay.parse(value))
                except CalendarError as exc:
                    raise self.fail((*loc, "closures", j, key), str(exc)) from None
            closures.append(Closure(ends[0], ends[1], closure_doc.note))
        holidays = country_holidays(doc.holidays) if doc.holidays else None
        try:
            calendar = BusinessCalendar(
                id=doc.id,
                timezone=zone,
                working_days=frozenset(WEEKDAYS.index(d) for d in doc.working_days),
                spans=tuple(spans),
                holidays=holidays if holidays is not None else no_holidays,
                holiday_source=holidays.label if holidays is not None else "",
                closures=tuple(closures),
                closed_dates=frozenset(doc.closed_dates),
                label=doc.label or "",
            )
        except CalendarError as exc:
            raise self.fail((*loc, "hours"), str(exc).replace(f"calendar '{doc.id}': ", "")) from None
        # a calendar closed for a whole year stops every SLA clock and every routed lead's deadline
        for year in sorted({*CALENDAR_YEARS_CHECKED, *(d.year for d in calendar.closed_dates)}):
            if calendar.first_business_day(year) is None:
                raise self.fail(
                    loc,
                    f"the calendar has no business hour in {year}: every working day "
                    f"({', '.join(doc.working_days)}) is a holiday, a closure or a closed date",
                )
        return calendar

    # --- routing ------------------------------------------------------------------------

    def routing(self) -> Routing | None:
        doc = self.doc.routing
        if doc is None:
            return None
        base: Loc = ("routing",)
        open_stages = set()
        for i, name in enumerate(doc.open_stages):
            try:
                open_stages.add(Stage(name))
            except ValueError:
                raise self.fail(
                    (*base, "open_stages", i), f"unknown stage '{name}' (stages: {', '.join(s.value for s in Stage)})"
                ) from None
        departments: dict[str, Department] = {}
        reps: dict[str, Rep] = {}
        rep_locs: dict[str, Loc] = {}
        for i, dep_doc in enumerate(doc.departments):
            loc: Loc = (*base, "departments", i)
            if dep_doc.id in departments:
                raise self.fail((*loc, "id"), f"department '{dep_doc.id}' is declared twice")
            label = dep_doc.label
            if isinstance(label, Label):
                label_en, label_ja = label.en, label.ja or label.en
            else:
                label_en = label_ja = label or dep_doc.id
            for j, rep_doc in enumerate(dep_doc.reps):
                rep_loc: Loc = (*loc, "reps", j)
                if rep_doc.id in reps:
                    first = line_of(self.tree, rep_locs[rep_doc.id])
                    raise self.fail((*rep_loc, "id"), f"rep '{rep_doc.id}' is declared twice (first on line {first})")
                rep_locs[rep_doc.id] = rep_loc
                reps[rep_doc.id] = self.rep(rep_doc, dep_doc.id, rep_loc)
            manager = dep_doc.manager
            calendar = next(iter(self.calendars.values()), None)
            if dep_doc.calendar is not None:
                calendar = self.calendars.get(dep_doc.calendar)
                if calendar is None:
                    declared = ", ".join(self.calendars) or "none; declare them under calendars"
                    raise self.fail((*loc, "calendar"), f"unknown calendar '{dep_doc.calendar}' (declared: {declared})")
            departments[dep_doc.id] = Department(
                dep_doc.id,
                label_en,
                label_ja,
                tuple(r.id for r in dep_doc.reps),
                Manager(manager.name, self.email(manager.email, (*loc, "manager", "email")), manager.lang)
                if manager
                else None,
                calendar,
            )
        if doc.fallback not in departments:
            raise self.fail(
                (*base, "fallback"), f"unknown department '{doc.fallback}' (declared: {', '.join(departments)})"
            )
        rules = [
            self.routing_rule(rule_doc, (*base, "rules", i), departments, reps) for i, rule_doc in enumerate(doc.rules)
        ]
        return Routing(departments, reps, tuple(rules), doc.fallback, frozenset(open_stages))

    def routing_rule(
        self, rule_doc: RoutingRuleDoc, loc: Loc, departments: Mapping[str, Department], reps: Mapping[str, Rep]
    ) -> RoutingRule:
        self.claim(rule_doc.id, loc)
        department = departments.get(rule_doc.department)
        if department is None:
            raise self.fail(
                (*loc, "department"),
                f"unknown department '{rule_doc.department}' (declared: {', '.join(departments)})",
            )
        if not department.reps:
            raise self.fail((*loc, "department"), f"department '{department.id}' has no reps to route to")
        needs = {"territory": "territory", "segment": "segment", "named_account": "named_accounts"}
        if rule_doc.strategy in needs and rule_doc.strategy != "named_account":
            attribute = needs[rule_doc.strategy]
            if not any(getattr(reps[r], attribute) is not None for r in department.reps):
                raise self.fail(
                    (*loc, "strategy"),
                    f"strategy {rule_doc.strategy} needs reps with a {attribute} in department '{department.id}'",
                )
        condition = self.condition(rule_doc.when, LEAD_SCOPE, (*loc, "when"))
        territory = self.territory(rule_doc.territory, (*loc, "territory")) if rule_doc.territory else None
        return RoutingRule(
            rule_doc.id,
            rule_doc.label or rule_doc.id,
            condition,
            department.id,
            rule_doc.strategy,
            territory,
        )

    # --- Pre-SQL ------------------------------------------------------------------------

    def pre_sql(self, routing: Routing | None) -> PreSqlPolicy | None:
        """The ``pre_sql`` section: inside-sales departments, the handoff rules to field sales and
        their queue, each a declared department, and no handoff back to inside sales."""
        doc = self.doc.pre_sql
        if doc is None:
            return None
        base: Loc = ("pre_sql",)
        if routing is None:
            raise self.fail(
                base, "Pre-SQL hands leads from inside sales to field sales: declare them under routing.departments"
            )
        declared = ", ".join(routing.departments)
        if not doc.inside_sales:
            raise self.fail((*base, "inside_sales"), "name the inside-sales department(s) whose answer is qualify")
        for i, name in enumerate(doc.inside_sales):
            if name not in routing.departments:
                raise self.fail((*base, "inside_sales", i), f"unknown department '{name}' (declared: {declared})")
            if name == routing.fallback:
                raise self.fail(
                    (*base, "inside_sales", i),
                    f"'{name}' is marketing's queue (routing.fallback), not an inside-sales department",
                )
        inside = frozenset(doc.inside_sales)
        if not doc.rules:
            raise self.fail((*base, "rules"), "give at least one rule that picks the field rep of a Pre-SQL")
        rules = []
        for i, rule_doc in enumerate(doc.rules):
            loc: Loc = (*base, "rules", i)
            rule = self.routing_rule(rule_doc, loc, routing.departments, routing.reps)
            if rule.department in inside:
                raise self.fail(
                    (*loc, "department"),
                    f"a Pre-SQL goes to field sales: '{rule.department}' is listed under pre_sql.inside_sales",
                )
            rules.append(rule)
        fallback = doc.fallback or rules[0].department
        if fallback not in routing.departments:
            raise self.fail((*base, "fallback"), f"unknown department '{fallback}' (declared: {declared})")
        if fallback in inside or fallback == routing.fallback:
            raise self.fail(
                (*base, "fallback"),
                f"a Pre-SQL waits in a field-sales queue: '{fallback}' is "
                + ("an inside-sales department" if fallback in inside else "marketing's queue (routing.fallback)"),
            )
        return PreSqlPolicy(inside, tuple(rules), fallback) if doc.enabled else None

    # --- notifications ------------------------------------------------------------------

    def notifications(self, routing: Routing | None) -> Notifications | None:
        doc = self.doc.notifications
        if doc is None:
            return None
        base: Loc = ("notifications",)
        channels: dict[str, Channel] = {}
        for i, ch in enumerate(doc.channels):
            loc: Loc = (*base, "channels", i)
            addresses: tuple[str, ...] = ()
            if ch.id in channels:
                raise self.fail((*loc, "id"), f"channel '{ch.id}' is declared twice")
            if ch.kind == "webhook":
                if ch.format is None:
                    raise self.fail(loc, "a webhook channel needs a format: chat or signed")
                if (ch.url is None) == (ch.url_env is None):
                    raise self.fail(loc, "a webhook channel needs either url or url_env (the variable holding the URL)")
                if ch.url is not None and not ch.url.startswith(("http://", "https://")):
                    raise self.fail((*loc, "url"), f"not an http(s) URL: {ch.url}")
                if ch.format == "signed" and ch.secret_env is None:
                    raise self.fail(loc, "a signed webhook needs secret_env (the variable holding the HMAC secret)")
                if ch.to:
                    raise self.fail((*loc, "to"), "'to' lists e-mail addresses; a webhook sends to its URL")
            else:
                for key in ("format", "url", "url_env", "secret_env"):
                    if getattr(ch, key) is not None:
                        raise self.fail((*loc, key), f"'{key}' is for webhook channels, not e-mail")
                addresses = tuple(self.address(a, (*loc, "to", j)) for j, a in enumerate(ch.to))
            channels[ch.id] = Channel(
                ch.id,
                ch.kind,
                ch.format,
                ch.url,
                ch.url_env,
                ch.secret_env,
                addresses,
                ch.lang,
            )
        departments = set(routing.departments) if routing else set()
        rules = []
        for i, rule_doc in enumerate(doc.rules):
            loc = (*base, "rules", i)
            self.claim(rule_doc.id, loc)
            if not rule_doc.channels:
                raise self.fail((*loc, "channels"), "name at least one channel")
            for j, name in enumerate(rule_doc.channels):
                if name not in channels:
                    raise self.fail(
                        (*loc, "channels", j), f"unknown channel '{name}' (declared: {', '.join(channels) or 'none'})"
                    )
            for j, name in enumerate(rule_doc.to):
                if name not in RECIPIENTS and name not in departments:
                    known = ", ".join([*RECIPIENTS, *sorted(departments)])
                    raise self.fail(
                        (*loc, "to", j), f"unknown recipient '{name}' (rep, manager, owner or a department: {known})"
                    )
            for j, name in enumerate(rule_doc.channels):
                channel = channels[name]
                if channel.kind == "email" and not rule_doc.to and not channel.to:
                    raise self.fail(
                        (*loc, "channels", j),
                        f"e-mail channel '{name}' has nobody to write to: give the rule 'to' or the channel 'to'",
                    )
            rules.append(NotificationRule(rule_doc.id, rule_doc.event, tuple(rule_doc.to), tuple(rule_doc.channels)))
        return Notifications(channels, tuple(rules))

    # --- live intake: web forms and inbound webhooks ---------------------------------------

    def forms(self, hand_raisers: Sequence[HandRaiserRule]) -> dict[str, WebForm]:
        forms: dict[str, WebForm] = {}
        for i, doc in enumerate(self.doc.forms):
            loc: Loc = ("forms", i)
            if doc.id in forms:
                raise self.fail((*loc, "id"), f"form '{doc.id}' is declared twice")
            self.check_type(doc.activity, (*loc, "activity"))
            fields = {name: posted for name in FORM_FIELDS if (posted := getattr(doc.fields, name)) is not None}
            if "name" in fields and ("first_name" in fields or "last_name" in fields):
                raise self.fail((*loc, "fields", "name"), "give the full name (name) or first_name/last_name, not both")
            wants_contact = None
            if "wants_contact" in fields:
                wants_contact = doc.wants_contact_activity
                self.check_type(wants_contact, (*loc, "wants_contact_activity"))
                if not any(wants_contact in rule.types for rule in hand_raisers):
                    raise self.fail(
                        (*loc, "wants_contact_activity"),
                        f"no hand_raisers rule names '{wants_contact}': checking the box would not make a "
                        "hand-raise (name it under hand_raisers.rules[].activity)",
                    )
            profile: dict[str, str] = {}
            for target, posted in doc.profile.items():
                where = (*loc, "profile", target)
                head, _, rest = target.partition(".")
                if head == "custom" and rest:
                    pass
                elif target not in FORM_PROFILE_FIELDS:
                    known = ", ".join([*FORM_PROFILE_FIELDS, "custom.<name>"])
                    raise self.fail(where, f"'{target}' is not a lead field a form can set (known: {known})")
                profile[target] = posted
            posted_names = [*fields.values(), *profile.values()]
            for name in posted_names:
                if posted_names.count(name) > 1:
                    raise self.fail((*loc, "fields"), f"the posted field '{name}' is mapped twice")
            if doc.honeypot is not None and doc.honeypot in posted_names:
                raise self.fail((*loc, "honeypot"), f"'{doc.honeypot}' is a mapped field, not a honeypot")
            origins = []
            for j, origin in enumerate(doc.allowed_origins):
                parts = urlsplit(origin)
                if (
                    parts.scheme not in ("http", "https")
                    or not parts.netloc
                    or origin.rstrip("/").lower() != f"{parts.scheme}://{parts.netloc}".lower()
                ):
                    raise self.fail(
                        (*loc, "allowed_origins", j),
                        f"'{origin}' is not an origin (scheme and host only, e.g. https://www.example.co.jp)",
                    )
                origins.append(origin.rstrip("/").lower())
            if not doc.thank_you_url.startswith(("http://", "https://", "/")):
                raise self.fail((*loc, "thank_you_url"), f"not an http(s) URL or a path: {doc.thank_you_url}")
            forms[doc.id] = WebForm(
                id=doc.id,
                label=doc.label or doc.id,
                activity=doc.activity,
                thank_you_url=doc.thank_you_url,
                fields=fields,
                profile=profile,
                campaign=doc.campaign,
                wants_contact_activity=wants_contact,
                allowed_origins=frozenset(origins),
                honeypot=doc.honeypot,
            )
        return forms

    def hooks(self) -> dict[str, Hook]:
        hooks: dict[str, Hook] = {}
        mappings = builtin_mapping_names()
        for i, doc in enumerate(self.doc.hooks):
            loc: Loc = ("hooks", i)
            if doc.source in hooks:
                raise self.fail((*loc, "source"), f"hook '{doc.source}' is declared twice")
            if doc.mapping not in mappings:
                raise self.fail(
                    (*loc, "mapping"), f"unknown mapping '{doc.mapping}' (built in: {', '.join(sorted(mappings))})"
                )
            if doc.activity is not None:
                self.check_type(doc.activity, (*loc, "activity"))
            if doc.records == "leads" and (doc.activity is not None or doc.campaign is not None):
                raise self.fail(loc, "activity and campaign are for hooks whose records are activities")
            hooks[doc.source] = Hook(doc.source, doc.mapping, doc.secret_env, doc.records, doc.activity, doc.campaign)
        return hooks

    def rep(self, doc: RepDoc, department: str, loc: Loc) -> Rep:
        segment = None
        if doc.segment is not None:
            low, high = doc.segment.employees or (None, None)
            if low is not None and high is not None and high < low:
                raise self.fail((*loc, "segment", "employees"), f"the range {low}..{high} is empty")
            segment = Segment(low, high, frozenset(i.casefold() for i in doc.segment.industries))
        return Rep(
            id=doc.id,
            name=doc.name or doc.id,
            department=department,
            email=self.email(doc.email, (*loc, "email")),
            capacity=doc.capacity,
            weight=doc.weight,
            territory=self.territory(doc.territory, (*loc, "territory")) if doc.territory else None,
            named_accounts=frozenset(normalise_domain(d) for d in doc.named_accounts),
            segment=segment,
            working_days=frozenset(WEEKDAYS.index(d) for d in doc.working_days),
            absences=tuple(Absence(a.starts, a.ends, a.note) for a in doc.out_of_office),
            active=doc.active,
            lang=doc.lang,
        )

    def territory(self, doc: TerritoryDoc, loc: Loc) -> Territory:
        countries = set()
        for i, name in enumerate(doc.countries):
            code = normalise_country(name)
            if code is None:
                raise self.fail((*loc, "countries", i), f"unknown country '{name}' (use ISO codes such as JP, US)")
            countries.add(code)
        for i, name in enumerate(doc.regions):
            if name.casefold() not in REGIONS:
                raise self.fail((*loc, "regions", i), f"unknown region '{name}' (regions: {', '.join(REGIONS)})")
        prefectures = set()
        for i, name in enumerate(doc.prefectures):
            found = prefecture(name)
            if found is None:
                raise self.fail(
                    (*loc, "prefectures", i), f"'{name}' is not a Japanese prefecture (e.g. 大阪府, Osaka, 27)"
                )
            prefectures.add(found.name_ja)
        ranges = []
        for i, text in enumerate(doc.postal_codes):
            postal = postal_range(text)
            if postal is None:
                raise self.fail(
                    (*loc, "postal_codes", i),
                    f"'{text}' is not a postal code, prefix or range (e.g. 530-0001, 53, 530-0000..539-9999)",
                )
            ranges.append(postal)
        areas = []
        for i, text in enumerate(doc.area_codes):
            digits = text.replace("-", "").strip()
            if not (digits.isdigit() and digits.startswith("0") and 2 <= len(digits) <= 5):
                raise self.fail((*loc, "area_codes", i), f"'{text}' is not an area code (e.g. 03, 06, 075)")
            areas.append(digits)
        return Territory(
            frozenset(countries),
            frozenset(r.casefold() for r in doc.regions),
            frozenset(prefectures),
            tuple(ranges),
            tuple(areas),
        )

    def disqualifications(self) -> list[DisqualificationRule]:
        dq = self.doc.disqualification
        rules: list[DisqualificationRule] = []
        if dq.competitors is not None and dq.competitors.domains:
            self.claim("competitor", ("disqualification", "competitors"))
            domains = frozenset(normalise_domain(d) for d in dq.competitors.domains)
            rules.append(
                DisqualificationRule(
                    "competitor",
                    dq.competitors.reason,
                    dq.competitors.label,
                    lambda f: f.lead.domain is not None and _under(f.lead.domain, domains),
                    f"e-mail domain is a competitor's ({', '.join(sorted(domains))})",
                    f"競合他社のドメイン（{', '.join(sorted(domains))}）",
                )
            )
        if dq.free_mail is not None and dq.free_mail.enabled:
            self.claim("free_mail", ("disqualification", "free_mail"))
            bundled = free_mail_domains() | frozenset(normalise_domain(d) for d in dq.free_mail.extra_domains)
            rules.append(
                DisqualificationRule(
                    "free_mail",
                    dq.free_mail.reason,
                    dq.free_mail.label,
                    lambda f: f.lead.domain is not None and is_free_mail(f.lead.domain, bundled),
                    f"free-mail address ({len(bundled)} bundled domains)",
                    f"フリーメールアドレス（{len(bundled)}ドメイン）",
                )
            )
        if dq.countries_served is not None:
            loc: Loc = ("disqualification", "countries_served")
            self.claim("country_not_served", loc)
            served = set()
            for i, name in enumerate(dq.countries_served.countries):
                code = normalise_country(name)
                if code is None:
                    raise self.fail((*loc, "countries", i), f"unknown country '{name}' (use ISO codes such as JP, US)")
                served.add(code)
            frozen = frozenset(served)
            unknown_ok = dq.countries_served.unknown == "allow"
            rules.append(
                DisqualificationRule(
                    "country_not_served",
                    dq.countries_served.reason,
                    dq.countries_served.label,
                    lambda f: _not_served(f, frozen, unknown_ok),
                    f"country is not one of {', '.join(sorted(frozen))}",
                    f"対象国（{', '.join(sorted(frozen))}）以外",
                )
            )
        for i, rule_doc in enumerate(dq.rules):
            loc = ("disqualification", "rules", i)
            self.claim(rule_doc.id, loc)
            condition = self.condition(rule_doc.when, LEAD_SCOPE, (*loc, "when"))
            self.static(condition, (*loc, "when"), "disqualification rules")
            if condition is ALWAYS:
                raise self.fail((*loc, "when"), "a disqualification rule needs a condition")
            rules.append(
                DisqualificationRule(
                    rule_doc.id,
                    rule_doc.reason,
                    rule_doc.label or rule_doc.id,
                    condition,
                    condition.describe("en"),
                    condition.describe("ja"),
                )
            )
        return rules


def _under(domain: str, domains: frozenset[str]) -> bool:
    parts = domain.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


def _not_served(facts: Facts, served: frozenset[str], unknown_ok: bool) -> bool:
    country = facts.lead.country or (facts.account.country if facts.account else None)
    if not country:
        return not unknown_ok
    return country not in served


def rule_ids(playbook: Playbook) -> Sequence[str]:
    return [
        *(r.id for r in playbook.disqualifications),
        *(r.id for r in playbook.fit_rules),
        *(r.id for r in playbook.engagement_rules),
        *(r.id for r in playbook.levels),
        *(r.id for r in playbook.mql_rules),
        *(r.id for r in playbook.hand_raisers),
    ]
