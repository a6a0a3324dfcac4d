"""Reading outputs: overlay PNG, PDF report, DICOM Comprehensive SR and Encapsulated PDF."""

from mibgscore.report.types import Amendment, ImageReference, PriorComparison, ReadingReport

_LAZY = {
    "render_overlay": "mibgscore.report.overlay",
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


__all__ = ["Amendment", "ImageReference", "PriorComparison", "ReadingReport", "encapsulated_pdf",
           "pdf_bytes", "reading_html", "reading_pdf", "reading_sr", "render_overlay",
           "sr_grades"]
