"""The reading as a DICOM Comprehensive SR: a TID 1500 Measurement Report (highdicom)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, Code, SegmentSite, load_scheme
from mibgscore.report._source import source_value, study_uid_of
from mibgscore.report.types import NM_IMAGE_STORAGE, ReadingReport
from mibgscore.result import UNKNOWN_MODEL, ModelInfo

logger = logging.getLogger(__name__)

SCHEME = "99MIBGS"
"""Private coding scheme of the scoring concepts (declared in the SR's
Coding Scheme Identification Sequence (0008,0110))."""

SCHEME_NAME = "mibgscore MIBG scoring concepts"
DEVICE_UID = generate_uid(entropy_srcs=["mibgscore", "device observer"])
"""Fixed UID of the mibgscore device observer."""

CODE_SIOPEN_SEGMENT = ("SIOPEN-SEG", "SIOPEN segment score")
CODE_SIOPEN_SEGMENT_AUTO = ("SIOPEN-SEG-AUTO", "SIOPEN segment score, automatic")
CODE_CURIE_SEGMENT = ("CURIE-SEG", "Curie segment score")
CODE_CURIE_SEGMENT_AUTO = ("CURIE-SEG-AUTO", "Curie segment score, automatic")
CODE_SIOPEN_TOTAL = ("SIOPEN-TOTAL", "SIOPEN skeletal score total")
CODE_CURIE_TOTAL = ("CURIE-TOTAL", "Curie score total")
CODE_PROCEDURE = ("MIBG-WB", "123I-MIBG whole-body scintigraphy")
CODE_LESION_KIND = ("LESION-KIND", "Skeletal lesion kind")
CODE_FOCAL = ("FOCAL", "Focal skeletal uptake")
CODE_DIFFUSE = ("DIFFUSE", "Diffuse skeletal uptake")
CODE_DIFFUSE_FRACTION = ("DIFFUSE-FRACTION", "Share of the segment involved")

_SCT = "SCT"


def segment_site(key: str, scheme: str = "siopen") -> SegmentSite | None:
    """SNOMED CT finding site of a segment, as its table (``anatomy/schemes``) gives it.

    Examples
    --------
    >>> site = segment_site("left_lower_limb_distal")
    >>> site.location.meaning, site.laterality.meaning, site.modifier.meaning
    ('Lower limb', 'Left', 'Distal')
    """
    return load_scheme(scheme).segment(key).site


def _model_of(report: ReadingReport) -> ModelInfo | None:
    """The model that scored the reading's automatic result (None if scored by hand)."""
    auto = report.automatic_result
    if auto is None or auto.model == UNKNOWN_MODEL:
        return None
    return auto.model


