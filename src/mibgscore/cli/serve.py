"""`mibgscore serve`: start the web reading interface."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (localhost only by "
                                 "default)."),
        port: int = typer.Option(8000, help="TCP port."),
        data_dir: Path = typer.Option(Path("mibgscore-data"), "--data-dir",
                                      help="Folder for the database, studies and secrets."),
        database_url: str = typer.Option(None, "--database-url",
                                         help="SQLAlchemy URL, e.g. postgresql+psycopg://u@/db "
                                         "(default: SQLite in the data folder)."),
        demo: bool = typer.Option(False, "--demo", help="Load the bundled synthetic studies "
                                  "and create the demo reader account."),
        import_dir: Path = typer.Option(None, "--import-dir",
                                        help="Watch this folder and import new DICOM files."),
        max_upload_mb: float = typer.Option(200.0, "--max-upload-mb",
                                            help="Largest upload accepted, in MiB."),
        segments: list[Path] | None = typer.Option(
            None, "--segments", help="A centre's SIOPEN or Curie segment table (TOML), used to "
            "score and read instead of the bundled one; may be given twice, once per scheme "
            "(default: the tables named in $MIBGSCORE_SEGMENTS).", exists=True,
            dir_okay=False),
        secure_cookies: bool = typer.Option(
            False, "--secure-cookies", help="Mark the session cookie Secure: use it whenever "
            "browsers reach the server over HTTPS (behind a TLS proxy)."),
        forwarded_allow_ips: str = typer.Option(
            None, "--forwarded-allow-ips", help="Comma-separated addresses or networks of "
            "the reverse proxies whose X-Forwarded-For is believed (the client address for "
            "login throttling); by default the header is never believed."),
        model: Path | None = typer.Option(
            None, "--model", help="An adapted model folder (written by `mibgscore adapt`) to "
            "score with from the start (default: $MIBGSCORE_MODEL, else the model last "
            "activated on the Models page, else the shipped model).", file_okay=False),
    ) -> None:
        """Start the web reading interface (worklist, viewer, sign-off, follow-up, exports)."""
        import logging
        import os
        import warnings

        import uvicorn

        from mibgscore.app import AppSettings, create_app, load_demo

        os.umask(0o077)  # the database, studies and logs hold patient data: this user only
        warnings.filterwarnings("ignore", module=r"pydicom\..*")
        logging.getLogger("pydicom").setLevel(logging.CRITICAL + 1)
        settings = AppSettings.from_environment(
            data_dir=data_dir, database_url=database_url, import_dir=import_dir,
            max_upload_mb=max_upload_mb, segments=segments or None,
            secure_cookies=secure_cookies or None, forwarded_allow_ips=forwarded_allow_ips,
            model=model)
        if import_dir is not None:
            import_dir.mkdir(parents=True, exist_ok=True)
        web = create_app(settings)
        password = None
        if demo:
            typer.echo("preparing the demo studies (the first start takes about a minute)...")
            password = load_demo(web)
        url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
        typer.echo(f"data folder: {data_dir.resolve()}"
                   + (f" (database {database_url.split('@')[-1]})" if database_url else ""))
        typer.echo(f"mibgscore web interface: {url}")
        if settings.segments:
            schemes = web.state.store.schemes
            typer.echo(f"segment tables: {schemes.siopen.name} (SIOPEN), "
                       f"{schemes.curie.name} (Curie)")
        typer.echo(f"scoring model: {web.state.models.active_label()}")
        if password:
            typer.echo(f"demo account: user 'demo', password '{password}'")
        typer.echo("stop with Ctrl+C.")
        logging.getLogger("mibgscore").setLevel(logging.INFO)
        # X-Forwarded-For is read by the application itself, from --forwarded-allow-ips only
        uvicorn.run(web, host=host, port=port, access_log=False, log_level="warning",
                    proxy_headers=False)
