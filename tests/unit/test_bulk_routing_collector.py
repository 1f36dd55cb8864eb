"""While a large set is routed the cyclic garbage collector is paused, and it is on again after —
also when routing fails; a small set, or a process that had it off, is left as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from leadrelay.services.bulk_routing import _no_cycle_collection


@pytest.fixture(autouse=True)
def _collector_back_on() -> Iterator[None]:
    yield
    gc.enable()


def test_a_set_of_a_thousand_leads_is_routed_with_the_collector_paused_then_on_again() -> None:
    gc.enable()
    with _no_cycle_collection(1_000):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_when_routing_the_set_fails() -> None:
    gc.enable()
    with pytest.raises(RuntimeError, match="store failed"), _no_cycle_collection(50_000):
        raise RuntimeError("store failed")
    assert gc.isenabled()


def test_a_small_set_leaves_the_collector_on() -> None:
    gc.enable()
    with _no_cycle_collection(999):
        assert gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    with _no_cycle_collection(100_000):
        assert not gc.isenabled()
    assert not gc.isenabled()
