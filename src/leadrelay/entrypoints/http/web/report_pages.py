"""The dashboard's reports: ``/reports`` lists the catalog, ``/reports/{name}`` shows one report's
filters, its charts and every table under them, ``/reports/{name}/{table}.csv`` one table as CSV.

Each page runs the report once through :meth:`LeadRelay.report` — the typed model the API answers
with ``GET /v1/reports/{name}`` — with the session user's visibility (a rep counts their own leads,
a manager their departments'). The charts are drawn from that model's figures in the browser by
the vendored Apache ECharts (``static/vendor``); the tables come from the model's ``tables()``, the
same rows as the command line and the CSV. A chart is never the only way to read a figure: every
chart has a caption and the table under it holds its numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadrelay.domain.lifecycle import Stage
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http.web.pages import lang_of, render, user_of
from leadrelay.entrypoints.http.web.report_charts import charts_of
from leadrelay.entrypoints.http.web.texts import REPORT_WORDS, TEXTS, text
from leadrelay.services.access import Principal
from leadrelay.services.lead_list import visibility_of
from leadrelay.services.report_catalog import REPORTS, catalog
from leadrelay.services.report_kit import Column, Report, ReportInputError, ReportSpec, Table, csv_text

router = APIRouter(include_in_schema=False)

#: The query parameters of every report page besides the report's own options.
FIXED = ("from", "to", "by")


def _engine(request: Request) -> LeadRelay:
    engine: LeadRelay = request.app.state.relay
    return engine


def _asked(spec: ReportSpec, params: Mapping[str, str]) -> dict[str, str]:
    """The filters given in the query string (empty ones left out): the period, grouping, options."""
    names = [*FIXED, *(o.name for o in spec.options)]
    return {n: params[n].strip() for n in names if params.get(n) and params[n].strip()}


def _run(request: Request, spec: ReportSpec, asked: Mapping[str, str], who: Principal) -> Report:
    options = {o.name: asked.get(o.name) for o in spec.options}
    found: Report = _engine(request).report(
        spec.name,
        start=asked.get("from"),
        end=asked.get("to"),
        by=asked.get("by"),
        options=options,
        visibility=visibility_of(who),
    )
    return found


def field_label(name: str, lang: str) -> str:
    """How the form names a field (what an error names)."""
    if name in FIXED:
        return text(f"report_{name}", lang)
    key = f"opt_{name}"
    return text(key, lang) if key in TEXTS else name


@router.get("/reports")
def reports_list(request: Request) -> HTMLResponse:
    who = user_of(request)
    return render(request, "reports.html", {"reports": catalog()}, who=who)


@router.get("/reports/{name}")
def report_page(request: Request, name: str) -> HTMLResponse:
    who = user_of(request)
    spec = REPORTS.get(name)
    if spec is None:
        return render(request, "error.html", {"title_key": "not_found_title", "message_key": "not_found"}, 404, who)
    lang = lang_of(request)
    asked = _asked(spec, request.query_params)
    error = error_field = None
    report: Report | None = None
    try:
        report = _run(request, spec, asked, who)
    except ReportInputError as exc:
        error = text("bad_report_filter", lang).format(field=field_label(exc.field, lang), detail=exc.message)
        error_field = exc.field
    query = urlencode(asked)
    context: dict[str, Any] = {
        "spec": spec,
        "title": spec.title[1] if lang == "ja" else spec.title[0],
        "description": spec.description[1] if lang == "ja" else spec.description[0],
        "form": _form(spec, asked, report, lang, error_field),
        "error": error,
        "report": report,
        "query": query,
        "tables": [],
        "charts": [],
    }
    if report is not None:
        words = translations(report, lang)
        context["tables"] = [display_table(t, lang, words) for t in report.tables()]
        titles = {t["name"]: t["title"] for t in context["tables"]}
        context["charts"] = [
            {
                **c,
                "table_title": titles.get(c["table"], ""),
                "json": json.dumps(c["spec"], ensure_ascii=False).replace("</", "<\\/"),
            }
            for c in charts_of(report, lang, lambda code: _stage_label(request, code, lang))
        ]
    return render(request, "report.html", context, status=422 if error else 200, who=who)


@router.get("/reports/{name}/{table}.csv")
def report_csv(request: Request, name: str, table: str) -> Response:
    """One table of a report as CSV: the rows ``format=csv&table=`` of the API answers, with the
    filters of the page, counting the leads the session's user may see."""
    who = user_of(request)
    spec = REPORTS.get(name)
    lang = lang_of(request)
    if spec is None:
        return Response(text("not_found", lang), status_code=404, media_type="text/plain; charset=utf-8")
    asked = _asked(spec, request.query_params)
    try:
        report = _run(request, spec, asked, who)
    except ReportInputError as exc:
        message = text("bad_report_filter", lang).format(field=field_label(exc.field, lang), detail=exc.message)
        return Response(message, status_code=422, media_type="text/plain; charset=utf-8")
    chosen = next((t for t in report.tables() if t.name == table), None)
    if chosen is None:
        return Response(text("not_found", lang), status_code=404, media_type="text/plain; charset=utf-8")
    filename = f"{spec.name}-{chosen.name}-{report.period.start}-{report.period.end}.csv"
    return Response(
        csv_text(chosen),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- the form --------------------------------------------------------------------------------------


def _form(
    spec: ReportSpec, asked: Mapping[str, str], report: Report | None, lang: str, error_field: str | None
) -> list[dict[str, Any]]:
    """The form's fields: the period (the one shown when none was asked for), the grouping and
    the report's options, each with its label, hint and the value to show."""
    fields: list[dict[str, Any]] = [
        {
            "name": "from",
            "label": text("report_from", lang),
            "type": "date",
            "value": asked.get("from") or (str(report.period.start) if report else ""),
        },
        {
            "name": "to",
            "label": text("report_to", lang),
            "type": "date",
            "value": asked.get("to") or (str(report.period.end) if report else ""),
        },
    ]
    if spec.by:
        fields.append(
            {
                "name": "by",
                "label": text("report_by", lang),
                "type": "choice",
                "choices": [(b, text(f"by_{b}", lang)) for b in spec.by],
                "value": asked.get("by") or spec.by[0],
            }
        )
    for option in spec.options:
        default = "" if option.default is None else str(option.default)
        fields.append(
            {
                "name": option.name,
                "label": field_label(option.name, lang),
                "hint": option.help[1] if lang == "ja" else option.help[0],
                "type": "choice" if option.kind == "choice" else option.kind,
                "choices": [(c, c) for c in option.choices],
                "value": asked.get(option.name, default),
                "placeholder": default,
            }
        )
    for f in fields:
        f["invalid"] = f["name"] == error_field
    return fields


# --- the tables ------------------------------------------------------------------------------------


def translations(report: Report, lang: str) -> dict[str, dict[str, str]]:
    """How the page in ``lang`` shows the texts of the report's rows, by column (``*``: any column):
    every ``{"en", "ja"}`` label the model carries (steps, checks, reasons) for its English text, a
    label keyed by a code (the status report's reasons) for its code in the ``detail`` column, the
    bucket labels of the reports and, in Japanese, the dashboard's own words for the fixed texts of
    some tables (:data:`REPORT_WORDS`)."""
    from leadrelay.services.report_aging import STEP_LABELS
    from leadrelay.services.report_dependency import DURATION_LABELS

    ja = lang == "ja"
    anywhere: dict[str, str] = {}
    codes: dict[str, str] = {}

    def pair(value: Any) -> bool:
        return (
            isinstance(value, dict) and set(value) == {"en", "ja"} and all(isinstance(v, str) for v in value.values())
        )

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if pair(value):
                if ja:
                    anywhere[value["en"]] = value["ja"]
                return
            if value and all(pair(v) for v in value.values()):  # code → label
                codes.update({key: v[lang] for key, v in value.items()})
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(report.model_dump(mode="json"))
    words: dict[str, dict[str, str]] = {"detail": codes}
    if ja:
        anywhere.update({en: ja_text for en, ja_text in [*STEP_LABELS.values(), *DURATION_LABELS.values()]})
        for column, known in REPORT_WORDS.items():
            words[column] = {**words.get(column, {}), **known}
    words["*"] = {**anywhere, **words.get("*", {})}
    return words


def display_table(table: Table, lang: str, words: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """A table as the page shows it: headings in ``lang``, cells formatted by the column's kind;
    of a pair of columns ``x_en`` and ``x_ja`` only the one of ``lang``."""
    keys = {c.key for c in table.columns}
    other = "en" if lang == "ja" else "ja"
    columns = [
        c for c in table.columns if not (c.key.endswith(f"_{other}") and f"{c.key[: -len(other)]}{lang}" in keys)
    ]
    rows = [[cell(row.get(c.key), c, lang, words) for c in columns] for row in table.rows]
    totals = None
    if table.totals:
        totals = [cell(table.totals.get(c.key), c, lang, words) for c in columns]
        if table.totals.get(columns[0].key) == "total":
            totals[0] = {"text": text("total_row", lang)}
    return {
        "name": table.name,
        "title": table.title.get(lang, table.title["en"]),
        "columns": [{"label": c.label.get(lang, c.label["en"]), "num": c.kind not in _TEXTUAL} for c in columns],
        "rows": rows,
        "totals": totals,
    }


_TEXTUAL = ("text", "moment", "date")


def cell(value: Any, column: Column, lang: str, words: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """One cell: its text, and whether the browser localises it as a number (``data-number``) or a
    time (``datetime``); ``href`` for a lead."""
    if value is None or value == "":
        return {"text": "—"}
    kind = column.kind
    if isinstance(value, bool):
        return {"text": text("yes" if value else "no", lang)}
    if kind == "percent":
        return {"text": f"{float(value) * 100:.1f}", "number": True, "suffix": " %"}
    if kind in ("float", "hours", "days"):
        return {"text": f"{float(value):.1f}", "number": True}
    if kind == "int":
        number = float(value)
        return {"text": f"{number:.0f}" if number == int(number) else f"{number:.1f}", "number": True}
    if kind == "amount":
        return {"text": f"{float(value):.0f}", "number": True}
    if kind == "moment":
        return {"text": str(value)[:16].replace("T", " "), "datetime": str(value)}
    if isinstance(value, list | tuple):
        return {"text": "; ".join(str(v) for v in value)}
    shown = str(value)
    if column.key in ("stage", "step") and shown in _STAGES:
        return {"text": shown, "stage": shown}
    if column.key == "lead":
        return {"text": shown, "href": f"/leads/{shown}"}
    own = words.get(column.key, {})
    return {"text": own[shown] if shown in own else words.get("*", {}).get(shown, shown)}


_STAGES = {s.value for s in Stage}


def _stage_label(request: Request, code: str, lang: str) -> str:
    try:
        return _engine(request).playbook().playbook.stage_label(Stage(code), lang)
    except ValueError:
        return code
