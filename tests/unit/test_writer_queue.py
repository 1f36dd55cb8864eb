"""SQLite's writers of one process take turns first come, first served; those first in line (a
hand-raiser) go before the ordinary ones waiting, never before the one writing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from leadrelay.adapters.store.writer_queue import WriterQueue, first_in_line, queue_for


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def line_up(queue: WriterQueue, names: list[str], first: set[str]) -> list[str]:
    """While one writer holds the turn, ``names`` arrive one after the other; the order they write in."""
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with queue.turn():
            order.append("holder")
            release.wait()

    def writer(name: str) -> None:
        def take() -> None:
            with queue.turn():
                order.append(name)

        if name in first:
            with first_in_line():
                take()
        else:
            take()

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    wait_until(lambda: order == ["holder"])
    for n, name in enumerate(names, start=1):
        thread = threading.Thread(target=writer, args=(name,))
        thread.start()
        threads.append(thread)
        wait_until(lambda n=n: queue.waiting == n)  # type: ignore[misc]
    release.set()
    for thread in threads:
        thread.join(10)
    return order


def test_writers_take_turns_in_the_order_they_arrived() -> None:
    assert line_up(WriterQueue(), ["a", "b", "c", "d"], first=set()) == ["holder", "a", "b", "c", "d"]


def test_a_hand_raiser_goes_before_the_ordinary_writers_waiting_but_after_the_one_writing() -> None:
    order = line_up(WriterQueue(), ["a", "b", "hand-raiser", "c"], first={"hand-raiser"})

    assert order == ["holder", "hand-raiser", "a", "b", "c"]


def test_two_first_in_line_keep_their_order() -> None:
    order = line_up(WriterQueue(), ["a", "hr-1", "hr-2"], first={"hr-1", "hr-2"})

    assert order == ["holder", "hr-1", "hr-2", "a"]


def test_the_turn_is_reentrant_in_its_thread() -> None:
    queue = WriterQueue()
    with queue.turn(), queue.turn():
        pass
    done = threading.Event()

    def other() -> None:
        with queue.turn():
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert done.is_set()  # the turn was given back whole


def test_one_queue_per_database_file() -> None:
    assert queue_for("/tmp/a.db") is queue_for("/tmp/a.db")
    assert queue_for("/tmp/a.db") is not queue_for("/tmp/b.db")
