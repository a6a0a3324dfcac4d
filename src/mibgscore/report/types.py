"""What a signed (or draft) reading holds: the input of the PDF, the SR and the Encapsulated PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mibgscore import __version__
from mibgscore.anatomy.grades import Graded, Grades
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.grading.rules import response
from mibgscore.io.types import Patient, Scan, Study
from mibgscore.result import ScoreResult

LANGUAGES = ("en", "fr")

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
"""SOP Class UID of Nuclear Medicine Image Storage (the source of a reading)."""


@dataclass(frozen=True)
class ImageReference:
    """The stored image frame a view was read from (for SR image references).

    Attributes
    ----------
    view : str
        ``"anterior"`` or ``"posterior"``.
    sop_instance_uid : str
        SOP Instance UID of the NM image.
    frame : int
        1-based frame number inside that instance (DICOM Referenced Frame Number).
    sop_class_uid : str
        SOP Class UID of that instance (NM Image Storage by default).
    """

    view: str
    sop_instance_uid: str
    frame: int = 1
    sop_class_uid: str = NM_IMAGE_STORAGE

    def __post_init__(self) -> None:
        if self.view not in ("anterior", "posterior"):
            raise ValueError(f"view {self.view!r}")
        if self.frame < 1:
            raise ValueError(f"frame number {self.frame} (1-based)")


@dataclass(frozen=True)
class ViewPicture:
    """One view of a study as a PNG for the report, with what its caption needs.

    Attributes
    ----------
    view : str
        ``"anterior"`` or ``"posterior"``.
    png : bytes
        The picture: the view in inverted grey as acquired (the posterior seen from behind),
        with the outline and final SIOPEN grade of every segment graded above 0.
    graded : bool
        Whether segment grades are drawn (False when no segment map was known).
    """

    view: str
    png: bytes
    graded: bool = True

    def __post_init__(self) -> None:
        if self.view not in ("anterior", "posterior"):
            raise ValueError(f"view {self.view!r}")
        if not self.png.startswith(b"\x89PNG"):
            raise ValueError("the picture is not a PNG")


@dataclass(frozen=True)
class GradeChange:
    """One segment grade the reader changed: scheme, segment key, grade before and after."""

    scheme: str
    segment: str
    before: int
    after: int

    def __post_init__(self) -> None:
        keys = {"siopen": SIOPEN_KEYS, "curie": CURIE_KEYS}.get(self.scheme)
        if keys is None:
            raise ValueError(f"scheme {self.scheme!r}, expected siopen or curie")
        if self.segment not in keys:
            raise ValueError(f"unknown {self.scheme} segment {self.segment!r}")


@dataclass(frozen=True)
class Amendment:
    """One change made after signing: when, who (full name), what changed, and why.

    Attributes
    ----------
    when : datetime
        When the amended reading was signed again.
    who : str
        The physician who amended it, as the report prints the name.
    what : str
        What changed beyond ``changes`` (free text, e.g. "impression"); may be empty.
    reason : str
        The reason the physician gave.
    changes : tuple of GradeChange
        The segment grades changed, in the order they were changed.
    """

    when: dt.datetime
    who: str
    what: str = ""
    reason: str = ""
    changes: tuple[GradeChange, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", tuple(self.changes))


@dataclass(frozen=True)
class PriorComparison:
    """The earlier signed reading of the same patient, for the follow-up section.

    Attributes
    ----------
    study_date : date or None
        Date of the prior study.
    siopen, curie : dict of str to int, or None
        Prior per-segment grades (checked against the SIOPEN and Curie schemes, stored in
        report order), when known.
    siopen_total, curie_total : int or None
        Prior totals; computed from the grades when not given.
    study_uid : str or None
        Study Instance UID of the prior study.
    pictures : tuple of ViewPicture
        The prior study's views with its final grades (``report.views.render_views``).
    """

    study_date: dt.date | None = None
    siopen: dict[str, int] | None = None
    curie: dict[str, int] | None = None
    siopen_total: int | None = None
    curie_total: int | None = None
    study_uid: str | None = None
    pictures: tuple[ViewPicture, ...] = ()

    def __post_init__(self) -> None:
        for name in ("siopen", "curie"):
            given = getattr(self, name)
            if given is None:
                continue
            grades = _grades(name, given, "prior ")
            object.__setattr__(self, name, grades.to_dict())
            if getattr(self, f"{name}_total") is None:
                object.__setattr__(self, f"{name}_total", grades.total)
        if self.siopen_total is None:
            raise ValueError("a prior reading needs SIOPEN grades or a SIOPEN total")
        object.__setattr__(self, "pictures", tuple(self.pictures))


@dataclass(frozen=True, eq=False)
class ReadingReport(Graded):
    """A physician's reading of one scan: automatic score, final grades, sign-off, history.

    Attributes
    ----------
    patient : Patient
        Patient ID, name, birth date, sex, age (``mibgscore.io.types.Patient``).
    study : Study
        Study UID, date, description, accession, series and SOP Instance UIDs of the source NM.
    siopen : dict of str to int
        Final SIOPEN grades, 0 to the scheme's ``max_grade``, keyed by ``SIOPEN_KEYS``
        (patient's right); checked and stored in report order.
    curie : dict of str to int
        Final Curie grades, 0 to the scheme's ``max_grade``, keyed by ``CURIE_KEYS``.
    automatic : ScoreResult, dict or None
        The automatic result (a ``ScoreResult`` or its ``to_dict()``); None if scored by hand.
    edited : tuple of str or None
        SIOPEN and Curie keys the reader changed; None: computed as those whose final grade
        differs from the automatic one.
    impression : str
        Free-text impression.
    reader : str or None
        Full name of the reading (and signing) physician, as printed ("Dr Anne Martin");
        a DICOM PN ("Martin^Anne^^Dr") is accepted too.
    signed_at : datetime or None
        Signing time (timezone-aware preferred); None while the reading is a draft.
    amendments : tuple of Amendment
        Changes after the first signature, oldest first.
    prior : PriorComparison or None
        Earlier signed reading of the same patient.
    images : tuple of ImageReference
        Source frames of the views (for the SR); ``from_scan`` fills them.
    pictures : tuple of ViewPicture
        The views with the final grades (``report.views.render_views``) shown in the PDF;
        the automatic overlay is not shown there (its grades are not the reader's).
    language : str
        ``"en"`` or ``"fr"``.
    institution : str or None
        Institution name printed in the header.
    software_version : str
        ``mibgscore.__version__`` by default.
    """

    patient: Patient
    study: Study
    siopen: dict[str, int]
    curie: dict[str, int]
    automatic: ScoreResult | dict[str, Any] | None = None
    edited: tuple[str, ...] | None = None
    impression: str = ""
    reader: str | None = None
    signed_at: dt.datetime | None = None
    amendments: tuple[Amendment, ...] = ()
    prior: PriorComparison | None = None
    images: tuple[ImageReference, ...] = ()
    pictures: tuple[ViewPicture, ...] = ()
    language: str = "en"
    institution: str | None = None
    software_version: str = __version__
    created_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        object.__setattr__(self, "siopen", _grades("siopen", self.siopen).to_dict())
        object.__setattr__(self, "curie", _grades("curie", self.curie).to_dict())
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r}, expected one of {LANGUAGES}")
        if self.signed_at is not None and not self.reader:
            raise ValueError("a signed reading needs the reader's name")
        if isinstance(self.automatic, dict):
            object.__setattr__(self, "automatic", ScoreResult.from_dict(self.automatic))
        object.__setattr__(self, "amendments", tuple(self.amendments))
        object.__setattr__(self, "images", tuple(self.images))
        object.__setattr__(self, "pictures", tuple(self.pictures))
        if self.edited is not None:
            unknown = set(self.edited) - set(SIOPEN_KEYS) - set(CURIE_KEYS)
            if unknown:
                raise ValueError(f"unknown edited segment keys {sorted(unknown)}")
            object.__setattr__(self, "edited", tuple(self.edited))

    # --- derived values -------------------------------------------------------------------
    @property
    def automatic_result(self) -> ScoreResult | None:
        """The automatic result as a ``ScoreResult`` (None if there is none)."""
        return self.automatic  # type: ignore[return-value]  # dicts converted in __post_init__


    @property
    def siopen_category(self) -> str:
        """``"<=3"`` or ``">3"`` (Ladenstein 2018; the cut-off of siopen.toml)."""
        return self.siopen_grades.category  # type: ignore[return-value]  # bundled: has one

    @property
    def curie_category(self) -> str:
        """``"<=2"`` or ``">2"`` (Yanik 2013; the cut-off of curie.toml)."""
        return self.curie_grades.category  # type: ignore[return-value]

    @property
    def siopen_edited(self) -> dict[str, bool]:
        """Per SIOPEN segment: True where the final grade is the reader's, not the automatic."""
        return self._edited(SIOPEN_KEYS, self.siopen, "siopen")

    @property
    def curie_edited(self) -> dict[str, bool]:
        """Per Curie segment: True where the final grade is the reader's, not the automatic."""
        return self._edited(CURIE_KEYS, self.curie, "curie")

    @property
    def is_edited(self) -> bool:
        """Whether the reader changed any automatic grade."""
        return any(self.siopen_edited.values()) or any(self.curie_edited.values())

    @property
    def is_signed(self) -> bool:
        """Whether the reading is signed (final)."""
        return self.signed_at is not None

    @property
    def status(self) -> str:
        """``"draft"``, ``"signed"`` or ``"amended"``."""
        if not self.is_signed:
            return "draft"
        return "amended" if self.amendments else "signed"

    @property
    def siopen_response(self) -> str | None:
        """SIOPEN response against the prior (``grading.rules.response``); None without one."""
        if self.prior is None or self.prior.siopen_total is None:
            return None
        return response(self.prior.siopen_total, self.siopen_total)

    @property
    def curie_response(self) -> str | None:
        """Curie response against the prior; None without a prior Curie total."""
        if self.prior is None or self.prior.curie_total is None:
            return None
        return response(self.prior.curie_total, self.curie_total)

    def image_reference(self, view: str = "anterior") -> ImageReference | None:
        """The source frame of ``view``; falls back to the study's first SOP Instance UID."""
        for ref in self.images:
            if ref.view == view:
                return ref
        if view == "anterior" and self.study.sop_instance_uids:
            return ImageReference("anterior", self.study.sop_instance_uids[0], 1)
        return None

    def _edited(self, keys: tuple[str, ...], final: dict[str, int], scheme: str
                ) -> dict[str, bool]:
        if self.edited is not None:
            return {k: k in self.edited for k in keys}
        auto = self.automatic_result
        if auto is None:
            return {k: False for k in keys}
        ref = auto.siopen if scheme == "siopen" else auto.curie
        return {k: final[k] != ref[k] for k in keys}

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_scan(cls, scan: Scan, result: ScoreResult, **kwargs: Any) -> ReadingReport:
        """A report whose final grades are the automatic ones (change them with ``kwargs``).

        Patient, study and image references come from ``scan`` (``scan.sources`` gives the
        0-based frame of each view, stored here 1-based); any field may be overridden.
        """
        images = []
        uids = scan.study.sop_instance_uids
        sop_class = scan.acquisition.sop_class_uid or NM_IMAGE_STORAGE
        for view, src in scan.sources.items():
            if view in ("anterior", "posterior") and uids:
                images.append(ImageReference(view, uids[0] if len(uids) == 1 else
                                             _uid_for(scan, view), src.frame + 1, sop_class))
        base: dict[str, Any] = dict(
            patient=scan.patient, study=scan.study, siopen=dict(result.siopen),
            curie=dict(result.curie), automatic=result, images=tuple(images))
        base.update(kwargs)
        return cls(**base)


def _uid_for(scan: Scan, view: str) -> str:
    """SOP Instance UID of ``view`` when the views are separate instances (in view order)."""
    uids = scan.study.sop_instance_uids
    names = list(scan.sources)
    i = names.index(view)
    return uids[i] if i < len(uids) else uids[0]


def _grades(scheme: str, grades: dict[str, int], what: str = "") -> Grades:
    """``Grades`` of a bundled scheme; ``what`` prefixes the error (``"prior "``)."""
    try:
        return Grades(scheme, grades)
    except ValueError as exc:
        raise ValueError(f"{what}{exc}") from None
