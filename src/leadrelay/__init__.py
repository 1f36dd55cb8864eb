"""leadrelay: the lead handoff engine for B2B marketing and sales teams."""

from leadrelay.app import LeadRelay
from leadrelay.clock import FakeClock, SystemClock

__all__ = ["FakeClock", "LeadRelay", "SystemClock"]
__version__ = "0.1.0"
