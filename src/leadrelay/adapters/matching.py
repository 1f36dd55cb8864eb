"""The string work matching needs, from well-kept libraries: kana folding (jaconv) and the fuzzy
name score (rapidfuzz). Passed into :mod:`leadrelay.domain.matching`, which stays pure."""

from __future__ import annotations

import jaconv
from rapidfuzz import fuzz

from leadrelay.domain.matching import company_key


def fold_kana(text: str) -> str:
    """Hiragana and half-width katakana as full-width katakana (``さくら``, ``ｻｸﾗ`` → ``サクラ``);
    everything else as it is."""
    return str(jaconv.hira2kata(jaconv.h2z(text, kana=True, ascii=False, digit=False)))


def similarity(one: str, other: str) -> float:
    """How alike two normalised names are, 0–100: rapidfuzz's weighted ratio, which scores a name
    inside a longer one (a branch: さくら製作所大阪支店 and さくら製作所) at 90 and a spelling
    variant by its edit distance (sakuraseisakusyo and sakuraseisakusho: 94)."""
    return float(fuzz.WRatio(one, other))


def name_key(name: str | None) -> str:
    """A company name's matching key with the kana folding above."""
    return company_key(name, fold_kana)
