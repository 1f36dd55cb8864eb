"""Playbook texts for tests built from the default playbook."""

from __future__ import annotations

import re


def without_level_owners(text: str) -> str:
    """The default playbook's text with the level table's owners removed, for tests that replace its
    routing section with departments of their own: every level then belongs to marketing, and only
    the MQL rules hand leads over."""
    return re.sub(r"(?m)^    owner: .*\n", "", text)
