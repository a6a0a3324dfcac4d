"""`mibgscore users add`: create a reader or an administrator of the web interface."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Manage the users of the web interface.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        name: str = typer.Argument(..., help="User name (no spaces)."),
        role: str = typer.Option("reader", "--role", help="reader (read and sign) or admin "
                                 "(also users and deletion)."),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from standard input."),
        language: str = typer.Option("en", "--language", help="en or fr."),
        full_name: str | None = typer.Option(
            None, "--full-name", help="The name reports print for this reader, e.g. \"Dr Anne "
            "Martin\" (default: the user name)."),
        data_dir: Path = typer.Option(Path("mibgscore-data"), "--data-dir",
                                      help="Data folder of `mibgscore serve`."),
        database_url: str = typer.Option(None, "--database-url", help="SQLAlchemy URL."),
    ) -> None:
        """Add a user, or reset an existing user's password and role."""
        from mibgscore.app.db import init_db, make_engine, make_sessionmaker
        from mibgscore.app.settings import AppSettings
        from mibgscore.app.storage import Store
        from mibgscore.app.users import add_user
        from mibgscore.errors import InputError, ServiceError

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        settings = AppSettings(data_dir=data_dir, database_url=database_url)
        if database_url is None:
            data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.url)
        init_db(engine)
        try:
            user = add_user(Store(settings, make_sessionmaker(engine)), name, password, role,
                            language)
            if full_name is not None:
                from mibgscore.app.profiles import set_full_name

                set_full_name(Store(settings, make_sessionmaker(engine)), user.username,
                              full_name)
        except ServiceError as exc:
            raise InputError(exc.message) from exc
        typer.echo(f"user {user.username} ({user.role}) saved.")
