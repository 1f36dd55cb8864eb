"""The dashboard's playbook pages: the active playbook as tables, its versions, a diff between two
versions, and (admins) checking and activating a candidate.

Every page reads the playbook through the same :class:`LeadRelay` methods as ``/v1/playbook``
(``playbook_view``, ``playbook_versions``, ``playbook_by_hash``, ``check_playbook``,
``activate_playbook``); the tables are the compiled playbook's rules with their conditions as
``leadrelay playbook show`` describes them. Every role may read; only an admin may check or
activate (403 otherwise), with the session's CSRF token.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from leadrelay.adapters.playbook.loader import LoadedPlaybook
from leadrelay.domain.conditions import ALWAYS, Condition
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.routing import STRATEGIES
from leadrelay.entrypoints.http.web import playbook_texts  # noqa: F401  (its texts join the dashboard's)
from leadrelay.entrypoints.http.web.pages import _back, _relay, check_csrf, lang_of, render, user_of
from leadrelay.entrypoints.http.web.texts import text
from leadrelay.services.access import Principal, Role
from leadrelay.services.playbooks import PlaybookCheck, PlaybookVersion

router = APIRouter(include_in_schema=False)

#: Hash prefixes shorter than this do not name a version (too easy to match by chance).
MIN_HASH_PREFIX = 6


# --- the tables of a playbook ------------------------------------------------------------------------


@dataclass
class Column:
    key: str  # a text key: the column's heading
    num: bool = False
    code: bool = False


@dataclass
class Table:
    caption: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    id: str  # the HTML anchor
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _num(value: float) -> str:
    return f"{value:g}"


def _cond(condition: Condition | None, lang: str, always: str | None = None) -> str:
    if condition is None or condition is ALWAYS:
        return always if always is not None else condition.describe(lang) if condition else "—"
    return condition.describe(lang)


def _hours(span: timedelta | None, lang: str) -> str:
    if span is None:
        return "—"
    return text("pb_business_hours", lang).format(hours=_num(span.total_seconds() / 3600))


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "ja" else ", ").join(items)


def playbook_sections(loaded: LoadedPlaybook, lang: str) -> list[Section]:
    """The active playbook as sections of tables, in the order a marketing manager reads it."""
    pb = loaded.playbook

    def t(key: str, **kw: Any) -> str:
        return text(key, lang).format(**kw) if kw else text(key, lang)

    departments = pb.routing.departments if pb.routing else {}

    def dept(key: str) -> str:
        found = departments.get(key)
        return f"{found.label(lang)} ({key})" if found else key

    sections = []
    # what earns points
    earns = Section("earns", t("pb_earns"))
    fit = Table(
        t("pb_fit_rules"),
        [Column("pb_rule", code=True), Column("pb_label"), Column("pb_condition"), Column("pb_points", num=True)],
    )
    fit.rows = [[r.id, r.label, _cond(r.condition, lang), _num(r.points)] for r in pb.fit_rules]
    engagement = Table(
        t("pb_engagement_rules"),
        [
            Column("pb_rule", code=True), Column("pb_label"), Column("pb_activity", code=True), Column("pb_condition"),
            Column("pb_points", num=True), Column("pb_limits"), Column("pb_decay"),
        ],
    )  # fmt: skip
    for rule in pb.engagement_rules:
        limits = []
        if rule.unique_by:
            limits.append(t("pb_once_per", field=rule.unique_by))
        if rule.max_times == 1:
            limits.append(t("pb_at_most_once"))
        elif rule.max_times:
            limits.append(t("pb_at_most_times", n=rule.max_times))
        if rule.cap is not None:
            limits.append(t("pb_cap", points=_num(rule.cap.points), per=t(f"pb_per_{rule.cap.per}")))
        engagement.rows.append(
            [
                rule.id,
                rule.label,
                " / ".join(sorted(rule.types)),
                _cond(rule.where, lang, always=t("pb_every_activity")),
                _num(rule.points),
                _join(limits, lang) or t("pb_no_limit"),
                rule.decay.describe(lang) if rule.decay is not None else t("pb_default_decay_short"),
            ]
        )
    earns.notes = [
        f"{t('pb_window')}: "
        + (t("pb_window_days", days=_num(pb.window_days)) if pb.window_days else t("pb_no_window")),
        f"{t('pb_default_decay')}: {pb.decay.describe(lang)}",
    ]
    earns.tables = [fit, engagement]
    sections.append(earns)

    dq = Section("disqualifies", t("pb_disqualifies"))
    table = Table(
        t("pb_disqualifies"),
        [Column("pb_rule", code=True), Column("pb_reason", code=True), Column("pb_label"), Column("pb_condition")],
    )
    table.rows = [[r.id, r.reason, r.label, r.text_ja if lang == "ja" else r.text_en] for r in pb.disqualifications]
    dq.tables = [table]
    sections.append(dq)

    levels = Section("levels", t("pb_levels"), notes=[t("pb_levels_note")])
    table = Table(
        t("pb_levels"),
        [
            Column("pb_level", num=True),
            Column("pb_rule", code=True),
            Column("pb_label"),
            Column("pb_condition"),
            Column("pb_owner"),
        ],
    )
    for lv in pb.levels:
        owner = _join([dept(d) for d in lv.departments], lang) or lv.owner_label(lang) or "—"
        table.rows.append([str(lv.level), lv.id, lv.label, _cond(lv.condition, lang), owner])
    levels.tables = [table]
    sections.append(levels)

    mql = Section("mql", t("pb_mql"), notes=[t("pb_mql_note")])
    gate = []
    if pb.fit_gate.min_score is not None:
        gate.append(t("pb_fit_at_least", points=_num(pb.fit_gate.min_score)))
    if pb.fit_gate.condition is not ALWAYS:
        gate.append(pb.fit_gate.condition.describe(lang))
    mql.notes.append(f"{t('pb_fit_gate')}: {_join(gate, lang) or t('pb_no_gate')}")
    table = Table(
        t("pb_mql"),
        [
            Column("pb_rule", code=True),
            Column("pb_label"),
            Column("pb_condition"),
            Column("pb_product"),
            Column("pb_priority"),
        ],
    )
    for m in pb.mql_rules:
        condition = _cond(m.condition, lang)
        if m.handoff_level is not None:
            condition = f"{condition} ({t('pb_from_level', level=m.handoff_level)})"
        table.rows.append([m.id, m.label, condition, m.product or "—", t("pb_yes" if m.priority else "pb_no")])
    hands = Table(
        t("pb_hand_raisers"),
        [Column("pb_rule", code=True), Column("pb_label"), Column("pb_activity", code=True), Column("pb_condition")],
    )
    hands.rows = [
        [h.id, h.label, " / ".join(sorted(h.types)), _cond(h.where, lang, always=t("pb_every_activity"))]
        for h in pb.hand_raisers
    ]
    mql.tables = [table, hands]
    if pb.hand_raisers:
        mql.notes.append(t("pb_bypass_gate" if pb.hand_raisers_bypass_fit_gate else "pb_keep_gate"))
    sections.append(mql)

    if pb.routing is not None:
        routing = Section("routing", t("pb_routing"))
        reps = pb.routing.reps
        table = Table(
            t("pb_departments"),
            [
                Column("pb_department", code=True),
                Column("pb_label"),
                Column("pb_manager"),
                Column("pb_reps"),
                Column("pb_calendar"),
            ],
        )
        for d in departments.values():
            people = [
                f"{reps[r].name} ({r}" + (f", {t('pb_capacity')} {reps[r].capacity}" if reps[r].capacity else "") + ")"
                for r in d.reps
                if r in reps
            ]
            table.rows.append(
                [
                    d.id,
                    d.label(lang),
                    d.manager.name if d.manager else "—",
                    _join(people, lang) or "—",
                    d.calendar.id if d.calendar else "—",
                ]
            )
        rules = Table(t("pb_routing_rules"), _rule_columns())
        rules.rows = _rule_rows(pb.routing.rules, lang, dept)
        routing.tables = [table, rules]
        stages = [pb.stage_label(s, lang) for s in Stage if s in pb.routing.open_stages]
        routing.notes = [
            t("pb_fallback", department=dept(pb.routing.fallback)),
            t("pb_open_stages", stages=_join(stages, lang)),
        ]
        sections.append(routing)

    pre = Section("pre_sql", t("pb_pre_sql"))
    if pb.pre_sql is None:
        pre.notes = [t("pb_pre_sql_off")]
    else:
        pre.notes = [
            t("pb_inside_sales", departments=_join([dept(d) for d in sorted(pb.pre_sql.inside_sales)], lang)),
            t("pb_pre_sql_fallback", department=dept(pb.pre_sql.fallback)),
        ]
        rules = Table(t("pb_routing_rules"), _rule_columns())
        rules.rows = _rule_rows(pb.pre_sql.rules, lang, dept)
        pre.tables = [rules]
    sections.append(pre)

    sla = Section("sla", t("pb_sla"))
    table = Table(
        t("pb_sla"),
        [
            Column("pb_rule", code=True), Column("pb_label"), Column("pb_sla_stage"), Column("pb_departments"),
            Column("pb_levels_col"), Column("pb_accept_within"), Column("pb_touch_within"), Column("pb_warn_at"),
            Column("pb_on_breach"),
        ],
    )  # fmt: skip
    for p in pb.sla:
        table.rows.append(
            [
                p.id,
                p.label,
                pb.stage_label(p.stage, lang),
                _join([dept(d) for d in sorted(p.departments)], lang) or t("pb_every_department"),
                ", ".join(str(level) for level in sorted(p.levels)) or t("pb_every_level"),
                _hours(p.accept_within, lang),
                _hours(p.first_touch_within, lang),
                t("pb_of_time", share=_num(round(p.warn_at * 100, 1))),
                t(f"pb_breach_{p.on_breach}"),
            ]
        )
    calendars = Table(
        t("pb_calendars"),
        [Column("pb_calendar", code=True), Column("pb_label"), Column("pb_hours"), Column("pb_used_by")],
    )
    for cal in pb.calendars.values():
        users = [d.label(lang) for d in departments.values() if d.calendar is cal]
        calendars.rows.append([cal.id, cal.label or "—", cal.describe(lang), _join(users, lang) or "—"])
    sla.tables = [table, calendars]
    sla.notes = [t("pb_sla_note")]
    sections.append(sla)

    targets = Section("targets", t("pb_targets"))
    monthly = pb.targets.mqls_per_month
    targets.notes = [f"{t('pb_mqls_per_month')}: {monthly if monthly is not None else t('pb_not_agreed')}"]
    intake = Table(t("pb_weekly_intake"), [Column("pb_department"), Column("pb_mqls_a_week", num=True)])
    intake.rows = [[dept(d), str(n)] for d, n in pb.targets.weekly_intake.items()]
    targets.tables = [intake]
    sections.append(targets)
    return sections


def _rule_columns() -> list[Column]:
    return [
        Column("pb_order", num=True), Column("pb_rule", code=True), Column("pb_label"), Column("pb_condition"),
        Column("pb_territory"), Column("pb_department"), Column("pb_strategy"),
    ]  # fmt: skip


def _rule_rows(rules: Any, lang: str, dept: Any) -> list[list[str]]:
    anyone = text("pb_anyone", lang)
    return [
        [
            str(n),
            r.id,
            r.label,
            _cond(r.condition, lang, always=anyone),
            r.territory.describe() if r.territory else "—",
            dept(r.department),
            STRATEGIES[r.strategy][1 if lang == "ja" else 0],
        ]
        for n, r in enumerate(rules, 1)
    ]


# --- the pages -------------------------------------------------------------------------------------


def _problem(request: Request, who: Principal, title_key: str, message: str, status: int) -> HTMLResponse:
    return render(request, "playbook_problem.html", {"title_key": title_key, "message": message}, status, who)


@router.get("/playbook")
def playbook_page(request: Request, done: str | None = None) -> HTMLResponse:
    who = user_of(request)
    engine = _relay(request)
    view = engine.playbook_view()
    loaded = engine.playbook_by_hash(view.hash)
    lang = lang_of(request)
    return render(
        request,
        "playbook.html",
        {
            "view": view,
            "pb": loaded.playbook,
            "description": loaded.document.description,
            "sections": playbook_sections(loaded, lang),
            "done": view.version if done == "activated" else None,
            "admin": who.role is Role.admin,
        },
        who=who,
    )


@router.get("/playbook/versions")
def versions_page(request: Request) -> HTMLResponse:
    who = user_of(request)
    versions = _relay(request).playbook_versions()
    return render(request, "playbook_versions.html", {"versions": versions, **_defaults(versions)}, who=who)


def _defaults(versions: list[PlaybookVersion]) -> dict[str, str | None]:
    """What the compare form proposes: the version activated before the active one, and the active one."""
    newer = versions[0].hash if versions else None
    older = versions[1].hash if len(versions) > 1 else None
    return {"default_from": older, "default_to": newer}


class UnknownVersion(Exception):
    def __init__(self, key: str, param: str, value: str) -> None:
        self.key, self.param, self.value = key, param, value


def resolve(versions: list[PlaybookVersion], param: str, value: str | None, default: str | None) -> PlaybookVersion:
    """The stored version a query parameter names: its hash, a hash prefix, or its version number."""
    wanted = (value or "").strip() or default
    if not wanted:
        raise UnknownVersion("pb_missing_version", param, "")
    exact = [v for v in versions if v.hash == wanted]
    if exact:
        return exact[0]
    found = [v for v in versions if v.version == wanted]
    if not found and len(wanted) >= MIN_HASH_PREFIX:
        found = [v for v in versions if v.hash.startswith(wanted.lower())]
    if len(found) > 1:
        raise UnknownVersion("pb_ambiguous_version", param, wanted[:80])
    if not found:
        raise UnknownVersion("pb_unknown_version", param, wanted[:80])
    return found[0]


@dataclass
class DiffLine:
    kind: str  # same, removed, added, hunk
    old: int | None
    new: int | None
    text: str

    @property
    def sign(self) -> str:
        return {"same": " ", "removed": "-", "added": "+", "hunk": ""}[self.kind]


def diff_lines(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """A unified diff of two texts as lines with their numbers in each text."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        header = f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
        out.append(DiffLine("hunk", None, None, header))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(DiffLine("same", i + 1, j1 + (i - i1) + 1, a[i]) for i in range(i1, i2))
                continue
            if tag in ("replace", "delete"):
                out.extend(DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2))
            if tag in ("replace", "insert"):
                out.extend(DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2))
    return out


