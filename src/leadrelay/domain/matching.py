"""Which company is this lead from: matching leads to accounts in ordered, explainable tiers.

Pure: standard library only. Two things that need libraries are passed in (see
``leadrelay.adapters.matching``): ``fold``, which turns kana variants into one form (hiragana and
half-width katakana into full-width katakana), and ``similarity``, the fuzzy score of two names
(0–100).

The tiers, tried in order (the first that finds an account decides):

1. **domain** — the lead's corporate domain (the company's, else the e-mail's) is an account's
   domain, one of its extra domains, or a sub-domain of one; a shared domain is split by its rules;
2. **name** — the normalised company name equals an account's name, reading (furigana) or alias;
3. **close name** — a fuzzy score at or above the playbook's threshold *and* one corroborating field
   (phone, postal code, website) the account already has;
4. **new** — no account: a new account for a corporate domain; without one (free mail, a business
   card without e-mail) the lead stays without an account.

Candidates of the deciding tier are ordered by :func:`rank` (the tie-break rule); the others are
kept as passed over, with why.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import ChainMap, Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

#: Turns kana variants into one form (passed in: the domain has no kana tables of its own).
Fold = Callable[[str], str]
#: The close names among ``choices``: (position in ``choices``, score) of those scoring at least
#: ``cutoff`` against ``query``, on a scale of 0 (nothing alike) to 100 (equal).
Similarity = Callable[[str, Sequence[str], float], list[tuple[int, float]]]

#: Fields a tier-3 match may be corroborated by.
CORROBORATING_FIELDS: tuple[str, ...] = ("phone", "postal_code", "website")

#: What each kind of evidence says (code → English, Japanese).
EVIDENCE: dict[str, tuple[str, str]] = {
    "domain": ("corporate domain is the account's domain", "企業ドメインが一致"),
    "extra_domain": ("corporate domain is one of the account's domains", "企業の別ドメインに一致"),
    "subdomain": ("corporate domain is a sub-domain of the account's", "企業ドメインのサブドメイン"),
    "shared_domain": ("shared domain, split by its rule", "共有ドメインを分割ルールで判定"),
    "name": ("normalised company name is the account's name", "正規化した企業名が一致"),
    "reading": ("normalised company name is the account's reading", "企業名が読み（フリガナ）に一致"),
    "alias": ("normalised company name is a confirmed alias", "確認済みの別名に一致"),
    "close_name": ("company name is close to the account's", "企業名が類似"),
    "phone": ("same phone number", "電話番号が一致"),
    "postal_code": ("same postal code", "郵便番号が一致"),
    "website": ("same website", "ウェブサイトが一致"),
    "new_account": (
        "no account matched: a new account for the corporate domain",
        "該当企業なし：企業ドメインで新規作成",
    ),
}

#: Why a candidate account was passed over (code → English, Japanese).
PASSED: dict[str, tuple[str, str]] = {
    "tie": ("lost the tie-break (named account first, then most leads, then domain)", "同順位で優先順位に負けた"),
    "higher_tier": ("another account matched in a higher tier", "上位の段階で別の企業に一致"),
    "no_corroboration": ("close name, but no corroborating field", "企業名は類似するが裏付け項目なし"),
    "lower_score": ("close name with a lower score", "類似度がより低い"),
    "rejected": ("a person rejected this match", "担当者が却下した一致"),
}

#: Tiers by number, as ``lead show`` names them.
TIERS: dict[int, tuple[str, str]] = {
    1: ("corporate domain", "企業ドメイン"),
    2: ("company name", "企業名"),
    3: ("close name + corroborating field", "類似企業名＋裏付け"),
    4: ("new account", "新規企業"),
}

# --- normalisation -------------------------------------------------------------------------

#: Japanese legal forms, written out (removed wherever they stand in a name).
JAPANESE_LEGAL_FORMS: tuple[str, ...] = (
    "特定非営利活動法人",
    "有限責任事業組合",
    "地方独立行政法人",
    "独立行政法人",
    "国立大学法人",
    "一般社団法人",
    "公益社団法人",
    "一般財団法人",
    "公益財団法人",
    "社会福祉法人",
    "医療法人社団",
    "医療法人財団",
    "医療法人",
    "学校法人",
    "宗教法人",
    "NPO法人",
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "相互会社",
)
#: Abbreviated Japanese legal forms: ``(株)`` and the others, and (after NFKC) ``㈱``, ``㈲``, ...;
#: furigana in bank style writes them in kana: ``ｶ)``, ``(ｶ``, ``ﾕ)``.
JAPANESE_ABBREVIATIONS: tuple[str, ...] = ("株", "有", "合", "同", "資", "名", "社", "財", "医", "学", "特非", "独")
#: Kana spellings of legal forms (in readings).
KANA_LEGAL_FORMS: tuple[str, ...] = (
    "カブシキガイシャ",
    "カブシキカイシャ",
    "ユウゲンガイシャ",
    "ユウゲンカイシャ",
    "ゴウドウガイシャ",
    "ゴウドウカイシャ",
    "イッパンシャダンホウジン",
    "ザイダンホウジン",
)
KANA_ABBREVIATIONS: tuple[str, ...] = ("カ", "ユ", "ド", "シャ", "ザイ")
#: Western legal forms (whole words, after case folding; dots optional).
WESTERN_LEGAL_FORMS: tuple[str, ...] = (
    "kabushiki kaisha",
    "kabushiki gaisha",
    "godo kaisha",
    "yugen kaisha",
    "incorporated",
    "corporation",
    "limited",
    "company",
    "inc",
    "corp",
    "co",
    "ltd",
    "llc",
    "llp",
    "lp",
    "plc",
    "kk",
    "gk",
    "gmbh",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "oy",
    "pte",
    "pty",
)

_ABBREVIATED = re.compile(
    r"\((?:" + "|".join(JAPANESE_ABBREVIATIONS) + r")\)"
    r"|\((?:" + "|".join(KANA_ABBREVIATIONS) + r")\)?"
    r"|(?:^|(?<=[\s)]))(?:" + "|".join(KANA_ABBREVIATIONS) + r")\)"
)
_JAPANESE_FORMS = re.compile("|".join(re.escape(f.casefold()) for f in (*JAPANESE_LEGAL_FORMS, *KANA_LEGAL_FORMS)))
# a Western form is a whole word: "co" in "acme co., ltd." but not in "cobalt" nor "taco"
_WESTERN_FORMS = re.compile(
    r"(?<![0-9a-z])(?:"
    + "|".join(r"\.?\s*".join(re.escape(w) for w in form.split()) for form in WESTERN_LEGAL_FORMS)
    + r")(?![0-9a-z])"
)
# "k.k.", "s.a.", "b.v.": dotted initials, folded before the forms are looked for
_DOTTED = re.compile(r"(?<![0-9a-z])((?:[a-z]\.){2,})(?![0-9a-z])")
_SEPARATORS = re.compile(r"[\s\W_]+")
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_IGNORED_KANA = str.maketrans("", "", "ー・")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[0-9a-z]+")
_ANY_LATIN = re.compile(r"[a-z]")
_ACCENTED = re.compile("[\u00c0-\u024f]")


def _without_accents(text: str) -> str:
    """Latin letters without their accents (``é`` → ``e``); kana keep their voicing marks (``ガ``)."""
    if _ACCENTED.search(text) is None:
        return text
    out: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char) and out and out[-1] < "\u0250":
            continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _clean(name: str, fold: Fold) -> str:
    """``name`` folded (NFKC, case, accents, kana) with its legal forms replaced by spaces."""
    text = _without_accents(unicodedata.normalize("NFKC", name).casefold())
    if not text.isascii():
        text = fold(text).translate(_SMALL_KANA)
        text = _ABBREVIATED.sub(" ", text)
        text = _JAPANESE_FORMS.sub(" ", text)
    if _ANY_LATIN.search(text) is not None:
        text = _DOTTED.sub(lambda m: m.group(1).replace(".", ""), text)
        text = _WESTERN_FORMS.sub(" ", text.replace("&", " "))
    return text


def company_key(name: str | None, fold: Fold) -> str:
    """The company name as matching compares it: NFKC width folding, case and accent folding, kana variants
    folded by ``fold``, legal forms removed wherever they stand, spaces, punctuation and long-vowel
    marks removed. Empty when nothing is left (a name that was only a legal form)."""
    if not name:
        return ""
    key = _SEPARATORS.sub("", _clean(name, fold).translate(_IGNORED_KANA))
    for _ in range(8):  # removing one form may join the letters of another: until none is left
        if not _has_form(key):
            break
        key = _SEPARATORS.sub("", _clean(key, fold).translate(_IGNORED_KANA))
    return key


def _has_form(key: str) -> bool:
    if not key.isascii() and (_ABBREVIATED.search(key) or _JAPANESE_FORMS.search(key)):
        return True
    return _ANY_LATIN.search(key) is not None and (_WESTERN_FORMS.search(key) or _DOTTED.search(key)) is not None


def name_tokens(key: str) -> frozenset[str]:
    """Blocking tokens of a normalised name: the character bigrams of its Japanese runs and the
    trigrams of its Latin runs (a shorter run is a token by itself)."""
    tokens: set[str] = set()
    for runs, size in ((_CJK.findall(key), 2), (_LATIN.findall(key), 3)):
        for run in runs:
            if len(run) <= size:
                tokens.add(run)
            tokens.update(run[i : i + size] for i in range(len(run) - size + 1))
    return frozenset(tokens)


_EXTENSION = re.compile(r"(?:ext\.?|x|内線|#).*$", re.IGNORECASE)


def phone_key(phone: str | None) -> str | None:
    """A phone number as digits of the national number (``+81 6-1234-5678`` → ``0612345678``), the
    extension dropped; ``None`` for fewer than nine digits (not a whole number)."""
    if not phone:
        return None
    text = _EXTENSION.sub("", unicodedata.normalize("NFKC", phone))
    digits = "".join(c for c in text if c.isdigit())
    if text.lstrip().startswith("+81"):
        digits = "0" + digits[2:]
    elif text.lstrip().startswith("+"):
        digits = "+" + digits
    return digits if len(digits.lstrip("+")) >= 9 else None


def postal_key(postal: str | None) -> str | None:
    """A postal code without spaces, hyphens and the 〒 mark, upper-cased; ``None`` when empty."""
    if not postal:
        return None
    text = unicodedata.normalize("NFKC", postal).replace("〒", "")
    key = "".join(c for c in text if c.isalnum()).upper()
    return key or None


def site_key(url: str | None) -> str | None:
    """A website as its host: scheme, ``www.``, path, port, case and trailing dots removed."""
    if not url:
        return None
    text = unicodedata.normalize("NFKC", url).strip().casefold()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    host = re.split(r"[/?#:]", text, maxsplit=1)[0].rstrip(".")
    host = host.removeprefix("www.")
    return host if "." in host else None


#: Second-level names a domain is never matched up to (``co.jp`` is nobody's account).
PUBLIC_SUFFIXES: frozenset[str] = frozenset(
    {
        *(f"{s}.jp" for s in ("co", "ne", "or", "ac", "go", "lg", "ed", "gr", "ad")),
        *(f"{s}.uk" for s in ("co", "org", "ac", "gov")),
        *(f"{s}.au" for s in ("com", "net", "org", "edu", "gov")),
        *(f"{s}.cn" for s in ("com", "net", "org")),
        *(f"{s}.kr" for s in ("co", "or")),
        *(f"{s}.tw" for s in ("com", "org")),
        "com.sg",
        "com.br",
        "co.nz",
        "co.in",
        "com.hk",
    }
)


def parent_domains(domain: str) -> list[str]:
    """``domain`` and the domains it is a sub-domain of, nearest first, down to two labels and
    never a public suffix: ``osaka.sakura-mfg.co.jp`` → itself, ``sakura-mfg.co.jp``."""
    parts = domain.split(".")
    out = []
    for i in range(len(parts) - 1):
        candidate = ".".join(parts[i:])
        if candidate in PUBLIC_SUFFIXES:
            break
        out.append(candidate)
    return out


# --- the facts matching works on ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """An account as matching sees it: its domains, the keys of its names, and what can corroborate it."""

    domain: str
    name: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)  # normalised key → name, reading or alias
    extra_domains: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    postal_codes: frozenset[str] = frozenset()
    websites: frozenset[str] = frozenset()
    named: bool = False  # a named account (tier "named", an owner, or a rep's named account)
    leads: int = 0

    def corroboration(self, claim: LeadClaim) -> list[Evidence]:
        found = []
        if claim.phone is not None and claim.phone in self.phones:
            found.append(Evidence("phone", claim.phone, claim.phone))
        if claim.postal_code is not None and claim.postal_code in self.postal_codes:
            found.append(Evidence("postal_code", claim.postal_code, claim.postal_code))
        if claim.website is not None and claim.website in self.websites:
            found.append(Evidence("website", claim.website, claim.website))
        return found


@dataclass(frozen=True, slots=True)
class LeadClaim:
    """What a lead says about its company: a corporate domain (not free mail), a name (and its key)
    and the fields that can corroborate a close name (already normalised: see :func:`phone_key`)."""

    key: str  # the lead's key
    domain: str | None = None
    name: str | None = None
    name_key: str = ""
    phone: str | None = None
    postal_code: str | None = None
    website: str | None = None
    reading_key: str = ""  # the key of the company's reading, when the record gives one
    company_record: bool = False  # the record gave its company (with this domain), not only an e-mail


@dataclass(frozen=True, slots=True)
class SharedDomain:
    """A domain several companies share: a lead whose normalised company name contains one of a
    split's names goes to that split's account; the others to ``default`` (or the name tiers)."""

    id: str
    domain: str
    splits: tuple[tuple[str, tuple[str, ...]], ...]  # (account domain, name keys)
    default: str | None = None


@dataclass(frozen=True, slots=True)
class MatchRules:
    """The playbook's ``matching`` section, compiled."""

    fuzzy_threshold: float = 90.0  # chosen from tests/data/matching_pairs.csv (docs/account-matching.md)
    corroborate: frozenset[str] = frozenset(CORROBORATING_FIELDS)
    shared_domains: Mapping[str, SharedDomain] = field(default_factory=dict)
    extra_domains: Mapping[str, str] = field(default_factory=dict)  # extra domain → account domain
    aliases: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # account → (key, name)
    max_candidates: int = 30  # accounts compared per lead at most (those of the rarest tokens first)
    max_token_accounts: int = 500  # a token on more accounts than this blocks nothing


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # a key of EVIDENCE
    lead_value: str
    account_value: str

    def text(self, lang: str = "en") -> str:
        en, ja = EVIDENCE[self.kind]
        return ja if lang == "ja" else en


