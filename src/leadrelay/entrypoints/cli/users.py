"""``leadrelay users add|list|disable`` and ``leadrelay keys create|list|revoke``: who may use the HTTP API."""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from leadrelay.services.access import UserView

users_app = typer.Typer(help="Users of the HTTP API and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: shown once, stored hashed, revocable.", no_args_is_help=True)

ROLES = "admin, marketing, manager, rep"


def register(app: typer.Typer) -> None:
    """Add the command groups to the ``leadrelay`` app."""
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")


def default_actor() -> str:
    """Who acts when ``--actor`` is not given: ``cli:`` and the login of the OS user."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        login = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{login}"


ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Who makes the change, as recorded [default: cli:<your login>].")
]


# --- users --------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their name in the API).")],
    role: Annotated[str, typer.Option("--role", help=f"One of {ROLES}.")],
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="A manager's department (playbook id); repeatable. Managers need one."),
    ] = None,
    rep: Annotated[str | None, typer.Option("--rep", help="A rep user's rep id in the active playbook.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The user's name, as shown.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read a password (for the dashboard) from the first line of stdin."),
    ] = False,
    actor: ActorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the user as JSON.")] = False,
) -> None:
    """Add a user who may use the HTTP API, with one role."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: standard input has no password on its first line")
    with relay() as engine:
        user = engine.add_user(
            email,
            role=role,
            actor=actor or default_actor(),
            departments=department or [],
            rep=rep,
            name=name,
            password=password,
        )
    if as_json:
        print(render.as_json(user))
        return
    lang = options.lang
    console.print(f"[green]✓[/] {t('user_added', lang)}: {escape(user.email)} ({_role_line(user)})")


def _role_line(user: UserView) -> str:
    if user.departments:
        return f"{user.role.value}: {', '.join(user.departments)}"
    if user.rep:
        return f"{user.role.value}: {user.rep}"
    return user.role.value


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Every user: role, departments or rep id, whether disabled, who added them and when."""
    with relay() as engine:
        rows = engine.users()
    if as_json:
        print(render.as_json(rows))
        return
    lang = options.lang
    if not rows:
        console.print(t("no_users", lang))
        return
    table = Table()
    for key in ("email", "name", "role_col", "scope", "password_col", "status", "created"):
        table.add_column(t(key, lang))
    for user in rows:
        scope = ", ".join(user.departments) or user.rep or "—"
        status = (
            f"{t('disabled', lang)} {user.disabled_at.isoformat(timespec='minutes')} ({user.disabled_by})"
            if user.disabled_at
            else t("enabled", lang)
        )
        table.add_row(
            escape(user.email),
            escape(user.name or "—"),
            user.role.value,
            escape(scope),
            t("yes" if user.has_password else "no", lang),
            escape(status),
            escape(f"{user.created_at.isoformat(timespec='minutes')} {user.created_by}"),
        )
    console.print(table)


@users_app.command("disable")
def users_disable(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    actor: ActorOpt = None,
) -> None:
    """Disable a user: every API key of theirs is refused from now on."""
    with relay() as engine:
        user = engine.disable_user(email, actor=actor or default_actor())
    console.print(f"[green]✓[/] {t('user_disabled', options.lang)}: {escape(user.email)}")


# --- keys ---------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option("--user", help="The e-mail of the user the key belongs to.")],
    name: Annotated[str | None, typer.Option("--name", help="What the key is for (shown in keys list).")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="A narrower role than the user's [default: the user's role].")
    ] = None,
    actor: ActorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its details as JSON.")] = False,
) -> None:
    """Make an API key for a user; it is printed once and stored only as a hash."""
    with relay() as engine:
        made = engine.create_key(user, actor=actor or default_actor(), name=name, role=role)
    if as_json:
        print(render.as_json(made))
        return
    info = made.info
    print(made.key)
    console.print(
        f"{t('key_not_shown_again', options.lang)} ({info.prefix}…, {escape(info.user)}, {info.role.value})",
        highlight=False,
    )


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Every API key: its first characters, user, role, created, last used, revoked."""
    with relay() as engine:
        rows = engine.api_keys()
    if as_json:
        print(render.as_json(rows))
        return
    lang = options.lang
    if not rows:
        console.print(t("no_keys", lang))
        return
    table = Table()
    for key in ("key_prefix", "id", "user", "name", "role_col", "created", "last_used", "revoked"):
        table.add_column(t(key, lang))
    for row in rows:
        table.add_row(
            f"{row.prefix}…",
            str(row.id),
            escape(row.user),
            escape(row.name or "—"),
            row.role.value,
            escape(f"{row.created_at.isoformat(timespec='minutes')} {row.created_by}"),
            row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "—",
            escape(f"{row.revoked_at.isoformat(timespec='minutes')} {row.revoked_by}") if row.revoked_at else "—",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(metavar="PREFIX_OR_ID", help="The key's prefix (as keys list shows it) or id.")],
    actor: ActorOpt = None,
) -> None:
    """Revoke an API key: it is refused from the next request on."""
    with relay() as engine:
        row = engine.revoke_key(key.rstrip("…"), actor=actor or default_actor())
    console.print(f"[green]✓[/] {t('key_revoked', options.lang)}: {row.prefix}… ({escape(row.user)})")
