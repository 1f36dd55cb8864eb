"""leadrelay: the lead handoff engine for B2B marketing and sales teams."""

from leadrelay.adapters.clock import FakeClock, SystemClock
from leadrelay.entrypoints.api import LeadRelay

__all__ = ["FakeClock", "LeadRelay", "SystemClock"]
__version__ = "0.1.0"
