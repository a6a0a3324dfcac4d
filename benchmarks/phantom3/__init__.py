"""phantom3: an independent paediatric 123I-MIBG whole-body phantom with SIOPEN/Curie truth.

>>> from phantom3 import generate_case, write_dicom
>>> case = generate_case(7, "extensive")
>>> case.truth["siopen_total"] > 5
True
"""

from .case import Phantom3Case, generate_case, generate_cases
from .dicom_export import write_dicom

__all__ = ["Phantom3Case", "generate_case", "generate_cases", "write_dicom"]
