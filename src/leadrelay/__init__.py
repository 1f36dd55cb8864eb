"""leadrelay: the lead handoff engine for B2B marketing and sales teams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadrelay.adapters.clock import FakeClock, SystemClock
    from leadrelay.entrypoints.api import LeadRelay

__all__ = ["FakeClock", "LeadRelay", "SystemClock"]
__version__ = "0.1.0"

#: Where each public name lives. They are imported on first use, so that importing one module of the
#: package (the command line, a domain module) does not load the whole engine and its libraries.
_PUBLIC = {
    "FakeClock": "leadrelay.adapters.clock",
    "SystemClock": "leadrelay.adapters.clock",
    "LeadRelay": "leadrelay.entrypoints.api",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'leadrelay' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
