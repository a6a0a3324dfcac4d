"""Normal uptake: organs, glands, brown fat, injection site and soft-tissue tumour findings."""

from mibgscore.uptake.images import working_views
from mibgscore.uptake.normal import UptakeParams, expected_counts, find_normal_uptake
from mibgscore.uptake.types import (
    FINDING_LABELS,
    NormalUptake,
    UptakeFinding,
    ViewImages,
    WorkingViews,
)

__all__ = ["FINDING_LABELS", "NormalUptake", "UptakeFinding", "UptakeParams", "ViewImages",
           "WorkingViews", "expected_counts", "find_normal_uptake", "working_views"]
