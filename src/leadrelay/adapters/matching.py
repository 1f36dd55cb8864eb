"""The string work matching needs, from well-kept libraries: kana folding (jaconv) and the fuzzy
name score (rapidfuzz). Passed into :mod:`leadrelay.domain.matching`, which stays pure."""

from __future__ import annotations

from collections.abc import Sequence

import jaconv
from rapidfuzz import fuzz, process

from leadrelay.domain.matching import company_key

#: Hiragana to katakana, as jaconv maps them, as one translation table (NFKC, applied before it,
#: already makes half-width katakana full-width): folding a name is one ``str.translate``.
_KANA = str.maketrans({chr(c): str(jaconv.hira2kata(chr(c))) for c in range(0x3041, 0x3097)})


def fold_kana(text: str) -> str:
    """Hiragana and half-width katakana as full-width katakana (``さくら``, ``ｻｸﾗ`` → ``サクラ``);
    everything else as it is."""
    if any("\uff61" <= c <= "\uff9f" for c in text):
        text = str(jaconv.h2z(text, kana=True, ascii=False, digit=False))
    return text.translate(_KANA)


#: A name found whole inside a longer one scores this much of its partial ratio.
PARTIAL_WEIGHT = 0.9


def similarity(one: str, other: str) -> float:
    """How alike two normalised names are, 0–100: the better of rapidfuzz's weighted ratio (a
    spelling variant by its edit distance: sakuraseisakusyo and sakuraseisakusho, 94) and 0.9 of its
    partial ratio (a name inside a longer one, a branch: さくら製作所東京本社 and さくら製作所, 90)."""
    return max(float(fuzz.WRatio(one, other)), PARTIAL_WEIGHT * float(fuzz.partial_ratio(one, other)))


def closest(query: str, choices: Sequence[str], cutoff: float) -> list[tuple[int, float]]:
    """The choices scoring at least ``cutoff`` against ``query`` by :func:`similarity`, as
    (position, score): two calls of rapidfuzz over all of them."""
    best: dict[int, float] = {}
    for _choice, score, position in process.extract(
        query, choices, scorer=fuzz.WRatio, score_cutoff=cutoff, limit=None
    ):
        best[position] = float(score)
    for _choice, score, position in process.extract(
        query, choices, scorer=fuzz.partial_ratio, score_cutoff=min(100.0, cutoff / PARTIAL_WEIGHT), limit=None
    ):
        best[position] = max(best.get(position, 0.0), PARTIAL_WEIGHT * float(score))
    return sorted(best.items())


def name_key(name: str | None) -> str:
    """A company name's matching key with the kana folding above."""
    return company_key(name, fold_kana)
