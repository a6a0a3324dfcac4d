"""What the PACS layer takes and returns: a connection, a study found, an error."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mibgscore.errors import MibgscoreError

OUR_AET = "MIBGSCORE"
"""Our Application Entity Title unless configured otherwise."""

PROTOCOLS = ("dicomweb", "dimse")
AUTH_KINDS = ("none", "basic", "bearer")
RETRIEVE_METHODS = ("move", "get")


class PacsError(MibgscoreError):
    """A PACS cannot be reached, refuses, or answers an error: one sentence naming it."""


def _check_aet(aet: str, what: str) -> None:
    if not aet or len(aet) > 16 or not aet.isascii() or "\\" in aet or aet != aet.strip():
        raise ValueError(f"{what} {aet!r} is not an AE title (1-16 ASCII characters, no "
                         "backslash, no leading or trailing space)")


@dataclass(frozen=True)
class PacsConfig:
    """How to reach one PACS node, over DICOMweb or DIMSE.

    Credentials are never held here in clear: ``secret`` names where the password or token
    is (``env:NAME``, an environment variable, or ``file:/path``, a file only its owner can
    read, mode 0600); ``mibgscore.pacs.credentials.resolve_secret`` reads it when needed.

    Attributes
    ----------
    protocol : str
        ``"dicomweb"`` or ``"dimse"``.
    url : str or None
        DICOMweb base URL (QIDO, WADO and STOW under it), e.g.
        ``https://pacs.example.org/dicom-web``.
    auth : str
        ``"none"``, ``"basic"`` (``username`` and the password in ``secret``) or ``"bearer"``
        (the token in ``secret``).
    username : str or None
        User name of basic authentication.
    secret : str or None
        Where the password or token is: ``env:NAME`` or ``file:/path``.
    ca_bundle : str or None
        PEM file of the certificate authorities to trust for HTTPS (the system's by default).
    host, port : str, int
        DIMSE address of the PACS.
    called_aet : str
        The PACS's AE title.
    our_aet : str
        Our AE title (the calling AE, and the C-MOVE destination).
    our_port : int
        Port of the temporary storage SCP receiving a C-MOVE (0: retrieve with C-GET).
    retrieve : str
        DIMSE retrieval: ``"move"`` (C-MOVE to ``our_aet``) or ``"get"`` (C-GET).
    timeout_seconds : float
        Network timeout of one request or association step.
    name : str
        A label for messages ("the PACS at ...").
    """

    protocol: str = "dicomweb"
    url: str | None = None
    auth: str = "none"
    username: str | None = None
    secret: str | None = None
    ca_bundle: str | None = None
    host: str | None = None
    port: int = 104
    called_aet: str = "ANY-SCP"
    our_aet: str = OUR_AET
    our_port: int = 0
    retrieve: str = "move"
    timeout_seconds: float = 20.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r}, expected one of {PROTOCOLS}")
        if self.auth not in AUTH_KINDS:
            raise ValueError(f"authentication {self.auth!r}, expected one of {AUTH_KINDS}")
        if self.retrieve not in RETRIEVE_METHODS:
            raise ValueError(f"retrieval {self.retrieve!r}, expected move or get")
        if self.protocol == "dicomweb":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError(f"DICOMweb URL {self.url!r} must start with http:// or https://")
            if self.auth == "basic" and not self.username:
                raise ValueError("basic authentication needs a user name")
            if self.auth != "none" and not self.secret:
                raise ValueError(f"{self.auth} authentication needs a secret reference "
                                 "(env:NAME or file:/path)")
        else:
            if not self.host:
                raise ValueError("a DIMSE connection needs the PACS host")
            if not 0 < int(self.port) < 65536:
                raise ValueError(f"port {self.port} is not between 1 and 65535")
            _check_aet(self.called_aet, "called AE title")
        _check_aet(self.our_aet, "our AE title")
        if not 0 <= int(self.our_port) < 65536:
            raise ValueError(f"our port {self.our_port} is not between 0 and 65535")

    @property
    def label(self) -> str:
        """The node as named in messages: its name, else its URL or AE@host:port (no
        credentials)."""
        if self.name:
            return self.name
        if self.protocol == "dicomweb":
            return str(self.url)
        return f"{self.called_aet}@{self.host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (the secret reference, never the secret)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class StudyQuery:
    """A study-level search: Modality NM by default, a date range, a patient ID."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    patient_id: str | None = None
    study_uid: str | None = None
    modality: str = "NM"
    limit: int = 200

    def date_range(self) -> str | None:
        """Study Date (0008,0020) as a DICOM range (``YYYYMMDD-YYYYMMDD``), or None."""
        if self.date_from is None and self.date_to is None:
            return None
        a = self.date_from.strftime("%Y%m%d") if self.date_from else ""
        b = self.date_to.strftime("%Y%m%d") if self.date_to else ""
        return a if a == b else f"{a}-{b}"


@dataclass(frozen=True)
class StudyInfo:
    """One study a PACS holds, as a search lists it.

    Attributes
    ----------
    study_uid : str
        Study Instance UID.
    patient_id, patient_name : str
        Patient ID and Patient's Name (the name as DICOM writes it, ``FAMILY^Given``).
    study_date : date or None
        Study Date.
    description : str
        Study Description.
    modalities : tuple of str
        Modalities in Study.
    instances : int or None
        Number of Study Related Instances, when the PACS says.
    mibg : bool
        Whether the study is an MIBG scan.
    mibg_basis : str
        What told: ``"tracer"`` (Radiopharmaceutical Information Sequence), ``"description"``
        (study or series description), or ``""`` when not MIBG.
    """

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    study_date: dt.date | None = None
    description: str = ""
    modalities: tuple[str, ...] = ()
    instances: int | None = None
    mibg: bool = False
    mibg_basis: str = ""
    series: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain values: ``study_uid``, ``patient_id``, ``patient_name``, ``study_date``
        (ISO), ``description``, ``modalities``, ``instances``, ``mibg``, ``mibg_basis``."""
        return {"study_uid": self.study_uid, "patient_id": self.patient_id,
                "patient_name": self.patient_name,
                "study_date": self.study_date.isoformat() if self.study_date else None,
                "description": self.description, "modalities": list(self.modalities),
                "instances": self.instances, "mibg": self.mibg, "mibg_basis": self.mibg_basis}


@dataclass
class StoreReport:
    """What a store did: SOP Instance UIDs the PACS accepted, and one line per refusal."""

    stored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed
