"""Matching leads to accounts: the stored side of :mod:`leadrelay.domain.matching`.

Intake matches the leads of each batch against the accounts the database holds that could be
theirs — found by domain, by name key and through the blocking index of name tokens, kept in
memory (:class:`leadrelay.domain.matching.MatchIndex`) — and stores the decision on the lead. ``rematch`` does the same for every
lead at once on the bulk path (one index in memory, set-based writes). People fix what matching
could not: ``merge``, ``add_domain``, and the review of tier-3 matches (``confirm`` adds an alias,
``reject`` stops the pair from matching again), each recorded in ``account_changes`` with the actor.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from leadrelay.adapters.matching import closest, name_key
from leadrelay.adapters.records import LeadInput, parse_account
from leadrelay.adapters.store.sql_store import AccountChanges, SqlStore, StoreTx
from leadrelay.adapters.store.tables import (
    account_aliases,
    account_changes,
    account_domains,
    accounts,
    leads,
)
from leadrelay.domain.identity import account_domain, is_free_mail, key_email, normalise_domain
from leadrelay.domain.matching import (
    EVIDENCE,
    PASSED,
    TIERS,
    AccountFacts,
    LeadClaim,
    MatchDecision,
    MatchIndex,
    MatchRules,
    decision_document,
    match_all,
    parent_domains,
    phone_key,
    postal_key,
    site_key,
)
from leadrelay.domain.model import Account
from leadrelay.domain.playbook import Playbook
from leadrelay.errors import LeadRelayError
from leadrelay.services.read_models import Moment, ReadModel, local

_CHUNK = 500
#: Tiers whose leads' phone numbers and postal codes corroborate their account (close names in tier 3).
TRUSTED_TIERS = (1, 2, 4)


class AccountError(LeadRelayError, ValueError):
    """An account command that cannot be done (unknown account, a domain taken, ...)."""


def _rows(result: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    return (tuple(row) for row in result)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- claims: what a lead says about its company -----------------------------------------------


def claim_of(key: str, profile: LeadInput | None, free_mail: frozenset[str]) -> LeadClaim:
    """The claim of a lead record: its company's domain (else its e-mail's, never free mail), name,
    phone, postal code and website."""
    company = profile.company if profile is not None else None
    lead = profile.lead if profile is not None else None
    domain = company.domain if company is not None else None
    if domain is None:
        email = key_email(key)
        domain = account_domain(email, free_mail) if email is not None else None
    if domain is not None and is_free_mail(domain, free_mail):
        domain = None
    name = (company.name if company is not None else None) or (lead.company_name if lead is not None else None)
    phone = (lead.phone if lead is not None else None) or (company.phone if company is not None else None)
    postal = (lead.postal_code if lead is not None else None) or (company.postal_code if company else None)
    return LeadClaim(
        key=key,
        domain=domain,
        name=name,
        name_key=name_key(name),
        phone=phone_key(phone),
        postal_code=postal_key(postal),
        website=site_key(company.website if company is not None else None),
        reading_key=name_key(company.reading if company is not None else None),
        company_record=company is not None and company.domain == domain,
    )


def stored_claim(key: str, document: Mapping[str, Any] | None, row: Any, free_mail: frozenset[str]) -> LeadClaim:
    """A stored lead's claim: the one its last decision was made from, else its e-mail and profile."""
    claimed = (document or {}).get("claim") or {}
    email = key_email(key)
    domain = claimed.get("domain") or (account_domain(email, free_mail) if email else None)
    name = claimed.get("name") or row.company_name
    return LeadClaim(
        key=key,
        domain=domain,
        name=name,
        name_key=name_key(name),
        phone=claimed.get("phone") or phone_key(row.phone),
        postal_code=claimed.get("postal_code") or postal_key(row.postal_code),
        website=claimed.get("website"),
    )


# --- the index: the accounts a batch of claims could belong to -------------------------------


def refresh_keys(tx: StoreTx, account_ids: Iterable[int]) -> None:
    """Compute the name keys of these accounts (name and reading) and note them changed, so every
    process's in-memory index of accounts reloads them — after an account is created, renamed,
    merged or given an alias."""
    ids = sorted(set(account_ids))
    tx.note_accounts_changed(ids)
    for part in _chunks(ids):
        rows = tx.execute(
            sa.select(
                accounts.c.id, accounts.c.name, accounts.c.reading, accounts.c.name_key, accounts.c.reading_key
            ).where(accounts.c.id.in_(part))
        ).all()
        updates = []
        for row in rows:
            key, reading = name_key(row.name), name_key(row.reading)
            if (key or None, reading or None) != (row.name_key, row.reading_key):
                updates.append({"aid": row.id, "nk": key or None, "rk": reading or None})
        if updates:
            tx.execute(
                accounts.update()
                .where(accounts.c.id == sa.bindparam("aid"))
                .values(name_key=sa.bindparam("nk"), reading_key=sa.bindparam("rk")),
                updates,
            )


