"""``/v1/reports``: the list of reports, and ``/v1/reports/{name}`` for each report of the catalog.

Each report has its own route, built from its spec, so the OpenAPI document names its options as
query parameters and its answer as its own model. Every role may read reports; each counts only
the leads the caller may see (a rep their own, a manager their departments'). ``format=csv`` answers
one of the report's tables as CSV (``table=``, default the first).
"""

from __future__ import annotations

import inspect
import json
from datetime import date
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from leadrelay.entrypoints.http.deps import PrincipalDep, RelayDep
from leadrelay.entrypoints.http.problems import responses
from leadrelay.services.lead_list import visibility_of
from leadrelay.services.report_catalog import REPORTS, ReportInfo, catalog
from leadrelay.services.report_kit import Report, ReportInputError, ReportOption, ReportSpec, csv_text

router = APIRouter(tags=["reports"])

#: One answer of each report (lists cut to two items) for the OpenAPI document: written by
#: scripts/report_examples.py; tests/unit/test_report_examples.py checks each against its model.
EXAMPLES: dict[str, Any] = json.loads((files("leadrelay") / "data" / "report_examples.json").read_text("utf-8"))


@router.get(
    "/v1/reports",
    response_model=list[ReportInfo],
    summary="Every report: what it answers, its groupings and options",
    responses={
        200: {"content": {"application/json": {"example": [i.model_dump(mode="json") for i in catalog()[:2]]}}},
        **responses(401, 503),
    },
)
def list_reports(who: PrincipalDep) -> list[ReportInfo]:
    return catalog()


def _option_parameter(option: ReportOption) -> inspect.Parameter:
    help_en = option.help[0]
    if option.choices:
        help_en += f" ({' | '.join(option.choices)})"
    kind: Any = {"int": int, "float": float}.get(option.kind, str)
    return inspect.Parameter(
        option.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, Query(description=f"{help_en}. Default: {option.default}.")],
    )


def _route(spec: ReportSpec) -> None:
    def endpoint(engine: RelayDep, who: PrincipalDep, **params: Any) -> Any:
        start, end = params.pop("from_"), params.pop("to")
        by, fmt, table = params.pop("by"), params.pop("format"), params.pop("table")
        options = {k: None if v is None else str(v) for k, v in params.items()}
        found: Report = engine.report(
            spec.name, start=start, end=end, by=by, options=options, visibility=visibility_of(who)
        )
        if fmt == "csv":
            tables = found.tables()
            chosen = tables[0] if table is None else next((x for x in tables if x.name == table), None)
            if chosen is None:
                names = ", ".join(x.name for x in tables)
                raise ReportInputError("table", f"report {spec.name} has no table '{table}' (tables: {names})")
            filename = f"{spec.name}-{chosen.name}-{found.period.start}-{found.period.end}.csv"
            return Response(
                csv_text(chosen),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        if table is not None:
            raise ReportInputError("table", "only with format=csv")
        return found

    fixed = [
        inspect.Parameter("engine", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=RelayDep),
        inspect.Parameter("who", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=PrincipalDep),
        inspect.Parameter(
            "from_",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                date | None, Query(alias="from", description="First day (the playbook's zone). Default: per report.")
            ],
        ),
        inspect.Parameter(
            "to",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[date | None, Query(description="Last day, included. Default: today.")],
        ),
        inspect.Parameter(
            "by",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                Query(
                    description=f"Grouping: {' | '.join(spec.by)}. Default: {spec.by[0]}."
                    if spec.by
                    else "This report has no grouping.",
                    max_length=20,
                ),
            ],
        ),
        inspect.Parameter(
            "format",
            inspect.Parameter.KEYWORD_ONLY,
            default="json",
            annotation=Annotated[
                str, Query(pattern="^(json|csv)$", description="json (the model) or csv (one table).")
            ],
        ),
        inspect.Parameter(
            "table",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None, Query(max_length=40, description="With format=csv: which table. Default: the first.")
            ],
        ),
    ]
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*fixed, *(_option_parameter(o) for o in spec.options)]
    )
    endpoint.__name__ = f"report_{spec.name}"
    example = EXAMPLES.get(spec.name)
    ok: dict[str, Any] = {"content": {"text/csv": {"schema": {"type": "string"}}}}
    if example is not None:
        ok["content"]["application/json"] = {"example": example}
        first = spec.model.model_validate(example).tables()[0]  # what format=csv answers by default
        ok["content"]["text/csv"]["example"] = csv_text(first)
    router.add_api_route(
        f"/v1/reports/{spec.name}",
        endpoint,
        methods=["GET"],
        response_model=spec.model,
        summary=spec.title[0],
        description=spec.description[0],
        responses={200: ok, **responses(401, 422, 503)},
    )


for _spec in REPORTS.values():
    _route(_spec)