@dataclass(frozen=True, slots=True)
class Candidate:
    """An account a lead could belong to, in a tier, with the evidence and (fuzzy) score."""

    account: str  # the account's domain
    tier: int
    evidence: tuple[Evidence, ...]
    score: float = 100.0
    passed: str | None = None  # a key of PASSED, for a candidate that was not taken


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """Which account a lead belongs to and why; ``account`` None: no account (tier 4 without a
    corporate domain). ``new`` says the account does not exist yet (tier 4)."""

    lead: str
    account: str | None
    tier: int
    evidence: tuple[Evidence, ...]
    passed_over: tuple[Candidate, ...] = ()
    new: bool = False
    claim: LeadClaim | None = None
    score: float | None = None  # the fuzzy score of a tier-3 match

    @property
    def reason(self) -> str:
        if self.account is None:
            return "no account: no corporate domain and no matching company"
        return "; ".join(e.text() for e in self.evidence)


def rank(candidates: Sequence[Candidate], accounts: Mapping[str, AccountFacts]) -> list[Candidate]:
    """The tie-break rule: higher score first (tier 3), then a named account, then the account with
    the most leads, then the domain in alphabetical order (so the order leads arrive in never matters)."""

    def order(c: Candidate) -> tuple[float, int, int, str]:
        facts = accounts.get(c.account)
        return (-c.score, 0 if facts is not None and facts.named else 1, -(facts.leads if facts else 0), c.account)

    return sorted(candidates, key=order)


