"""A transaction PostgreSQL aborts for a deadlock is run again, so both sides of the deadlock finish."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.sql_store import SqlStore, StoreTx


@pytest.mark.postgres
def test_both_sides_of_a_real_deadlock_finish_after_a_retry(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlStore.open(postgres_url)
    try:
        with store.transaction() as tx:
            tx.connection.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
            tx.connection.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        both_hold_one = threading.Barrier(2, timeout=10)
        tries: dict[str, int] = {"a": 0, "b": 0}

        def work(name: str, first: int, second: int) -> None:
            def body(tx: StoreTx) -> None:
                tries[name] += 1
                tx.connection.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
                if tries[name] == 1:
                    both_hold_one.wait()  # each holds one row and then asks for the other's
                tx.connection.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})

            store.retrying(body)

        threads = [threading.Thread(target=work, args=a) for a in (("a", 1, 2), ("b", 2, 1))]
        with caplog.at_level("WARNING", logger="leadrelay.adapters.store"):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        with store.reading() as tx:
            assert tx.connection.execute(sa.text("SELECT n FROM pair ORDER BY id")).scalars().all() == [2, 2]
        assert sorted(tries.values()) == [1, 2]
        assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["database deadlock"]
    finally:
        store.close()
