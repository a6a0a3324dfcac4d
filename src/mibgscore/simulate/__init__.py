"""Synthetic 123I-MIBG whole-body studies of children with neuroblastoma, with ground truth."""

from mibgscore.simulate.preview import save_preview
from mibgscore.simulate.study import simulate_studies, simulate_study, write_studies
from mibgscore.simulate.types import (
    CATEGORIES,
    SimulatedStudy,
    SimulationParams,
    Truth,
    TruthLesion,
)

__all__ = ["CATEGORIES", "SimulatedStudy", "SimulationParams", "Truth", "TruthLesion",
           "save_preview", "simulate_studies", "simulate_study", "write_studies"]
