"""Entry point of the `mibgscore` console script.

Each subcommand lives in its own module of this package and registers itself through
``register(app)``; this module only assembles them and turns errors into one sentence.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import typer
from typer import Context

from mibgscore import __version__
from mibgscore.errors import MibgscoreError

CITATION = (
    "Cite the SIOPEN method as: Lewington V, et al. Eur J Nucl Med Mol Imaging 2017;44:234-241; "
    "the Curie score as: Ady N, et al. Eur J Cancer 1995;31A:256-261. "
    "Research use only: not a medical device; a physician must check every score."
)

app = typer.Typer(
    name="mibgscore",
    help="Automatic SIOPEN and Curie skeletal scores of 123I-MIBG whole-body scans.",
    epilog=CITATION,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_SUBCOMMANDS = ("info", "simulate", "score", "segments", "batch", "validate", "serve", "users",
               "pacs", "adapt")


def _register_all() -> None:
    import importlib

    if app.registered_commands:  # main() called again in one process: registered once
        return
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(f"mibgscore.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mibgscore.cli.{name}":
                continue
            raise
        module.register(app)
    from mibgscore.cli._help import tidy

    tidy(app)  # --help: paragraphs re-flowed, flags without <bool>, no Python types


@app.callback(invoke_without_command=True)
def _root(
    ctx: Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"mibgscore {__version__}")
        raise typer.Exit(0)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # pydicom's warnings and log tracebacks would push a refusal past 2 lines
        warnings.filterwarnings("ignore")
        logging.getLogger("pydicom").setLevel(logging.CRITICAL + 1)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _crash_log(exc: BaseException) -> Path:
    from mibgscore.errors import write_crash_log  # a private, per-user location

    return write_crash_log(exc)


def _is_usage_error(exc: BaseException) -> bool:
    """True for click's own errors (bad option, missing argument), whichever click typer uses."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 internal error, 2 bad input)."""
    _register_all()
    try:
        rc = app(args=argv, standalone_mode=False)
    except MibgscoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted.", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo("interrupted.", err=True)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except Exception as exc:  # a bug: one sentence for the user, the traceback in a file
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            return 2
        log = _crash_log(exc)
        typer.echo(f"error: internal error ({type(exc).__name__}: {exc}); details in {log}.",
                   err=True)
        return 1
    return int(rc) if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