def _named_domains(playbook: Playbook) -> frozenset[str]:
    if playbook.routing is None:
        return frozenset()
    return frozenset(d for rep in playbook.routing.reps.values() for d in rep.named_accounts)


def _among(column: sa.ColumnElement[Any], ids: Sequence[int] | None) -> Any:
    """``column`` is one of ``ids`` (None: any value)."""
    return sa.true() if ids is None else column.in_(ids)


def _account_side(
    tx: StoreTx, playbook: Playbook, ids: Sequence[int] | None
) -> tuple[list[tuple[AccountFacts, int]], dict[str, int]]:
    """What matching knows of these accounts (None: of every account) from the accounts' own
    rows — their domains, names, aliases and fields — with their ids; merged accounts left out."""
    named = _named_domains(playbook)
    rows: list[Any] = []
    live = accounts.c.merged_into.is_(None)
    if ids is None:
        rows = list(tx.execute(sa.select(accounts).where(live).order_by(accounts.c.id)))
    else:
        for part in _chunks(sorted(set(ids))):
            rows += tx.execute(sa.select(accounts).where(accounts.c.id.in_(part), live)).all()
        rows.sort(key=lambda r: r.id)
    wanted = [r.id for r in rows]
    extra: dict[int, set[str]] = {}
    aliases: dict[int, dict[str, str]] = {}
    parts: list[Sequence[int] | None] = [None] if ids is None else list(_chunks(wanted))
    for chunk in parts:
        domains_of = account_domains.c.account_id
        query = sa.select(domains_of, account_domains.c.domain)
        for account_id, domain in _rows(tx.execute(query.where(_among(domains_of, chunk)))):
            extra.setdefault(account_id, set()).add(domain)
        aliases_of = account_aliases.c.account_id
        query = sa.select(aliases_of, account_aliases.c.name_key)
        for account_id, key in _rows(tx.execute(query.where(_among(aliases_of, chunk)))):
            aliases.setdefault(account_id, {})[key] = "alias"
    out = []
    for row in rows:
        keys: dict[str, str] = {}
        if row.name_key:
            keys[row.name_key] = "name"
        if row.reading_key:
            keys.setdefault(row.reading_key, "reading")
        for key, kind in aliases.get(row.id, {}).items():
            keys.setdefault(key, kind)
        domains = extra.get(row.id, set())
        sites = {row.domain, *domains}
        if (s := site_key(row.website)) is not None:
            sites.add(s)
        phone, postal = phone_key(row.phone), postal_key(row.postal_code)
        facts = AccountFacts(
            domain=row.domain,
            name=row.name,
            keys=keys,
            extra_domains=frozenset(domains),
            phones=frozenset({phone} if phone is not None else ()),
            postal_codes=frozenset({postal} if postal is not None else ()),
            websites=frozenset(sites),
            named=row.tier == "named" or row.owner is not None or row.domain in named,
        )
        out.append((facts, row.id))
    return out, {r.domain: r.id for r in rows}


def _lead_side(tx: StoreTx, ids: Sequence[int] | None) -> tuple[Counter[int], dict[int, set[str]], dict[int, set[str]]]:
    """What the leads of these accounts (None: of every account) add: how many leads each has,
    and the phone numbers and postal codes of those matched in a trusted tier."""
    counts: Counter[int] = Counter()
    phones: dict[int, set[str]] = {}
    postals: dict[int, set[str]] = {}
    parts: list[Sequence[int] | None] = [None] if ids is None else list(_chunks(sorted(set(ids))))
    for part in parts:
        where = leads.c.account_id.is_not(None) if part is None else leads.c.account_id.in_(part)
        query = sa.select(leads.c.account_id, sa.func.count()).where(where).group_by(leads.c.account_id)
        for account_id, count in _rows(tx.execute(query)):
            counts[account_id] = count
        query = sa.select(leads.c.account_id, leads.c.phone, leads.c.postal_code).where(
            where,
            leads.c.match_tier.in_(TRUSTED_TIERS),
            sa.or_(leads.c.phone.is_not(None), leads.c.postal_code.is_not(None)),
        )
        for account_id, phone, postal in _rows(tx.execute(query)):
            if (p := phone_key(phone)) is not None:
                phones.setdefault(account_id, set()).add(p)
            if (c := postal_key(postal)) is not None:
                postals.setdefault(account_id, set()).add(c)
    return counts, phones, postals