def reading_sr(report: ReadingReport, source: Dataset | None = None, *,
               previous: Dataset | None = None) -> Dataset:
    """The reading as a Comprehensive SR holding a TID 1500 Measurement Report.

    One measurement group per SIOPEN segment (final grade and, when known, the automatic
    grade, each coded in the private scheme ``99MIBGS``, with the SNOMED CT finding site,
    laterality and proximal/distal modifier its segment table gives), one per Curie segment,
    one with both totals, and one planar ROI group per automatic lesion (a POINT on the
    referenced anterior NM frame). The reader is the person observer, mibgscore the device
    observer; the model that scored the study (``result.model``) is the device's model name
    (``"<name> <version>"``) and, with its SHA-256, a parameter of the algorithm
    identification of every automatic value. A signed
    reading is final, complete and verified (the reader as verifying observer, verified at
    ``signed_at``); an unsigned one is preliminary and unverified.

    Parameters
    ----------
    report : ReadingReport
        The reading.
    source : Dataset, optional
        The NM image that was read (its pixel data is not needed); patient and study
        attributes and the referenced image come from it, else from ``report``.
    previous : Dataset, optional
        The SR this one amends: listed in Predecessor Documents Sequence (0040,A360); the
        new SR continues its series with the next Instance Number.

    Returns
    -------
    Dataset
        A ``highdicom.sr.ComprehensiveSR`` (a pydicom Dataset), Explicit VR Little Endian.

    Raises
    ------
    ValueError
        Neither ``source`` nor ``report.study`` gives a Study Instance UID.
    """
    from highdicom.sr import (
        AlgorithmIdentification,
        CodedConcept,
        ComprehensiveSR,
        ContainerContentItem,
        DeviceObserverIdentifyingAttributes,
        FindingSite,
        GraphicTypeValues,
        ImageRegion,
        LanguageOfContentItemAndDescendants,
        Measurement,
        MeasurementReport,
        MeasurementsAndQualitativeEvaluations,
        ObservationContext,
        ObserverContext,
        PersonObserverIdentifyingAttributes,
        PlanarROIMeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation,
        RelationshipTypeValues,
        SourceImageForRegion,
        TextContentItem,
        TrackingIdentifier,
    )
    from pydicom.sr.codedict import codes

    def private(code: tuple[str, str]) -> CodedConcept:
        return CodedConcept(code[0], SCHEME, code[1])

    def coded(code: Code | None) -> CodedConcept | None:
        return None if code is None else CodedConcept(code.value, code.scheme, code.meaning)

    def sites(scheme: str, key: str) -> list[FindingSite] | None:
        site = segment_site(key, scheme)
        if site is None:
            return None
        return [FindingSite(anatomic_location=coded(site.location),
                            laterality=coded(site.laterality),
                            topographical_modifier=coded(site.modifier))]

    evidence = _evidence(report, source)
    no_units = CodedConcept("1", "UCUM", "no units")
    percent = CodedConcept("%", "UCUM", "percent")
    model = _model_of(report)
    algorithm = AlgorithmIdentification(
        name="mibgscore", version=report.software_version,
        parameters=None if model is None else [
            f"model={model.name}", f"model_version={model.version}",
            f"model_sha256={model.sha256}"])

    observers = {}
    if report.reader:
        observers["observer_person_context"] = ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=PersonObserverIdentifyingAttributes(
                name=person_name(report.reader)))
    observers["observer_device_context"] = ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=DEVICE_UID, name="mibgscore", manufacturer_name="mibgscore project",
            model_name="mibgscore" if model is None
            else f"{model.name} {model.version}".strip()[:64]))
    context = ObservationContext(**observers)

    auto = report.automatic_result
    groups: list[Any] = []
    for key in SIOPEN_KEYS:
        measurements = [Measurement(name=private(CODE_SIOPEN_SEGMENT),
                                    value=report.siopen[key], unit=no_units)]
        if auto is not None:
            measurements.append(Measurement(name=private(CODE_SIOPEN_SEGMENT_AUTO),
                                            value=auto.siopen[key], unit=no_units,
                                            algorithm_id=algorithm))
        groups.append(MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(
                uid=generate_uid(), identifier=f"SIOPEN {key}"),
            finding_sites=sites("siopen", key), measurements=measurements))
    for key in CURIE_KEYS:
        measurements = [Measurement(name=private(CODE_CURIE_SEGMENT),
                                    value=report.curie[key], unit=no_units)]
        if auto is not None:
            measurements.append(Measurement(name=private(CODE_CURIE_SEGMENT_AUTO),
                                            value=auto.curie[key], unit=no_units,
                                            algorithm_id=algorithm))
        groups.append(MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(
                uid=generate_uid(), identifier=f"Curie {key}"),
            finding_sites=sites("curie", key), measurements=measurements))
    groups.append(MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(), identifier="Totals"),
        measurements=[
            Measurement(name=private(CODE_SIOPEN_TOTAL), value=report.siopen_total,
                        unit=no_units),
            Measurement(name=private(CODE_CURIE_TOTAL), value=report.curie_total,
                        unit=no_units),
        ]))

    ref = report.image_reference("anterior")
    if source is not None and "SOPInstanceUID" in source:
        frame = ref.frame if ref is not None and ref.sop_instance_uid == source.SOPInstanceUID \
            else 1
        ref_uids = (str(source.SOPClassUID), str(source.SOPInstanceUID), frame)
    elif ref is not None:
        ref_uids = (ref.sop_class_uid, ref.sop_instance_uid, ref.frame)
    else:
        ref_uids = None
    lesions = [] if auto is None else auto.lesions
    if lesions and ref_uids is None:
        logger.warning("SR: no referenced NM image; %d lesion(s) left out", len(lesions))
        lesions = []
    multi_frame = int(evidence[0].get("NumberOfFrames", 1) or 1) > 1
    for k, lesion in enumerate(lesions, start=1):
        source_image = SourceImageForRegion(
            referenced_sop_class_uid=ref_uids[0], referenced_sop_instance_uid=ref_uids[1],
            referenced_frame_numbers=[ref_uids[2]] if multi_frame else None)
        region = ImageRegion(
            graphic_type=GraphicTypeValues.POINT,
            graphic_data=np.array([[lesion.col + 0.5, lesion.row + 0.5]]),
            source_image=source_image)
        kind = CODE_FOCAL if lesion.kind == "focal" else CODE_DIFFUSE
        measurements = None
        if lesion.fraction is not None and lesion.kind == "diffuse":
            measurements = [Measurement(name=private(CODE_DIFFUSE_FRACTION),
                                        value=round(100.0 * lesion.fraction, 1), unit=percent,
                                        algorithm_id=algorithm)]
        groups.append(PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=generate_uid(),
                                                   identifier=f"Lesion {k}"),
            referenced_region=region,
            finding_type=CodedConcept("52988006", _SCT, "Lesion"),
            algorithm_id=algorithm,
            finding_sites=sites("siopen", lesion.segment) if lesion.segment in SIOPEN_KEYS
            else None,
            measurements=measurements,
            qualitative_evaluations=[QualitativeEvaluation(
                name=private(CODE_LESION_KIND), value=private(kind))]))

    language = (CodedConcept("fr-FR", "RFC5646", "French (France)") if report.language == "fr"
                else CodedConcept("en-US", "RFC5646", "English (United States)"))
    content = MeasurementReport(
        observation_context=context,
        procedure_reported=private(CODE_PROCEDURE),
        imaging_measurements=groups,
        language_of_content_item_and_descendants=LanguageOfContentItemAndDescendants(language))
    if report.impression.strip():
        evaluations = ContainerContentItem(
            name=CodedConcept("C0034375", "UMLS", "Qualitative Evaluations"),
            relationship_type=RelationshipTypeValues.CONTAINS)
        evaluations.ContentSequence = [TextContentItem(
            name=CodedConcept("121073", "DCM", "Impression"),
            value=report.impression.strip()[:10000],
            relationship_type=RelationshipTypeValues.CONTAINS)]
        content[0].ContentSequence.append(evaluations)

    signed = report.signed_at is not None
    if previous is not None:
        series_uid = str(previous.SeriesInstanceUID)
        instance_number = int(previous.get("InstanceNumber", 1) or 1) + 1
    else:
        series_uid, instance_number = generate_uid(), 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # highdicom's notes on PN, as above
        sr = ComprehensiveSR(
            evidence=evidence, content=content, series_instance_uid=series_uid,
            series_number=901, sop_instance_uid=generate_uid(),
            instance_number=instance_number, manufacturer="mibgscore project",
            is_complete=signed, is_final=signed, is_verified=signed,
            institution_name=report.institution,
            verifying_observer_name=person_name(report.reader) if signed else None,
            verifying_organization=(report.institution or "Unspecified") if signed else None,
            previous_versions=[previous] if previous is not None else None,
            series_description="MIBG SIOPEN/Curie reading",
            software_versions=f"mibgscore {report.software_version}",
            manufacturer_model_name="mibgscore")
    if report.amendments:
        when = report.amendments[-1].when
    else:
        when = report.signed_at or report.created_at
    sr.ContentDate = when.strftime("%Y%m%d")
    sr.ContentTime = when.strftime("%H%M%S")
    if signed:
        sr.VerifyingObserverSequence[0].VerificationDateTime = report.signed_at.strftime(
            "%Y%m%d%H%M%S")
    item = Dataset()
    item.CodingSchemeDesignator = SCHEME
    item.CodingSchemeName = SCHEME_NAME
    item.CodingSchemeResponsibleOrganization = "mibgscore project"
    sr.CodingSchemeIdentificationSequence = [item]
    return sr


