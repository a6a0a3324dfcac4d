"""The PDF report as a DICOM Encapsulated PDF in the scan's study (plain pydicom)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from mibgscore.report._source import source_value, study_uid_of
from mibgscore.report.types import ReadingReport

logger = logging.getLogger(__name__)

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
"""SOP Class UID of Encapsulated PDF Storage."""

SERIES_NUMBER = 902


def encapsulated_pdf(pdf: bytes, report: ReadingReport, source: Dataset | None = None, *,
                     previous: Dataset | None = None) -> Dataset:
    """Wrap the PDF report in an Encapsulated PDF instance (Modality DOC) of the same study.

    Parameters
    ----------
    pdf : bytes
        The PDF file (``reading_pdf(report)``).
    report : ReadingReport
        The reading: patient, study and signing time.
    source : Dataset, optional
        The NM image that was read; patient and study attributes are copied from it when
        present, else taken from ``report``.
    previous : Dataset, optional
        An earlier Encapsulated PDF of this reading: the new one continues its series with
        the next Instance Number.

    Returns
    -------
    Dataset
        With file meta information (Explicit VR Little Endian), ready for ``save_as``.
        Encapsulated Document (0042,0011) holds ``pdf`` padded to even length; Encapsulated
        Document Length (0042,0015) gives its exact length.

    Raises
    ------
    ValueError
        ``pdf`` is not a PDF, or no Study Instance UID is known.
    """
    if not pdf.startswith(b"%PDF"):
        raise ValueError("the document is not a PDF (it does not start with %PDF)")
    p, s = report.patient, report.study

    def get(keyword: str, fallback: Any) -> Any:
        return source_value(source, keyword, fallback)

    study_uid = study_uid_of(source, s.study_uid)
    when = report.signed_at or report.created_at
    if report.amendments:
        when = report.amendments[-1].when

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceCreationDate = dt.date.today().strftime("%Y%m%d")
    # Patient
    ds.PatientName = get("PatientName", p.name or "")
    ds.PatientID = get("PatientID", p.patient_id or "")
    ds.PatientBirthDate = get("PatientBirthDate",
                              p.birth_date.strftime("%Y%m%d") if p.birth_date else "")
    ds.PatientSex = get("PatientSex", p.sex if p.sex in ("M", "F", "O") else "")
    # General Study
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = get("StudyDate", s.study_date.strftime("%Y%m%d") if s.study_date else "")
    ds.StudyTime = get("StudyTime", "")
    ds.ReferringPhysicianName = get("ReferringPhysicianName", "")
    ds.StudyID = get("StudyID", "")
    ds.AccessionNumber = get("AccessionNumber", s.accession_number or "")
    if get("StudyDescription", s.description):
        ds.StudyDescription = get("StudyDescription", s.description)
    # Encapsulated Document Series
    ds.Modality = "DOC"
    if previous is not None:
        ds.SeriesInstanceUID = previous.SeriesInstanceUID
        ds.InstanceNumber = int(previous.get("InstanceNumber", 1) or 1) + 1
    else:
        ds.SeriesInstanceUID = generate_uid()
        ds.InstanceNumber = 1
    ds.SeriesNumber = SERIES_NUMBER
    ds.SeriesDescription = "MIBG SIOPEN/Curie reading report"
    # General Equipment and SC Equipment
    ds.Manufacturer = "mibgscore project"
    ds.ManufacturerModelName = "mibgscore"
    ds.SoftwareVersions = f"mibgscore {report.software_version}"
    if report.institution:
        ds.InstitutionName = report.institution
    ds.ConversionType = "WSD"
    # Encapsulated Document
    ds.ContentDate = when.strftime("%Y%m%d")
    ds.ContentTime = when.strftime("%H%M%S")
    ds.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"
    ds.RecognizableVisualFeatures = "YES"
    ds.DocumentTitle = ("MIBG SIOPEN/Curie reading report" if report.is_signed
                        else "MIBG SIOPEN/Curie reading report (draft, not signed)")
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    ref = report.image_reference("anterior")
    sop_class = get("SOPClassUID", ref.sop_class_uid if ref else None)
    sop_uid = get("SOPInstanceUID", ref.sop_instance_uid if ref else None)
    if sop_class and sop_uid:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_uid
        ds.SourceInstanceSequence = [item]

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    logger.debug("Encapsulated PDF: %d bytes", len(pdf))
    return ds


def pdf_bytes(ds: Dataset) -> bytes:
    """The PDF inside an Encapsulated PDF instance, without the padding byte."""
    data = bytes(ds.EncapsulatedDocument)
    n = ds.get("EncapsulatedDocumentLength")
    return data[:int(n)] if n is not None else data.rstrip(b"\0")
