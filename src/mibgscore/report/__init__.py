"""Reading outputs: overlay PNG, PDF report, DICOM Comprehensive SR and Encapsulated PDF."""

from mibgscore.report.types import (
    Amendment,
    GradeChange,
    ImageReference,
    PriorComparison,
    ReadingReport,
    ViewPicture,
)

_LAZY = {
    "render_overlay": "mibgscore.report.overlay",
    "render_views": "mibgscore.report.views",
    "reading_html": "mibgscore.report.pdf",
    "reading_pdf": "mibgscore.report.pdf",
    "reading_sr": "mibgscore.report.sr",
    "sr_grades": "mibgscore.report.sr",
    "pdf_bytes": "mibgscore.report.encapsulated",
    "encapsulated_pdf": "mibgscore.report.encapsulated",
}


def __getattr__(name: str):  # heavy modules (matplotlib, weasyprint, highdicom) load on use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["Amendment", "GradeChange", "ImageReference", "PriorComparison", "ReadingReport",
           "ViewPicture", "encapsulated_pdf", "pdf_bytes", "reading_html", "reading_pdf",
           "reading_sr", "render_overlay", "render_views", "sr_grades"]