class MatchIndex:
    """Accounts by domain, by name key and by name token (the blocking index): a lead is compared
    only with the accounts that share its domain, its key or one of its rarer tokens.

    Every list of the index is kept in the order of the accounts' positions (given with the account,
    e.g. its id in the database; else the order they were added in), so an index built at once and
    one changed account by account (:meth:`changed`) are the same. An index is never changed in
    place once another is derived from it: :meth:`overlay` and :meth:`changed` make new ones that
    share its lists and copy a list before they change it.
    """

    def __init__(
        self, accounts: Iterable[AccountFacts], rules: MatchRules, positions: Mapping[str, int] | None = None
    ) -> None:
        self.accounts: MutableMapping[str, AccountFacts] = {}
        self.by_domain: MutableMapping[str, str] = {}
        self.by_key: MutableMapping[str, list[tuple[str, str]]] = {}  # key → [(account, kind)]
        self.by_token: MutableMapping[str, list[str]] = {}
        self.keys_of: MutableMapping[str, tuple[str, ...]] = {}
        self.position: MutableMapping[str, int] = {}
        self.rules = rules
        self._next = 0  # the position of the next account added without one
        self._fresh = True  # lists not shared with another index yet: appended to in place
        for facts in accounts:
            self.add(facts, positions.get(facts.domain) if positions is not None else None)
        if positions is not None:  # the accounts may have come in any order
            for lists in (self.by_key, self.by_token):
                for items in lists.values():
                    items.sort(key=self._order)
        self._fresh = False

    def _order(self, item: str | tuple[str, str]) -> int:
        return self.position[item if isinstance(item, str) else item[0]]

    def _derived(self, *, copy: bool) -> MatchIndex:
        """A new index over the same lists: its own dicts (copies, or layers over these)."""
        new = MatchIndex((), self.rules)
        for name in ("accounts", "by_domain", "by_key", "by_token", "keys_of", "position"):
            mine: MutableMapping[Any, Any] = getattr(self, name)
            setattr(new, name, dict(mine) if copy else ChainMap({}, mine))
        new._next = self._next
        return new

    def overlay(self) -> MatchIndex:
        """A new index that starts as this one: what is added to it (or whose facts it replaces)
        stays in it, this one is left as it was. Cheap: nothing is copied."""
        return self._derived(copy=False)

    def changed(self, remove: Iterable[str], add: Iterable[tuple[AccountFacts, int]]) -> MatchIndex:
        """A new index without the accounts ``remove`` (domains) and with ``add`` (facts, position)."""
        new = self._derived(copy=True)
        for domain in remove:
            new._remove(domain)
        for facts, position in add:
            new._remove(facts.domain)
            new.add(facts, position)
        return new

    def _remove(self, domain: str) -> None:
        old = self.accounts.pop(domain, None)
        if old is None:
            return
        for key in self.keys_of.pop(domain, ()):
            self.by_key[key] = [p for p in self.by_key.get(key, []) if p[0] != domain]
            for token in name_tokens(key):
                self.by_token[token] = [d for d in self.by_token.get(token, []) if d != domain]
        for name in [domain, *old.extra_domains]:
            if self.by_domain.get(name) == domain:
                del self.by_domain[name]
        self.position.pop(domain, None)

    def replace_facts(self, facts: AccountFacts) -> None:
        """Put ``facts`` in place of the indexed account's facts (its domains and keys stay as indexed)."""
        stored = self.accounts[facts.domain]
        self.accounts[facts.domain] = replace(facts, keys=stored.keys, extra_domains=stored.extra_domains)

    def add(self, facts: AccountFacts, position: int | None = None) -> None:
        rules = self.rules
        keys = dict(facts.keys)
        for key, _name in rules.aliases.get(facts.domain, ()):
            keys.setdefault(key, "alias")
        facts = replace(facts, keys=keys)
        domain = facts.domain
        if position is None:
            position = self._next
        self._next = max(self._next, position + 1)
        self.position[domain] = position
        self.accounts[domain] = facts
        self.keys_of[domain] = tuple(k for k in keys if k)
        self.by_domain[domain] = domain
        for extra in facts.extra_domains:
            self.by_domain.setdefault(extra, domain)
        for key, kind in keys.items():
            if key:
                self._insert(self.by_key, key, (domain, kind))
                for token in name_tokens(key):
                    self._insert(self.by_token, token, domain)

    def _insert(self, lists: MutableMapping[str, list[Any]], name: str, item: Any) -> None:
        found = lists.get(name)
        if found is None:
            lists[name] = [item]
        elif self._fresh:
            found.append(item)
        else:  # shared with another index: a new list, in position order
            copy = list(found)
            bisect.insort(copy, item, key=self._order)
            lists[name] = copy

    def domain_match(self, domain: str) -> tuple[str, str] | None:
        """The account a corporate domain belongs to and how (domain, extra_domain, subdomain)."""
        extra = self.rules.extra_domains
        for i, candidate in enumerate(parent_domains(domain)):
            owner = extra.get(candidate) or self.by_domain.get(candidate)
            if owner is not None and owner in self.accounts:
                if i > 0:
                    return owner, "subdomain"
                return owner, "domain" if owner == candidate else "extra_domain"
        return None

    def close(self, key: str) -> list[str]:
        """The accounts sharing the most blocking tokens with ``key`` (tokens on more than
        ``max_token_accounts`` accounts are left out: they tell nothing), at most ``max_candidates``;
        among equals, those of the rarest tokens first."""
        rules = self.rules
        lists = [found for t in sorted(name_tokens(key)) if (found := self.by_token.get(t))]
        lists = sorted((x for x in lists if len(x) <= rules.max_token_accounts), key=len)
        if not lists:
            return []
        if len(lists) == 1:
            return lists[0][: rules.max_candidates]
        shared = Counter(chain.from_iterable(lists))
        return [account for account, _ in shared.most_common(rules.max_candidates)]


