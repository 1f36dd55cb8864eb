"""Import checkpoints: a run that did not finish resumes; a finished or changed file starts over."""

from __future__ import annotations

from pathlib import Path

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.imports import fingerprint
from tests.conftest import NOW


def test_an_unfinished_run_resumes_and_a_changed_or_finished_file_starts_over(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email\na@x.co.jp\nb@x.co.jp\n")
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        run = relay.begin_import(fingerprint(path), "leads", "leadrelay")
        assert run.resume_after == 0
        relay.add_leads_numbered([(2, {"email": "a@x.co.jp"})], checkpoint=run.id, on_rejects=lambda rejected: 123)
        assert relay.begin_import(fingerprint(path), "leads", "leadrelay") == (run.id, 2, 123)
        assert relay.begin_import(fingerprint(path), "activities", "leadrelay").resume_after == 0
        assert relay.begin_import(fingerprint(path), "leads", "hubspot").resume_after == 0

        relay.add_leads_numbered([(1, {"email": "a@x.co.jp"})], checkpoint=run.id)  # never moves back
        assert relay.begin_import(fingerprint(path), "leads", "leadrelay").resume_after == 2

        path.write_text("email\na@x.co.jp\nb@x.co.jp\nc@x.co.jp\n")
        assert relay.begin_import(fingerprint(path), "leads", "leadrelay").resume_after == 0

        relay.finish_import(run)
        path.write_text("email\na@x.co.jp\nb@x.co.jp\n")
        assert relay.begin_import(fingerprint(path), "leads", "leadrelay") == (run.id, 0, 0)
