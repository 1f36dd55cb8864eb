"""``leadrelay accounts`` (list, merge, add-domain, review) and ``leadrelay rematch``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from leadrelay.services.matching import AccountChange, AccountRow, RematchReport, ReviewRow

accounts_app = typer.Typer(
    help="Accounts: list them, merge two, add a domain, review weak matches.", invoke_without_command=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
Actor = Annotated[str, typer.Option("--as", help="Who makes the change; stored with it.")]


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")
    app.command("rematch")(rematch_command)


@accounts_app.callback()
def accounts_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every account with its domains, aliases, owner, tier and lead counts."""
    if ctx.invoked_subcommand is not None:
        return
    with relay() as engine:
        rows = engine.accounts()
    if as_json:
        print(render.as_json(rows))
    else:
        show_accounts(rows, options.lang)


def show_accounts(rows: list[AccountRow], lang: str) -> None:
    table = Table(title=t("accounts_title", lang))
    for key in ("accounts_domain", "accounts_name", "accounts_domains", "accounts_aliases", "accounts_owner"):
        table.add_column(t(key, lang))
    table.add_column(t("accounts_tier", lang))
    table.add_column(t("accounts_leads", lang), justify="right")
    table.add_column(t("accounts_by_tier", lang))
    for row in rows:
        table.add_row(
            escape(row.domain),
            escape(row.name or "—"),
            escape(", ".join(row.domains) or "—"),
            escape(", ".join(row.aliases) or "—"),
            escape(row.owner or "—"),
            escape(row.tier or "—"),
            str(row.leads),
            " ".join(f"{tier}:{count}" for tier, count in row.by_tier.items()) or "—",
        )
    console.print(table)


def _change(change: AccountChange, as_json: bool) -> None:
    if as_json:
        print(render.as_json(change))
        return
    lang = options.lang
    if change.kind == "merge":
        console.print(
            f"✓ {change.other} {t('accounts_merged', lang)} {change.account} "
            f"({change.leads_moved} {t('accounts_leads_moved', lang)}; {change.actor})"
        )
    elif change.kind == "add_domain":
        console.print(f"✓ {change.value}: {t('accounts_domain_added', lang)} {change.account} ({change.actor})")
    elif change.kind == "confirm":
        console.print(
            f"✓ {change.lead}: {t('accounts_confirmed', lang)} {change.account} ({change.value}; {change.actor})"
        )
    else:
        console.print(f"✓ {change.lead}: {t('accounts_rejected', lang)} {change.value or '—'} ({change.actor})")


@accounts_app.command("merge")
def accounts_merge(
    keep: Annotated[str, typer.Argument(metavar="A", help="The account that stays (domain or id).")],
    merged: Annotated[str, typer.Argument(metavar="B", help="The account merged into A (domain or id).")],
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Merge account B into A: B's leads, domains and names go to A (earlier decisions stay)."""
    with relay() as engine:
        change = engine.merge_accounts(keep, merged, actor=actor)
    _change(change, as_json)


@accounts_app.command("add-domain")
def accounts_add_domain(
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="The account (domain or id).")],
    domain: Annotated[str, typer.Argument(metavar="DOMAIN", help="Its other domain.")],
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Give an account one more domain: leads on it match the account in tier 1 from now on."""
    with relay() as engine:
        change = engine.add_account_domain(account, domain, actor=actor)
    _change(change, as_json)


@accounts_app.command("review")
def accounts_review(
    confirm: Annotated[int | None, typer.Option("--confirm", metavar="ID", help="Confirm this lead's match.")] = None,
    reject: Annotated[int | None, typer.Option("--reject", metavar="ID", help="Reject this lead's match.")] = None,
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """List weak (tier 3) matches; --confirm ID makes the name an alias, --reject ID undoes the match."""
    if confirm is not None and reject is not None:
        raise UserError("--confirm and --reject: give one of them")
    with relay() as engine:
        if confirm is not None:
            _change(engine.confirm_match(confirm, actor=actor), as_json)
            return
        if reject is not None:
            _change(engine.reject_match(reject, actor=actor), as_json)
            return
        rows = engine.match_review()
    if as_json:
        print(render.as_json(rows))
    else:
        show_review(rows, options.lang)


def show_review(rows: list[ReviewRow], lang: str) -> None:
    if not rows:
        console.print(t("review_none", lang))
        return
    table = Table(title=t("review_title", lang))
    table.add_column("ID", justify="right")
    for key in ("review_lead", "review_company", "review_account", "review_score", "review_evidence"):
        table.add_column(t(key, lang))
    for row in rows:
        table.add_row(
            str(row.id),
            escape(row.lead),
            escape(row.company_name or "—"),
            escape(f"{row.account_name or ''} ({row.account})"),
            f"{row.score:g}",
            escape("; ".join(f"{e.text[lang]}: {e.lead}" for e in row.evidence)),
        )
    console.print(table)


def rematch_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would move; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Match every lead to its account again (bulk path) after a rule change, and report what moved."""
    with relay() as engine:
        report = engine.rematch(dry_run=dry_run)
    if as_json:
        print(render.as_json(report))
    else:
        show_rematch(report, options.lang)


def show_rematch(report: RematchReport, lang: str) -> None:
    head = t("rematch_dry_run", lang) if report.dry_run else t("rematch_done", lang)
    console.print(f"{head}: {report.leads} {t('rematch_leads', lang)}")
    console.print(f"  {t('rematch_moved', lang)}: {report.moved}")
    console.print(f"  {t('rematch_new_accounts', lang)}: {report.new_accounts}")
    console.print(f"  {t('rematch_tier_changed', lang)}: {report.tier_changed}")
    tiers = ", ".join(f"{tier}: {count}" for tier, count in report.by_tier.items())
    console.print(f"  {t('rematch_by_tier', lang)}: {tiers or '—'}")
    for move in report.moves:
        none = t("rematch_none", lang)
        console.print(
            f"  {escape(move.lead)}: {escape(move.from_account or none)} → [bold]{escape(move.to_account or none)}[/] "
            f"({t('match_tier', lang)} {move.tier})"
        )