def match_lead(
    claim: LeadClaim,
    index: MatchIndex,
    similarity: Similarity,
    rejected: frozenset[tuple[str, str]] = frozenset(),
) -> MatchDecision:
    """The account of one lead against the accounts in ``index`` (see the module's tiers).

    ``rejected``: (name key, account) pairs a person said are not the same company."""
    rules = index.rules
    domain = claim.domain
    shared = _shared_domain(domain, rules) if domain else None
    if shared is not None:
        decision = _split(claim, shared, index)
        if decision is not None:
            return decision
        domain = None  # a shared domain without a rule for this lead says nothing about its company
    if domain is not None:
        found = index.domain_match(domain)
        if found is not None:
            account, kind = found
            target = domain if kind == "domain" else account
            evidence = (Evidence(kind, domain, target if kind != "extra_domain" else domain),)
            passed = _name_candidates(claim, index, exclude=account)
            return MatchDecision(
                claim.key,
                account,
                1,
                evidence,
                tuple(replace(c, passed="higher_tier") for c in passed),
                claim=claim,
            )
    key = claim.name_key
    if key:
        exact = [
            Candidate(account, 2, (Evidence(kind, claim.name or key, _shown(index.accounts[account], kind, key)),))
            for account, kind in _unique(index.by_key.get(key, []))
        ]
        if exact:
            ordered = rank(exact, index.accounts)
            return MatchDecision(
                claim.key,
                ordered[0].account,
                2,
                ordered[0].evidence,
                tuple(replace(c, passed="tie") for c in ordered[1:]),
                claim=claim,
            )
        fuzzy = _fuzzy(claim, index, similarity, rejected)
        taken = [c for c in fuzzy if c.passed is None]
        if taken:
            ordered = rank(taken, index.accounts)
            best = ordered[0]
            others = [replace(c, passed="lower_score" if c.score < best.score else "tie") for c in ordered[1:]]
            others += [c for c in fuzzy if c.passed is not None]
            return MatchDecision(
                claim.key, best.account, 3, best.evidence, tuple(others), claim=claim, score=best.score
            )
        passed_over: tuple[Candidate, ...] = tuple(fuzzy)
    else:
        passed_over = ()
    if domain is not None:
        evidence = (Evidence("new_account", domain, domain),)
        return MatchDecision(claim.key, domain, 4, evidence, passed_over, new=True, claim=claim)
    return MatchDecision(claim.key, None, 4, (), passed_over, claim=claim)