def _with_leads(
    facts: AccountFacts, account_id: int, sides: tuple[Counter[int], dict[int, set[str]], dict[int, set[str]]]
) -> AccountFacts:
    counts, phones, postals = sides
    return replace(
        facts,
        leads=counts[account_id],
        phones=facts.phones | phones.get(account_id, set()),
        postal_codes=facts.postal_codes | postals.get(account_id, set()),
    )


def _facts(tx: StoreTx, playbook: Playbook) -> tuple[list[tuple[AccountFacts, int]], dict[str, int]]:
    """Matching's view of every account (with their leads' part), and their ids by domain."""
    found, ids = _account_side(tx, playbook, None)
    sides = _lead_side(tx, None)
    return [(_with_leads(facts, account_id, sides), account_id) for facts, account_id in found], ids


def _rejected(tx: StoreTx) -> frozenset[tuple[str, str]]:
    """(name key, account domain) pairs a person rejected in review."""
    rows = tx.execute(
        sa.select(account_changes.c.value, accounts.c.domain)
        .join(accounts, accounts.c.id == account_changes.c.account_id)
        .where(account_changes.c.kind == "reject")
    )
    return frozenset((value, domain) for value, domain in _rows(rows) if value)


@dataclass(frozen=True, slots=True)
class _StoredAccounts:
    """Matching's index of every stored account (the accounts' own rows: their leads' part is read
    per batch), as of one state of the accounts' change log; kept in memory between batches."""

    playbook: str  # the hash of the playbook it was built under (named accounts, aliases, rules)
    changes: AccountChanges
    index: MatchIndex
    ids: Mapping[str, int]  # account id by domain
    domains: Mapping[int, str]  # domain by account id
    rejected: frozenset[tuple[str, str]]


#: The index of each database this process matches in (by engine), and a lock for swapping it.
_STORED: weakref.WeakKeyDictionary[Any, _StoredAccounts] = weakref.WeakKeyDictionary()
_STORED_LOCK = threading.Lock()


def _build(tx: StoreTx, playbook: Playbook, changes: AccountChanges) -> _StoredAccounts:
    found, ids = _account_side(tx, playbook, None)
    index = MatchIndex((f for f, _ in found), playbook.matching, {f.domain: i for f, i in found})
    return _StoredAccounts(playbook.hash, changes, index, ids, {v: k for k, v in ids.items()}, _rejected(tx))


def _beyond(tx: StoreTx, old: tuple[int, int, int], new: tuple[int, int, int]) -> set[int] | None:
    """Accounts with rows added since ``old`` (the tables' largest ids), by whatever path; None
    when rows were taken away (the log must tell what changed then, and it did not)."""
    if any(n < o for o, n in zip(old, new, strict=True)):
        return None
    found: set[int] = set()
    if new[0] > old[0]:
        found |= set(tx.execute(sa.select(accounts.c.id).where(accounts.c.id > old[0])).scalars())
    for table, top, now in ((account_domains, old[1], new[1]), (account_aliases, old[2], new[2])):
        if now > top:
            found |= set(tx.execute(sa.select(table.c.account_id).where(table.c.id > top)).scalars())
    return found


def _caught_up(tx: StoreTx, playbook: Playbook, stored: _StoredAccounts, changes: AccountChanges) -> _StoredAccounts:
    """``stored`` brought to the state ``changes`` reads: the accounts changed since reloaded (or
    every account, when the log cannot say which changed)."""
    if stored.playbook != playbook.hash or stored.changes.epoch != changes.epoch:
        return _build(tx, playbook, changes)
    changed = changes.since(stored.changes.seq)
    added = _beyond(tx, stored.changes.tops, changes.tops) if changed is not None else None
    if changed is None or added is None:
        return _build(tx, playbook, changes)
    changed |= added
    index, ids, domains = stored.index, stored.ids, stored.domains
    if changed:
        found, live = _account_side(tx, playbook, sorted(changed))
        gone = [domains[i] for i in changed if i in domains and domains[i] not in live]
        index = index.changed(gone, found)
        ids = {d: i for d, i in ids.items() if d not in gone} | live
        domains = {v: k for k, v in ids.items()}
    rejected = stored.rejected if stored.changes.last_change == changes.last_change else _rejected(tx)
    return _StoredAccounts(playbook.hash, changes, index, ids, domains, rejected)


