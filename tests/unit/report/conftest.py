"""Fixtures of the report tests."""

import pytest
from report_cases import make_case

from mibgscore.io.types import Scan
from mibgscore.result import ScoreResult


@pytest.fixture(scope="session")
def case() -> tuple[Scan, ScoreResult]:
    return make_case()