def changed_sections(old: LoadedPlaybook, new: LoadedPlaybook) -> list[str]:
    """The top-level keys of the playbook documents whose content differs."""
    a = old.document.model_dump(mode="json", by_alias=True)
    b = new.document.model_dump(mode="json", by_alias=True)
    keys = list(dict.fromkeys([*a, *b]))
    return [k for k in keys if a.get(k) != b.get(k)]


@router.get("/playbook/diff")
def diff_page(request: Request) -> HTMLResponse:
    who = user_of(request)
    engine = _relay(request)
    lang = lang_of(request)
    versions = engine.playbook_versions()
    defaults = _defaults(versions)
    params = request.query_params
    try:
        old = resolve(versions, "from", params.get("from"), defaults["default_from"])
        new = resolve(versions, "to", params.get("to"), defaults["default_to"])
    except UnknownVersion as bad:
        if bad.key == "pb_missing_version" and len(versions) < 2:
            message = text("pb_one_version", lang)
        else:
            message = text(bad.key, lang).format(param=bad.param, value=bad.value)
        status = 404 if bad.key == "pb_unknown_version" else 422
        return _problem(request, who, "pb_bad_version", message, status)
    a, b = engine.playbook_by_hash(old.hash), engine.playbook_by_hash(new.hash)
    return render(
        request,
        "playbook_diff.html",
        {
            "old": old,
            "new": new,
            "versions": versions,
            "lines": diff_lines(a.text, b.text),
            "sections": changed_sections(a, b),
            "same": a.text == b.text,
        },
        who=who,
    )