def stored_accounts(tx: StoreTx, playbook: Playbook) -> _StoredAccounts:
    """The index of every stored account as this transaction sees them: the one kept in memory,
    brought up to date by the accounts' change log (one statement when nothing changed)."""
    changes = tx.account_changes()
    engine = tx.connection.engine
    with _STORED_LOCK:
        kept = _STORED.get(engine)
    current = _build(tx, playbook, changes) if kept is None else _caught_up(tx, playbook, kept, changes)
    # what a transaction that wrote accounts reads is not committed yet: it is not kept for others
    if current is not kept and not tx.accounts_written:
        with _STORED_LOCK:
            _STORED[engine] = current
    return current


def _names_needed(claim: LeadClaim, index: MatchIndex) -> bool:
    """Whether matching this claim may rank accounts or compare their fields (else it is decided
    by its domain alone)."""
    if claim.domain is None or _shared(claim.domain, index.rules):
        return True
    return index.domain_match(claim.domain) is None


def _shared(domain: str, rules: MatchRules) -> bool:
    return any(candidate in rules.shared_domains for candidate in parent_domains(domain))


def index_for(tx: StoreTx, playbook: Playbook, claims: Sequence[LeadClaim]) -> tuple[MatchIndex, _StoredAccounts]:
    """A :class:`MatchIndex` of the stored accounts for these claims (every account; those the
    claims could be ranked among or corroborated by carry their leads' part), and ids by domain.
    Changes made to it (the new accounts of the batch) stay in it."""
    stored = stored_accounts(tx, playbook)
    index = stored.index.overlay()
    rules = playbook.matching
    fields = tuple(rules.corroborate)
    wanted: set[str] = set()
    for claim in claims:
        if not claim.name_key or not _names_needed(claim, index):
            continue
        wanted.update(account for account, _ in index.by_key.get(claim.name_key, []))
        if any(getattr(claim, f) for f in fields):
            wanted.update(index.close(claim.name_key))
    if wanted:
        ids = {stored.ids[d]: d for d in wanted}
        sides = _lead_side(tx, sorted(ids))
        for account_id, domain in ids.items():
            index.replace_facts(_with_leads(index.accounts[domain], account_id, sides))
    return index, stored


# --- intake ----------------------------------------------------------------------------------


def match_batch(
    tx: StoreTx,
    playbook: Playbook,
    claims: Mapping[str, LeadClaim],
    companies: Mapping[str, Account],
    now: datetime,
) -> tuple[dict[str, int | None], dict[str, MatchDecision], set[str]]:
    """Match a batch of claims (lead key → claim) and create the accounts tier 4 makes.

    ``companies``: the company records of the batch by domain; a new account takes its fields, and
    an account matched by its own domain is updated with them (as a company record always did).
    Returns account ids by lead key, the decisions, and the domains of accounts created or changed.
    """
    if not claims:
        return {}, {}, set()
    index, stored = index_for(tx, playbook, list(claims.values()))
    decisions = match_all(claims.values(), index, closest, stored.rejected)
    ids = {
        d.account: stored.ids[d.account]
        for d in decisions.values()
        if d.account is not None and d.account in stored.ids
    }
    records: dict[str, Account] = {}
    for decision in decisions.values():
        account = decision.account
        if account is None:
            continue
        if decision.new:
            records[account] = companies.get(account) or Account(domain=account, name=index.accounts[account].name)
        elif decision.tier == 1 and account in companies and decision.evidence[0].kind == "domain":
            records[account] = companies[account]
    changed: set[str] = set()
    if records:
        created, changed = tx.upsert_accounts_changed(list(records.values()), now)
        ids.update(created)
        refresh_keys(tx, (created[d] for d in changed))
    return {k: (ids[d.account] if d.account is not None else None) for k, d in decisions.items()}, decisions, changed


def store_decisions(
    tx: StoreTx,
    lead_ids: Mapping[str, int],
    decisions: Mapping[str, MatchDecision],
    now: datetime,
    *,
    keep_same_account: bool = False,
) -> None:
    """Write the decisions on the leads (tier, document, when), only where they changed.

    ``keep_same_account`` (intake): a lead matched to the account it already had keeps the decision
    that gave it (importing a file again changes nothing); ``rematch`` writes every change."""
    wanted = {lead_ids[k]: d for k, d in decisions.items() if k in lead_ids}
    stored: dict[int, Any] = {}
    for part in _chunks(sorted(wanted)):
        for row in tx.execute(sa.select(leads.c.id, leads.c.match_tier, leads.c.match).where(leads.c.id.in_(part))):
            stored[row.id] = row
    rows = []
    for lead_id, decision in wanted.items():
        document = decision_document(decision)
        old = stored.get(lead_id)
        if old is not None and old.match_tier == decision.tier and old.match == document:
            continue
        if keep_same_account and old is not None and old.match and old.match.get("account") == decision.account:
            continue
        rows.append({"lid": lead_id, "tier": decision.tier, "doc": document, "at": now})
    if rows:
        tx.execute(
            leads.update()
            .where(leads.c.id == sa.bindparam("lid"))
            .values(match_tier=sa.bindparam("tier"), match=sa.bindparam("doc"), matched_at=sa.bindparam("at")),
            rows,
        )