def _shown(facts: AccountFacts, kind: str, key: str) -> str:
    return facts.name or facts.domain if kind == "name" else key


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for account, kind in pairs:
        seen.setdefault(account, kind)
    return list(seen.items())


def _shared_domain(domain: str, rules: MatchRules) -> SharedDomain | None:
    if not rules.shared_domains:
        return None
    for candidate in parent_domains(domain):
        shared = rules.shared_domains.get(candidate)
        if shared is not None:
            return shared
    return None


def _split(claim: LeadClaim, shared: SharedDomain, index: MatchIndex) -> MatchDecision | None:
    for account, keys in shared.splits:
        for key in keys:
            if key and claim.name_key and key in claim.name_key and account in index.accounts:
                split = (
                    Evidence("shared_domain", claim.domain or "", f"{shared.id}: {account}"),
                    Evidence("name", claim.name or claim.name_key, key),
                )
                return MatchDecision(claim.key, account, 1, split, claim=claim)
    if shared.default is not None and shared.default in index.accounts:
        evidence = (Evidence("shared_domain", claim.domain or "", f"{shared.id}: {shared.default}"),)
        return MatchDecision(claim.key, shared.default, 1, evidence, claim=claim)
    return None


def _name_candidates(claim: LeadClaim, index: MatchIndex, exclude: str) -> list[Candidate]:
    """Accounts whose name the lead's company name equals (for a lead decided by its domain)."""
    if not claim.name_key:
        return []
    return [
        Candidate(account, 2, (Evidence(kind, claim.name or claim.name_key, claim.name_key),))
        for account, kind in _unique(index.by_key.get(claim.name_key, []))
        if account != exclude
    ]


