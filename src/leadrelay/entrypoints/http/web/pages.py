"""The dashboard's pages: log in and out, overview, leads (list, CSV, one lead with the rep's
actions), reps and capacity.

Who is asking comes from the session cookie (``services.web_sessions``); every page reads the
same models as the API through the same :class:`LeadRelay` methods, with the same visibility (a
rep their own leads, a manager their departments'). Every form that changes something carries
the session's CSRF token; a page of a lead one may not see is 404, as an unknown one.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from leadrelay.domain.errors import LeadRelayError
from leadrelay.domain.lifecycle import Stage
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http.problems import request_lang
from leadrelay.entrypoints.http.web.texts import text
from leadrelay.services.access import NotAuthenticated, Principal, Role
from leadrelay.services.lead_list import DEFAULT_SORT, MAX_LIMIT, LeadFilters, LeadPage, visibility_of
from leadrelay.services.leads import LeadNotFound
from leadrelay.services.read_models import department_labels
from leadrelay.services.web_sessions import LoginFailed, csrf_ok, csrf_token

SESSION_COOKIE = "leadrelay_session"
LOGIN_COOKIE = "leadrelay_login"  # the log-in form's CSRF token (double submit), before any session
LANG_COOKIE = "leadrelay_lang"
PAGE_SIZE = 50
HERE = Path(__file__).parent

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")


class LoginRequired(Exception):
    """No valid session: the browser is sent to the log-in page (and back here after)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CsrfFailed(Exception):
    pass


def install(app: FastAPI) -> None:
    """The dashboard's answers to a missing session (to the log-in page) and a bad CSRF token (403)."""

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return _back("/login", next=exc.next_path)

    async def csrf_failed(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", {"title_key": "forbidden_title", "message_key": "csrf_failed"}, 403)

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CsrfFailed, csrf_failed)


# --- who, in which language ------------------------------------------------------------------------


def _relay(request: Request) -> LeadRelay:
    engine: LeadRelay = request.app.state.relay
    return engine


def _idle(request: Request) -> timedelta:
    return timedelta(hours=request.app.state.settings.web_session_hours)


def lang_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("en", "ja"):
        return chosen
    return request_lang(request.headers)


def user_of(request: Request) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    try:
        return _relay(request).session(token, idle=_idle(request))
    except NotAuthenticated:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target) from None


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    token = request.cookies.get(SESSION_COOKIE) or ""
    if not csrf_ok(token, _field(form, "csrf")):
        raise CsrfFailed


def _field(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None or not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never ``//other.example`` or a full URL) is followed after log-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(
    request: Request, name: str, context: dict[str, Any], status: int = 200, who: Principal | None = None
) -> HTMLResponse:
    lang = lang_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    base = {
        "lang": lang,
        "t": lambda key, **kw: text(key, lang).format(**kw) if kw else text(key, lang),
        "who": who,
        "csrf": csrf_token(token) if token and who is not None else None,
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "quote": quote,
        "stage_label": lambda code: _stage_label(request, code, lang),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _stage_label(request: Request, code: str, lang: str) -> str:
    try:
        return _relay(request).playbook().playbook.stage_label(Stage(code), lang)
    except ValueError:
        return code


def _back(path: str, **params: str) -> RedirectResponse:
    query = f"?{urlencode(params)}" if params else ""
    return RedirectResponse(path + query, status_code=303)


# --- log in, log out, language ---------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str | None = None, message: str | None = None) -> HTMLResponse:
    form_token = secrets.token_urlsafe(24)
    notice = text("logged_out", lang_of(request)) if message == "logged_out" else None
    response = render(request, "login.html", {"next": _safe_next(next), "form_token": form_token, "notice": notice})
    _set_cookie(request, response, LOGIN_COOKIE, form_token, max_age=3600)
    return response


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    lang = lang_of(request)
    next_path = _safe_next(_field(form, "next"))
    expected = request.cookies.get(LOGIN_COOKIE)
    given = _field(form, "form_token")
    if not expected or not given or not secrets.compare_digest(expected, given):
        return _login_error(request, next_path, text("login_expired", lang), 400)
    email, password = _field(form, "email") or "", form.get("password")
    if not isinstance(password, str) or not email or len(email) > 320 or len(password) > 1000:
        return _login_error(request, next_path, text("login_wrong", lang), 401, email)
    try:
        token, _who = _relay(request).login(email, password, idle=_idle(request))
    except LoginFailed as failed:
        if failed.reason == "locked" and failed.until is not None:
            until = failed.until.astimezone(_relay(request).playbook().playbook.timezone)
            message = text("login_locked", lang).format(until=until.strftime("%Y-%m-%d %H:%M"))
            return _login_error(request, next_path, message, 429, email)
        key = "login_disabled" if failed.reason == "disabled" else "login_wrong"
        return _login_error(request, next_path, text(key, lang), 401, email)
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=None)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def _login_error(request: Request, next_path: str, message: str, status: int, email: str = "") -> HTMLResponse:
    form_token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"next": next_path, "form_token": form_token, "error": message, "email": email},
        status=status,
    )
    _set_cookie(request, response, LOGIN_COOKIE, form_token, max_age=3600)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=bool(request.app.state.settings.web_secure_cookie),
        samesite="lax",
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    user_of(request)
    check_csrf(request, form)
    _relay(request).logout(request.cookies.get(SESSION_COOKIE))
    response = _back("/login", message="logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def choose_language(request: Request, code: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in ("en", "ja"):
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path="/", samesite="lax")
    return response


