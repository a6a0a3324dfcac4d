"""Normal uptake: organs, glands, brown fat, injection site and soft-tissue tumour findings."""

from mibgscore.uptake.normal import UptakeParams, find_normal_uptake
from mibgscore.uptake.types import FINDING_LABELS, NormalUptake, UptakeFinding, ViewImages

__all__ = ["FINDING_LABELS", "NormalUptake", "UptakeFinding", "UptakeParams", "ViewImages",
           "find_normal_uptake"]