def _fuzzy(
    claim: LeadClaim, index: MatchIndex, similarity: Similarity, rejected: frozenset[tuple[str, str]]
) -> list[Candidate]:
    """Tier-3 candidates: close names (score ≥ threshold), taken when a field corroborates them."""
    rules = index.rules
    out: list[Candidate] = []
    if not any(getattr(claim, f) for f in rules.corroborate):
        return out  # nothing could corroborate a close name: it is not looked for
    accounts = index.close(claim.name_key)
    if not accounts:
        return out
    keys = [(account, key) for account in accounts for key in index.keys_of[account]]
    best: dict[str, tuple[float, str]] = {}
    for position, score in similarity(claim.name_key, [key for _, key in keys], rules.fuzzy_threshold):
        account, key = keys[position]
        if account not in best or score > best[account][0]:
            best[account] = (score, key)
    for account in accounts:  # in the index's order: the rarest shared tokens first
        if account not in best:
            continue
        score, key = best[account]
        facts = index.accounts[account]
        name = Evidence("close_name", claim.name or claim.name_key, f"{facts.keys.get(key, '')}:{key}")
        support = [e for e in facts.corroboration(claim) if e.kind in rules.corroborate]
        if (claim.name_key, account) in rejected:
            out.append(Candidate(account, 3, (name, *support), round(score, 1), passed="rejected"))
        elif not support:
            out.append(Candidate(account, 3, (name,), round(score, 1), passed="no_corroboration"))
        else:
            out.append(Candidate(account, 3, (name, *support), round(score, 1)))
    return out


