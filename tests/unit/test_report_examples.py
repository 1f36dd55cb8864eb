"""Every report has an example answer in the OpenAPI document, and its model accepts it
(src/leadrelay/data/report_examples.json, written by scripts/report_examples.py)."""

from __future__ import annotations

from leadrelay.entrypoints.http.routes.reports import EXAMPLES
from leadrelay.services.report_catalog import REPORTS


def test_every_report_has_an_example_its_model_accepts() -> None:
    assert set(EXAMPLES) == set(REPORTS), "run scripts/report_examples.py after adding or changing a report"
    for name, spec in REPORTS.items():
        example = spec.model.model_validate(EXAMPLES[name])
        assert example.report == name
