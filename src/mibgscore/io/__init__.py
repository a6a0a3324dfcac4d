"""DICOM NM in -> Scan: read whole-body scans from files, folders, .zip archives and DICOMDIRs."""

from mibgscore.io.read import iter_scans, read_scan, read_scans, scan_summary
from mibgscore.io.types import Scan

__all__ = ["Scan", "iter_scans", "read_scan", "read_scans", "scan_summary"]