# --- read models -----------------------------------------------------------------------------


class EvidenceView(ReadModel):
    kind: str
    text: dict[str, str]  # by language
    lead: str
    account: str


class CandidateView(ReadModel):
    account: str
    tier: int
    score: float
    why: str | None
    why_text: dict[str, str]
    evidence: list[EvidenceView]


class MatchView(ReadModel):
    """How a lead's account was matched (``lead show``)."""

    account: str | None
    tier: int
    tier_label: dict[str, str]
    evidence: list[EvidenceView]
    passed_over: list[CandidateView]
    matched_at: Moment | None
    confirmed: bool = False


def _evidence_view(item: Mapping[str, str]) -> EvidenceView:
    en, ja = EVIDENCE.get(item["kind"], (item["kind"], item["kind"]))
    return EvidenceView(kind=item["kind"], text={"en": en, "ja": ja}, lead=item["lead"], account=item["account"])


def match_view(
    document: Mapping[str, Any] | None, tier: int | None, matched_at: datetime | None, tz: Any
) -> MatchView | None:
    """The stored decision as ``lead show`` shows it; ``None`` for a lead never matched."""
    if document is None or tier is None:
        return None
    en, ja = TIERS.get(tier, (str(tier), str(tier)))
    passed = []
    for c in document.get("passed_over", []):
        why = c.get("why")
        wen, wja = PASSED.get(why, ("", "")) if why else ("", "")
        passed.append(
            CandidateView(
                account=c["account"],
                tier=c["tier"],
                score=c["score"],
                why=why,
                why_text={"en": wen, "ja": wja},
                evidence=[_evidence_view(e) for e in c.get("evidence", [])],
            )
        )
    return MatchView(
        account=document.get("account"),
        tier=tier,
        tier_label={"en": en, "ja": ja},
        evidence=[_evidence_view(e) for e in document.get("evidence", [])],
        passed_over=passed,
        matched_at=local(matched_at, tz) if matched_at else None,
        confirmed=bool(document.get("confirmed_by")),
    )


class AccountRow(ReadModel):
    """One account as ``leadrelay accounts`` lists it."""

    id: int
    domain: str
    name: str | None
    domains: list[str]  # extra domains (added, merged, and from the playbook)
    aliases: list[str]
    owner: str | None
    tier: str | None
    leads: int
    by_tier: dict[str, int]  # leads by match tier


def account_rows(tx: StoreTx, playbook: Playbook) -> list[AccountRow]:
    """Every account (not merged into another), with its domains, aliases and lead counts."""
    counts: dict[int, Counter[str]] = {}
    for account_id, tier, count in _rows(
        tx.execute(
            sa.select(leads.c.account_id, leads.c.match_tier, sa.func.count())
            .where(leads.c.account_id.is_not(None))
            .group_by(leads.c.account_id, leads.c.match_tier)
        )
    ):
        counts.setdefault(account_id, Counter())[str(tier) if tier is not None else "-"] += count
    extra: dict[int, list[str]] = {}
    for account_id, domain in _rows(tx.execute(sa.select(account_domains.c.account_id, account_domains.c.domain))):
        extra.setdefault(account_id, []).append(domain)
    aliases: dict[int, list[str]] = {}
    for account_id, name in _rows(tx.execute(sa.select(account_aliases.c.account_id, account_aliases.c.name))):
        aliases.setdefault(account_id, []).append(name)
    from_playbook: dict[str, list[str]] = {}
    for domain, account in playbook.matching.extra_domains.items():
        from_playbook.setdefault(account, []).append(domain)
    rows = []
    for row in tx.execute(sa.select(accounts).where(accounts.c.merged_into.is_(None)).order_by(accounts.c.domain)):
        tiers = counts.get(row.id, Counter())
        rows.append(
            AccountRow(
                id=row.id,
                domain=row.domain,
                name=row.name,
                domains=sorted({*extra.get(row.id, []), *from_playbook.get(row.domain, [])}),
                aliases=sorted(
                    {*aliases.get(row.id, []), *(n for _, n in playbook.matching.aliases.get(row.domain, ()))}
                ),
                owner=row.owner,
                tier=row.tier,
                leads=sum(tiers.values()),
                by_tier=dict(sorted(tiers.items())),
            )
        )
    return rows