def sr_grades(sr: Dataset) -> dict[str, dict[str, int]]:
    """Final grades stored in an SR written by :func:`reading_sr`.

    Returns
    -------
    dict
        ``{"siopen": {12 keys: grade}, "curie": {10 keys: grade}, "siopen_total": int,
        "curie_total": int}``; segments are recognised by their tracking identifier.
    """
    siopen_by_name = {f"SIOPEN {k}": k for k in SIOPEN_KEYS}
    curie_by_name = {f"Curie {k}": k for k in CURIE_KEYS}
    out: dict[str, Any] = {"siopen": {}, "curie": {}}
    for group in _groups(sr):
        ident = None
        for item in group.ContentSequence:
            concept = item.ConceptNameCodeSequence[0]
            if concept.CodeValue == "112039" and item.ValueType == "TEXT":  # Tracking Id
                ident = item.TextValue
        for item in group.ContentSequence:
            if item.ValueType != "NUM" or item.ConceptNameCodeSequence[0].CodingSchemeDesignator \
                    != SCHEME:
                continue
            code = item.ConceptNameCodeSequence[0].CodeValue
            value = int(round(float(item.MeasuredValueSequence[0].NumericValue)))
            if code == CODE_SIOPEN_SEGMENT[0] and ident in siopen_by_name:
                out["siopen"][siopen_by_name[ident]] = value
            elif code == CODE_CURIE_SEGMENT[0] and ident in curie_by_name:
                out["curie"][curie_by_name[ident]] = value
            elif code == CODE_SIOPEN_TOTAL[0]:
                out["siopen_total"] = value
            elif code == CODE_CURIE_TOTAL[0]:
                out["curie_total"] = value
    return out


