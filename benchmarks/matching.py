"""Matching throughput and quality: leads matched to accounts in tiers, against a generated set of
Japanese and Western companies whose true account the generator knows.

    python benchmarks/matching.py                     # 100,000 leads against 50,000 accounts
    python benchmarks/matching.py --leads 20000 --accounts 10000

The figures: leads matched per second in one pass (each lead's claim normalised, then
``domain.matching.match_all`` over a blocking index: by domain, by name key, by name token) on as
many processes as ``--workers`` (default: the machine's cores), the time to build the index, and
for each tier the precision (how many of the leads it matched went to their true account) and the
recall (how many of the leads whose truth is that tier it found). Ground truth per lead: its true
account (or none) and the tier that should find it. Figures go to stdout and to
``benchmarks/results/matching.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jaconv
from _shared import machine, positive, publish

from leadrelay.adapters.matching import closest, name_key
from leadrelay.domain.matching import (
    AccountFacts,
    LeadClaim,
    MatchIndex,
    MatchRules,
    match_all,
    phone_key,
)

STEMS_KANA = [
    "さくら", "ひかり", "みどり", "あおば", "すずらん", "かえで", "つばさ", "ほくと", "あさひ", "ひまわり",
    "こだま", "はやぶさ", "いろは", "やまびこ", "わかば", "ゆうき", "しらゆり", "あかね", "そよかぜ", "なごみ",
]  # fmt: skip
STEMS_KANJI = [
    "山田", "富士", "東和", "大和", "日新", "北斗", "三協", "共栄", "中央", "太平", "光洋", "昭和", "平成",
    "丸善", "大同", "新興", "東邦", "西日本", "関東", "九州", "北海", "東洋", "日本", "旭", "菱和", "双葉",
]  # fmt: skip
PLACES = ["", "東京", "大阪", "名古屋", "横浜", "神戸", "京都", "福岡", "札幌", "仙台", "広島", "千葉", "埼玉"]
KINDS_JA = [
    "製作所", "工業", "商事", "電機", "システムズ", "物産", "化学", "建設", "精機", "運輸", "食品", "印刷",
    "製薬", "ソリューションズ", "テクノロジー", "エンジニアリング", "商会", "産業", "興業", "電子",
]  # fmt: skip
FORMS_JA = ["株式会社{}", "{}株式会社", "(株){}", "㈱{}", "有限会社{}", "{}(有)", "合同会社{}", "株式会社 {}"]
STEMS_EN = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne",
    "Tyrell", "Nakatomi", "Wonka", "Oscorp", "Aperture", "Massive", "Pied", "Gringotts", "Monarch", "Zenith",
]  # fmt: skip
KINDS_EN = ["Trading", "Systems", "Foods", "Logistics", "Software", "Chemicals", "Robotics", "Energy", "Labs", "Media"]
FORMS_EN = ["{} Inc.", "{} Co., Ltd.", "{} Corporation", "{} GmbH", "{} LLC", "{} K.K.", "{} Ltd", "{}, Inc."]
BRANCHES = ["大阪支店", "東京本社", "名古屋営業所", "Osaka Office", "Tokyo Branch"]
FREE = ["gmail.com", "yahoo.co.jp", "outlook.com", "icloud.com"]


@dataclass(frozen=True, slots=True)
class Company:
    domain: str
    base: str  # the name without a legal form
    name: str
    reading: str | None
    phone: str


@dataclass(frozen=True, slots=True)
class Lead:
    key: str
    domain: str | None
    name: str | None
    phone: str | None
    truth: str | None  # the true account's domain; None: no account
    tier: int  # the tier that should find it (4: a new account, or none)


def companies(count: int, rng: random.Random) -> list[Company]:
    out: list[Company] = []
    seen: set[str] = set()
    while len(out) < count:
        number = len(out)
        reading = None
        if rng.random() < 0.7:
            kana = rng.random() < 0.4
            kind = rng.choice(KINDS_JA)
            place = rng.choice(PLACES)
            base = f"{place}{rng.choice(STEMS_KANA if kana else STEMS_KANJI)}{kind}"
            forms = FORMS_JA
        else:
            base = (
                f"{rng.choice(STEMS_EN)} {rng.choice(KINDS_EN)} {rng.choice(['', 'Japan', 'Asia', 'Pacific'])}".strip()
            )
            forms = FORMS_EN
        if name_key(base) in seen:  # one account per company: the same name again is another company's
            base = f"{base}{number}"
        key = name_key(base)
        seen.add(key)
        if forms is FORMS_JA and all("\u3040" <= c <= "\u30ff" for c in base):
            reading = str(jaconv.hira2kata(base))  # a name all in kana reads as it is written
        name = rng.choice(forms).format(base)
        domain = f"c{number}.{'co.jp' if rng.random() < 0.7 else 'com'}"
        phone = f"0{rng.randint(3, 99)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        out.append(Company(domain, base, name, reading, phone))
    return out


def variant(company: Company, rng: random.Random) -> str:
    """The company's name as a lead might type it: another legal form, width, katakana, the reading."""
    choice = rng.random()
    if company.reading and choice < 0.3:
        return str(jaconv.z2h(company.reading, kana=True, ascii=False, digit=False))  # ｻｸﾗｾｲｻｸｼｮ
    if choice < 0.5:
        return str(jaconv.h2z(company.base, kana=True, ascii=True, digit=True))  # full-width
    forms = FORMS_JA if any(ord(c) > 0x3000 for c in company.base) else FORMS_EN
    return rng.choice(forms).format(company.base)