# --- overview --------------------------------------------------------------------------------------

#: The overview's reports asked at once (each a read on a connection of its own).
OVERVIEW_WORKERS = 4


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    """The state of the funnel for who is asking, from the report models (one call per report)."""
    from leadrelay.entrypoints.http.web.report_charts import charts_of

    who = user_of(request)
    engine = _relay(request)
    visible = visibility_of(who)
    lang = lang_of(request)

    now = engine.clock.now()  # one moment for every figure of the page
    today = now.astimezone(engine.playbook().playbook.timezone).date()
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    six_months_ago = (first - timedelta(days=150)).replace(day=1)
    # the reports are independent reads, each in its own transaction: asked at once, the database
    # works on them side by side (the page's time is about the longest, not their sum)
    asked: dict[str, tuple[str, dict[str, Any]]] = {
        # the leads nobody follows, now (counts only: the lists are on the status report's page)
        "status": ("status", {"options": {"limit": 0}}),
        # the counts by stage of the leads one may see (a rep's own, a manager's departments', or all)
        "stages": ("aging", {"options": {"stages": "all", "oldest": 0}}),
        "funnel": ("funnel", {}),
        "sla": ("sla", {"start": monday, "end": today, "by": "week"}),
        # this month's MQLs against the target, and this week's against the departments' intake
        "quality": ("quality", {"start": min(first, monday), "end": today, "by": "month"}),
        "dependency": ("dependency", {"start": six_months_ago, "end": today, "by": "month"}),
    }
    with ThreadPoolExecutor(max_workers=OVERVIEW_WORKERS) as pool:
        futures = {
            key: pool.submit(engine.report, name, visibility=visible, now=now, **given)
            for key, (name, given) in asked.items()
        }
        # the whole funnel's summary is for those who see every lead
        # (five top leads: each is a lead report of its own, about 80 ms at 20,000 leads on PostgreSQL)
        summarised = pool.submit(engine.summary, now=now, top=5) if visible.everything else None
        found: dict[str, Any] = {key: future.result() for key, future in futures.items()}
        summary = summarised.result() if summarised is not None else None
    status, stages, funnel, sla = found["status"], found["stages"], found["funnel"], found["sla"]
    quality, dependency = found["quality"], found["dependency"]
    month = next((m for m in quality.mql_target if m.month == first.strftime("%Y-%m")), None)
    week = [c for c in quality.capacity if c.week == monday.isoformat()]

    def stage(code: str) -> str:
        return _stage_label(request, code, lang)

    charts = [
        {**chart, "json": json.dumps(chart["spec"], ensure_ascii=False).replace("</", "<\\/")}
        for found in (funnel, dependency)
        for chart in charts_of(found, lang, stage)
    ]
    context = {
        "summary": summary,
        "stages": stages,
        "status": status,
        "sla": sla.overall,
        "week_start": monday,
        "month": month,
        "mqls_per_month": quality.mqls_per_month,
        "intake": week,
        "intake_names": {
            c.department: (department_labels(engine.playbook().playbook, c.department) or {}).get(lang, c.department)
            for c in week
        },
        "dependency": dependency,
        "charts": charts,
    }
    return render(request, "overview.html", context, who=who)


# --- leads -----------------------------------------------------------------------------------------

_FILTERS = ("q", "stage", "level", "owner", "department", "domain", "total_min", "total_max", "updated_since")