def match_all(
    claims: Iterable[LeadClaim],
    index: MatchIndex,
    similarity: Similarity,
    rejected: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, MatchDecision]:
    """The account of every lead in a batch, whatever order the leads come in.

    First each lead against the known accounts; then the new accounts the unmatched corporate
    domains make (tier 4) join the index, and the leads left without an account are matched again
    against them (a free-mail lead naming the company of a new domain finds it).
    """
    ordered = sorted(claims, key=lambda c: c.key)
    decisions = {c.key: match_lead(c, index, similarity, rejected) for c in ordered}
    fresh: dict[str, list[LeadClaim]] = {}
    for claim in ordered:
        decision = decisions[claim.key]
        if decision.new and decision.account is not None:
            fresh.setdefault(decision.account, []).append(claim)
    if not fresh:
        return decisions

    def order(domain: str) -> tuple[bool, bool, int, str]:
        """Parents before their sub-domains, then domains a company record gave, then the most leads."""
        members = fresh[domain]
        has_parent = any(p in fresh for p in parent_domains(domain)[1:])
        return (has_parent, not any(c.company_record for c in members), -len(members), domain)

    # each new domain in turn: its leads may belong to a new account taken before it (a parent
    # domain, the same name); those left make the domain a new account
    for domain in sorted(fresh, key=order):
        left = []
        for claim in fresh[domain]:
            again = match_lead(claim, index, similarity, rejected)
            if again.account is not None and not again.new:
                decisions[claim.key] = again
            else:
                left.append(claim)
        if left:
            index.add(_new_account(domain, left))
    for claim in ordered:
        decision = decisions[claim.key]
        if decision.account is None:
            again = match_lead(claim, index, similarity, rejected)
            if again.account is not None and not again.new:
                decisions[claim.key] = again
    return decisions