def leads(count: int, accounts: list[Company], rng: random.Random) -> list[Lead]:
    out: list[Lead] = []
    for n in range(count):
        company = rng.choice(accounts)
        roll = rng.random()
        key = f"p{n}@"
        if roll < 0.40:
            out.append(Lead(key + company.domain, company.domain, None, None, company.domain, 1))
        elif roll < 0.50:
            sub = f"mail.{company.domain}"
            out.append(Lead(key + sub, sub, variant(company, rng), None, company.domain, 1))
        elif roll < 0.62:
            other = company.domain.split(".")[0] + "-group.jp"  # another domain of the company, not known
            out.append(Lead(key + other, other, variant(company, rng), None, company.domain, 2))
        elif roll < 0.74:
            free = rng.choice(FREE)
            out.append(Lead(key + free, None, variant(company, rng), None, company.domain, 2))
        elif roll < 0.82:  # a business card: a branch of the company and its switchboard
            name = f"{company.base} {rng.choice(BRANCHES)}"
            out.append(Lead(f"id:card-{n}", None, name, company.phone, company.domain, 3))
        elif roll < 0.90:  # free mail naming a company nobody has
            free = rng.choice(FREE)
            out.append(Lead(key + free, None, f"未登録{n}商店", None, None, 4))
        else:  # a new corporate domain: a new account
            domain = f"new{n}.co.jp"
            out.append(Lead(key + domain, domain, f"Newco {n} Ltd.", None, domain, 4))
    return out


def facts(company: Company) -> AccountFacts:
    keys = {name_key(company.name): "name"}
    if company.reading:
        keys.setdefault(name_key(company.reading), "reading")
    return AccountFacts(
        domain=company.domain,
        name=company.name,
        keys=keys,
        phones=frozenset({phone_key(company.phone) or ""}),
        websites=frozenset({company.domain}),
    )


def claim(lead: Lead) -> LeadClaim:
    return LeadClaim(
        key=lead.key, domain=lead.domain, name=lead.name, name_key=name_key(lead.name), phone=phone_key(lead.phone)
    )


_INDEX: MatchIndex | None = None
_PEOPLE: list[Lead] = []
_WORKERS = 1


def _match(worker: int) -> tuple[dict[str, tuple[str | None, int]], float]:
    """The decisions for one worker's slice of the leads (every ``_WORKERS``-th from ``worker``,
    inherited through fork), and the CPU seconds the process spent on them."""
    assert _INDEX is not None
    started = time.process_time()
    decisions = match_all([claim(lead) for lead in _PEOPLE[worker::_WORKERS]], _INDEX, closest)
    return {k: (d.account, d.tier) for k, d in decisions.items()}, time.process_time() - started


def run(n_leads: int, n_accounts: int, workers: int, seed: int) -> dict[str, Any]:
    global _INDEX, _PEOPLE, _WORKERS
    rng = random.Random(seed)
    accounts = companies(n_accounts, rng)
    people = _PEOPLE = leads(n_leads, accounts, rng)
    _WORKERS = workers
    started = time.perf_counter()
    _INDEX = MatchIndex([facts(c) for c in accounts], MatchRules())
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    results: dict[str, tuple[str | None, int]] = {}
    cpu: list[float] = []
    if workers > 1:
        # the index is built once and shared with the workers (fork); each matches a slice of the leads
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part, spent in pool.map(_match, range(workers)):
                results.update(part)
                cpu.append(spent)
    else:
        part, spent = _match(0)
        results.update(part)
        cpu.append(spent)
    seconds = time.perf_counter() - started
    return {
        "leads": n_leads,
        "accounts": n_accounts,
        "workers": workers,
        "index_seconds": round(index_seconds, 3),
        "match_seconds": round(seconds, 3),
        "leads_per_second": round(n_leads / seconds),
        # what the figure would be on cores of its own: the leads over the busiest worker's CPU time
        "leads_per_cpu_second_per_worker": round(n_leads / workers / max(cpu)),
        "cpu_seconds": [round(c, 3) for c in cpu],
        "quality": quality(people, results),
    }


def quality(people: list[Lead], results: dict[str, tuple[str | None, int]]) -> dict[str, Any]:
    """Per tier: precision (matched to the true account / matched in the tier) and recall (found in
    the tier with the true account / leads whose truth is that tier)."""
    by_tier: dict[str, Any] = {}
    for tier in (1, 2, 3, 4):
        matched = [p for p in people if results[p.key][1] == tier and results[p.key][0] is not None]
        right = [p for p in matched if results[p.key][0] == p.truth]
        expected = [p for p in people if p.tier == tier and p.truth is not None]
        found = [p for p in expected if results[p.key] == (p.truth, tier)]
        by_tier[str(tier)] = {
            "matched": len(matched),
            "precision": round(len(right) / len(matched), 4) if matched else None,
            "expected": len(expected),
            "recall": round(len(found) / len(expected), 4) if expected else None,
        }
    unmatched = [p for p in people if p.truth is None]
    by_tier["no_account"] = {
        "expected": len(unmatched),
        "kept_without_account": sum(1 for p in unmatched if results[p.key][0] is None),
    }
    by_tier["leads_by_tier"] = dict(sorted(Counter(str(t) for _, t in results.values()).items()))
    return by_tier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=positive, default=100_000)
    parser.add_argument("--accounts", type=positive, default=50_000)
    parser.add_argument("--workers", type=positive, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--no-save", action="store_true", help="Print the figures only.")
    args = parser.parse_args()
    figures = {"benchmark": "matching", **run(args.leads, args.accounts, args.workers, args.seed), **machine()}
    publish(figures, args.out, "matching", save=not args.no_save)


if __name__ == "__main__":
    main()