def _account(tx: StoreTx, ref: str) -> Any:
    """An account by id or domain (its own, or one of its extra domains); merged: the one it went into."""
    text = ref.strip()
    if text.isdigit():
        row = tx.execute(sa.select(accounts).where(accounts.c.id == int(text))).one_or_none()
    else:
        domain = normalise_domain(text)
        row = tx.execute(sa.select(accounts).where(accounts.c.domain == domain)).one_or_none()
        if row is None:
            owner = tx.execute(
                sa.select(account_domains.c.account_id).where(account_domains.c.domain == domain)
            ).scalar_one_or_none()
            if owner is not None:
                row = tx.execute(sa.select(accounts).where(accounts.c.id == owner)).one()
    if row is None:
        raise AccountError(f"no account '{ref}' (give its domain or id; `leadrelay accounts` lists them)")
    while row.merged_into is not None:
        row = tx.execute(sa.select(accounts).where(accounts.c.id == row.merged_into)).one()
    return row


class AccountChange(ReadModel):
    """What an account command did."""

    kind: str  # merge, add_domain, confirm, reject
    account: str
    other: str | None = None
    lead: str | None = None
    value: str | None = None
    leads_moved: int = 0
    actor: str
    at: Moment


def _record(tx: StoreTx, kind: str, account_id: int, actor: str, now: datetime, **values: Any) -> None:
    tx.execute(account_changes.insert().values(kind=kind, account_id=account_id, actor=actor, at=now, **values))


def merge(tx: StoreTx, playbook: Playbook, keep: str, merged: str, actor: str, now: datetime) -> AccountChange:
    """Merge account ``merged`` into ``keep``: its leads, domains and names go to ``keep``; it stays
    as a record that points there. Decisions made earlier (routing, history) are not rewritten."""
    target, source = _account(tx, keep), _account(tx, merged)
    if target.id == source.id:
        raise AccountError(f"'{keep}' and '{merged}' are the same account")
    moved = tx.execute(
        leads.update().where(leads.c.account_id == source.id).values(account_id=target.id, updated_at=now)
    ).rowcount
    tx.execute(account_domains.update().where(account_domains.c.account_id == source.id).values(account_id=target.id))
    tx.execute(
        account_domains.insert().values(
            account_id=target.id, domain=source.domain, source="merged", actor=actor, created_at=now
        )
    )
    known = set(
        tx.execute(sa.select(account_aliases.c.name_key).where(account_aliases.c.account_id == target.id)).scalars()
    )
    names = [(n, k) for n, k in ((source.name, source.name_key), (source.reading, source.reading_key)) if n and k]
    names += [
        (r.name, r.name_key)
        for r in tx.execute(sa.select(account_aliases).where(account_aliases.c.account_id == source.id))
    ]
    tx.execute(account_aliases.delete().where(account_aliases.c.account_id == source.id))
    for name, key in names:
        if key not in known and key not in (target.name_key, target.reading_key):
            known.add(key)
            tx.execute(
                account_aliases.insert().values(
                    account_id=target.id, name=name, name_key=key, source="merged", actor=actor, created_at=now
                )
            )
    tx.execute(accounts.update().where(accounts.c.id == source.id).values(merged_into=target.id, updated_at=now))
    tx.execute(accounts.update().where(accounts.c.id == target.id).values(updated_at=now))
    tx.note_accounts_changed([source.id])
    refresh_keys(tx, [target.id])
    _record(tx, "merge", target.id, actor, now, other_account_id=source.id, value=source.domain)
    return AccountChange(
        kind="merge",
        account=target.domain,
        other=source.domain,
        leads_moved=moved,
        actor=actor,
        at=local(now, playbook.timezone),
    )