def _groups(sr: Dataset) -> list[Dataset]:
    """Measurement groups under Imaging Measurements (126010) of a TID 1500 document."""
    groups = []
    for item in sr.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue == "126010":
            groups += [g for g in item.ContentSequence
                       if g.ConceptNameCodeSequence[0].CodeValue == "125007"]
    return groups


_PREFIXES = {"dr", "dr.", "pr", "pr.", "prof", "prof.", "mr", "mr.", "mrs", "mrs.", "ms",
             "ms.", "mme", "m.", "mlle"}


def person_name(name: str | None) -> str | None:
    """A physician's name as a DICOM PN in its current form (components split by ``^``).

    A name already holding ``^`` is kept; a display name is split into prefix, given names
    and family name (the last word); a single word (a login name) gets a trailing ``^``, the
    current form of a one-component family name (PS3.5 6.2.1.2). At most 64 characters.

    Examples
    --------
    >>> person_name("Dr Anne Martin"), person_name("Martin^Anne"), person_name("alice")
    ('Martin^Anne^^Dr', 'Martin^Anne', 'alice^')
    """
    if name is None or not name.strip():
        return None
    name = " ".join(name.split())
    if "^" in name:
        return name[:64]
    words = name.split(" ")
    prefix = []
    while len(words) > 1 and words[0].lower() in _PREFIXES:
        prefix.append(words.pop(0))
    family, given = words[-1], " ".join(words[:-1])
    parts = [family, given, "", " ".join(prefix)]
    while parts and not parts[-1]:
        parts.pop()
    return ("^".join(parts) if len(parts) > 1 else f"{family}^")[:64]


def _evidence(report: ReadingReport, source: Dataset | None) -> list[Dataset]:
    """A small stand-in of the source NM instance: identity, patient and study attributes."""
    ds = Dataset()
    p, s = report.patient, report.study
    ref = report.image_reference("anterior")

    def get(keyword: str, fallback: Any) -> Any:
        return source_value(source, keyword, fallback)

    study_uid = study_uid_of(source, s.study_uid)
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = get("SeriesInstanceUID", s.series_uid or generate_uid())
    ds.SOPClassUID = get("SOPClassUID", ref.sop_class_uid if ref else NM_IMAGE_STORAGE)
    ds.SOPInstanceUID = get("SOPInstanceUID", ref.sop_instance_uid if ref else generate_uid())
    ds.PatientID = get("PatientID", p.patient_id or "")
    ds.PatientName = get("PatientName", p.name or "")
    ds.PatientBirthDate = get("PatientBirthDate",
                              p.birth_date.strftime("%Y%m%d") if p.birth_date else "")
    ds.PatientSex = get("PatientSex", p.sex if p.sex in ("M", "F", "O") else "")
    ds.AccessionNumber = get("AccessionNumber", s.accession_number or "")
    ds.StudyID = get("StudyID", "")
    ds.StudyDate = get("StudyDate", s.study_date.strftime("%Y%m%d") if s.study_date else "")
    ds.StudyTime = get("StudyTime", "")
    ds.ReferringPhysicianName = get("ReferringPhysicianName", "")
    if source is not None and "NumberOfFrames" in source:
        ds.NumberOfFrames = source.NumberOfFrames
    elif ref is not None and (ref.frame > 1 or len(report.images) > 1):
        ds.NumberOfFrames = max(r.frame for r in report.images) if report.images else ref.frame
    if source is not None and "SpecificCharacterSet" in source:
        ds.SpecificCharacterSet = source.SpecificCharacterSet
    return [ds]