def _filters(params: Mapping[str, Any], stages: list[str]) -> tuple[LeadFilters, dict[str, Any]]:
    """The lead filters of a query string, and the values to show back in the form."""
    shown: dict[str, Any] = {name: params.get(name) or "" for name in _FILTERS}
    shown["stage"] = [s for s in stages if s]

    def number(name: str) -> float | None:
        raw = params.get(name)
        if not raw:
            return None
        try:
            return float(raw)
        except ValueError:
            raise BadFilter(name, raw) from None

    level = None
    if params.get("level"):
        try:
            level = int(params["level"])
        except ValueError:
            raise BadFilter("level", params["level"]) from None
    since = None
    if params.get("updated_since"):
        try:
            since = datetime.combine(date.fromisoformat(params["updated_since"]), datetime.min.time())
        except ValueError:
            raise BadFilter("updated_since", params["updated_since"]) from None
    valid = {s.value for s in Stage}
    for stage in shown["stage"]:
        if stage not in valid:
            raise BadFilter("stage", stage)
    filters = LeadFilters(
        stages=tuple(shown["stage"]),
        level=level,
        owner=params.get("owner") or None,
        department=params.get("department") or None,
        domain=params.get("domain") or None,
        total_min=number("total_min"),
        total_max=number("total_max"),
        updated_since=since,
        q=params.get("q") or None,
    )
    return filters, shown


class BadFilter(LeadRelayError):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: '{value}' is not a valid value")


@router.get("/leads")
def leads_page(request: Request, cursor: str | None = None, sort: str | None = None) -> HTMLResponse:
    who = user_of(request)
    engine = _relay(request)
    params = request.query_params
    sort = sort or None
    error = None
    page: LeadPage | None = None
    try:
        filters, shown = _filters(params, params.getlist("stage"))
        if filters.updated_since is not None:
            tz = engine.playbook().playbook.timezone
            filters = _with_since(filters, filters.updated_since.replace(tzinfo=tz))
        page = engine.leads(filters, visibility=visibility_of(who), limit=PAGE_SIZE, cursor=cursor, sort=sort)
    except LeadRelayError as exc:
        shown = {name: params.get(name) or "" for name in _FILTERS}
        shown["stage"] = params.getlist("stage")
        error = text("bad_filter", lang_of(request)).format(detail=str(exc))
    query = [(k, v) for k, v in params.multi_items() if k != "cursor" and v]
    return render(
        request,
        "leads.html",
        {
            "page": page,
            "sorts": _sort_links(query, sort),
            "shown": shown,
            "error": error,
            "stages": [s.value for s in Stage],
            "query": urlencode(query),
            "next_query": urlencode([*query, ("cursor", page.next_cursor)]) if page and page.next_cursor else None,
            "first": cursor is None,
        },
        status=422 if error else 200,
        who=who,
    )


#: The list's columns one may sort by (header links), and the order a first click asks for.
SORTABLE = {"lead": "name", "company": "company", "stage": "stage", "level": "level", "score": "score",
            "owner": "owner", "updated": "updated"}  # fmt: skip
FIRST_DESCENDING = ("score", "level", "updated")


def _sort_links(query: list[tuple[str, str]], sort: str | None) -> dict[str, dict[str, str | None]]:
    """For each sortable column: the link that sorts by it (the other way when it is the order
    already), keeping the filters and starting at the first page, and its ``aria-sort``."""
    kept = [(k, v) for k, v in query if k != "sort"]
    current = (sort or DEFAULT_SORT).strip()
    out: dict[str, dict[str, str | None]] = {}
    for column, key in SORTABLE.items():
        if current.lstrip("-") == key:
            state = "descending" if current.startswith("-") else "ascending"
            wanted = key if state == "descending" else f"-{key}"
        else:
            state = None
            wanted = f"-{key}" if key in FIRST_DESCENDING else key
        out[column] = {"href": "/leads?" + urlencode([*kept, ("sort", wanted)]), "state": state}
    return out


def _with_since(filters: LeadFilters, since: datetime) -> LeadFilters:
    from dataclasses import replace

    return replace(filters, updated_since=since)


CSV_COLUMNS = (
    "lead", "email", "external_id", "name", "company", "account_domain", "stage", "level", "fit", "engagement",
    "total", "owner_rep", "owner_department", "assigned_at", "last_activity_at", "last_touch_at", "created_at",
    "updated_at",
)  # fmt: skip


@router.get("/leads.csv")
def leads_csv(request: Request) -> Response:
    who = user_of(request)
    engine = _relay(request)
    params = request.query_params
    try:
        filters, _shown = _filters(params, params.getlist("stage"))
        if filters.updated_since is not None:
            filters = _with_since(filters, filters.updated_since.replace(tzinfo=engine.playbook().playbook.timezone))
        sort = params.get("sort") or None
        first = engine.leads(filters, visibility=visibility_of(who), limit=MAX_LIMIT, sort=sort)
    except LeadRelayError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        page: LeadPage | None = first
        while page is not None:
            for item in page.leads:
                data = item.model_dump(mode="json")
                writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            cursor = page.next_cursor
            page = (
                engine.leads(filters, visibility=visibility_of(who), limit=MAX_LIMIT, cursor=cursor, sort=sort)
                if cursor
                else None
            )

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )


@router.get("/leads/{ref:path}")
def lead_page(request: Request, ref: str, done: str | None = None, refused: str | None = None) -> HTMLResponse:
    who = user_of(request)
    engine = _relay(request)
    try:
        report = engine.lead(ref, visibility=visibility_of(who))
    except (LeadNotFound, LeadRelayError):
        return render(request, "error.html", {"title_key": "not_found_title", "message_key": "not_found"}, 404, who)
    playbook = engine.playbook().playbook
    reasons = list(playbook.sales.reject_reasons.values()) if playbook.sales else []
    lang = lang_of(request)
    context = {
        "lead": report,
        "ref": ref,
        "reasons": [(r.code, r.label(lang)) for r in reasons],
        "done": f"done_{done}" if done in ("accepted", "rejected", "advanced", "touched", "noted") else None,
        "refused": refused,
        "can_act": who.role in (Role.admin, Role.manager, Role.rep),
        "advance_to": ["sql", "opportunity", "won", "lost"],
    }
    return render(request, "lead.html", context, who=who)


@router.post("/leads/{ref:path}/{action}")
async def lead_action(request: Request, ref: str, action: str) -> Response:
    who = user_of(request)
    form = await request.form()
    check_csrf(request, form)
    engine = _relay(request)
    visible = visibility_of(who)
    page = f"/leads/{quote(ref, safe='@')}"
    if action != "notes" and who.role is Role.marketing:
        return render(request, "error.html", {"title_key": "forbidden_title", "message_key": "forbidden"}, 403, who)
    try:
        if action == "accept":
            engine.accept(ref, actor=who.actor, note=_field(form, "note"), visibility=visible)
            done = "accepted"
        elif action == "reject":
            engine.reject(
                ref, _field(form, "reason") or "", text=_field(form, "text"), actor=who.actor, visibility=visible
            )
            done = "rejected"
        elif action == "advance":
            engine.advance(
                ref, _field(form, "to") or "", amount=_field(form, "amount"), actor=who.actor, visibility=visible
            )
            done = "advanced"
        elif action == "touches":
            engine.touch(
                ref,
                kind=_field(form, "kind") or "",
                outcome=_field(form, "outcome") or "",
                note=_field(form, "note"),
                actor=who.actor,
                visibility=visible,
            )
            done = "touched"
        elif action == "notes":
            engine.note(ref, _field(form, "text") or "", actor=who.actor, visibility=visible)
            done = "noted"
        else:
            return render(request, "error.html", {"title_key": "not_found_title", "message_key": "not_found"}, 404, who)
    except LeadNotFound:
        return render(request, "error.html", {"title_key": "not_found_title", "message_key": "not_found"}, 404, who)
    except LeadRelayError as exc:
        return _back(page, refused=str(exc)[:300])
    return _back(page, done=done)


# --- reps ------------------------------------------------------------------------------------------


@router.get("/reps")
def reps_page(request: Request, done: str | None = None, refused: str | None = None) -> HTMLResponse:
    who = user_of(request)
    engine = _relay(request)
    rows = engine.reps()
    changeable = {r.rep for r in rows if _may_change(who, r.department)}
    return render(
        request,
        "reps.html",
        {"reps": rows, "changeable": changeable, "done": done == "saved", "refused": refused},
        who=who,
    )


def _may_change(who: Principal, department: str) -> bool:
    return who.role is Role.admin or (who.role is Role.manager and department in who.departments)


@router.post("/reps/{rep_id}/{action}")
async def rep_action(request: Request, rep_id: str, action: str) -> Response:
    who = user_of(request)
    form = await request.form()
    check_csrf(request, form)
    engine = _relay(request)
    found = next((r for r in engine.reps() if r.rep == rep_id), None)
    if found is None:
        return render(request, "error.html", {"title_key": "not_found_title", "message_key": "not_found"}, 404, who)
    if not _may_change(who, found.department):
        return render(request, "error.html", {"title_key": "forbidden_title", "message_key": "forbidden"}, 403, who)
    try:
        if action == "away":
            start = date.fromisoformat(_field(form, "from") or "")
            end = date.fromisoformat(_field(form, "to") or "")
            if end < start:
                raise ValueError("'to' is before 'from'")
            engine.set_rep(rep_id, away=(start, end), note=_field(form, "note"))
        elif action == "back":
            engine.set_rep(rep_id, back=True)
        elif action == "reassign":
            engine.reassign(rep_id, to=_field(form, "to"), actor=who.actor)
        else:
            return render(request, "error.html", {"title_key": "not_found_title", "message_key": "not_found"}, 404, who)
    except (LeadRelayError, ValueError) as exc:
        return _back("/reps", refused=str(exc)[:300])
    return _back("/reps", done="saved")
