"""`mibgscore pacs echo|find|score|listen`: work with the hospital's PACS (DICOMweb or DIMSE).

Each subcommand takes the same connection options (``--dicomweb URL`` or ``--dimse HOST:PORT
--called-aet AET [--aet OURS]``, with authentication and a CA bundle for HTTPS); ``listen``
takes them to name the PACS its results are sent back to.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
from pathlib import Path

import typer

from mibgscore.cli.score import Detector, lesions_option

logger = logging.getLogger(__name__)

_CONNECTION = [
    inspect.Parameter("dicomweb", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                      default=typer.Option(None, "--dicomweb", metavar="URL",
                                           help="DICOMweb base URL of the PACS.")),
    inspect.Parameter("dimse", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                      default=typer.Option(None, "--dimse", metavar="HOST:PORT",
                                           help="DIMSE address of the PACS.")),
    inspect.Parameter("called_aet", inspect.Parameter.KEYWORD_ONLY, annotation=str,
                      default=typer.Option("ANY-SCP", "--called-aet",
                                           help="AE title of the PACS (DIMSE).")),
    inspect.Parameter("aet", inspect.Parameter.KEYWORD_ONLY, annotation=str,
                      default=typer.Option("MIBGSCORE", "--aet", help="Our AE title.")),
    inspect.Parameter("move_port", inspect.Parameter.KEYWORD_ONLY, annotation=int,
                      default=typer.Option(0, "--move-port", help="Retrieve with C-MOVE to "
                                           "our AE, listening on this port meanwhile (the PACS "
                                           "must know our AE at this host and port); 0: "
                                           "retrieve with C-GET.")),
    inspect.Parameter("user", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                      default=typer.Option(None, "--user", help="User name (DICOMweb basic "
                                           "authentication).")),
    inspect.Parameter("password_env", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                      default=typer.Option(None, "--password-env", metavar="VARIABLE",
                                           help="Environment variable holding the password.")),
    inspect.Parameter("token_env", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                      default=typer.Option(None, "--token-env", metavar="VARIABLE",
                                           help="Environment variable holding a bearer "
                                           "token.")),
    inspect.Parameter("secret_file", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
                      default=typer.Option(None, "--secret-file", help="File (mode 0600) "
                                           "holding the password, or the token with "
                                           "--bearer.", dir_okay=False)),
    inspect.Parameter("bearer", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                      default=typer.Option(False, "--bearer", help="The secret file holds a "
                                           "bearer token.")),
    inspect.Parameter("ca_bundle", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
                      default=typer.Option(None, "--ca-bundle", help="PEM file of the "
                                           "certificate authorities to trust (HTTPS).",
                                           dir_okay=False)),
    inspect.Parameter("timeout", inspect.Parameter.KEYWORD_ONLY, annotation=float,
                      default=typer.Option(20.0, "--timeout", help="Network timeout, in "
                                           "seconds.")),
]
_NAMES = [p.name for p in _CONNECTION]


def pacs_config(*, dicomweb=None, dimse=None, called_aet="ANY-SCP", aet="MIBGSCORE",
                move_port=0, user=None, password_env=None, token_env=None, secret_file=None,
                bearer=False, ca_bundle=None, timeout=20.0, required=True):
    """The ``PacsConfig`` of the connection options (None when none is given and not
    ``required``); an InputError naming the option that is wrong."""
    from mibgscore.errors import InputError
    from mibgscore.pacs.types import PacsConfig

    if (dicomweb is None) == (dimse is None):
        if dicomweb is None and not required:
            return None
        raise InputError("give the PACS either as --dicomweb URL or as --dimse HOST:PORT "
                         "(one of them).")
    auth, secret = "none", None
    if token_env or bearer:
        auth = "bearer"
    elif user:
        auth = "basic"
    if token_env:
        secret = f"env:{token_env}"
    elif password_env:
        secret = f"env:{password_env}"
    elif secret_file is not None:
        secret = f"file:{Path(secret_file).resolve()}"
    try:
        if dicomweb is not None:
            return PacsConfig(protocol="dicomweb", url=dicomweb, auth=auth, username=user,
                              secret=secret, ca_bundle=str(ca_bundle) if ca_bundle else None,
                              our_aet=aet, timeout_seconds=timeout)
        host, _, port = dimse.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--dimse {dimse!r} is not HOST:PORT")
        return PacsConfig(protocol="dimse", host=host, port=int(port), called_aet=called_aet,
                          our_aet=aet, our_port=move_port,
                          retrieve="move" if move_port else "get", timeout_seconds=timeout)
    except ValueError as exc:
        raise InputError(f"{exc}.") from None


def with_connection(required: bool = True):
    """Add the connection options to a command; it receives ``config`` (a PacsConfig)."""

    def wrap(func):
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.name not in ("config", "our_aet")]

        @functools.wraps(func)
        def command(**kwargs):
            conn = {k: kwargs.pop(k) for k in _NAMES}
            _quiet_network_logs()
            if "our_aet" in sig.parameters:
                kwargs["our_aet"] = conn["aet"]
            return func(config=pacs_config(required=required, **conn), **kwargs)

        command.__signature__ = sig.replace(parameters=params + _CONNECTION)
        return command

    return wrap


def _quiet_network_logs() -> None:
    """pynetdicom logs every refused association as an error: the user gets our sentence."""
    root = logging.getLogger()
    if root.getEffectiveLevel() > logging.INFO:
        logging.getLogger("pynetdicom").setLevel(logging.CRITICAL + 1)


def _date(value: str | None, option: str) -> dt.date | None:
    from mibgscore.errors import InputError

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date (YYYY-MM-DD).") from None


def model_scorer(lesions: str, model: Path | None):
    """The scorer of ``--lesions`` and ``--model DIR`` (an adapted model folder of
    ``mibgscore adapt``, checked against its manifest)."""
    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.cli.score import score_params, with_model
    from mibgscore.pacs.results import default_scorer

    params, siopen = with_model(model, score_params(lesions), None)
    return default_scorer(params, (siopen or load_scheme("siopen"), load_scheme("curie")))


def register(app: typer.Typer) -> None:
    pacs = typer.Typer(help="Work with the hospital's PACS: echo, find, score, listen.",
                       no_args_is_help=True)
    app.add_typer(pacs, name="pacs")

    @pacs.command("echo")
    @with_connection()
    def echo(config) -> None:
        """Check that the PACS answers (C-ECHO over DIMSE, a one-study search over DICOMweb)."""
        from mibgscore.pacs.node import connect

        seconds = connect(config).echo()
        typer.echo(f"{config.label} answered in {seconds * 1000:.0f} ms.")

    @pacs.command("find")
    @with_connection()
    def find(
        config,
        date_from: str | None = typer.Option(None, "--from", metavar="DATE",
                                             help="Studies on or after this date."),
        date_to: str | None = typer.Option(None, "--to", metavar="DATE",
                                           help="Studies on or before this date."),
        patient: str | None = typer.Option(None, "--patient", metavar="ID",
                                           help="Patient ID."),
        json_lines: bool = typer.Option(False, "--json", help="One JSON object per study."),
    ) -> None:
        """List the NM studies of the PACS, MIBG ones marked (from the tracer, else the
        study or series description)."""
        import json

        from mibgscore.pacs.node import find_studies
        from mibgscore.pacs.types import StudyQuery

        query = StudyQuery(date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to"),
                           patient_id=patient)
        studies = find_studies(config, query)
        if json_lines:
            for s in studies:
                typer.echo(json.dumps(s.to_dict(), ensure_ascii=False))
            return
        _print_studies(studies)

    @pacs.command("score")
    @with_connection()
    def score(
        config,
        study: str = typer.Option(..., "--study", metavar="UID",
                                  help="Study Instance UID to retrieve and score."),
        store: bool = typer.Option(False, "--store", help="Store the preliminary SR and the "
                                   "overlay (Secondary Capture) in the study, new series."),
        model: Path | None = typer.Option(None, "--model", metavar="DIR", file_okay=False,
                                          exists=True, help="An adapted model folder "
                                          "(mibgscore adapt)."),
        json_lines: bool = typer.Option(False, "--json", help="Print the JSON object of "
                                        "`mibgscore score --json`."),
        force: bool = typer.Option(False, "--force", help="Score a study whose tracer is not "
                                   "MIBG."),
        lesions: Detector = lesions_option(),  # type: ignore[valid-type]
    ) -> None:
        """Retrieve a study, score it and, with --store, store the preliminary (unverified)
        result back into it."""
        import json
        import tempfile

        from mibgscore.cli.score import _print_table
        from mibgscore.pacs.node import connect, retrieve_nm
        from mibgscore.pacs.results import preliminary_results, score_files
        from mibgscore.pacs.types import PacsError

        node = connect(config)
        scorer = model_scorer(Detector(lesions).value, model)
        with tempfile.TemporaryDirectory(prefix="mibgscore-pacs-") as tmp:
            files = retrieve_nm(node, study, Path(tmp))
            scored = score_files(files, scorer, force=force)
            if json_lines:
                typer.echo(json.dumps(scored.result.to_dict(), ensure_ascii=False))
            else:
                _print_table(scored.result)
            if store:
                report = node.store(preliminary_results(scored))
                if not report.ok:
                    raise PacsError(f"{config.label} refused: {'; '.join(report.failed)}")
                typer.echo(f"stored the preliminary SR and overlay in study {study} "
                           f"({len(report.stored)} instances).", err=json_lines)

    @pacs.command("listen")
    @with_connection(required=False)
    def listen(
        config,
        our_aet: str,
        port: int = typer.Option(..., "--port", help="Port to listen on (our AE, --aet)."),
        out: Path = typer.Option(Path("mibgscore-received"), "--out", file_okay=False,
                                 help="Folder of received studies and JSON results."),
        send_back: bool = typer.Option(False, "--send-back", help="Send the preliminary "
                                       "SR and overlay to the PACS of the connection options."),
        quiet: float = typer.Option(10.0, "--quiet-seconds", help="A study is complete "
                                    "when no instance came for this long (or its association "
                                    "ended)."),
        bind: str = typer.Option("0.0.0.0", "--bind", help="Address to listen on."),
        model: Path | None = typer.Option(None, "--model", metavar="DIR", file_okay=False,
                                          exists=True, help="An adapted model folder."),
        lesions: Detector = lesions_option(),  # type: ignore[valid-type]
    ) -> None:
        """Receive studies (C-STORE SCP), score every MIBG study and write one JSON per study
        into --out; with --send-back, queue the preliminary result for the PACS."""
        import signal
        import threading

        from mibgscore.errors import InputError
        from mibgscore.pacs.listener import Listener

        send = None
        if send_back:
            if config is None:
                raise InputError("--send-back needs the PACS: --dicomweb URL or --dimse "
                                 "HOST:PORT.")
            send = _send_back(config, out)
        listener = Listener(out, model_scorer(Detector(lesions).value, model),
                            port=port, aet=our_aet, bind=bind, quiet_seconds=quiet,
                            send_back=send)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        listener.start()
        typer.echo(f"listening as {our_aet} on port {port}; results in {out}. Stop with "
                   "Ctrl+C.", err=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            listener.stop()


def _send_back(config, out: Path):
    from sqlalchemy import create_engine

    from mibgscore.pacs.listener import SendBack
    from mibgscore.pacs.node import connect
    from mibgscore.pacs.outbox import Outbox

    out.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{(out / 'outbox.sqlite3').resolve()}",
                           connect_args={"check_same_thread": False, "timeout": 30})
    node = connect(config)
    return SendBack(Outbox(engine), "send-back", lambda _dest, datasets: node.store(datasets))


def _print_studies(studies) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for head in ("study UID", "patient", "date", "description", "instances", "MIBG"):
        t.add_column(head)
    for s in studies:
        t.add_row(s.study_uid, f"{s.patient_id} {s.patient_name}".strip(),
                  s.study_date.isoformat() if s.study_date else "", s.description,
                  "" if s.instances is None else str(s.instances),
                  f"yes ({s.mibg_basis})" if s.mibg else "no")
    Console().print(t)
    mibg = sum(s.mibg for s in studies)
    Console().print(f"{len(studies)} NM studies, {mibg} MIBG.")