# --- checking and activating (admins) -----------------------------------------------------------


def _may_change(who: Principal) -> bool:
    return who.role is Role.admin


@router.get("/playbook/candidate")
def candidate_page(request: Request) -> HTMLResponse:
    who = user_of(request)
    if not _may_change(who):
        return _problem(request, who, "forbidden_title", text("pb_admin_only", lang_of(request)), 403)
    return render(request, "playbook_candidate.html", {"yaml": "", "check": None, "lines": []}, who=who)


async def _candidate(request: Request) -> tuple[Principal, str | None, str | None]:
    """Who posts, the candidate's text (the file if one was chosen, else the text box) or why none."""
    who = user_of(request)
    async with request.form() as form:  # closes the uploaded file's spool
        check_csrf(request, form)
        if not _may_change(who):
            return who, None, "forbidden"
        upload = form.get("file")
        raw = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
        typed = form.get("yaml")
    if raw is not None:
        try:
            candidate = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return who, None, "pb_not_utf8"
    else:
        candidate = typed.replace("\r\n", "\n") if isinstance(typed, str) else ""
    if not candidate.strip():
        return who, candidate, "pb_empty"
    return who, candidate, None


def _checked(request: Request, who: Principal, candidate: str, check: PlaybookCheck, status: int) -> HTMLResponse:
    lines = candidate.splitlines()
    shown = [(p, lines[p.line - 1] if p.line and 0 < p.line <= len(lines) else None) for p in check.errors]
    return render(
        request, "playbook_candidate.html", {"yaml": candidate, "check": check, "lines": shown}, status, who=who
    )


async def _refused(request: Request, who: Principal, candidate: str | None, why: str) -> HTMLResponse:
    if why == "forbidden":
        return _problem(request, who, "forbidden_title", text("pb_admin_only", lang_of(request)), 403)
    context: dict[str, Any] = {
        "yaml": candidate or "",
        "check": None,
        "lines": [],
        "refused": text(why, lang_of(request)),
    }
    return render(request, "playbook_candidate.html", context, 422, who=who)


@router.post("/playbook/validate")
async def validate_candidate(request: Request) -> Response:
    who, candidate, why = await _candidate(request)
    if why is not None or candidate is None:
        return await _refused(request, who, candidate, why or "pb_empty")
    check = _relay(request).check_playbook(candidate)
    return _checked(request, who, candidate, check, 200 if check.valid else 422)


@router.post("/playbook/activate")
async def activate_candidate(request: Request) -> Response:
    who, candidate, why = await _candidate(request)
    if why is not None or candidate is None:
        return await _refused(request, who, candidate, why or "pb_empty")
    engine = _relay(request)
    check = engine.check_playbook(candidate)
    if not check.valid:
        return _checked(request, who, candidate, check, 422)
    engine.activate_playbook(candidate, actor=who.actor)
    return _back("/playbook", done="activated")
