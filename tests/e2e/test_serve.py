"""``leadrelay serve`` as a user runs it: a real process on a free port, stopped with SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from leadrelay.adapters.store.outbox import Message, enqueue
from leadrelay.adapters.store.sql_store import SqlStore
from tests.receivers import free_port, webhook_receiver
from tests.support.serving import new_key, serving, stop
from tests.support.worker_process import NOW, env_for, run


def test_serve_answers_health_and_me_with_a_cli_made_key_and_sigterm_ends_it_with_0(tmp_path: Path) -> None:
    db = str(tmp_path / "serve.db")
    key = new_key(db, "ops@example.co.jp", "manager", "--department", "osaka_branch")
    with serving(db) as (base, process):
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "database": "ok"}
        me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200
        assert (me.json()["email"], me.json()["role"], me.json()["departments"]) == (
            "ops@example.co.jp",
            "manager",
            ["osaka_branch"],
        )
        assert httpx.get(f"{base}/v1/me").status_code == 401
        schema = httpx.get(f"{base}/openapi.json").json()
        assert schema["info"]["title"] == "leadrelay"
        assert httpx.get(f"{base}/docs").status_code == 200
        code, err = stop(process)
    assert code == 0, err
    first = err.splitlines()[0]
    assert first.startswith(f"leadrelay serve: http://127.0.0.1:{base.rsplit(':', 1)[1]}")
    assert "SQLite (WAL, busy timeout 30 s, one writer at a time" in first
    assert "leadrelay serve: stopped" in err
    listed = run(db, "keys", "list", "--json").stdout
    assert '"last_used_at": "2026-11-25T12:00:00+09:00"' in listed


def test_serve_with_worker_delivers_the_outbox_in_the_same_command(tmp_path: Path) -> None:
    db = str(tmp_path / "serve.db")
    store = SqlStore.open(f"sqlite:///{db}")
    payload = {"format": "chat", "url_env": "TEAM_HOOK_URL"}
    with store.transaction() as tx:
        message = Message("k1", "webhook", "team", "新しいリード", "本文", target="team", payload=payload)
        enqueue(tx, [message], datetime.fromisoformat(NOW))
    store.close()
    with (
        webhook_receiver() as receiver,
        serving(
            db,
            "--with-worker",
            TEAM_HOOK_URL=receiver.url,
            LEADRELAY_WORKER_POLL="0.05",
            LEADRELAY_SMTP_URL="smtp://notify:hunter2@127.0.0.1:9",
        ) as (_, process),
    ):
        deadline = time.monotonic() + 60
        while not receiver.accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        code, err = stop(process)
    assert code == 0, err
    assert [r.json() for r in receiver.accepted] == [{"text": "新しいリード\n本文"}]
    (started,) = [line for line in err.splitlines() if line.startswith("leadrelay serve: http://")]
    assert started.endswith("; with the worker loop (timers and outbox) in this process")
    (worker_line,) = [line for line in err.splitlines() if line.startswith("worker loop: ")]
    assert "smtp smtp://notify:***@127.0.0.1:9" in worker_line and "poll 0.05s" in worker_line
    assert "hunter2" not in err
    assert "0 pending, 0 failed, 1 sent" in run(db, "outbox").stdout


def test_serve_refuses_to_start_with_one_line_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    for db, expected in (
        (f"postgresql://leadrelay:hunter2@127.0.0.1:{port}/leadrelay", "error: database: "),
        (str(tmp_path / "no-such-folder" / "x.db"), "error: folder does not exist for the database file"),
    ):
        result = run(db, "serve", "--port", str(free_port()))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(expected), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.postgres
def test_serve_runs_several_processes_on_postgresql_and_shows_no_password(postgres_url: str) -> None:
    # the test server trusts local connections, so a password in the URL is accepted and must not be shown
    url = postgres_url.replace("://postgres@", "://postgres:hunter2@")
    assert "hunter2" in url
    key = new_key(url, "ops@example.co.jp", "admin")
    with serving(url, "--workers", "2", "--no-access-log") as (base, process):
        for _ in range(40):
            me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.status_code == 200
        health = httpx.get(f"{base}/healthz").json()
        assert health == {"status": "ok", "database": "ok"}
        code, err = stop(process)
    assert code == 0, err
    started = err.splitlines()[0]
    assert "2 worker process(es)" in started
    assert "postgres:***@" in started and "PostgreSQL (processes and workers share it safely)" in started
    assert "hunter2" not in err
    assert err.count("Started server process") == 2


def test_serve_refuses_a_port_in_use_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(str(tmp_path / "serve.db"), "serve", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --host 127.0.0.1 --port {port}: Address already in use"


def test_serve_refuses_bad_settings_and_unusable_channels_with_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "serve.db")
    bad_limit = run(db, "serve", "--port", str(free_port()), LEADRELAY_HTTP_BODY_LIMIT="ten")
    assert bad_limit.returncode == 2
    assert bad_limit.stderr.startswith("error: LEADRELAY_HTTP_BODY_LIMIT: 'ten': ")
    env = {k: v for k, v in env_for(db, "serve").items() if k != "LEADRELAY_SMTP_URL"}
    no_smtp = subprocess.run(
        [sys.executable, "-m", "leadrelay", "serve", "--port", str(free_port()), "--with-worker"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert no_smtp.returncode == 2, no_smtp.stderr
    assert no_smtp.stderr.startswith("error: LEADRELAY_SMTP_URL is not set")
    for result in (bad_limit, no_smtp):
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert "Uvicorn running" not in result.stderr