def _new_account(domain: str, members: Sequence[LeadClaim]) -> AccountFacts:
    """The account a new corporate domain makes, from what its leads say (the most common name)."""
    names = sorted(
        {(c.name_key, c.name) for c in members if c.name_key and c.name}, key=lambda p: (-_count(members, p[0]), p)
    )
    keys = {names[0][0]: "name"} if names else {}
    for claim in members:
        if claim.reading_key:
            keys.setdefault(claim.reading_key, "reading")
    return AccountFacts(
        domain=domain,
        name=names[0][1] if names else None,
        keys=keys,
        phones=frozenset(c.phone for c in members if c.phone),
        postal_codes=frozenset(c.postal_code for c in members if c.postal_code),
        websites=frozenset({domain, *(c.website for c in members if c.website)}),
        leads=len(members),
    )


def _count(members: Sequence[LeadClaim], key: str) -> int:
    return sum(1 for c in members if c.name_key == key)


def decision_document(decision: MatchDecision) -> dict[str, object]:
    """A decision as it is stored with the lead (JSON): the account, tier, evidence, the
    candidates passed over and the claim it was made from (re-matching reads it back)."""
    claim = decision.claim
    return {
        "account": decision.account,
        "tier": decision.tier,
        "score": decision.score,
        "evidence": [_evidence_document(e) for e in decision.evidence],
        "passed_over": [
            {
                "account": c.account,
                "tier": c.tier,
                "score": c.score,
                "why": c.passed,
                "evidence": [_evidence_document(e) for e in c.evidence],
            }
            for c in decision.passed_over
        ],
        "claim": None
        if claim is None
        else {
            "domain": claim.domain,
            "name": claim.name,
            "phone": claim.phone,
            "postal_code": claim.postal_code,
            "website": claim.website,
        },
    }


def _evidence_document(evidence: Evidence) -> dict[str, str]:
    return {"kind": evidence.kind, "lead": evidence.lead_value, "account": evidence.account_value}