def add_domain(tx: StoreTx, playbook: Playbook, ref: str, domain: str, actor: str, now: datetime) -> AccountChange:
    """Give an account one more domain: leads on it (and its sub-domains) match it in tier 1 from now on."""
    target = _account(tx, ref)
    try:
        value = parse_account({"domain": domain}, where="").domain
    except LeadRelayError as exc:
        raise AccountError(str(exc)) from None
    if is_free_mail(value, playbook.free_mail):
        raise AccountError(f"'{value}' is a free-mail domain: it says nothing about a company")
    other = tx.execute(sa.select(accounts.c.id, accounts.c.merged_into).where(accounts.c.domain == value)).one_or_none()
    if other is not None and other.id != target.id and other.merged_into is None:
        raise AccountError(f"'{value}' is the domain of another account: merge them (`leadrelay accounts merge`)")
    taken = tx.execute(
        sa.select(account_domains.c.account_id).where(account_domains.c.domain == value)
    ).scalar_one_or_none()
    if taken is not None:
        raise AccountError(f"'{value}' is already a domain of account {taken}")
    if value == target.domain:
        raise AccountError(f"'{value}' is the account's own domain")
    tx.execute(
        account_domains.insert().values(account_id=target.id, domain=value, source="added", actor=actor, created_at=now)
    )
    tx.execute(accounts.update().where(accounts.c.id == target.id).values(updated_at=now))
    tx.note_accounts_changed([target.id])
    _record(tx, "add_domain", target.id, actor, now, value=value)
    return AccountChange(
        kind="add_domain", account=target.domain, value=value, actor=actor, at=local(now, playbook.timezone)
    )


class ReviewRow(ReadModel):
    """A weak (tier 3) match waiting for a person."""

    id: int  # the lead's id: give it to --confirm or --reject
    lead: str
    company_name: str | None
    account: str
    account_name: str | None
    score: float
    evidence: list[EvidenceView]


def review_rows(tx: StoreTx) -> list[ReviewRow]:
    """Leads matched in tier 3 that nobody has confirmed or rejected yet."""
    rows = tx.execute(
        sa.select(leads.c.id, leads.c.email, leads.c.external_id, leads.c.company_name, leads.c.match, accounts.c.name)
        .join(accounts, accounts.c.id == leads.c.account_id)
        .where(leads.c.match_tier == 3)
        .order_by(leads.c.id)
    )
    out = []
    for row in rows:
        document = row.match or {}
        out.append(
            ReviewRow(
                id=row.id,
                lead=row.email or f"id:{row.external_id}",
                company_name=row.company_name,
                account=document.get("account") or "",
                account_name=row.name,
                score=float(document.get("score") or 0.0),
                evidence=[_evidence_view(e) for e in document.get("evidence", [])],
            )
        )
    return out


def _review_target(tx: StoreTx, lead_id: int) -> Any:
    row = tx.execute(
        sa.select(
            leads.c.id, leads.c.account_id, leads.c.match, leads.c.match_tier, leads.c.email, leads.c.external_id
        ).where(leads.c.id == lead_id)
    ).one_or_none()
    if row is None:
        raise AccountError(f"no lead with id {lead_id}")
    if row.match_tier != 3 or row.account_id is None:
        raise AccountError(f"lead {lead_id} is not a weak (tier 3) match waiting for review")
    return row


def confirm(tx: StoreTx, playbook: Playbook, lead_id: int, actor: str, now: datetime) -> AccountChange:
    """A person confirms a tier-3 match: the lead's company name becomes an alias of the account
    (matched in tier 2 from then on), and the lead's match says who confirmed it."""
    row = _review_target(tx, lead_id)
    document = dict(row.match or {})
    claim = document.get("claim") or {}
    name = claim.get("name")
    key = name_key(name)
    account = tx.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
    if key and key not in (account.name_key, account.reading_key):
        exists = tx.execute(
            sa.select(account_aliases.c.id).where(
                account_aliases.c.account_id == account.id, account_aliases.c.name_key == key
            )
        ).first()
        if exists is None:
            tx.execute(
                account_aliases.insert().values(
                    account_id=account.id, name=name, name_key=key, source="confirmed", actor=actor, created_at=now
                )
            )
            refresh_keys(tx, [account.id])
    document["confirmed_by"] = actor
    document["tier"] = 2
    document["evidence"] = [{"kind": "alias", "lead": name or "", "account": key}, *document.get("evidence", [])]
    tx.execute(leads.update().where(leads.c.id == lead_id).values(match_tier=2, match=document, matched_at=now))
    _record(tx, "confirm", account.id, actor, now, lead_id=lead_id, value=key)
    return AccountChange(
        kind="confirm",
        account=account.domain,
        lead=row.email or f"id:{row.external_id}",
        value=name,
        actor=actor,
        at=local(now, playbook.timezone),
    )


def reject(tx: StoreTx, playbook: Playbook, lead_id: int, actor: str, now: datetime) -> AccountChange:
    """A person rejects a tier-3 match: the pair (company name, account) never matches again, and
    the lead is matched once more without it (a new account for a corporate domain, or none)."""
    row = _review_target(tx, lead_id)
    account = tx.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
    lead = tx.execute(sa.select(leads).where(leads.c.id == lead_id)).one()
    key = row.email or f"id:{row.external_id}"
    claim = stored_claim(key, row.match, lead, playbook.free_mail)
    _record(tx, "reject", account.id, actor, now, lead_id=lead_id, value=claim.name_key)
    ids, decisions, _ = match_batch(tx, playbook, {key: claim}, {}, now)
    tx.execute(leads.update().where(leads.c.id == lead_id).values(account_id=ids[key], updated_at=now))
    store_decisions(tx, {key: lead_id}, decisions, now)
    return AccountChange(
        kind="reject",
        account=account.domain,
        lead=key,
        value=claim.name,
        leads_moved=1,
        actor=actor,
        at=local(now, playbook.timezone),
    )


