"""The Olist example data (../shared/data/olist, docs/examples/olist) and how its tests load it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from leadrelay.adapters.files.mappings import load_mapping
from leadrelay.adapters.files.rejects import RejectsWriter
from leadrelay.adapters.files.sources import open_source
from leadrelay.services.imports import prepare, run_import
from leadrelay.services.intake import BatchResult

ROOT = Path(__file__).resolve().parents[2]
OLIST = ROOT.parent / "shared" / "data" / "olist"
EXAMPLES = ROOT / "docs" / "examples" / "olist"
MQLS = OLIST / "olist_marketing_qualified_leads_dataset.csv"
DEALS = OLIST / "olist_closed_deals_dataset.csv"


def load(path: Path, mapping_file: str, kind: Any, submit: Callable[..., BatchResult], rejects: Path) -> BatchResult:
    mapping = load_mapping(str(EXAMPLES / mapping_file))
    writer = RejectsWriter(rejects, [])
    with open_source(path) as source:
        writer.headers = source.headers
        assert prepare(source, mapping, kind) == []  # every column of the export is mapped
        outcome = run_import(
            source,
            mapping,
            kind,
            lambda batch, on_rejects: submit(batch, batch_size=len(batch) + 1, on_rejects=on_rejects),
            writer,
        )
    writer.close()
    return outcome.result