# --- re-matching every lead (bulk path) ---------------------------------------------------------


class Move(ReadModel):
    lead: str
    from_account: str | None = Field(serialization_alias="from")
    to_account: str | None = Field(serialization_alias="to")
    tier: int


class RematchReport(ReadModel):
    """What ``leadrelay rematch`` changed (or, in a dry run, would change)."""

    dry_run: bool
    leads: int
    moved: int
    new_accounts: int
    by_tier: dict[str, int]  # leads by their tier after the run
    tier_changed: int
    moves: list[Move]  # the first 100 moves
    seconds: float


def rematch(store: SqlStore, playbook: Playbook, now: datetime, *, dry_run: bool = False) -> RematchReport:
    """Match every lead again under the current rules and accounts, in one pass: one index in
    memory, every decision, then set-based writes. Leads that move are judged again from now on
    (the routing decisions and history made earlier stay as they were)."""
    from leadrelay.services.intake import evaluate

    started = time.perf_counter()
    with store.rehearsal(dry_run=dry_run) as tx:
        everything = [r for r in tx.execute(sa.select(accounts.c.id).where(accounts.c.merged_into.is_(None))).scalars()]
        refresh_keys(tx, everything)
        facts, ids = _facts(tx, playbook)
        index = MatchIndex((f for f, _ in facts), playbook.matching, {f.domain: i for f, i in facts})
        domains = {v: k for k, v in ids.items()}
        rows = tx.execute(
            sa.select(
                leads.c.id,
                leads.c.email,
                leads.c.external_id,
                leads.c.company_name,
                leads.c.phone,
                leads.c.postal_code,
                leads.c.account_id,
                leads.c.match_tier,
                leads.c.match,
            )
        ).all()
        claims, lead_ids, current = {}, {}, {}
        for row in rows:
            key = row.email or f"id:{row.external_id}"
            claimed = stored_claim(key, row.match, row, playbook.free_mail)
            if not (claimed.domain or claimed.name_key):
                continue  # nothing to match by (as at intake): the lead keeps what it has
            claims[key] = claimed
            lead_ids[key] = row.id
            current[key] = (row.account_id, row.match_tier)
        decisions = match_all(claims.values(), index, closest, _rejected(tx))
        new = sorted({d.account for d in decisions.values() if d.new and d.account is not None})
        if new:
            created = tx.upsert_accounts([Account(domain=d, name=index.accounts[d].name) for d in new], now)
            ids.update(created)
            domains.update({v: k for k, v in created.items()})
            refresh_keys(tx, created.values())
        moves, updates, changed_tier = [], [], 0
        kept: dict[str, MatchDecision] = {}
        by_tier: Counter[str] = Counter()
        for key, decision in decisions.items():
            account_id, tier = current[key]
            target = ids[decision.account] if decision.account is not None else None
            by_tier[str(decision.tier)] += 1
            if target != account_id:
                moves.append(
                    Move(
                        lead=key,
                        from_account=domains.get(account_id) if account_id is not None else None,
                        to_account=decision.account,
                        tier=decision.tier,
                    )
                )
                updates.append({"lid": lead_ids[key], "aid": target, "at": now})
            elif tier != decision.tier:
                changed_tier += 1
            kept[key] = decision
        if updates:
            tx.execute(
                leads.update()
                .where(leads.c.id == sa.bindparam("lid"))
                .values(account_id=sa.bindparam("aid"), updated_at=sa.bindparam("at")),
                updates,
            )
        store_decisions(tx, lead_ids, kept, now)
        moved_ids = [u["lid"] for u in updates]
        if moved_ids and not dry_run:
            for part in _chunks(moved_ids, 2000):
                evaluate(tx, playbook, part, now, profile_changed=set(part))
    return RematchReport(
        dry_run=dry_run,
        leads=len(claims),
        moved=len(moves),
        new_accounts=len(new),
        by_tier=dict(sorted(by_tier.items())),
        tier_changed=changed_tier,
        moves=sorted(moves, key=lambda m: m.lead)[:100],
        seconds=round(time.perf_counter() - started, 3),
    )
